"""`bluegreen rollback`: a switch back to the previous color, which must already run and be healthy.

    (frame: lock, look, repair) → check the target → switch → verify (undo: the previous file serves again)

Nothing is started here, so it takes about a second. If the target does not run (first deploy, removed by hand)
or is unhealthy, say so plainly and change nothing.

After the quick path (quick/rollback.py: shared-dict, nginx confirmed nothing changed, the target answered through
nginx) traffic is on the target already and its file pending:

    (frame: the quick path's lock, look) → check the target's instances → write the file → verify
    (undo at each step: the previous color serves again)
"""

from __future__ import annotations

from bluegreen import failpoints
from bluegreen.errors import BlueGreenError, DeployFailed, RollbackUnavailable
from bluegreen.operations.candidate import service_hook, verify_public
from bluegreen.operations.deploy import refuse_while_staged
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.quick.rollback import QuickSwitch
from bluegreen.report import Report
from bluegreen.config.settings import other


def check_target(scene: Scene, live: Live) -> str:
    """The color to roll back to, or RollbackUnavailable with the guide's wording. Every running instance of
    the target must answer its health check (the runtime's prober: over the Docker network, or from inside the
    Swarm overlay), and enough of them must run (`min_healthy`, else all `replicas`)."""
    if live.active is None:
        raise RollbackUnavailable("rollback.no_active", upstream=scene.service.upstream)
    target = other(live.active)
    check_instances(scene, live, target)
    return target


def check_instances(scene: Scene, live: Live, target: str, *, probe: bool = True) -> None:
    """The target color's instances can take traffic: they run, are the release that last served (or one an
    operator ran by hand), their image is still there, and (with `probe`) each answers its health check."""
    svc, runtime = scene.service, scene.runtime
    info = live.instance(target)
    name = runtime.display(target)
    if not info or not live.running(target):
        last = live.state.images.get(target) or (info.labels.get("bluegreen.image") if info else None) or "-"
        if info and svc.scale.replicas > 1 and any(i.running for i in live.instances[target]):
            running = sum(i.running for i in live.instances[target])
            raise RollbackUnavailable("rollback.target_short", name=name, running=str(running),
                                      needed=str(svc.scale.needed), replicas=str(svc.scale.replicas))
        raise RollbackUnavailable("rollback.target_missing", name=name, image=last)
    # A container bluegreen started but never promoted is an unfinished candidate; one an operator ran by hand
    # (the guide's "restore the previous version" step) is theirs to roll back to, once it answers.
    if info.ours and not live.promoted(target):
        raise RollbackUnavailable("rollback.target_unpromoted", name=name)
    image = info.labels.get("bluegreen.image")
    if image and not runtime.recreatable(info):  # removed by hand: the color could not be recreated
        raise RollbackUnavailable("rollback.image_removed", name=name, image=image, id=info.image_id.split(":")[-1][:12])
    if not probe:
        return
    running = [i for i in live.instances[target] if i.running]
    for instance, answer in zip(running, runtime.probe_all(running, svc.health.path)):
        if not answer.ok:
            who = instance.name if svc.scale.replicas > 1 else name
            raise RollbackUnavailable("rollback.target_unhealthy", name=who, detail=answer.detail)


class Rollback:
    action, holds_lock = "rollback", True

    def __init__(self, scene: Scene, *, reason: str | None = None,
                 expect_active: tuple[str, str] | None = None, quick: QuickSwitch | None = None) -> None:
        self.scene, self.out = scene, scene.out
        self.reason = reason or ""
        # The monitor watched (color, release) without the lock: roll back only if that release still serves.
        self.expect_active = expect_active
        self.quick = quick
        # After the quick path there is nothing to repair (it saw no dead run's lock, nothing pending, nginx as
        # recorded), and its own switch is pending: a repair would undo it as an interrupted run's.
        self.repairs = quick is None

    def begin(self, report: Report) -> None:
        self.out.line("❌ " + "=" * 40)
        self.out.say("rollback.begin")
        self.out.line("❌ " + "=" * 40)
        report.reason = self.reason

    def plan(self, live: Live, frame: Frame) -> None:
        self.live = live
        if self.quick:
            return self._plan_after_quick(live, frame)
        report = frame.report
        self.source = report.source = live.active
        self.out.say("active.current" if live.active else "active.none", color=live.active or "-")
        refuse_while_staged(live)
        if self.expect_active:
            color, release = self.expect_active
            if live.active != color or live.release(color) != release:
                raise RollbackUnavailable("monitor.changed", watched=color, active=live.active or "-")
        with frame.timed("check_target"):
            self.target = check_target(self.scene, live)
        report.target, report.image = self.target, live.state.images.get(self.target)
        self.out.say("rollback.target", color=self.target)
        self.out.say("rollback.target_healthy")

    def _plan_after_quick(self, live: Live, frame: Frame) -> None:
        """Traffic is on the target already: what the quick path could not see without Docker is checked now, and
        the previous color serves again if it disagrees."""
        quick, report = self.quick, frame.report
        frame.phases.update(quick.phases)
        self.source, self.target = quick.source, quick.target
        report.source, report.target, report.image = self.source, self.target, live.state.images.get(self.target)
        self.out.say("active.current", color=self.source)
        with frame.timed("check_target"):  # a refusal here: `unwind` puts the previous color back
            check_instances(self.scene, live, self.target, probe=False)  # it answered through nginx already
        self.out.say("rollback.target", color=self.target)
        self.out.say("rollback.target_healthy")

    def act(self, frame: Frame) -> None:
        live = self.live
        self.out.say("rollback.switching")
        if self.quick:
            previous, text = self.quick.previous, self.quick.text
            self.out.say("rollback.quick", seconds=f"{sum(self.quick.phases.values()):.3f}")
            with frame.timed("settle_file"):
                frame.settle(text, previous)
            self.quick.unsettled = False
        else:
            previous = live.served.loaded
            with frame.timed("switch_traffic"):
                backup = live.active if live.running(live.active) else None
                text = frame.switch(primary=self.target, backup=backup, previous=previous)
        self.out.say("rollback.switched", old=self.source, new=self.target)
        failpoints.reach("rollback.switched")
        try:
            with frame.timed("verify"):
                verify_public(self.scene, self.target)
        except BlueGreenError:
            frame.restore(previous, text)
            raise
        values = {"action": "rollback", "service": self.scene.service.name, "from": self.source or "",
                  "to": self.target, "image": frame.report.image or "", "build": "", "preview_url": ""}
        if not service_hook(self.scene, frame, "post_rollback", values=values):
            failed = DeployFailed("hook.post_rollback_failed", color=self.target)
            frame.report.fail(failed, self.out.text(failed.key, **failed.params))
            frame.report.result = "hook_failed"
            raise failed

    def unwind(self, frame: Frame) -> None:
        """The run stops before the quick path's switch was settled (a refusal, Docker unreachable): the previous
        color serves again, still under the lock. Best effort: the error that stopped the run is the one reported,
        and what is left the next run's look sees and repairs."""
        quick = self.quick
        if quick is None or not quick.unsettled:
            return
        quick.unsettled = False
        try:
            frame.restore(quick.previous, quick.text)
        except Exception:
            return
        self.out.say("rollback.auto_restored", active=quick.source)

    def end(self) -> None:
        self.out.rule()
        self.out.say("rollback.done")
        self.out.rule()
        self.out.say("summary.active", color=self.target)
