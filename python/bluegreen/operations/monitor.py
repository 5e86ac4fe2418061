"""`bluegreen monitor` (and the watch after `deploy --monitor`): watch the active color, roll back if it degrades.

    (frame: lock, look) → check there is a rollback target → (lock released) → baseline of the previous color
    from the access log → every interval: new access-log lines, probes through nginx, judge → healthy, or roll
    back through `bluegreen rollback`'s own operation

Why the lock is not held while watching: holding it for the whole window would refuse an operator's manual
rollback (exit 4) exactly when something is wrong. The price: someone may deploy or roll back meanwhile, so the
rollback first checks, under its own lock, that the watched container still serves as active (`expect_active`),
and otherwise changes nothing.

Signals (parts/watch.py gathers them, parts/judge.py has the rules): the health path and the smoke URLs probed
through the public entry, and real traffic of this upstream from nginx's own access log (parts/access_log.py).
"""

from __future__ import annotations

from bluegreen.errors import BlueGreenError, MonitorRolledBack, RollbackUnavailable
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.run import run
from bluegreen.operations.look import Live
from bluegreen.operations.rollback import Rollback, check_target
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.watch import Watch, Watched
from bluegreen.report import Report
from bluegreen.config.settings import other
from bluegreen.units import format_seconds


class Monitor:
    """Exit 5 after a rollback; 1 when there is nothing to roll back to (right after a deploy: a warning, and
    the deploy stands)."""

    action, holds_lock, repairs = "monitor", False, False

    def __init__(self, scene: Scene, *, duration: float | None = None, after_deploy: bool = False) -> None:
        self.scene, self.out = scene, scene.out
        self.duration = duration or scene.service.monitor.duration
        self.after_deploy = after_deploy
        self.watched: Watched | None = None
        self.replicas: tuple[ContainerInfo, ...] = ()  # watched one by one (when the color has several)

    def begin(self, report: Report) -> None:
        pass

    def plan(self, live: Live, frame: Frame) -> None:
        """One consistent look under the lock: what serves, and that there is something to roll back to."""
        report = frame.report
        try:
            target = check_target(self.scene, live)
        except RollbackUnavailable as error:
            reason = self.out.text(error.key, **error.params)
            if not self.after_deploy:
                raise RollbackUnavailable("monitor.cannot_roll_back", reason=reason) from error
            self.out.say("monitor.skipped", reason=reason)
            report.result, report.reason = "skipped", reason
            return
        active, runtime = other(target), self.scene.runtime
        info, before = live.instance(active), live.instance(target)
        assert info is not None and before is not None  # check_target saw both running
        addresses = {c: tuple(a for i in live.instances[c] if (a := runtime.address(i))) for c in (active, target)}
        self.watched = Watched(active, live.release(active) or info.id, addresses[active], target,
                               addresses[target], live.state.images.get(active))
        if self.scene.service.scale.replicas > 1:  # one that stopped since the switch is watched too: it fails
            self.replicas = live.instances[active]
        report.source, report.target, report.image = target, active, self.watched.image

    def act(self, frame: Frame) -> None:
        watched, rules, out = self.watched, self.scene.service.monitor, self.out
        if watched is None:
            return  # skipped: nothing to roll back to
        out.say("monitor.begin", color=watched.color, duration=format_seconds(self.duration),
                previous=watched.previous, interval=format_seconds(rules.interval))
        scene = self.scene
        watch = Watch(scene.service, scene.nginx, scene.switch.access_log(), watched, out=out, clock=scene.clock,
                      instances=self.instance_round if self.replicas else None)
        verdict = watch.run(self.duration)
        frame.report.details = watch.details()
        if verdict is None:
            frame.report.result = "healthy"
            frame.report.reason = out.text("monitor.healthy", **watch.summary(self.duration))
            out.say("monitor.healthy", **watch.summary(self.duration))
            return
        self.roll_back(frame.report, out.text(verdict.key, **verdict.params))

    def instance_round(self) -> dict[str, tuple[bool, str]]:
        """Each watched replica (or Swarm task), directly: gone, stopped, or its health path's answer."""
        runtime = self.scene.runtime
        color = self.watched.color if self.watched else ""
        now = {i.id: i for i in runtime.instances(color)}
        alive = [now[i.id] for i in self.replicas if i.id in now and now[i.id].running]
        probes = dict(zip((i.id for i in alive), runtime.probe_all(alive, self.scene.service.health.path)))
        seen: dict[str, tuple[bool, str]] = {}
        for watched in self.replicas:
            current = now.get(watched.id)
            if watched.id in probes:
                seen[watched.name] = (probes[watched.id].ok, probes[watched.id].detail)
            elif current is None:
                seen[watched.name] = (False, self.out.text("monitor.instance_gone"))
            else:
                seen[watched.name] = (False, self.out.text("monitor.instance_stopped", state=current.state,
                                                           code=str(current.exit_code)))
        return seen

    def roll_back(self, report: Report, reason: str) -> None:
        """`bluegreen rollback`'s own operation, if the watched container still serves; always raises: exit 5
        when done, else the rollback's refusal or failure (its exit code), saying what was degraded."""
        watched, out = self.watched, self.out
        assert watched is not None
        out.say("monitor.degraded", color=watched.color, reason=reason)
        out.say("monitor.rolling_back", target=watched.previous)
        try:
            run(self.scene, Rollback(self.scene, reason=out.text("monitor.rollback_reason", reason=reason),
                                     expect_active=(watched.color, watched.release)))
        except BlueGreenError as error:
            if getattr(getattr(error, "report", None), "result", "") != "hook_failed":
                failed = type(error)("monitor.not_rolled_back", error=out.text(error.key, **error.params),
                                     reason=reason)
                report.fail(failed, out.text(failed.key, **failed.params))
                report.result = "degraded"
                raise failed from error
            # rolled back; only its post_rollback hook failed (said above): still a rollback by the monitor
        rolled_back = MonitorRolledBack("monitor.rolled_back", target=watched.previous, reason=reason)
        report.fail(rolled_back, reason)
        report.result = "rolled_back"
        raise rolled_back

    def end(self) -> None:
        pass
