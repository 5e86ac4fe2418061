"""The bench's open-loop schedule (zdt.load.paced, used by the load generator and the streams client): a start
every 1/rate s counted from the first, never skipped when the caller fell behind, and no start after the stop.
No Docker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from zdt.load import paced  # noqa: E402

RATE = 20.0  # a start every 50 ms


async def _starts(stall_at: int, stop_after: int) -> tuple[list[tuple[int, float, float]], float]:
    """(k, due, when yielded) of each start; the caller stalls 4 periods at start `stall_at` and stops after start
    `stop_after`. Also returns how long the schedule took to end once stopped."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    starts = []
    stopped_at = 0.0
    async for k, due in paced(RATE, stopping):
        starts.append((k, due, loop.time()))
        if k == stall_at:
            await asyncio.sleep(4 / RATE)  # a slow caller: the schedule must not move because of it
        if k == stop_after:
            stopping.set()
            stopped_at = loop.time()
    return starts, loop.time() - stopped_at


def test_paced_keeps_the_schedule_through_a_stall_and_ends_at_the_stop():
    starts, ended_in = asyncio.run(asyncio.wait_for(_starts(stall_at=2, stop_after=9), 10))
    assert [k for k, _, _ in starts] == list(range(10))  # every start, none skipped, none after the stop
    first = starts[0][1]
    for k, due, _ in starts:
        assert abs(due - (first + k / RATE)) < 1e-9  # due times fixed by the rate, not by the caller
    assert all(yielded >= due for _, due, yielded in starts)  # never early
    late = [k for k, due, yielded in starts if yielded - due > 1 / RATE]
    assert late and late[0] == 3, starts  # the stall made the next starts late; they came, late, not dropped
    assert ended_in < 1 / RATE, ended_in
