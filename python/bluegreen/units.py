"""Durations as operators write them ("500ms", "30s", "2m", or plain seconds).

The whole value must be a duration (`fullmatch`: "5s\\n" or " 5s" is not one) and the result is finite and at
most a day: a `.inf` or a 400-digit number would otherwise reach `time.sleep` or the Docker API mid-deploy and
overflow there. Keys narrow the range further (config/schema.py).
"""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"(\d{1,12}(?:\.\d{1,9})?)(ms|s|m|h)?")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
MAX_SECONDS = 24 * 3600.0  # no wait, timeout or watch in bluegreen is meant to last longer than a day


def parse_duration(value: object, *, limit: float = MAX_SECONDS) -> float | None:
    """Seconds as a float, or None when the value is not a duration of at most `limit` seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = float(value) if 0 <= value <= limit else math.inf  # float(10**400) would raise
    elif isinstance(value, float):
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if not match:
            return None
        seconds = float(match.group(1)) * _SCALE[match.group(2)]
    else:
        return None
    if not math.isfinite(seconds) or not 0 <= seconds <= limit:
        return None
    return seconds


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 100 else f"{seconds:.0f}s"
