"""Several instances per color, without Docker: the config keys, replica and task names mapped to colors, the
upstream file naming each color's servers (and read back), the health gate over N instances, the monitor's
per-instance rule, and what the look makes of replicas."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen.clock import ManualClock
from bluegreen.config.schema import parse
from bluegreen.errors import UsageError
from bluegreen.operations.look import Live, _stale, one_color
from bluegreen.operations.problems import find_problems
from bluegreen.parts import health
from bluegreen.parts.health import Probe
from bluegreen.parts.instance import ContainerInfo, Server
from bluegreen.parts.judge import ProbeStreak, Tally, judge
from bluegreen.parts.nginx import Generation
from bluegreen.parts.render import render_upstream
from bluegreen.parts.state import ServiceState
from bluegreen.parts.switch import CONFIRMED, Served
from bluegreen.parts.upstream import parse_upstream
from bluegreen.config.settings import Health, Monitor


def service(**keys):
    return parse({"network": "n", "services": {"backend": {"container_prefix": "app", **keys}}}).service("backend")


THREE = service(replicas=3)


# --- config ----------------------------------------------------------------------------------------------------
def test_one_container_per_color_is_the_default():
    """Without the new keys: containers, one per color, the guide's names."""
    scale = service().scale
    assert (scale.runtime, scale.replicas, scale.needed) == ("containers", 1, 1)
    assert service().expected("blue") == ["app-blue"]
    assert THREE.expected("green") == ["app-green-1", "app-green-2", "app-green-3"]
    assert service(runtime="swarm", replicas=2).expected("blue") == ["app-blue.1", "app-blue.2"]


@pytest.mark.parametrize("keys, key", [
    ({"replicas": 0}, "replicas"), ({"replicas": "3"}, "replicas"), ({"replicas": 101}, "replicas"),
    ({"replicas": 3, "min_healthy": 4}, "min_healthy"), ({"min_healthy": 0}, "min_healthy"),
    ({"runtime": "kubernetes"}, "runtime"),
    ({"endpoint_mode": "dnsrr"}, "endpoint_mode"),  # means nothing without runtime: swarm
    ({"runtime": "swarm", "endpoint_mode": "ipvs"}, "endpoint_mode"),
    ({"runtime": "swarm", "upstream_resolve": "auto"}, "upstream_resolve"),
    ({"max_replicas_per_node": 2}, "max_replicas_per_node"), ({"constraints": ["node.role==worker"]}, "constraints"),
    ({"runtime": "swarm", "max_replicas_per_node": 0}, "max_replicas_per_node"),
    ({"runtime": "swarm", "max_replicas_per_node": True}, "max_replicas_per_node"),
    ({"runtime": "swarm", "constraints": "node.role==worker"}, "constraints"),
    ({"runtime": "swarm", "constraints": [""]}, "constraints"),
    ({"runtime": "swarm", "constraints": ["node.role==worker\nx"]}, "constraints"),
    ({"runtime": "swarm", "constraints": [{"node.role": "worker"}]}, "constraints"),
])
def test_bad_scale_keys_are_refused_with_their_key(keys, key):
    with pytest.raises(UsageError) as err:
        service(**keys)
    assert f"services.backend.{key}" in str(err.value)


def test_min_healthy_is_what_a_switch_needs():
    assert service(replicas=3, min_healthy=2).scale.needed == 2
    assert service(runtime="swarm", endpoint_mode="dnsrr").scale.endpoint_mode == "dnsrr"


# --- names → colors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host, color", [
    ("app-blue", "blue"), ("app-green-2", "green"), ("app-blue.3", "blue"), ("tasks.app-green", "green"),
    ("app-blue-x", None), ("app-blue-1234", None), ("app-bluegreen", None), ("other-blue", None),
    ("tasks.app-blue-1", None), ("10.0.0.2", None),
])
def test_replica_and_task_names_map_to_their_color(host, color):
    assert THREE.color_of(host) == color


# --- the upstream file ---------------------------------------------------------------------------------------
def test_replicas_are_each_named_and_read_back_as_one_color():
    """Three primaries and three backups; the view maps all of them to the two colors."""
    hosts = {"blue": [Server(f"app-blue-{i}") for i in (1, 2, 3)], "green": [Server(f"app-green-{i}") for i in (1, 2)]}
    text = render_upstream(THREE, primary="green", backup="blue", generation="g", servers=hosts.__getitem__)
    view = parse_upstream(text, THREE.upstream)
    assert view.primaries == ("app-green-1", "app-green-2") and len(view.backups) == 3
    assert one_color(THREE, view.primaries) == "green" and one_color(THREE, view.backups) == "blue"
    assert text.count(" backup;") == 3


