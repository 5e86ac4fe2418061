"""`bluegreen deploy`: the guide's runbook, one intent-named step at a time, each with its undo.

    check variables → detect active → lock → repair leftovers → make room in the idle color →
    start candidate → wait until healthy → switch traffic → verify through nginx → record

Traffic never leaves the healthy active color: the candidate joins nginx only after its health gate, and any
failure after the switch puts the previous nginx file back before the candidate is removed.
"""

from __future__ import annotations

import time

from bluegreen import failpoints, health
from bluegreen.config import expand, MissingVariables
from bluegreen.context import Context
from bluegreen.errors import BlueGreenError, DeployFailed
from bluegreen.live import Live, other
from bluegreen.report import Report
from bluegreen.state import now_iso
from bluegreen.traffic import look, repair, restore, switch_to, verify
from bluegreen.units import format_seconds


def container_environment(ctx: Context, image_override: str | None) -> tuple[dict[str, str], str]:
    """The candidate's environment and image; every missing variable is reported at once, before any change."""
    env: dict[str, str] = {}
    missing: list[str] = []
    for var in ctx.service.env:
        if var.value is not None:
            env[var.name] = var.value
        elif ctx.environ.get(var.name):
            env[var.name] = ctx.environ[var.name]
        elif not var.optional:
            missing.append(var.name)
    image = image_override
    if not image:
        try:
            image = expand(ctx.service.image, ctx.environ, key=f"services.{ctx.service.name}.image")
        except MissingVariables as exc:
            missing.extend(n for n in str(exc.params["names"]).split(", ") if n not in missing)
    if missing:
        raise MissingVariables("env.missing", names=", ".join(missing), key=f"services.{ctx.service.name}")
    from bluegreen.config import IMAGE, check

    check(image, IMAGE, "--image")
    env.update(BLUEGREEN_SERVICE=ctx.service.name)
    return env, image


