"""Crash points, so tests can SIGKILL a real run at an exact step.

`BLUEGREEN_FAILPOINT=<name>` makes the process kill itself with SIGKILL when it reaches `<name>`: no cleanup
handler, `finally` or lock release runs, exactly as when an operator or Jenkins kills the process. Unset (always,
outside tests) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def reach(name: str) -> None:
    if os.environ.get("BLUEGREEN_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
