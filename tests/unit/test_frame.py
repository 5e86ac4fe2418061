"""The operation frame, tested once for every operation: what is recorded, when the lock is held, what a
refusal leaves behind."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bluegreen.clock import ManualClock
from bluegreen.errors import DeployFailed, LockHeld, MissingVariables
from bluegreen.operations.run import run
from bluegreen.output import Reporter
from bluegreen.parts.state import StateDir


class Op:
    """A scripted operation: records the order of the frame's calls and whether the lock was held."""

    def __init__(self, state: StateDir, *, holds_lock: bool = True, fail_in: str | None = None,
                 error: BaseException | None = None) -> None:
        self.state, self.holds_lock, self.fail_in = state, holds_lock, fail_in
        self.error = error or DeployFailed("verify.failed", url="http://x", detail="HTTP 502")
        self.action, self.repairs, self.calls = "deploy", False, []

    def _step(self, name: str) -> None:
        other = StateDir(self.state.root, self.state.service)
        try:
            other.acquire("probe")
            other.unlock()
            self.calls.append((name, "unlocked"))
        except LockHeld:
            self.calls.append((name, "locked"))
        if self.fail_in == name:
            raise self.error

    def begin(self, report):
        self._step("begin")

    def plan(self, live, frame):
        frame.report.source, frame.report.target = "blue", "green"
        self._step("plan")

    def act(self, frame):
        with frame.timed("work"):
            frame.scene.clock.advance(1.5)
        self._step("act")

    def end(self):
        self._step("end")


@pytest.fixture
def scene(tmp_path):
    return SimpleNamespace(service=SimpleNamespace(name="backend"), state=StateDir(tmp_path, "backend"),
                           out=Reporter("en"), clock=ManualClock(), environ={"BUILD_NUMBER": "42"},
                           look=lambda: "live", switch=SimpleNamespace(secure=lambda: []))


def test_success_runs_the_runbook_under_the_lock_and_records_once(scene):
    """begin outside the lock; plan and act under it; one history entry with phases; the lock is free after."""
    op = Op(scene.state)
    report = run(scene, op)
    assert op.calls == [("begin", "unlocked"), ("plan", "locked"), ("act", "locked"), ("end", "unlocked")]
    history = list(scene.state.history())
    assert len(history) == 1 and history[0]["result"] == "success" and history[0]["build"] == "42"
    assert history[0]["phases"] == {"work": 1.5} and report.duration == 1.5


def test_a_refusal_in_begin_changes_and_records_nothing(scene):
    """Missing variables are found before the lock: no history entry, exit 2."""
    op = Op(scene.state, fail_in="begin", error=MissingVariables("env.missing", names="A", key="k"))
    with pytest.raises(MissingVariables) as err:
        run(scene, op)
    assert err.value.exit_code == 2 and list(scene.state.history()) == []


def test_a_held_lock_refuses_and_records_nothing(scene):
    """Another run holds the lock: LockHeld (exit 4) before anything is looked at or recorded."""
    holder = StateDir(scene.state.root, "backend")
    holder.acquire("deploy backend")
    try:
        op = Op(scene.state)
        with pytest.raises(LockHeld):
            run(scene, op)
        assert [c[0] for c in op.calls] == ["begin"] and list(scene.state.history()) == []
    finally:
        holder.unlock()


def test_a_failure_is_recorded_with_its_reason_and_the_lock_released(scene):
    """An operation that fails in act: recorded as failed with the operator's reason; the lock is free."""
    with pytest.raises(DeployFailed) as err:
        run(scene, Op(scene.state, fail_in="act"))
    entry = next(scene.state.history())
    assert entry["result"] == "failed" and "HTTP 502" in entry["reason"]
    assert err.value.report.exit_code == 1  # type: ignore[attr-defined]
    scene.state.acquire("next")
    scene.state.unlock()


def test_an_unexpected_error_is_recorded_as_error_never_success(scene):
    """A bug (any other exception) is recorded as `error`, and passed on."""
    with pytest.raises(ZeroDivisionError):
        run(scene, Op(scene.state, fail_in="act", error=ZeroDivisionError("boom")))
    entry = next(scene.state.history())
    assert entry["result"] == "error" and "ZeroDivisionError: boom" in entry["reason"]


def test_a_watch_acts_after_the_lock_is_released(scene):
    """An operation that must not block rollbacks (the monitor) plans under the lock and acts without it."""
    op = Op(scene.state, holds_lock=False)
    run(scene, op)
    assert op.calls == [("begin", "unlocked"), ("plan", "locked"), ("act", "unlocked"), ("end", "unlocked")]