def test_task_addresses_carry_their_task_so_the_color_is_known():
    """nginx 1.22: addresses rendered, each with its task beside it; read back as task names. A hand-written
    address without one is not an instance of either color."""
    hosts = {"blue": [Server("10.213.1.5", "app-blue.1"), Server("10.213.1.6", "app-blue.2")], "green": []}
    text = render_upstream(THREE, primary="blue", backup="green", generation="g", servers=hosts.__getitem__)
    assert "server 10.213.1.5:8000 max_fails=3 fail_timeout=30s; # instance app-blue.1\n" in text
    assert "backup" not in text  # a color with nothing running is not named
    view = parse_upstream(text, THREE.upstream)
    assert view.primaries == ("app-blue.1", "app-blue.2") and view.servers == ("10.213.1.5:8000", "10.213.1.6:8000")
    hand = parse_upstream(text.replace(" # instance app-blue.2", ""), THREE.upstream)
    assert hand.primaries == ("app-blue.1", "10.213.1.6") and one_color(THREE, hand.primaries) is None


def test_names_nginx_resolves_itself_get_a_zone_and_a_resolver():
    """nginx >= 1.27.3: `resolve` on each server, in an upstream with a shared-memory zone and Docker's DNS."""
    hosts = {c: [Server(f"tasks.app-{c}")] for c in ("blue", "green")}
    text = render_upstream(THREE, primary="blue", backup="green", generation="g", servers=hosts.__getitem__,
                           resolver="127.0.0.11 valid=2s")
    assert "    zone backend_backend 64k;\n    resolver 127.0.0.11 valid=2s;\n" in text
    assert "server tasks.app-green:8000 resolve max_fails=3 fail_timeout=30s backup;" in text
    assert one_color(THREE, parse_upstream(text, THREE.upstream).primaries) == "blue"


# --- the gate over N instances --------------------------------------------------------------------------------
FAST = Health(path="/health", timeout=2.0, interval=0.5, successes=2, request_timeout=1.0)


def gate(answers: dict[str, list[bool]], *, needed: int = 3, alive=None):
    """Run the gate on scripted answers (the last one repeats); returns the result and the rounds probed."""
    rounds: list[list[str]] = []

    def probe_round(names):
        rounds.append(names)
        return {n: Probe(answers[n][min(len(rounds) - 1, len(answers[n]) - 1)], detail="x") for n in names}

    result = health.wait_until_all_healthy(list(answers), probe_round, FAST, needed=needed,
                                           still_running=alive or (lambda: set(answers)), clock=ManualClock())
    return result, rounds


def test_every_instance_needs_its_own_consecutive_successes():
    """An instance that got there is not probed again; the gate ends when the last one got there."""
    result, rounds = gate({"a": [True], "b": [False, True], "c": [True]})
    assert result.passed == ("a", "b", "c")
    assert rounds == [["a", "b", "c"], ["a", "b", "c"], ["b"]]


def test_one_that_never_answers_fails_the_gate_at_the_deadline():
    result, rounds = gate({"a": [True], "b": [False], "c": [True]})
    assert result.passed == ("a", "c") and result.progress.elapsed == 2.0 and rounds[-1] == ["b"]


def test_a_stopped_instance_ends_the_gate_unless_min_healthy_allows_it():
    """All needed: the first one that stops ends the gate; min_healthy 2 of 3: the others go on to pass."""
    result, _ = gate({"a": [True], "b": [False], "c": [True]}, alive=lambda: {"a", "c"})
    assert result.dead == ("b",) and result.progress.elapsed == 0.0
    result, _ = gate({"a": [True], "b": [False], "c": [True]}, needed=2, alive=lambda: {"a", "c"})
    assert result.passed == ("a", "c") and result.dead == ("b",)


# --- the monitor's rule ---------------------------------------------------------------------------------------
def test_a_replica_failing_its_probes_is_degraded():
    streak = ProbeStreak()
    for _ in range(3):
        streak.record(False, "gone")
    verdict = judge(Monitor(), Tally(), Tally(), {"/health": ProbeStreak()}, {"app-green-2": streak})
    assert verdict and verdict.key == "monitor.reason.instance" and verdict.params["name"] == "app-green-2"


