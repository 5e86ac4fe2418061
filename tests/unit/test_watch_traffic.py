"""What the monitor counts from the access log (parts/watch.py over config/log_format.py): slow is not failed."""

from __future__ import annotations

import io

from bluegreen.clock import ManualClock
from bluegreen.output import Reporter
from bluegreen.parts.watch import Watch, Watched
from doctor_facts import config

GREEN, BLUE = "172.18.0.3:8000", "172.18.0.2:8000"
LINE = ('time=2026-12-07T15:00:00+00:00 msec=1796650000.000 status={status} rt={rt} upstream="{up}" '
        'ustatus="{status}" request="GET {path} HTTP/1.1"')


class Lines:
    description = "test"

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def backlog(self) -> list[str]:
        return []

    def poll(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


def window(lines: list[str]):
    cfg = config()
    watch = Watch(cfg.services["backend"], cfg.nginx, Lines(lines),
                  Watched("green", "r1", (GREEN,), "blue", (BLUE,), None),
                  out=Reporter("en", stream=io.StringIO()), clock=ManualClock())
    watch.read_baseline()
    watch.read_traffic()
    return watch.window


def test_calls_past_proxy_read_timeout_are_slow_not_failed_and_websockets_are_not_latencies():
    """20 short answers, 3 calls nginx gave up on at 60 s (504), one 500, and a WebSocket open for 10 minutes
    (101, logged when it closed): one error in 24 requests; the 504s' time counts, the WebSocket's does not."""
    lines = [LINE.format(status=200, rt="0.010", up=GREEN, path="/api") for _ in range(20)]
    lines += [LINE.format(status=504, rt="60.001", up=GREEN, path="/chat") for _ in range(3)]
    lines += [LINE.format(status=500, rt="0.020", up=GREEN, path="/api"),
              LINE.format(status=101, rt="600.000", up=GREEN, path="/ws")]
    tally = window(lines)
    assert (tally.requests, tally.errors) == (24, 1)
    assert max(tally.latencies) == 60.001
