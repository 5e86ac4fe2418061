"""The monitor and Swarm nodes (issue 24): which silent tasks are the node's doing, not the release's, and what a
slot that left with its node says when Swarm starts nothing in its place. On three real nodes:
tests/test_swarm_node_loss.py."""

from __future__ import annotations

import io
from types import SimpleNamespace

from bluegreen.errors import DeployFailed
from bluegreen.operations.monitor import NODE_SILENCE, Monitor
from bluegreen.output import Reporter
from bluegreen.parts.health import Probe
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.runtime import Moved
from bluegreen.parts.watch import Watched


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def task(slot: int, node: str | None, state: str = "running") -> ContainerInfo:
    return ContainerInfo(name=f"app-green.{slot}", id=f"t{slot}", image="app:v2", state=state, health=None,
                         ip=f"10.0.0.{slot}", node=node)


def monitor(runtime=None) -> tuple[Monitor, io.StringIO, Clock]:
    stream, clock = io.StringIO(), Clock()
    scene = SimpleNamespace(out=Reporter("en", stream=stream), clock=clock, runtime=runtime,
                            service=SimpleNamespace(health=SimpleNamespace(path="/health")))
    found = monitor_of(scene)
    return found, stream, clock


def monitor_of(scene) -> Monitor:
    found = Monitor.__new__(Monitor)
    found.scene, found.out = scene, scene.out
    found.silent, found.left = {}, {}
    return found


SILENT, ANSWERS, HTTP_503 = Probe(False, detail="timeout"), Probe(True, 200, "HTTP 200"), Probe(False, 503, "HTTP 503")
TASKS = [task(1, "w1"), task(2, "w1"), task(3, "w2"), task(4, "mgr")]


def probes(**by_id: Probe) -> dict[str, Probe]:
    return {t.id: by_id.get(t.id, ANSWERS) for t in TASKS}


def test_tasks_silent_on_one_node_while_others_answer_are_excused_for_a_bounded_time():
    mon, out, clock = monitor()
    assert mon.node_silence(TASKS, probes(t1=SILENT, t2=SILENT)) == {"t1", "t2"}
    assert "on node w1 do not answer while those on other nodes do" in out.getvalue()
    clock.now += NODE_SILENCE - 1
    assert mon.node_silence(TASKS, probes(t1=SILENT, t2=SILENT)) == {"t1", "t2"}
    clock.now += 2  # the manager still lists the node as ready: judged like any other from now on
    assert mon.node_silence(TASKS, probes(t1=SILENT, t2=SILENT)) == set()
    assert out.getvalue().count("do not answer while") == 1


def test_a_node_that_answers_again_starts_a_new_grace_if_it_falls_silent_later():
    mon, out, clock = monitor()
    mon.node_silence(TASKS, probes(t1=SILENT, t2=SILENT))
    clock.now += NODE_SILENCE + 5
    assert mon.node_silence(TASKS, probes()) == set()
    assert mon.node_silence(TASKS, probes(t1=SILENT, t2=SILENT)) == {"t1", "t2"}


def test_what_the_release_does_is_never_excused():
    mon, _, _ = monitor()
    # one task silent beside one on the same node that answers: that task, not the node
    assert mon.node_silence(TASKS, probes(t1=SILENT)) == set()
    # an HTTP answer, even 503: the node's network works, the release answered badly
    assert mon.node_silence(TASKS, probes(t1=HTTP_503, t2=HTTP_503)) == set()
    # every node silent: nothing to compare with
    assert mon.node_silence(TASKS, {t.id: SILENT for t in TASKS}) == set()
    # containers (no node): never
    plain = [task(1, None), task(2, None)]
    assert mon.node_silence(plain, {"t1": SILENT, "t2": ANSWERS}) == set()


class RestartNone:
    """A Swarm whose service has restart condition none: task 1 left with node w1, nothing in its place."""

    def __init__(self) -> None:
        self.tasks = [task(1, "w1", state="shutdown"), *TASKS[2:]]

    def moved(self, color: str, release: str) -> tuple[Moved, ...]:
        return (Moved("t1", "app-green.1", "w1", "drain"),)

    def settle(self, color: str, release: str, progress) -> None:
        raise DeployFailed("swarm.not_moved", name="app-green")

    def instances(self, color: str) -> tuple[ContainerInfo, ...]:
        return tuple(self.tasks)

    def probe_all(self, found, path: str) -> list[Probe]:
        return [ANSWERS for _ in found]


def test_a_slot_swarm_does_not_fill_again_fails_the_rounds_naming_its_node():
    runtime = RestartNone()
    mon, out, _ = monitor(runtime)
    mon.watched = Watched("green", "r1", ("10.0.0.1:8000",), "blue", (), "app:v2")
    mon.watch = SimpleNamespace(watched=mon.watched)
    mon.replicas = (task(1, "w1"), *TASKS[2:])
    for _ in range(2):  # said once, the slot failing each round
        seen = mon.instance_round()
        assert seen["app-green.1"] == (False, "left with node w1 (drain), and Swarm started nothing in its place")
        assert seen["app-green.3"] == (True, "HTTP 200")
    text = out.getvalue()
    assert text.count("Node w1 left (drain) while green was watched, with tasks app-green.1") == 1, text
    assert "Swarm starts no task of app-green" in text and "were not replaced by healthy ones" in text, text
    runtime.tasks = [t for t in runtime.tasks if t.id != "t1"]  # Swarm forgot the task: gone, still named
    assert mon.instance_round()["app-green.1"][1].startswith("left with node w1")
