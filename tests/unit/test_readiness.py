"""After the engine starts again (a reboot), a look that finds nginx or a serving color down because Docker is still
restarting it waits for it (bounded) instead of failing with exit 6; one that is stopped for good is reported at once."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from bluegreen.clock import ManualClock
from bluegreen.errors import Unreachable
from bluegreen.operations import look as look_module
from bluegreen.operations.frame import Scene
from bluegreen.operations.look import Problem
from bluegreen.output import Reporter
from bluegreen.parts import readiness

NGINX, BLUE = "edge-nginx", "app-blue"


class Engine:
    """The engine's state of each container over (manual) time: name → [(until, state), …, (None, state)]."""

    def __init__(self, clock: ManualClock, states: dict[str, list[tuple[float | None, str]]]) -> None:
        self.clock, self.start, self.states = clock, clock.monotonic(), states
        self.asked: list[str] = []

    def state(self, name: str) -> str | None:
        elapsed = self.clock.monotonic() - self.start
        for until, state in self.states.get(name, []):
            if until is None or elapsed < until:
                return state
        return None

    def inspect(self, name: str):
        self.asked.append(name)
        state = self.state(name)
        return None if state is None else SimpleNamespace(name=name, state=state)


def scene_on(engine: Engine | None, clock: ManualClock, stream: io.StringIO) -> Scene:
    return Scene(service=None, nginx=SimpleNamespace(container=NGINX), runtime=None, switch=None, state=None,
                 out=Reporter("en", stream=stream), clock=clock, environ={}, guard=None, docker=engine)


@pytest.fixture
def world(monkeypatch):
    """A look over the scripted engine: nginx not running → exit 6 as look() raises it; the blue instance not
    running → its problem, as look() reports it."""
    clock, stream = ManualClock(), io.StringIO()
    box = {}

    def fake_look(service, runtime, switch, state):
        engine = box["engine"]
        if engine.state(NGINX) != "running":
            raise Unreachable("nginx.not_running", name=NGINX)
        clock.advance(0.05)  # a look's engine requests take time: nginx can exit meanwhile (its exec then fails)
        if engine.state(NGINX) != "running":
            raise Unreachable("nginx.not_running", name=NGINX)
        down = engine.state(BLUE) != "running"
        return SimpleNamespace(problems=(Problem("status.problem.not_running", {"name": BLUE}),) if down else ())

    monkeypatch.setattr(look_module, "look", fake_look)

    def make(states, *, docker=True):
        box["engine"] = Engine(clock, states)
        return scene_on(box["engine"] if docker else None, clock, stream), box["engine"]

    return SimpleNamespace(clock=clock, stream=stream, make=make)


def test_nginx_restarting_after_the_engine_started_is_waited_for(world):
    """nginx lost the reboot's race (host not found in upstream) and Docker retries it: the look waits the 1.5 s
    until it runs, says so once, and returns what it sees then (no exit 6)."""
    scene, _ = world.make({NGINX: [(1.5, "restarting"), (None, "running")], BLUE: [(None, "running")]})
    live = scene.look()
    assert live.problems == ()
    assert 1.5 <= world.clock.monotonic() - 1_000_000.0 < 1.5 + readiness.POLL + 0.1
    said = world.stream.getvalue()
    assert said.count("Docker is restarting edge-nginx") == 1 and "❌" not in said


def test_a_serving_color_restarting_is_waited_for_instead_of_named_not_running(world):
    scene, _ = world.make({NGINX: [(None, "running")], BLUE: [(0.7, "restarting"), (None, "running")]})
    assert scene.look().problems == ()
    assert world.clock.monotonic() - 1_000_000.0 >= 0.7
    assert "Docker is restarting app-blue" in world.stream.getvalue()


def test_nginx_stopped_for_good_fails_at_once(world):
    """Exited with no policy to bring it back: exit 6 as before, with no wait and nothing said."""
    scene, _ = world.make({NGINX: [(None, "exited")]})
    with pytest.raises(Unreachable) as error:
        scene.look()
    assert error.value.key == "nginx.not_running" and error.value.exit_code == 6
    assert world.clock.slept == [] and world.stream.getvalue() == ""


def test_a_color_stopped_for_good_is_reported_at_once(world):
    scene, _ = world.make({NGINX: [(None, "running")], BLUE: [(None, "exited")]})
    live = scene.look()
    assert [p.key for p in live.problems] == ["status.problem.not_running"] and world.clock.slept == []


def test_the_wait_is_bounded(world):
    """nginx that keeps failing (a broken file of someone else's): exit 6 after readiness.WITHIN seconds, not
    later, with a line saying what was still restarting."""
    scene, _ = world.make({NGINX: [(None, "restarting")]})
    with pytest.raises(Unreachable) as error:
        scene.look()
    assert error.value.key == "nginx.not_running"
    assert world.clock.monotonic() - 1_000_000.0 == pytest.approx(readiness.WITHIN)
    assert max(world.clock.slept) <= readiness.POLL
    assert "❌ Docker was still restarting edge-nginx after 30 s" in world.stream.getvalue()


def test_nginx_that_runs_for_a_moment_between_tries_is_waited_for_again(world):
    """Docker shows nginx `running` for the instant before it exits again (the look's first check passed, a later
    step found it gone): the engine is restarting it, so the wait goes on within the same deadline."""
    scene, _ = world.make({NGINX: [(0.3, "restarting"), (0.42, "running"), (1.0, "restarting"), (None, "running")],
                           BLUE: [(None, "running")]})
    assert scene.look().problems == ()
    assert world.clock.monotonic() - 1_000_000.0 >= 1.0


def test_without_an_engine_handle_nothing_is_asked(world):
    scene, engine = world.make({NGINX: [(None, "restarting")]}, docker=False)
    with pytest.raises(Unreachable):
        scene.look()
    assert world.clock.slept == [] and engine.asked == []
