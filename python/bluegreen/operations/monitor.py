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

A node that leaves the Swarm while the monitor watches (drained, down) takes tasks with it: not the release's
failure. The monitor names the node, waits for the tasks Swarm starts elsewhere, health-checks them, and has nginx
name them (operations/follow.py, under the lock); it judges the release on those tasks from then on. When Swarm
starts none (`restart: no`), their slots fail the instance rounds naming the node, and the monitor rolls back.
A node whose engine died is still listed as ready for a few seconds (the manager marks it down after missed
heartbeats, ~12 s measured) while its tasks stop answering: tasks that are silent on one node while those on the
others answer are that node's doing (the release is the same image everywhere), so they are not counted against
the release for up to NODE_SILENCE; a node still listed as ready after that is judged like any other.
"""

from __future__ import annotations

from dataclasses import replace

from bluegreen import failpoints
from bluegreen.errors import BlueGreenError, MonitorRolledBack, RollbackUnavailable
from bluegreen.operations.candidate import prober, say_moved
from bluegreen.operations.follow import Follow
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.run import run
from bluegreen.operations.look import Live
from bluegreen.operations.rollback import Rollback, check_target
from bluegreen.parts import health
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.watch import Watch, Watched
from bluegreen.report import Report
from bluegreen.config.settings import other
from bluegreen.units import format_seconds

NODE_SILENCE = 30.0  # seconds a node's silent tasks are not held against the release (Swarm marks it down first)


class Monitor:
    """Exit 5 after a rollback; 1 when there is nothing to roll back to (right after a deploy: a warning, and
    the deploy stands)."""

    action, holds_lock, repairs = "monitor", False, False

    def __init__(self, scene: Scene, *, duration: float | None = None, after_deploy: bool = False) -> None:
        self.scene, self.out = scene, scene.out
        self.duration = duration or scene.service.monitor.duration
        self.after_deploy = after_deploy
        self.watched: Watched | None = None
        self.replicas: tuple[ContainerInfo, ...] = ()  # watched one by one (several, or Swarm tasks)
        self.watch: Watch | None = None
        self.left: dict[str, str] = {}  # task id → why it does not run: it left with its node
        self.silent: dict[str, float] = {}  # node → since when its tasks have not answered (the others have)

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
        # one that stopped since the switch is watched too: it fails; a Swarm task may also leave with its node
        if self.scene.service.scale.replicas > 1 or runtime.kind == "swarm":
            self.replicas = live.instances[active]
        report.source, report.target, report.image = target, active, self.watched.image

    def act(self, frame: Frame) -> None:
        watched, rules, out = self.watched, self.scene.service.monitor, self.out
        if watched is None:
            return  # skipped: nothing to roll back to
        out.say("monitor.begin", color=watched.color, duration=format_seconds(self.duration),
                previous=watched.previous, interval=format_seconds(rules.interval))
        scene = self.scene
        watch = self.watch = Watch(scene.service, scene.nginx, scene.switch.access_log(), watched, out=out,
                                   clock=scene.clock, instances=self.instance_round if self.replicas else None)
        failpoints.reach("monitor.watching")
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
        self.follow_moved()
        runtime = self.scene.runtime
        color = self.watched.color if self.watched else ""
        now = {i.id: i for i in runtime.instances(color)}
        alive = [now[i.id] for i in self.replicas if i.id in now and now[i.id].running]
        probes = dict(zip((i.id for i in alive), runtime.probe_all(alive, self.scene.service.health.path)))
        excused = self.node_silence(alive, probes)
        seen: dict[str, tuple[bool, str]] = {}
        for watched in self.replicas:
            current = now.get(watched.id)
            if watched.id in excused:
                continue  # neither a failure nor a success: its node is about to be marked down, or judged
            if watched.id in probes:
                seen[watched.name] = (probes[watched.id].ok, probes[watched.id].detail)
            elif current is None:
                seen[watched.name] = (False, self.left.get(watched.id) or self.out.text("monitor.instance_gone"))
            else:
                seen[watched.name] = (False, self.left.get(watched.id) or self.out.text(
                    "monitor.instance_stopped", state=current.state, code=str(current.exit_code)))
        return seen

    def node_silence(self, alive: list[ContainerInfo], probes: dict[str, health.Probe]) -> set[str]:
        """The ids of tasks not held against the release this round: every task on their node went unanswered (no
        HTTP answer at all) while a task on another node answered, for less than NODE_SILENCE so far."""
        nodes: dict[str, list[ContainerInfo]] = {}
        for info in alive:
            nodes.setdefault(info.node or "", []).append(info)
        answered = {node for node, found in nodes.items() if any(probes[i.id].ok for i in found)}
        excused: set[str] = set()
        now = self.scene.clock.monotonic()
        for node, found in nodes.items():
            silent = bool(node and answered - {node}) and all(probes[i.id].status is None and not probes[i.id].ok
                                                        for i in found)
            if not silent:
                self.silent.pop(node, None)
                continue
            if node not in self.silent:
                self.silent[node] = now
                self.out.say("monitor.node_silent", node=node, names=", ".join(i.name for i in found),
                             grace=format_seconds(NODE_SILENCE))
            if now - self.silent[node] < NODE_SILENCE:
                excused.update(i.id for i in found)
        return excused

    def follow_moved(self) -> None:
        """Tasks that left with their node since the last round: named, their successors health-checked, then named
        by nginx; from then on the rounds watch the successors. When there are none (Swarm's restart condition
        `none`) or they fail their check, the slots fail the rounds, saying why."""
        watched, runtime, out = self.watched, self.scene.runtime, self.out
        assert watched is not None and self.watch is not None
        watching = {i.id for i in self.replicas}  # not those that moved before the watch (the deploy gated theirs)
        moved = [m for m in runtime.moved(watched.color, watched.release)
                 if m.id in watching and m.id not in self.left]
        if not moved:
            return
        say_moved(out, "monitor.task_moved", moved, color=watched.color)
        self.left.update((m.id, out.text("monitor.instance_left", node=m.node, why=m.why)) for m in moved)
        try:
            runtime.settle(watched.color, watched.release, lambda key, params: out.progress(key, **params))
        except BlueGreenError as error:
            out.say("monitor.not_followed", reason=out.text(error.key, **error.params))
            return
        now = tuple(i for i in runtime.instances(watched.color) if i.running)
        if not self.healthy(now):
            return  # the rounds probe them too, and fail them
        try:
            run(self.scene, Follow(self.scene, color=watched.color, release=watched.release,
                                   reason=out.text("monitor.follow_reason", node=moved[0].node, why=moved[0].why)))
        except BlueGreenError as error:  # e.g. the lock of an operator's rollback: the rounds go on judging
            out.say("monitor.not_followed", reason=out.text(error.key, **error.params))
        self.replicas = now
        self.watched = self.watch.watched = replace(
            watched, addrs=tuple(a for i in now if (a := runtime.address(i))))

    def healthy(self, found: tuple[ContainerInfo, ...]) -> bool:
        """The successors' health gate, as the deploy's: N consecutive answers each, before health.timeout."""
        svc, out = self.scene.service, self.out
        by_name = {i.name: i for i in found}
        running = {i.name for i in found}

        def show(p: health.Progress, passed: int) -> None:
            out.progress("health.progress_many", healthy=passed, count=len(by_name), elapsed=format_seconds(p.elapsed),
                         deadline=format_seconds(p.deadline), successes=p.successes, needed=svc.health.successes,
                         detail=p.last.detail)

        result = health.wait_until_all_healthy(list(by_name), prober(self.scene, by_name), svc.health,
                                               needed=len(by_name), still_running=lambda: running, on_progress=show,
                                               clock=self.scene.clock)
        failing = next((n for n in by_name if n not in result.passed), None)
        if failing:
            last = result.last.get(failing, result.progress.last)
            out.say("monitor.not_followed", reason=f"{failing}: {last.detail}")
        return failing is None

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
