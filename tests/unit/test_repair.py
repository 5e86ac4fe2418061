"""The frame's repair: a second look only after a change; an operator's loaded switch is adopted, never reverted;
an edit nginx has not loaded is refused with nothing changed."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from bluegreen.errors import Inconsistent
from bluegreen.operations.repair import repair
from bluegreen.operations.frame import Frame
from bluegreen.operations.look import Live
from bluegreen.config.schema import parse
from bluegreen.output import Reporter
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.nginx import Generation
from bluegreen.parts.state import ServiceState, StateDir
from bluegreen.parts.switch import CONFIRMED, RELOADED, Served
from bluegreen.parts.upstream import parse_upstream
from bluegreen.report import Report

SERVICE = parse({"network": "n", "services": {"backend": {"container_prefix": "app"}}}).service("backend")
BLUE = "upstream backend_backend {\n    server app-blue:8000;\n    server app-green:8000 backup;\n}\n"
GREEN = "upstream backend_backend {\n    server app-green:8000;\n    server app-blue:8000 backup;\n}\n"
OURS = {"bluegreen.service": "backend"}


def _info(name: str, cid: str) -> ContainerInfo:
    return ContainerInfo(name=name, id=cid, image="img", state="running", health=None, labels=OURS, ip="10.0.0.2")


def _live(*, loaded: str = BLUE, disk: str | None = None, how: str = CONFIRMED, confirmed: str = BLUE,
          promoted: dict[str, str] | None = None, stale_lock: dict | None = None) -> Live:
    state = ServiceState(loaded_config=confirmed, promoted={"blue": "b1", "green": "g1"} if promoted is None
                         else promoted, workers=["7"])
    served = Served(disk if disk is not None else loaded, loaded, how, 1234.0, Generation(frozenset({"7"}), 1234.0),
                    parse_upstream(loaded, "backend_backend"), "nginx")
    active = SERVICE.color_of(served.view.primaries[0])
    backup = SERVICE.color_of(served.view.backups[0])
    return Live(SERVICE, {"blue": (_info("app-blue", "b1"),), "green": (_info("app-green", "g1"),)}, served,
                state, active, backup, (), stale_lock, remembered_view=parse_upstream(confirmed, "backend_backend"))


class _Refuses:
    """A runtime/switch stand-in: any call is a test failure, unless the name is in `allowed`."""

    def __init__(self, *allowed: str) -> None:
        self.allowed, self.calls = allowed, []

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            assert name in self.allowed, f"unexpected call {name}{args}"
            self.calls.append(name)
        return call


def _frame(tmp_path, runtime: _Refuses, looked=None) -> Frame:
    scene = SimpleNamespace(service=SERVICE, runtime=runtime, switch=_Refuses(), out=Reporter("en"),
                            state=StateDir(tmp_path, "backend"), nginx=SimpleNamespace(container="nginx"),
                            look=looked or (lambda: (_ for _ in ()).throw(AssertionError("looked again"))))
    return Frame(scene, Report("backend", "deploy"))  # type: ignore[arg-type]


def test_nothing_to_repair_means_no_second_look(tmp_path):
    """With the file confirmed and no orphan, repair returns the same view and never looks again."""
    repaired = repair(_frame(tmp_path, _Refuses()), _live(stale_lock={"pid": 1, "command": "deploy"}))
    assert repaired.active == "blue" and repaired.backup == "green"
    assert repaired.stale_lock is None  # reported once; this run holds the lock now


def test_a_removed_orphan_is_followed_by_a_fresh_look(tmp_path):
    """An unfinished candidate is removed, and the view returned is a new look at the system."""
    fresh = object()
    live = replace(_live(promoted={"blue": "b1"}), backup=None)  # green runs, neither served nor promoted
    runtime = _Refuses("remove")
    assert repair(_frame(tmp_path, runtime, looked=lambda: fresh), live) is fresh
    assert runtime.calls == ["remove"]


def test_a_hand_made_container_is_never_an_orphan(tmp_path):
    """A container without bluegreen's labels (an operator's `docker run`) is left alone."""
    live = replace(_live(promoted={"blue": "b1"}), backup=None)
    hand = replace(live.instances["green"][0], labels={})
    live = replace(live, instances={**live.instances, "green": (hand,)})
    assert live.orphans() == []
    repair(_frame(tmp_path, _Refuses()), live)


def test_an_operators_loaded_switch_is_adopted_and_recorded(tmp_path):
    """nginx loaded a file bluegreen did not write: it becomes the truth and history says so; nothing reloads."""
    frame = _frame(tmp_path, _Refuses())
    live = _live(loaded=GREEN, how=RELOADED, confirmed=BLUE)
    assert live.switched_outside and not live.edited_not_loaded
    repaired = repair(frame, live)
    assert repaired.active == "green"
    state = StateDir(tmp_path, "backend")
    assert state.load().loaded_config == GREEN
    entry = next(state.history())
    assert (entry["action"], entry["from"], entry["to"]) == ("outside_switch", "blue", "green")


def test_an_edit_nginx_has_not_loaded_is_refused(tmp_path):
    """The disk differs from what nginx serves and no run of ours left it: refuse, change nothing."""
    live = _live(loaded=BLUE, disk=GREEN, how=CONFIRMED)
    assert live.edited_not_loaded and not live.switched_outside
    with pytest.raises(Inconsistent) as err:
        repair(_frame(tmp_path, _Refuses()), live)
    assert err.value.exit_code == 3 and "nginx -s reload" in str(err.value)
    assert StateDir(tmp_path, "backend").load() == ServiceState()
