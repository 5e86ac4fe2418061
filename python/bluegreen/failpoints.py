"""Crash points, so tests can SIGKILL a real run at an exact step.

`BLUEGREEN_FAILPOINT=<name>` makes the process kill itself with SIGKILL when it reaches `<name>`;
`<name>#<n>` when it reaches it for the n-th time (a deploy swaps nginx files twice). No cleanup handler,
`finally` or lock release runs, exactly as when an operator or Jenkins kills the process. Unset (always,
outside tests) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def reach(name: str) -> None:
    wanted = os.environ.get("BLUEGREEN_FAILPOINT")
    if not wanted:
        return
    _reached[name] += 1
    target, _, nth = wanted.partition("#")
    if target == name and _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
