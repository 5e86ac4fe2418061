"""`bluegreen deploy`: the guide's runbook, one intent-named step at a time, each with its undo (candidate.py).

    check variables → the system's first checks (operations/doctor.py: refuse what would break, warn about what
    a reboot would) → (frame: lock, look, repair) → detect active → pre_deploy hook → make room in the idle
    color → start the candidate → health-gate it → [preview] → post_gate hook → switch traffic → verify through
    nginx → post_switch hook → keep it (promoted; the replaced version discarded)

Traffic never leaves the healthy active color: the candidate joins nginx only after its health gate, and any
failure after the switch puts the previous nginx file back before the candidate is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from bluegreen import failpoints
from bluegreen.config import expand
from bluegreen.config.values import is_reference
from bluegreen.errors import BlueGreenError, DeployFailed, MissingVariables, ServiceBusy, UsageError
from bluegreen.operations.candidate import Candidate
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.operations.retention import retain_images
from bluegreen.report import Report
from bluegreen.config.settings import Service, other

if TYPE_CHECKING:
    from bluegreen.parts.facts import Facts


@dataclass(frozen=True)
class Release:
    """What to run: the image and the container's environment, complete before anything changes."""

    image: str
    env: Mapping[str, str]
    build: str


def release_of(service: Service, environ: Mapping[str, str], image_override: str | None) -> Release:
    """Every missing variable is reported at once, before any change."""
    env: dict[str, str] = {}
    missing: list[str] = []
    for var in service.env:
        if var.value is not None:
            env[var.name] = var.value
        elif environ.get(var.name):
            env[var.name] = environ[var.name]
        elif not var.optional:
            missing.append(var.name)
    image = image_override
    if not image:
        try:
            image = expand(service.image, environ, key=f"services.{service.name}.image")
        except MissingVariables as exc:
            missing.extend(n for n in str(exc.params["names"]).split(", ") if n not in missing)
    if missing:
        raise MissingVariables("env.missing", names=", ".join(missing), key=f"services.{service.name}")
    if not is_reference(image):  # quoted whole, not cut: the Reporter masks what a ${VAR} put there, then cuts
        raise UsageError("config.bad_value", key="--image", value=repr(image))
    env.update(BLUEGREEN_SERVICE=service.name)
    return Release(image, env, build_of(image, environ))


def build_of(image: str, environ: Mapping[str, str]) -> str:
    """The image's build: its tag (the guide tags images with Jenkins' BUILD_NUMBER)."""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else environ.get("BUILD_NUMBER", "")