# --- the look --------------------------------------------------------------------------------------------------
def info(name: str, state: str = "running", release: str = "r1", ip: str | None = "10.0.0.9") -> ContainerInfo:
    return ContainerInfo(name=name, id=f"id-{name}", image="img", state=state, health=None,
                         labels={"bluegreen.service": "backend", "bluegreen.release": release}, ip=ip)


def live(svc, instances, *, text: str, promoted=None) -> Live:
    view = parse_upstream(text, svc.upstream)
    served = Served(text, text, CONFIRMED, None, Generation(frozenset({"1"}), None), view, "nginx")
    state = ServiceState(loaded_config=text, promoted=promoted or {})
    base = Live(svc, instances, served, state, one_color(svc, view.primaries), one_color(svc, view.backups))
    return replace(base, problems=tuple(find_problems(base)))


def test_a_color_short_of_replicas_is_named_instance_by_instance():
    """Green serves with one replica stopped and one missing: each is a problem, by name; not `not_running`."""
    text = render_upstream(THREE, primary="green", backup=None, generation="g",
                           servers=lambda c: [Server(f"app-green-{i}") for i in (1, 2, 3)])
    found = live(THREE, {"blue": (), "green": (info("app-green-1"), info("app-green-2", "exited"))}, text=text,
                 promoted={"green": "r1"})
    assert found.active == "green" and not found.running("green")
    assert [(p.key, p.params["name"], p.params["state"]) for p in found.problems] == [
        ("status.problem.instance_down", "app-green-2", "exited"),
        ("status.problem.instance_down", "app-green-3", "absent")]


def test_an_interrupted_swarm_update_is_the_candidate_release():
    """Tasks of two releases (an update killed midway): the color is on its way to the one not promoted, so it
    is an unfinished candidate, not the rollback target."""
    svc = service(runtime="swarm", replicas=2)
    text = render_upstream(svc, primary="green", backup=None, generation="g")
    blue = (info("app-blue.1", release="old"), info("app-blue.2", "starting", release="new"))
    found = live(svc, {"blue": blue, "green": (info("app-green.1", release="g"),)}, text=text,
                 promoted={"blue": "old", "green": "g"})
    assert found.release("blue") == "new" and not found.promoted("blue") and found.orphans() == ["blue"]


def test_addresses_no_running_task_has_are_stale():
    """nginx 1.22 with Swarm: a replaced task's old address is reported (and repaired by the next operation)."""
    svc = service(runtime="swarm", replicas=2)
    servers = {"blue": [Server("10.0.0.2", "app-blue.1"), Server("10.0.0.3", "app-blue.2")], "green": []}
    text = render_upstream(svc, primary="blue", backup=None, generation="g", servers=servers.__getitem__)
    tasks = {"blue": (info("app-blue.1", ip="10.0.0.2"), info("app-blue.2", ip="10.0.0.7")), "green": ()}
    found = live(svc, tasks, text=text, promoted={"blue": "r1"})

    class Runtime:
        def servers_of(self, instances):
            return [Server(i.ip, i.name) for i in instances if i.running]

    assert _stale(found, Runtime()) == ("10.0.0.3:8000", "10.0.0.7:8000")  # gone, and its successor missing


def test_placement_reaches_the_service_spec():
    """`max_replicas_per_node` and `constraints` become the tasks' Placement; without them, none (Swarm spreads)."""
    from bluegreen.parts.swarm import SwarmRuntime

    placed = service(runtime="swarm", replicas=4, max_replicas_per_node=2, constraints=["node.role==worker"])
    assert (placed.scale.max_replicas_per_node, placed.scale.constraints) == (2, ("node.role==worker",))
    spec = SwarmRuntime(_Pinned(), placed, None, None)._spec("app:1", {}, {})  # type: ignore[arg-type]
    assert spec["TaskTemplate"]["Placement"] == {"Constraints": ["node.role==worker"], "MaxReplicas": 2}
    spec = SwarmRuntime(_Pinned(), service(runtime="swarm"), None, None)._spec("app:1", {}, {})  # type: ignore[arg-type]
    assert spec["TaskTemplate"]["Placement"] == {"Constraints": []}


class _Pinned:
    network = "overlay-net"

    def image_refs(self, ref):
        return None
