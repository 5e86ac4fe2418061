"""`NginxControl.drain`: a deploy waits for old nginx workers to finish before it stops the idle color, within a bound."""

from __future__ import annotations

from bluegreen.clock import ManualClock
from bluegreen.parts.engine import Process
from bluegreen.parts.nginx import NginxControl
from bluegreen.config.settings import Nginx

MASTER = Process("1", 100, "nginx: master process /usr/sbin/nginx")
NEW = [Process("30", 5, "nginx: worker process"), Process("31", 5, "nginx: worker process")]
OLD = [Process("20", 50, "nginx: worker process is shutting down")]


class _Docker:
    """Answers `processes` with one scripted listing per call (the last one repeats)."""

    def __init__(self, *listings: list[Process]) -> None:
        self.listings, self.calls = list(listings), 0

    def processes(self, container: str) -> list[Process]:
        self.calls += 1
        return self.listings[min(self.calls, len(self.listings)) - 1]


def _control(docker: _Docker, clock: ManualClock | None = None) -> NginxControl:
    return NginxControl(docker, Nginx(container="nginx"), "/etc/nginx/conf.d/app.upstream.conf",  # type: ignore[arg-type]
                     clock or ManualClock())


def test_no_old_generation_returns_at_once():
    """With only the current workers running, drain returns True after one look."""
    docker = _Docker([MASTER, *NEW])
    assert _control(docker).drain(5.0) is True
    assert docker.calls == 1


def test_waits_until_the_old_generation_exits():
    """A worker still shutting down is waited for; drain returns True once it has exited."""
    docker = _Docker([MASTER, *NEW, *OLD], [MASTER, *NEW, *OLD], [MASTER, *NEW])
    assert _control(docker).drain(5.0) is True
    assert docker.calls == 3


def test_gives_up_at_the_bound():
    """A worker that never exits (a websocket) costs at most `timeout`, then drain returns False."""
    clock = ManualClock()
    docker = _Docker([MASTER, *NEW, *OLD])
    assert _control(docker, clock).drain(3.0) is False
    assert abs(sum(clock.slept) - 3.0) < 1e-6  # polled every 50 ms up to the bound, never past it
    assert 60 <= docker.calls <= 62


def test_generation_is_the_current_workers_and_when_the_oldest_started():
    """Shutting-down workers are not the generation; its start is now minus the oldest current worker's age."""
    clock = ManualClock(start=1000.0)
    gen = _control(_Docker([MASTER, *NEW, *OLD]), clock).generation()
    assert gen.workers == {"30", "31"} and gen.started == 995.0
