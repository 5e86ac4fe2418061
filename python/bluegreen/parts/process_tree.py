"""Everything a child process starts, however it detaches, found and killed — and nothing else (for hooks.py).

A hook may leave processes behind: a `setsid cmd &` in a new session, the grandchild of a double fork. Killing its
process group misses them. While a `Tree` is open, bluegreen is a child subreaper (PR_SET_CHILD_SUBREAPER, Linux
≥ 3.4): an orphan among its descendants is reparented to bluegreen instead of init, so every process the child
left is, sooner or later, a child of bluegreen, found in /proc by its parent pid.

Chosen over looking for the output pipe's inode in /proc/*/fd: that finds only the processes holding the pipe (not
one that redirected its output but runs on), and a pid read from /proc may belong to another process by the time
the signal is sent. A child of ours cannot: its pid stays taken until we reap it, even after it dies (a zombie).
So a signal goes only to (a) a child of ours that was not one before the tree was opened, or (b) the hook's
process group, whose id the hook's own pid pins as long as the hook is not reaped (the caller reaps it last).
Nothing else is ever signalled. Elsewhere than Linux (no subreaper) only the process group is killed.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

KILL_GRACE = 2.0  # seconds to see SIGKILLed processes gone (a process in uninterruptible sleep dies when it wakes)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class Tree:
    """Open it before starting the child; `kill` what the child left; `close` when the child is reaped."""

    def __init__(self) -> None:
        self.reaper = _subreaper(True)
        self.before = _children() if self.reaper else set()  # e.g. a daemon an earlier hook left: not this one's

    def kill(self, leader: int) -> int:
        """SIGKILL `leader`'s process group and every process it left (orphans reparented to us); how many were
        alive besides the leader. Rounds until none is left: a killed orphan's own children come to us in turn."""
        me, seen = os.getpid(), set()
        until = time.monotonic() + KILL_GRACE
        while True:
            ours, alive = [], []
            for p in _processes():
                mine = self.reaper and p.ppid == me and p.pid != leader and p.pid not in self.before
                if p.pid != leader and p.state not in "ZX" and (mine or p.pgrp == leader):
                    alive.append(p.pid)
                if mine:
                    ours.append(p.pid)
            _kill(os.killpg, leader)
            for pid in ours:
                _kill(os.kill, pid)  # a child of ours: its pid cannot have been reused (see the module docstring)
                _reap(pid)
            seen.update(alive)
            if not alive or time.monotonic() > until:
                return len(seen)
            time.sleep(0.01)  # SIGKILL is delivered asynchronously: look again shortly, within KILL_GRACE

    def close(self) -> None:
        if self.reaper:
            _subreaper(False)


def exited(pid: int) -> bool:
    """The child has exited, without reaping it (WNOWAIT): its pid, and so its process group's id, stay taken."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def exit_fd(pid: int) -> int | None:
    """A descriptor that becomes readable when the child exits (pidfd), or None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # before Linux 5.3, or a seccomp profile that refuses it: poll instead
        return None


@dataclass(frozen=True)
class _Proc:
    pid: int
    state: str
    ppid: int
    pgrp: int


def _processes() -> list[_Proc]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                text = f.read().decode("ascii", "replace")
        except OSError:  # gone meanwhile
            continue
        fields = text.rsplit(")", 1)[-1].split()  # after "pid (comm)": comm may hold spaces and parentheses
        if len(fields) >= 3:
            found.append(_Proc(int(entry), fields[0], int(fields[1]), int(fields[2])))
    return found


def _children() -> set[int]:
    me = os.getpid()
    return {p.pid for p in _processes() if p.ppid == me}


def _subreaper(on: bool) -> bool:
    try:
        import ctypes  # only when a hook runs

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _kill(send, target: int) -> None:  # noqa: ANN001 - os.kill or os.killpg
    try:
        send(target, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # gone, or a setuid program the hook ran: not ours to kill
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
