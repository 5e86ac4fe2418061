"""The drain of instances about to stop: each is asked to stop (its stop signal), then bluegreen waits while it still
answers requests, bounded by `drain_timeout`, and says how many are in flight while it waits.

    ask each to stop → count its requests in flight (parts/in_flight.py) → until every instance has exited or
    counts 0, or the deadline → what was still in flight at the deadline is cut (the caller kills it)

nginx no longer sends the instances anything new when this runs (the caller switched it away first): what they
still answer are the requests they already had. Per instance, in both switch modes, without a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from bluegreen.clock import Clock
from bluegreen.parts import in_flight
from bluegreen.parts.engine import Docker

POLL = 0.1  # seconds between two counts: a request that ends is seen within this


@dataclass(frozen=True)
class Drained:
    """What a drain saw. `cut`: requests still in flight at the deadline (the caller kills the instances);
    `counted`: the requests could be counted (else bluegreen waited for the instances to exit)."""

    names: tuple[str, ...] = ()
    at_start: int = 0
    cut: int = 0
    waited: float = 0.0
    counted: bool = True
    timed_out: bool = False
    by_name: dict[str, int] = field(default_factory=dict)  # requests cut, per instance


Progress = Callable[[int | None, float], None]  # (requests in flight or None when not counted, seconds left)


def drain(docker: Docker, names: Sequence[str], *, port: int, timeout: float, clock: Clock,
          progress: Progress) -> Drained:
    """Ask each running instance to stop, then wait (≤ `timeout`) until none answers a request any more."""
    asked = {name: found for name in names if (found := docker.ask_to_stop(name)) is not None}
    if not asked:
        return Drained()
    deadline = clock.deadline(timeout)
    first: int | None = None
    counted = True  # every look could count every running instance's requests
    while True:
        counts = {name: _in_flight(docker, name, pid, cid, port) for name, (pid, cid) in asked.items()}
        busy = {name: n for name, n in counts.items() if n != 0}  # n is None: running, not countable
        counted = counted and all(n is not None for n in counts.values())
        total = sum(n for n in busy.values() if n) if counted else None
        if first is None:
            first = total or 0
        if not busy:
            return Drained(tuple(asked), first, 0, deadline.elapsed, counted)
        if deadline.expired:
            cut = {name: n for name, n in busy.items() if n}
            return Drained(tuple(asked), first, sum(cut.values()), deadline.elapsed, counted, True, cut)
        progress(total, deadline.remaining)
        deadline.pause(POLL)


def _in_flight(docker: Docker, name: str, pid: int, container_id: str, port: int) -> int | None:
    """0 once the instance has exited; its connections while it runs; None when it runs and they cannot be seen."""
    info = docker.inspect(name)
    if info is None or not info.running or info.id != container_id:
        return 0
    return in_flight.connections(pid, container_id, port)
