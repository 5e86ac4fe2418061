"""Crash and pause points, so tests and the fault bench can act on a real run at an exact step.

`BLUEGREEN_FAILPOINT=<name>` makes the process kill itself with SIGKILL when it reaches `<name>`;
`<name>#<n>` when it reaches it for the n-th time (a deploy swaps nginx files twice). No cleanup handler,
`finally` or lock release runs, exactly as when an operator or Jenkins kills the process.

`<name>[#<n>]:pause` instead stops there without dying: the process writes the marker file
`$BLUEGREEN_FAILPOINT_DIR/<name>.paused` (its pid inside) and polls until someone removes it, then goes on.
The fault bench (bench/chaos) injects its fault meanwhile: a restarted nginx, a full disk, a hand switch. The
wait is bounded (`BLUEGREEN_FAILPOINT_TIMEOUT` seconds, default 120) so a harness that died never leaves a
run hanging for ever.

Unset (always, outside tests) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

_reached: Counter[str] = Counter()


def reach(name: str) -> None:
    wanted = os.environ.get("BLUEGREEN_FAILPOINT")
    if not wanted:
        return
    _reached[name] += 1
    spec, _, action = wanted.partition(":")
    target, _, nth = spec.partition("#")
    if target != name or _reached[name] != int(nth or 1):
        return
    if action == "pause":
        pause(name)
    else:
        os.kill(os.getpid(), signal.SIGKILL)


def marker(name: str) -> Path:
    """The file a paused process waits on."""
    return Path(os.environ.get("BLUEGREEN_FAILPOINT_DIR") or ".") / f"{name}.paused"


def pause(name: str) -> None:
    path = marker(name)
    # Written beside, then renamed: a harness that sees the marker always reads the whole pid.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    tmp.replace(path)
    deadline = time.monotonic() + float(os.environ.get("BLUEGREEN_FAILPOINT_TIMEOUT") or 120)
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # poll: the harness removes the marker when its fault is in place
    path.unlink(missing_ok=True)
