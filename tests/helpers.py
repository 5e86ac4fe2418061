"""Small test helpers: wait for a condition with a deadline instead of sleeping; bound a block in time; see
whether a process runs."""
from __future__ import annotations

import contextlib
import signal
import time
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition awaited by wait_until did not hold before its deadline."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
) -> T:
    """Poll `predicate` until it returns a truthy value and return that value.

    Exceptions raised by the predicate count as "not yet" (the last one is reported).
    Raises WaitTimeout naming `what` when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except Exception as exc:  # noqa: BLE001 - "not yet", reported on timeout
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
        time.sleep(interval)  # poll interval; the loop condition is the synchronisation


@contextlib.contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail with TimeoutError when the block runs longer (a read that blocks forever, a FIFO without a writer),
    instead of stalling the suite."""
    def hung(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds}s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def running(pid: int) -> bool:
    """The process runs (one that died and was not reaped yet, a zombie, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False
