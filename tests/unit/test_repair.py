"""`repair` looks at the live system again only after it changed something (a look costs a Docker file read)."""

from __future__ import annotations

from types import SimpleNamespace

from bluegreen import traffic
from bluegreen.config_schema import parse
from bluegreen.containers import ContainerInfo
from bluegreen.live import Live
from bluegreen.state import ServiceState
from bluegreen.upstream import parse_upstream

SERVICE = parse({"network": "n", "services": {"backend": {"container_prefix": "app"}}}).service("backend")
FILE = "upstream backend_backend {\n    server app-blue:8000;\n    server app-green:8000 backup;\n}\n"


def _info(name: str, cid: str) -> ContainerInfo:
    return ContainerInfo(name=name, id=cid, image="img", state="running", health=None, ip="10.0.0.2")


def _live(*, promoted: dict[str, str], stale_lock: dict | None = None) -> Live:
    state = ServiceState(loaded_config=FILE, promoted=promoted)
    return Live(SERVICE, {"blue": _info("app-blue", "b1"), "green": _info("app-green", "g1")}, FILE, FILE,
                parse_upstream(FILE, "backend_backend"), state, "blue", "green", (), stale_lock)


class _Refuses:
    """A docker/gate stand-in: any call is a test failure, unless the name is in `allowed`."""

    def __init__(self, *allowed: str) -> None:
        self.allowed, self.calls = allowed, []

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            assert name in self.allowed, f"unexpected call {name}{args}"
            self.calls.append(name)
        return call


def _ctx(docker: _Refuses) -> SimpleNamespace:
    quiet = SimpleNamespace(say=lambda *a, **k: None)
    return SimpleNamespace(service=SERVICE, docker=docker, gate=_Refuses(), out=quiet)


def test_nothing_to_repair_means_no_second_look(monkeypatch):
    """With the file confirmed and no orphan, repair returns the same view and never looks again."""
    monkeypatch.setattr(traffic, "look", lambda ctx: (_ for _ in ()).throw(AssertionError("looked again")))
    live = _live(promoted={"blue": "b1", "green": "g1"}, stale_lock={"pid": 1, "command": "deploy"})
    repaired = traffic.repair(_ctx(_Refuses()), live)
    assert repaired.active == "blue" and repaired.backup == "green"
    assert repaired.stale_lock is None  # reported once; this run holds the lock now


def test_a_removed_orphan_is_followed_by_a_fresh_look(monkeypatch):
    """An unfinished candidate is removed, and the view returned is a new look at the system."""
    fresh = object()
    monkeypatch.setattr(traffic, "look", lambda ctx: fresh)
    live = _live(promoted={"blue": "b1"})
    live = Live(**{**live.__dict__, "backup": None})  # green runs but is neither served nor promoted
    docker = _Refuses("remove")
    assert traffic.repair(_ctx(docker), live) is fresh
    assert docker.calls == ["remove"]