class Deploy:
    def __init__(self, ctx: Context, live: Live, image: str, env: dict[str, str]) -> None:
        self.ctx, self.live, self.image, self.env = ctx, live, image, env
        self.active = live.active if live.running(live.active) else None
        self.target = other(live.active)
        self.name = ctx.service.container(self.target)
        self.before_switch: str | None = live.loaded  # the file to put back if the switch goes wrong
        self.switched = False
        self.candidate_id: str | None = None

    def run(self) -> None:
        try:
            self.make_room()
            failpoints.reach("deploy.room_made")
            self.start_candidate()
            failpoints.reach("deploy.candidate_started")
            self.wait_until_healthy()
            self.switch_traffic()
            failpoints.reach("deploy.switched")
            self.verify()
        except BlueGreenError as error:
            self.undo()
            reason = self.ctx.out.text(error.key, **error.params)
            if self.active:
                raise DeployFailed("deploy.failed", reason=reason, active=self.active) from error
            raise DeployFailed("deploy.failed_first", reason=reason) from error
        self.remember()

    # --- steps ---------------------------------------------------------------------------------------------
    def make_room(self) -> None:
        """The idle color is about to be replaced: nginx must stop naming it first (design note 4)."""
        if self.target in (self.live.active, self.live.backup) and self.active:
            with self.ctx.timed("make_room"):
                self.before_switch = switch_to(self.ctx, primary=self.active, backup=None,
                                               previous=self.live.loaded)
                # Old workers may still be proxying requests to the idle color (those a rollback left on it);
                # stopping it now would cut them unless the app drains on SIGTERM. Bounded by the stop grace.
                self.ctx.gate.drain(self.ctx.service.stop_timeout)

    def start_candidate(self) -> None:
        ctx, svc = self.ctx, self.ctx.service
        ctx.out.say("deploy.starting", color=self.target, name=self.name, image=self.image)
        with ctx.timed("start_candidate"):
            if not ctx.docker.has_image(self.image):
                ctx.out.say("deploy.pulling", image=self.image)
                ctx.docker.ensure_image(self.image)
            if ctx.docker.inspect(self.name):
                ctx.out.say("deploy.replacing", name=self.name, grace=format_seconds(svc.stop_timeout))
                ctx.docker.remove(self.name, stop_timeout=svc.stop_timeout)
            labels = {**svc.labels, "bluegreen.service": svc.name, "bluegreen.color": self.target,
                      "bluegreen.image": self.image, "bluegreen.build": build_of(ctx, self.image),
                      "bluegreen.deployed-at": now_iso()}
            info = ctx.docker.run(name=self.name, image=self.image, env={**self.env, "BLUEGREEN_COLOR": self.target},
                                  labels=labels, volumes=svc.volumes, restart=svc.restart)
        self.candidate_id = info.id
        ctx.out.say("deploy.started", id=info.id[:12])

    def wait_until_healthy(self) -> None:
        ctx, svc = self.ctx, self.ctx.service
        info = ctx.docker.inspect(self.name)
        if not info or not info.running or not info.ip:
            raise DeployFailed("deploy.not_running", name=self.name,
                               code=str(info.exit_code if info else "?"))
        url = ctx.candidate_url(info.ip)
        ctx.out.say("health.waiting", url=f"{self.name}:{svc.port}{svc.health.path}",
                    deadline=format_seconds(svc.health.timeout))

        def alive() -> bool:
            now = ctx.docker.inspect(self.name)
            return bool(now and now.running)

        def show(p: health.Progress) -> None:
            ctx.out.progress("health.progress", elapsed=format_seconds(p.elapsed), deadline=format_seconds(p.deadline),
                             successes=p.successes, needed=svc.health.successes, detail=p.last.detail)

        with ctx.timed("wait_until_healthy"):
            result = health.wait_until_healthy(url, svc.health, still_running=alive, on_progress=show)
        if result.successes >= svc.health.successes:
            ctx.out.say("health.ok")
            return
        if not alive():
            raise DeployFailed("deploy.died", name=self.name)
        hint = "health.hint_redirect" if "redirect" in result.last.detail else "health.hint_none"
        raise DeployFailed("health.failed", color=self.target, detail=result.last.detail,
                           hint=ctx.out.text(hint))

    def switch_traffic(self) -> None:
        ctx = self.ctx
        ctx.out.say("switch.start")
        with ctx.timed("switch_traffic"):
            self.switched_text = switch_to(ctx, primary=self.target, backup=self.active, previous=self.before_switch)
        self.switched = True
        ctx.out.say("switch.done", old=self.active or "-", new=self.target)

    def verify(self) -> None:
        with self.ctx.timed("verify"):
            verify(self.ctx, self.target)

    def remember(self) -> None:
        state = self.ctx.state.load()
        state.promoted[self.target] = self.candidate_id or ""
        state.images[self.target] = self.image
        self.ctx.state.save(state)

    # --- undo ----------------------------------------------------------------------------------------------
    def undo(self) -> None:
        ctx = self.ctx
        ctx.out.say("rollback.auto" if self.active else "rollback.auto_first", active=self.active)
        if self.switched:
            restore(ctx, self.before_switch, self.switched_text)
            ctx.out.say("rollback.auto_restored" if self.active else "rollback.auto_restored_first",
                        active=self.active)
        if self.candidate_id or ctx.docker.inspect(self.name):
            for line in ctx.docker.logs_tail(self.name, 20):
                ctx.out.line(f"    │ {line}")
            ctx.docker.remove(self.name, stop_timeout=0)
            ctx.out.say("rollback.candidate_removed", name=self.name)


def build_of(ctx: Context, image: str) -> str:
    """The image's build: its tag (the guide tags images with Jenkins' BUILD_NUMBER)."""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ctx.environ.get("BUILD_NUMBER", "")


def run_deploy(ctx: Context, *, image: str | None) -> Report:
    started, t0 = now_iso(), time.monotonic()
    out = ctx.out
    out.say("deploy.begin", service=ctx.service.name)
    env, image_ref = container_environment(ctx, image)
    out.say("env.ok")
    report = Report.begin(ctx, "deploy", image=image_ref, started=started)
    ctx.state.acquire("deploy " + ctx.service.name)
    failpoints.reach("deploy.locked")
    try:
        live = repair(ctx, look(ctx))
        report.source = live.active
        out.say("active.current" if live.active else "active.none", color=live.active or "-")
        run = Deploy(ctx, live, image_ref, env)
        report.target = run.target
        out.say("deploy.target", color=run.target)
        with report.recording(ctx, since=t0):
            run.run()
        out.rule()
        out.say("deploy.done")
        out.rule()
        out.say("summary.active", color=run.target)
        if run.active:
            out.say("summary.previous", color=run.active)
        return report
    finally:
        ctx.state.release()