class Deploy:
    """`bluegreen deploy [--stage]`. Staged: the candidate stops, healthy, on the preview entry; `promote` or
    `abort` (promote.py) finish it later, without the lock held in between."""

    action, holds_lock, repairs = "deploy", True, True

    def __init__(self, scene: Scene, *, image: str | None, stage: bool = False,
                 system: Callable[[], Facts] | None = None) -> None:
        self.scene, self.image_override, self.stage = scene, image, stage
        self.out, self.svc = scene.out, scene.service
        self.system = system  # reads the facts the first checks judge (parts/system.py); None: no checks

    # --- the frame's hooks -----------------------------------------------------------------------------------
    def begin(self, report: Report) -> None:
        self.out.say("deploy.begin", service=self.svc.name)
        if self.stage and self.svc.preview is None:
            raise UsageError("stage.no_preview", service=self.svc.name)
        self.release = release_of(self.svc, self.scene.environ, self.image_override)
        self.out.say("env.ok")
        report.image = self.release.image
        if self.system is not None:
            from bluegreen.operations.doctor import preflight

            preflight(self.out, self.scene.once_nginx_runs(self.system))  # after a reboot: once it is up

    def plan(self, live: Live, frame: Frame) -> None:
        """Detect: the idle color is the one nginx does not serve."""
        refuse_while_staged(live)
        self.active = live.active if live.running(live.active) else None
        if self.stage and self.active is None:
            raise UsageError("stage.first_deploy", service=self.svc.name)
        target = other(live.active)
        # The idle color's instances are set aside (or replaced) below: no file of nginx's but bluegreen's may
        # name them, and what nginx serves must be known, or nothing changes (guard.py).
        self.scene.guard.ahead(live.instances.get(target, ()), color=target)
        self.named = target in (live.active, live.backup)
        self.candidate = Candidate(self.scene, color=target, active=self.active, serving=live.served.loaded,
                                   image=self.release.image, build=self.release.build)
        frame.report.source, frame.report.target = live.active, target
        self.out.say("active.current" if live.active else "active.none", color=live.active or "-")
        self.out.say("deploy.target", color=target)
        self.scene.runtime.preflight(self.release.image)  # Swarm: a manager, the overlay, an image every node gets

    def act(self, frame: Frame) -> None:
        c = self.candidate
        try:
            if not c.hook(frame, "pre_deploy", action="deploy"):
                raise DeployFailed("hook.stopped", hook="pre_deploy")
            c.make_room(frame, named=self.named)
            failpoints.reach("deploy.room_made")
            c.start(frame, self.release.env)
            failpoints.reach("deploy.candidate_started")
            c.gate(frame)
            failpoints.reach("deploy.gated")
            if self.svc.preview and self.active:
                c.open_preview(frame)
            if not c.hook(frame, "post_gate", action="deploy"):
                raise DeployFailed("hook.stopped", hook="post_gate")
        except BlueGreenError as error:
            fail(c, frame, error)
        if self.stage:
            frame.stage(color=c.color, instance=c.instance_id or "", image=c.image, build=c.build,
                        preview_url=c.preview_url, kept=c.kept)
            frame.report.result, frame.report.extra["preview_url"] = "staged", c.preview_url
            return
        go_live(self.scene, c, frame, point="deploy.switched")

    def end(self) -> None:
        c = self.candidate
        self.out.rule()
        if self.stage:
            self.out.say("stage.done", color=c.color, url=c.preview_url, service=self.svc.name)
            self.out.rule()
            return
        self.out.say("deploy.done")
        self.out.rule()
        self.out.say("summary.active", color=c.color)
        if self.active:
            self.out.say("summary.previous", color=self.active)


def refuse_while_staged(live: Live) -> None:
    staged = live.state.staged
    if staged:
        raise ServiceBusy("stage.pending", color=staged.get("color", "?"), image=staged.get("image", "?"),
                          since=staged.get("since", "?"), service=live.service.name)


def go_live(scene: Scene, c: Candidate, frame: Frame, *, point: str) -> None:
    """switch → verify → post_switch hook, undone as a whole on any failure; then the candidate is kept (promoted,
    the replaced version discarded) and images beyond `retain` go."""
    try:
        c.switch(frame)
        failpoints.reach(point)
        c.verify(frame)
        after_switch(c, frame)
    except BlueGreenError as error:
        fail(c, frame, error)
    c.keep(frame)
    retain_images(scene, frame, image=c.image)


def after_switch(c: Candidate, frame: Frame) -> None:
    """The post_switch hook: a failure rolls back (the default) or is only reported (`warn`)."""
    if not c.hook(frame, "post_switch", action=frame.report.action):
        if c.svc.hooks.post_switch_failure == "rollback":
            raise DeployFailed("hook.stopped", hook="post_switch")
        c.out.say("hook.warned", hook="post_switch")


def fail(c: Candidate, frame: Frame, error: BlueGreenError) -> None:
    """Undo everything the candidate changed, then fail saying where traffic stayed."""
    c.withdraw(frame)
    frame.unstage()
    reason = c.out.text(error.key, **error.params)
    if c.active:
        raise DeployFailed("deploy.failed", reason=reason, active=c.active) from error
    raise DeployFailed("deploy.failed_first", reason=reason) from error
