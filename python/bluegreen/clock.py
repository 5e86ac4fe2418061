"""Time, injected: every wait in bluegreen is a deadline polled with `sleep`, and tests drive it without waiting.

`Clock` is the real one; `ManualClock` moves only when something sleeps on it, so a test of a two-minute health
gate runs in microseconds and still checks the arithmetic of deadlines and rate limits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


class Clock:
    def now(self) -> float:
        """Wall-clock seconds since the epoch (for stamps compared with the Docker engine's)."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        # A poll interval, never synchronisation: callers sleep inside a loop that checks its condition.
        if seconds > 0:
            threading.Event().wait(seconds)

    def deadline(self, seconds: float) -> "Deadline":
        return Deadline(self, self.monotonic(), seconds)


@dataclass(frozen=True)
class Deadline:
    clock: Clock
    start: float
    seconds: float

    @property
    def elapsed(self) -> float:
        return self.clock.monotonic() - self.start

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed)

    @property
    def expired(self) -> bool:
        return self.elapsed >= self.seconds

    def pause(self, interval: float) -> None:
        """Sleep `interval`, never past the deadline."""
        self.clock.sleep(min(interval, self.remaining))


class ManualClock(Clock):
    """A clock for tests: time passes only through `sleep` (and `advance`)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


REAL = Clock()
