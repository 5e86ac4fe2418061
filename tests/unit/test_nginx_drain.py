"""`NginxGate.drain`: a deploy waits for old nginx workers to finish before it stops the idle color, within a bound."""

from __future__ import annotations

from bluegreen.config import Nginx
from bluegreen.nginx import NginxGate

MASTER = ("1", "nginx: master process /usr/sbin/nginx")
NEW = [("30", "nginx: worker process"), ("31", "nginx: worker process")]
OLD = [("20", "nginx: worker process is shutting down")]


class _Docker:
    """Answers `processes` with one scripted listing per call (the last one repeats)."""

    def __init__(self, *listings: list[tuple[str, str]]) -> None:
        self.listings, self.calls = list(listings), 0

    def processes(self, container: str) -> list[tuple[str, str]]:
        self.calls += 1
        return self.listings[min(self.calls, len(self.listings)) - 1]


def _gate(docker: _Docker) -> NginxGate:
    return NginxGate(docker, Nginx(container="nginx"), "/etc/nginx/conf.d/app.upstream.conf")  # type: ignore[arg-type]


def test_no_old_generation_returns_at_once():
    """With only the current workers running, drain returns True after one look."""
    docker = _Docker([MASTER, *NEW])
    assert _gate(docker).drain(5.0) is True
    assert docker.calls == 1


def test_waits_until_the_old_generation_exits():
    """A worker still shutting down is waited for; drain returns True once it has exited."""
    docker = _Docker([MASTER, *NEW, *OLD], [MASTER, *NEW, *OLD], [MASTER, *NEW])
    assert _gate(docker).drain(5.0) is True
    assert docker.calls == 3


def test_gives_up_at_the_bound():
    """A worker that never exits (a websocket) costs at most `timeout`, then drain returns False."""
    ticks = iter(range(100))
    docker = _Docker([MASTER, *NEW, *OLD])
    assert _gate(docker).drain(3.0, clock=lambda: float(next(ticks))) is False
    assert docker.calls == 3  # looks at t = 0, 1 and 2; gives up at t = 3
