"""The two colors and what a service may be called: apart from config/settings.py (its dataclasses take ~20 ms to import)
because the rollback's quick path needs only these."""

from __future__ import annotations

import re

COLORS = ("blue", "green")
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")  # service names, container prefixes (+ "-green" < 63: a DNS label)


def other(color: str | None) -> str:
    """The color that is not `color` (blue when there is none yet: the first deploy goes to blue)."""
    return "green" if color == "blue" else "blue"
