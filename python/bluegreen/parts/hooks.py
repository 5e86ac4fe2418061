"""The only module that starts processes (subprocess): the service's deploy hooks.

A hook is a program from bluegreen.yml, run with what it needs in its environment (BLUEGREEN_HOOK,
BLUEGREEN_ACTION, BLUEGREEN_SERVICE, BLUEGREEN_FROM, BLUEGREEN_TO, BLUEGREEN_IMAGE, BLUEGREEN_BUILD,
BLUEGREEN_PREVIEW_URL), on top of the process's own: the secrets the Jenkins step bound reach it there, never in
argv. Its output is returned, for the caller to show masked. Whatever it does, it costs a bounded time and memory:

- **Memory.** Its output (stdout and stderr, one pipe) is read as it comes into a `Tail`: the last OUTPUT_LINES
  lines, each its first `keep` bytes (the caller's Reporter says how many it needs to mask a line before it cuts
  it). A hook that writes 2 GB costs a few hundred KiB, not 2 GB.
- **Time.** One deadline, the hook's `timeout`, covers the hook *and* whatever it left holding its output (a
  `setsid cmd &`, a daemon that double-forked): reading stops at the deadline whoever holds the pipe, so nothing
  can stall the deploy past it.
- **The tree.** At the deadline everything the hook started is killed: its process group, and every process it
  left behind, however it detached (process_tree.py: found through a child subreaper; nothing that is not the
  hook's is ever signalled).
- **Verdict.** The hook's own exit status. A hook that exits 0 while something it started still holds its output
  passes: the hook answered, in time, and the bound holds anyway (what it left is killed at the deadline and named
  in a warning); failing it would turn a stray background notifier into a failed deploy, or for post_switch into a
  production rollback. A hook still running at the deadline fails ("timed out").
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from bluegreen.parts.process_tree import Tree, exit_fd, exited as has_exited
from bluegreen.config.settings import Hook

OUTPUT_LINES = 40  # lines of a hook's output shown
READ_CHUNK = 64 * 1024
REAP_GRACE = 2.0  # seconds for a SIGKILLed hook to be gone (one in uninterruptible sleep dies when it wakes)


@dataclass(frozen=True)
class HookResult:
    ok: bool
    detail: str  # a message key: hook.exit {code}, hook.signal {signal}, hook.timed_out {timeout}, hook.cannot_run
    params: dict[str, Any] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    leftovers: int = 0  # processes it left holding its output, killed at the deadline (the hook had exited)


class Tail:
    """The last `lines` lines of a stream (blank ones then left out), each its first `keep` bytes; whatever the
    stream's size."""

    def __init__(self, lines: int, keep: int) -> None:
        self.done: deque[bytes] = deque(maxlen=lines)
        self.keep = keep
        self.current = bytearray()

    def feed(self, chunk: bytes) -> None:
        end = chunk.rfind(b"\n")
        if end < 0:
            self._grow(chunk)
            return
        # Only the last `maxlen` complete lines of the chunk can matter: split those off from the right.
        parts = chunk[:end].rsplit(b"\n", self.done.maxlen or 0)
        if len(parts) <= (self.done.maxlen or 0):
            self._grow(parts[0])  # the chunk's first line ends the current one
            self._finish()
        else:
            self.current.clear()  # older than every line kept
        for line in parts[1:]:
            self._grow(line)
            self._finish()
        self._grow(chunk[end + 1:])

    def lines(self) -> list[str]:
        found = [*self.done, bytes(self.current)] if self.current else list(self.done)
        shown = (line.decode("utf-8", "replace").rstrip("\r") for line in found[-(self.done.maxlen or 0):])
        return [line for line in shown if line.strip()]

    def _grow(self, data: bytes) -> None:
        room = self.keep - len(self.current)
        if room > 0:
            self.current += data[:room]

    def _finish(self) -> None:
        self.done.append(bytes(self.current))
        self.current = bytearray()


def run_hook(hook: Hook, *, name: str, values: Mapping[str, str], environ: Mapping[str, str],
             base_dir: Path | None, keep: int) -> HookResult:
    """Run `hook` to its end or its deadline (see the module docstring); `keep`: bytes kept of each output line."""
    program, *args = argv(hook, base_dir)
    env = {**environ, **{f"BLUEGREEN_{k.upper()}": v for k, v in values.items()}, "BLUEGREEN_HOOK": name}
    tree = Tree()
    try:
        proc = subprocess.Popen([program, *args], env=env, cwd=base_dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        tree.close()
        return HookResult(False, "hook.cannot_run", {"program": program, "error": exc.strerror or str(exc)})
    tail = Tail(OUTPUT_LINES, keep)
    finished = exited = False
    try:
        finished, exited = _collect(proc, tail, time.monotonic() + hook.timeout)
    finally:
        # At the deadline, or leaving early (Ctrl-C): the hook's group and everything it left go. A hook that
        # finished (exited, its output closed) keeps what it started on purpose, output redirected (a daemon).
        left = 0 if finished else tree.kill(proc.pid)
        proc.stdout.close()  # type: ignore[union-attr]
        code = _reap_hook(proc)  # reaped last: until now its pid pinned its process group's id
        tree.close()
    output = tail.lines()
    if not exited or code is None:
        return HookResult(False, "hook.timed_out", {"timeout": hook.timeout}, output)
    if code < 0:
        return HookResult(False, "hook.signal", {"signal": _signal_name(-code)}, output, left)
    return HookResult(code == 0, "hook.exit", {"code": code}, output, left)


def argv(hook: Hook, base_dir: Path | None) -> list[str]:
    """What runs: a relative program (with a slash) is relative to bluegreen.yml's directory."""
    program = hook.command[0]
    if base_dir is not None and "/" in program and not os.path.isabs(program):
        program = str(base_dir / program)
    return [program, *hook.command[1:]]


def _collect(proc: subprocess.Popen, tail: Tail, deadline: float) -> tuple[bool, bool]:
    """Read the hook's output until it is closed and the hook has exited, or until the deadline. (finished, exited)"""
    pipe = proc.stdout.fileno()  # type: ignore[union-attr]
    os.set_blocking(pipe, False)
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    pidfd = exit_fd(proc.pid)  # readable once the hook exits: no periodic wake-up needed to notice it
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    open_, exited = True, False
    try:
        while True:
            exited = exited or has_exited(proc.pid)
            if exited and not open_:
                return True, True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, exited
            wait = remaining if pidfd is not None or exited else min(remaining, 0.05)
            for fd, _ in poller.poll(wait * 1000):
                if fd == pipe:
                    chunk = _read(pipe)
                    if chunk is None:
                        continue
                    if chunk:
                        tail.feed(chunk)
                    else:
                        open_ = False
                        poller.unregister(pipe)
                elif fd == pidfd:
                    poller.unregister(pidfd)
                    exited = True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _reap_hook(proc: subprocess.Popen) -> int | None:
    """Its exit status; None when even SIGKILL has not ended it within REAP_GRACE (uninterruptible sleep)."""
    try:
        return proc.wait(timeout=REAP_GRACE)
    except subprocess.TimeoutExpired:
        return None


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
