"""The operation frame: every operation on a service runs through the same runbook, written once.

    begin (announce, check input: a refusal here changes and records nothing)
    → lock the service (LockHeld: refused, nothing recorded)
    → look at the live system → repair what an interrupted run left, adopt an operator's switch
    → plan (under the lock) → act (under the lock, or after it for a watch that must not block rollbacks)
    → record the outcome in history, whatever happened → release

Operations (deploy.py, rollback.py, monitor.py) only say what to check, plan and do; they never take the lock,
write state or history, or turn errors into results. What they change goes through the `Frame` they are given,
which records each switch in the state the instant nginx confirms it, so a run killed at any point leaves a
state that matches what nginx serves.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, TypeVar, runtime_checkable

from bluegreen import failpoints
from bluegreen.errors import BlueGreenError, LockHeld, Unreachable
from bluegreen.parts.state import ServiceState, StateDir, now_iso

if TYPE_CHECKING:  # the rollback's quick path locks through this module: it imports no more than it needs then
    from bluegreen.clock import Clock
    from bluegreen.operations.guard import Guard
    from bluegreen.operations.look import Live
    from bluegreen.output import Reporter
    from bluegreen.parts.readiness import Engine
    from bluegreen.parts.runtime import Runtime
    from bluegreen.parts.switch import Generation, Switch  # Generation: nginx.py's, through the seam
    from bluegreen.report import Report
    from bluegreen.config.settings import Nginx, Service

T = TypeVar("T")


@dataclass(frozen=True)
class Scene:
    """The parts one command works with, for one service (built by commands.py)."""

    service: Service
    nginx: Nginx
    runtime: Runtime
    switch: Switch
    state: StateDir
    out: Reporter
    clock: Clock
    environ: Mapping[str, str]
    guard: Guard  # asks nginx before any instance stops (the runtime above is guarded by it: guard.py)
    docker: Engine | None = None  # the engine, asked, when nginx or a serving color is down, whether it is restarting

    def look(self) -> Live:
        """One look at the live system; when it finds nginx or a serving color down because the engine is still
        restarting it (the engine has just started again: a reboot), it looks again until it is not, up to
        readiness.WITHIN seconds, rather than failing (exit 6) or naming a container that is a moment from running."""
        from bluegreen.operations.look import DOWN, look

        def once() -> tuple[Live | None, list[str], Unreachable | None]:
            try:
                live = look(self.service, self.runtime, self.switch, self.state)
            except Unreachable as error:
                if error.key != "nginx.not_running":
                    raise
                return None, [self.nginx.container], error
            return live, [p.params["name"] for p in live.problems if p.key in DOWN], None

        return self._while_restarting(once)

    def once_nginx_runs(self, read: Callable[[], T]) -> T:
        """read() (something that asks nginx), waiting as look() does while the engine restarts nginx."""
        def once() -> tuple[T | None, list[str], Unreachable | None]:
            try:
                return read(), [], None
            except Unreachable as error:
                if error.key != "nginx.not_running":
                    raise
                return None, [self.nginx.container], error

        return self._while_restarting(once)  # type: ignore[return-value]

    def _while_restarting(self, attempt: Callable[[], tuple[Any, list[str], Unreachable | None]]) -> Any:
        from bluegreen.parts import readiness

        deadline, told = None, False
        while True:
            result, down, failed = attempt()
            waiting = readiness.restarting(self.docker, down) if down and self.docker else []
            deadline = deadline or self.clock.deadline(readiness.WITHIN)
            if waiting and not deadline.expired:
                if not told:
                    self.out.say("readiness.waiting", names=", ".join(waiting), seconds=f"{readiness.WITHIN:.0f}")
                    told = True
                deadline.pause(readiness.POLL)
                continue
            if waiting:
                self.out.say("readiness.gave_up", names=", ".join(waiting), seconds=f"{readiness.WITHIN:.0f}")
            if failed is not None:
                raise failed
            return result


class Operation(Protocol):
    action: str
    holds_lock: bool  # False: only the look and the plan are under the lock (a watch must not block a rollback)
    repairs: bool  # repair and adopt before planning

    def begin(self, report: Report) -> None: ...

    def plan(self, live: Live, frame: "Frame") -> None: ...

    def act(self, frame: "Frame") -> None: ...

    def end(self) -> None: ...


@runtime_checkable
class Unwinds(Protocol):
    """An operation that changed something before the frame looked (the rollback after its quick path): what it
    changed goes back when the run cannot finish it, still under the lock."""

    def unwind(self, frame: "Frame") -> None: ...


class Frame:
    """What an operation changes the system through; the only writer of state and history."""

    def __init__(self, scene: Scene, report: Report) -> None:
        self.scene, self.report = scene, report
        self.phases: dict[str, float] = {}

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """`with frame.timed("wait_until_healthy"):` records how long each runbook step took."""
        start = self.scene.clock.monotonic()
        try:
            yield
        finally:
            self.phases[phase] = round(self.phases.get(phase, 0.0) + self.scene.clock.monotonic() - start, 3)

    # --- switching: the state follows nginx step by step -------------------------------------------------------
    def switch(self, *, primary: str, backup: str | None, previous: str | None, preview: str | None = None) -> str:
        """Render, remember as pending, serve (test, reload, confirm), remember as confirmed; the new text."""
        text = self.scene.switch.render(primary=primary, backup=backup, preview=preview)
        self.serve(text, previous)
        return text

    def restore(self, text: str | None, current: str) -> None:
        """Serve again the file that served before a failed step."""
        if text is not None:
            self.serve(text, current)

    def serve(self, text: str, previous: str | None) -> None:
        state = self.scene.state
        current = state.load()
        current.pending = text
        state.save(current)
        self._confirm(current, text, lambda: self.scene.switch.apply(text, previous))

    def rewrite(self, text: str) -> None:
        """nginx serves `text` already (confirmed): put it back on disk in place of an interrupted run's file."""
        state = self.scene.state
        self.scene.switch.rewrite(text)
        current = state.load()
        current.pending = None
        state.save(current)

    def settle(self, text: str, previous: str | None) -> None:
        """The rollback's quick path moved traffic to `text` already, with `text` pending in the state: install the
        file and confirm, as a switch does after its own request (on failure `previous` serves again)."""
        self._confirm(self.scene.state.load(), text, lambda: self.scene.switch.settle(text, previous))

    def _confirm(self, current: ServiceState, text: str, serve: Callable[[], Generation]) -> None:
        state = self.scene.state
        try:
            generation = serve()
        except BaseException:
            current.pending = None  # the switch put `previous` back
            state.save(current)
            raise
        failpoints.reach("nginx.reloaded")
        current.loaded_config, current.workers, current.pending = text, sorted(generation.workers), None
        current.quick = self.scene.switch.ticket(text)  # what the next rollback's quick path will check
        state.save(current)

    def took_over(self, text: str, generation: Generation, *, color: str, instance: str, image: str) -> None:
        """`bluegreen init` moved the upstream into bluegreen's file and nginx confirmed it (`generation`): remembered
        as a switch to `color` is, its container as the release that serves, so the first deploy knows what nginx
        serves and goes to the other color."""
        self._confirm(self.scene.state.load(), text, lambda: generation)
        self.promote(color, instance, image)

    def back_up(self, files: Mapping[str, str]) -> Path:
        """Copies of files another program reads, before bluegreen changes them (init: nginx's), in state_dir."""
        return self.scene.state.keep_copies(files)

    def promote(self, color: str, instance_id: str, image: str) -> None:
        """`color` now serves: its instance is a rollback target from now on; nothing is staged any more."""
        state = self.scene.state
        current = state.load()
        current.promoted[color] = instance_id
        current.images[color] = image
        current.staged = None
        state.save(current)

    def stage(self, *, color: str, instance: str, image: str, build: str, preview_url: str, kept: bool) -> None:
        """A healthy candidate waits for `promote` or `abort`, without the lock."""
        state = self.scene.state
        current = state.load()
        current.staged = {"color": color, "instance": instance, "image": image, "build": build,
                          "preview_url": preview_url, "kept": kept, "since": now_iso(),
                          "by": self.scene.environ.get("BUILD_URL", "")}
        state.save(current)

    def unstage(self) -> None:
        state = self.scene.state
        current = state.load()
        if current.staged is not None:
            current.staged = None
            state.save(current)

    # --- the frame's own steps -------------------------------------------------------------------------------
    def record(self, report: Report) -> None:
        """One history entry (the repair records an adopted switch with it)."""
        self.scene.state.record(report.history_entry())

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Record the report in history however the block ends: a failure with its reason (unless the operation
        already settled the result), anything unexpected as an error."""
        started = self.scene.clock.monotonic()
        report, out = self.report, self.scene.out
        try:
            yield
        except BlueGreenError as error:
            error.params = out.masked(error.params)  # it is printed once more, by the CLI
            if report.result == "success":
                report.fail(error, out.text(error.key, **error.params))
            raise
        except BaseException as error:
            report.crash(error, out.mask)
            raise
        finally:
            report.duration = round(self.scene.clock.monotonic() - started, 3)
            report.phases = dict(self.phases)
            self.record(report)


def lock_ahead(state: StateDir, action: str, service: str) -> bool:
    """The lock for the rollback's quick path (quick/rollback.py), taken before the scene exists; `run` keeps it.
    False, changing nothing, when a live run holds it or a dead run left its record: the full path says which,
    and repairs."""
    if state.stale_holder():
        return False
    try:
        state.acquire(f"{action} {service}")
    except LockHeld:
        return False
    return True
