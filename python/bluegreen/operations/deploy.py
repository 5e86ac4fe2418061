"""`bluegreen deploy`: the guide's runbook, one intent-named step at a time, each with its undo.

    check variables → (frame: lock, look, repair) → detect active → make room in the idle color →
    start the candidate → health-gate it → switch traffic → verify through nginx → promote

Traffic never leaves the healthy active color: the candidate joins nginx only after its health gate, and any
failure after the switch puts the previous nginx file back before the candidate is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bluegreen import failpoints
from bluegreen.config import expand
from bluegreen.config_schema import IMAGE, check
from bluegreen.errors import BlueGreenError, DeployFailed, MissingVariables
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.parts import health
from bluegreen.parts.state import now_iso
from bluegreen.report import Report
from bluegreen.settings import Service, other
from bluegreen.units import format_seconds


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
    check(image, IMAGE, "--image")
    env.update(BLUEGREEN_SERVICE=service.name)
    return Release(image, env, build_of(image, environ))


def build_of(image: str, environ: Mapping[str, str]) -> str:
    """The image's build: its tag (the guide tags images with Jenkins' BUILD_NUMBER)."""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else environ.get("BUILD_NUMBER", "")


class Deploy:
    action, holds_lock, repairs = "deploy", True, True

    def __init__(self, scene: Scene, *, image: str | None) -> None:
        self.scene, self.image_override = scene, image
        self.out, self.svc, self.runtime = scene.out, scene.service, scene.runtime
        self.switched = False
        self.candidate_id: str | None = None

    # --- the frame's hooks -----------------------------------------------------------------------------------
    def begin(self, report: Report) -> None:
        self.out.say("deploy.begin", service=self.svc.name)
        self.release = release_of(self.svc, self.scene.environ, self.image_override)
        self.out.say("env.ok")
        report.image = self.release.image

    def plan(self, live: Live, frame: Frame) -> None:
        """Detect: the idle color is the one nginx does not serve."""
        self.live = live
        self.active = live.active if live.running(live.active) else None
        self.target = other(live.active)
        self.name = self.svc.container(self.target)
        self.before_switch: str | None = live.served.loaded  # the file to put back if the switch goes wrong
        frame.report.source, frame.report.target = live.active, self.target
        self.out.say("active.current" if live.active else "active.none", color=live.active or "-")
        self.out.say("deploy.target", color=self.target)

    def act(self, frame: Frame) -> None:
        try:
            self.make_room(frame)
            failpoints.reach("deploy.room_made")
            self.start_candidate(frame)
            failpoints.reach("deploy.candidate_started")
            self.health_gate(frame)
            self.switch_traffic(frame)
            failpoints.reach("deploy.switched")
            self.verify(frame)
        except BlueGreenError as error:
            self.undo(frame)
            reason = self.out.text(error.key, **error.params)
            if self.active:
                raise DeployFailed("deploy.failed", reason=reason, active=self.active) from error
            raise DeployFailed("deploy.failed_first", reason=reason) from error
        frame.promote(self.target, self.candidate_id or "", self.release.image)

    def end(self) -> None:
        self.out.rule()
        self.out.say("deploy.done")
        self.out.rule()
        self.out.say("summary.active", color=self.target)
        if self.active:
            self.out.say("summary.previous", color=self.active)

    # --- the runbook's steps ---------------------------------------------------------------------------------
    def make_room(self, frame: Frame) -> None:
        """The idle color is about to be replaced: nginx must stop naming it first (design note 4)."""
        if self.target in (self.live.active, self.live.backup) and self.active:
            with frame.timed("make_room"):
                self.before_switch = frame.switch(primary=self.active, backup=None, previous=self.before_switch)
                # Old workers may still be proxying requests to the idle color (those a rollback left on it);
                # stopping it now would cut them unless the app drains on SIGTERM. Bounded by the stop grace.
                self.scene.switch.drain(self.svc.stop_timeout)

    def start_candidate(self, frame: Frame) -> None:
        svc, image = self.svc, self.release.image
        self.out.say("deploy.starting", color=self.target, name=self.name, image=image)
        with frame.timed("start_candidate"):
            if not self.runtime.has_image(image):
                self.out.say("deploy.pulling", image=image)
                self.runtime.ensure_image(image)
            if self.runtime.instances(self.target):
                self.out.say("deploy.replacing", name=self.name, grace=format_seconds(svc.stop_timeout))
                self.runtime.remove(self.target, grace=svc.stop_timeout)
            labels = {**svc.labels, "bluegreen.service": svc.name, "bluegreen.color": self.target,
                      "bluegreen.image": image, "bluegreen.build": self.release.build,
                      "bluegreen.deployed-at": now_iso()}
            started = self.runtime.start(self.target, image=image, labels=labels,
                                         env={**self.release.env, "BLUEGREEN_COLOR": self.target})
        self.candidate_id = started[0].id
        self.out.say("deploy.started", id=self.candidate_id[:12])

    def health_gate(self, frame: Frame) -> None:
        svc = self.svc
        found = self.runtime.instances(self.target)
        info = found[0] if found else None
        address = self.runtime.address(info) if info else None
        if not info or not info.running or not address:
            raise DeployFailed("deploy.not_running", name=self.name, code=str(info.exit_code if info else "?"))
        self.out.say("health.waiting", url=f"{self.name}:{svc.port}{svc.health.path}",
                     deadline=format_seconds(svc.health.timeout))

        def show(p: health.Progress) -> None:
            self.out.progress("health.progress", elapsed=format_seconds(p.elapsed),
                              deadline=format_seconds(p.deadline), successes=p.successes,
                              needed=svc.health.successes, detail=p.last.detail)

        with frame.timed("wait_until_healthy"):
            result = health.wait_until_healthy(f"http://{address}{svc.health.path}", svc.health,
                                               still_running=lambda: self.runtime.alive(self.target),
                                               on_progress=show, clock=self.scene.clock)
        if result.successes >= svc.health.successes:
            self.out.say("health.ok")
            return
        if not self.runtime.alive(self.target):
            raise DeployFailed("deploy.died", name=self.name)
        hint = "health.hint_redirect" if "redirect" in result.last.detail else "health.hint_none"
        raise DeployFailed("health.failed", color=self.target, detail=result.last.detail,
                           hint=self.out.text(hint))

    def switch_traffic(self, frame: Frame) -> None:
        self.out.say("switch.start")
        with frame.timed("switch_traffic"):
            self.switched_text = frame.switch(primary=self.target, backup=self.active, previous=self.before_switch)
        self.switched = True
        self.out.say("switch.done", old=self.active or "-", new=self.target)

    def verify(self, frame: Frame) -> None:
        with frame.timed("verify"):
            verify_public(self.scene, self.target)

    # --- undo ----------------------------------------------------------------------------------------------
    def undo(self, frame: Frame) -> None:
        out = self.out
        out.say("rollback.auto" if self.active else "rollback.auto_first", active=self.active)
        if self.switched:
            frame.restore(self.before_switch, self.switched_text)
            out.say("rollback.auto_restored" if self.active else "rollback.auto_restored_first", active=self.active)
        if self.candidate_id or self.runtime.instances(self.target):
            out.log_tail(self.runtime.logs_tail(self.target, 20), name=self.name)
            self.runtime.remove(self.target, grace=0)
            out.say("rollback.candidate_removed", name=self.name)


def verify_public(scene: Scene, color: str) -> None:
    """Through the public entry, the way users come in; the answering color must be the new one."""
    svc = scene.service
    url = scene.nginx.public(svc.health.public_path or svc.health.path)
    result = health.verify_color(url, svc.health, color)
    if not result.ok:
        raise DeployFailed("verify.failed", url=url, detail=result.detail)
    scene.out.say("verify.ok", url=url, detail=result.detail)
