"""The only module that starts processes (subprocess): the service's deploy hooks.

A hook is a program from bluegreen.yml, run with a bounded timeout and what it needs in its environment
(BLUEGREEN_HOOK, BLUEGREEN_ACTION, BLUEGREEN_SERVICE, BLUEGREEN_FROM, BLUEGREEN_TO, BLUEGREEN_IMAGE,
BLUEGREEN_BUILD, BLUEGREEN_PREVIEW_URL), on top of the process's own: the secrets the Jenkins step bound reach
it there, never in argv. Its output is returned, for the caller to show masked.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from bluegreen.settings import Hook

OUTPUT_LIMIT = 64 * 1024  # a hook that floods stdout must not flood the build log


@dataclass(frozen=True)
class HookResult:
    ok: bool
    detail: str  # "exit 0", "exit 3", "timed out after 60s", "cannot run: No such file or directory"
    output: list[str]


def run_hook(hook: Hook, *, name: str, values: Mapping[str, str], environ: Mapping[str, str],
             base_dir: Path | None) -> HookResult:
    program = hook.command[0]
    if base_dir is not None and "/" in program and not os.path.isabs(program):
        program = str(base_dir / program)
    env = {**environ, **{f"BLUEGREEN_{k.upper()}": v for k, v in values.items()}, "BLUEGREEN_HOOK": name}
    try:
        # Its own process group: on timeout the whole group is killed, so a child the hook left behind
        # (a `sleep` in a shell script) cannot hold its output open and stall the deploy past the bound.
        proc = subprocess.Popen([program, *hook.command[1:]], env=env, cwd=base_dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return HookResult(False, f"cannot run {program}: {exc.strerror or exc}", [])
    with proc:
        try:
            out, _ = proc.communicate(timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return HookResult(False, f"timed out after {hook.timeout:g}s", _lines(out or b""))
    return HookResult(proc.returncode == 0, f"exit {proc.returncode}", _lines(out or b""))


def _lines(raw: bytes) -> list[str]:
    text = raw[-OUTPUT_LIMIT:].decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.strip()][-40:]
