"""The new version in the idle color, step by step, each step with its undo. Deploy, promote and abort are
runbooks over these steps (deploy.py, promote.py).

    make room → start (the previous version is kept aside, stopped) → health gate → preview → switch → verify
    → keep (promoted; the kept previous version is discarded)
    withdraw = traffic back on the active color → candidate removed → the kept version put back (as `backup`)

A failed deploy costs nothing: the idle color's previous version, the rollback target, comes back as it was.
"""

from __future__ import annotations

import shlex
import uuid
from typing import Callable, Mapping, Sequence

from bluegreen import failpoints
from bluegreen.errors import DeployFailed
from bluegreen.operations.drain import drain
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import one_color
from bluegreen.parts import health
from bluegreen.parts.hooks import argv as hook_argv, run_hook
from bluegreen.output import Reporter
from bluegreen.parts.instance import RELEASE_LABEL, ContainerInfo
from bluegreen.parts.runtime import Moved
from bluegreen.parts.state import now_iso
from bluegreen.parts.upstream import parse_upstream
from bluegreen.units import format_seconds


class Candidate:
    def __init__(self, scene: Scene, *, color: str, active: str | None, serving: str | None,
                 image: str, build: str) -> None:
        self.scene, self.out, self.svc, self.runtime = scene, scene.out, scene.service, scene.runtime
        self.color, self.active, self.image, self.build = color, active, image, build
        self.name = self.runtime.display(color)  # `maice-back-green`, or its replicas `maice-back-green-{1..3}`
        self.many = self.svc.scale.replicas > 1
        self.serving = serving  # the upstream text nginx serves now (put back if a switch fails)
        self.before = serving  # what nginx served before this run changed anything
        self.instance_id: str | None = None  # the release: every instance this deploy started carries it
        self.kept = False  # the color's previous version is set aside, stopped
        self.switched = False
        self.previewed = False
        self.drained = 0.0  # seconds of drain_timeout spent on nginx's old workers before the color is asked to stop
        self.moved: set[str] = set()  # Swarm tasks of the candidate said to have left with their node

    # --- steps -----------------------------------------------------------------------------------------------
    def make_room(self, frame: Frame, *, named: bool) -> None:
        """The idle color is about to be replaced: nginx must stop naming it first (docs/facts.md 4)."""
        if named and self.active:
            with frame.timed("make_room"):
                self._switch(frame, primary=self.active, backup=None)
                # A reload leaves old workers proxying what they had to the idle color (requests a rollback left
                # on it): they finish before the color is asked to stop, an app that exits at once on SIGTERM
                # included. Only their connections to this color count: a stream on the active one costs nothing.
                peers = {a for a in map(self.runtime.address, self.runtime.instances(self.color)) if a}
                began, bound = self.scene.clock.monotonic(), format_seconds(self.svc.drain_timeout)

                def progress(count: int | None, left: float) -> None:
                    self.out.progress("drain.waiting_workers" if count else "drain.waiting_workers_uncounted",
                                      count=count, name=self.name, bound=bound, left=format_seconds(left))

                self.scene.switch.drain(self.svc.drain_timeout, peers, progress)
                self.drained = self.scene.clock.monotonic() - began

    def start(self, frame: Frame, env: dict[str, str]) -> None:
        svc = self.svc
        self.out.say("deploy.starting", color=self.color, name=self.name, image=self.image)
        with frame.timed("start_candidate"):
            if not self.runtime.has_image(self.image):
                self.out.say("deploy.pulling", image=self.image)
                self.runtime.ensure_image(self.image)
            if self.runtime.instances(self.color):
                self.out.say("deploy.keeping", name=self.name, kept=self.runtime.kept_name(self.color),
                             grace=format_seconds(svc.drain_timeout))
                grace = drain(frame, self.color, spent=self.drained)
                self.kept = self.runtime.set_aside(self.color, grace=grace)
                failpoints.reach("deploy.set_aside")
            release = f"{now_iso()}-{uuid.uuid4().hex[:8]}"
            labels = {**svc.labels, "bluegreen.service": svc.name, "bluegreen.color": self.color,
                      "bluegreen.image": self.image, "bluegreen.build": self.build,
                      "bluegreen.deployed-at": now_iso(), RELEASE_LABEL: release}
            self.instance_id = release  # known before the start returns: an interrupted start is undone too
            started = self.runtime.start(self.color, image=self.image, labels=labels,
                                         env={**env, "BLUEGREEN_COLOR": self.color},
                                         progress=lambda key, params: self.out.progress(key, **params))
        if len(started) == 1:
            self.out.say("deploy.started", id=started[0].id[:12])
        else:
            self.out.say("deploy.started_many", count=len(started), ids=", ".join(i.id[:12] for i in started))

    def gate(self, frame: Frame) -> None:
        """The health gate; a node lost meanwhile (Swarm: drained, or down) takes tasks with it, which Swarm starts
        on other nodes: the color is gated again once they run, as often as nodes leave (each task says where from),
        and never switched to with a task that was not gated (`switch` checks again)."""
        while True:
            try:
                return self._gate(frame)
            except DeployFailed:
                if not self._await_moved(frame):
                    raise

    def _await_moved(self, frame: Frame) -> bool:
        """Tasks that left with their node since last said: named, and Swarm's tasks in their place awaited (or
        DeployFailed under its restart condition none). False when no task left."""
        moved = [m for m in self.runtime.moved(self.color, self.instance_id or "") if m.id not in self.moved]
        if not moved:
            return False
        self.moved.update(m.id for m in moved)
        say_moved(self.out, "swarm.task_moved", moved)
        with frame.timed("start_candidate"):
            self.runtime.settle(self.color, self.instance_id or "",
                                lambda key, params: self.out.progress(key, **params))
        return True

    def _gate(self, frame: Frame) -> None:
        """Health-gate every instance over the path nginx uses (the runtime's prober): each needs N consecutive
        2xx before the deadline. The switch needs all of them, or `min_healthy`: then the others are removed."""
        svc, runtime = self.svc, self.runtime
        found = runtime.instances(self.color)
        ready = [i for i in found if i.running and runtime.address(i)]
        if not ready or len(ready) < svc.scale.needed:
            info = next((i for i in found if not i.running), found[0] if found else None)
            raise DeployFailed("deploy.not_running", name=info.name if info and self.many else self.name,
                               code=str(info.exit_code if info else "?"))
        url = f"{self.name}:{svc.port}{svc.health.path}"
        if self.many:
            self.out.say("health.waiting_many", url=url, count=len(ready), deadline=format_seconds(svc.health.timeout))
        else:
            self.out.say("health.waiting", url=url, deadline=format_seconds(svc.health.timeout))
        by_name = {i.name: i for i in ready}
        probe_round = prober(self.scene, by_name)

        def still_running() -> set[str]:
            if not self.many:
                return set(by_name) if runtime.alive(self.color) else set()
            return {i.name for i in runtime.instances(self.color)
                    if i.running and i.name in by_name and i.id == by_name[i.name].id}

        def show(p: health.Progress, passed: int) -> None:
            params = dict(elapsed=format_seconds(p.elapsed), deadline=format_seconds(p.deadline),
                          successes=p.successes, needed=svc.health.successes, detail=p.last.detail)
            if self.many:
                self.out.progress("health.progress_many", healthy=passed, count=len(by_name), **params)
            else:
                self.out.progress("health.progress", **params)

        with frame.timed("wait_until_healthy"):
            result = health.wait_until_all_healthy(list(by_name), probe_round, svc.health, needed=svc.scale.needed,
                                                   still_running=still_running, on_progress=show,
                                                   clock=self.scene.clock)
        failing = [n for n in by_name if n not in result.passed]
        if not failing:
            self.out.say("health.ok")
            return
        if len(result.passed) >= svc.scale.needed:
            removed = runtime.remove_instances([by_name[n] for n in failing], grace=0)
            self.out.say("health.partial" if removed else "health.partial_kept", healthy=len(result.passed),
                         count=len(by_name), names=", ".join(failing), needed=svc.scale.needed)
            return
        if result.dead or (not self.many and not runtime.alive(self.color)):
            raise DeployFailed("deploy.died", name=result.dead[0] if self.many and result.dead else self.name)
        worst = failing[0]
        last = result.last.get(worst, result.progress.last)
        detail = f"{worst}: {last.detail}" if self.many else last.detail
        hint = "health.hint_redirect" if "redirect" in last.detail else "health.hint_none"
        raise DeployFailed("health.failed", color=self.color, detail=detail, hint=self.out.text(hint))

    def still_healthy(self, expected_id: str) -> None:
        """Before a promotion: the staged instances are the ones that were gated, still run and still answer."""
        found = self.runtime.instances(self.color)
        running = [i for i in found if i.running]
        if not running or _release(found) != expected_id or len(running) < self.svc.scale.needed:
            raise DeployFailed("promote.staged_gone", name=self.name)
        for info, probe in zip(running, self.runtime.probe_all(running, self.svc.health.path)):
            if not probe.ok:
                raise DeployFailed("promote.staged_unhealthy", name=info.name if self.many else self.name,
                                   detail=probe.detail)
        self.instance_id = expected_id

    def open_preview(self, frame: Frame) -> None:
        """The healthy candidate on the preview entry (never the public one); a reload, no traffic moves."""
        with frame.timed("open_preview"):
            self._switch(frame, primary=self.active, backup=None, preview=self.color)
        self.previewed = True
        self.out.say("preview.open", color=self.color, url=self.preview_url)

    @property
    def preview_url(self) -> str:
        return self.svc.preview.url if self.svc.preview else ""

    def switch(self, frame: Frame) -> None:
        # A node that left after the gate (or while the deploy was staged): nginx never names a task not gated.
        if self._await_moved(frame):
            self.gate(frame)
        self.out.say("switch.start")
        with frame.timed("switch_traffic"):
            self._switch(frame, primary=self.color, backup=self.active)
        self.switched, self.previewed = True, False
        self.out.say("switch.done", old=self.active or "-", new=self.color)

    def verify(self, frame: Frame) -> None:
        with frame.timed("verify"):
            verify_public(self.scene, self.color)

    def hook(self, frame: Frame, name: str, *, action: str) -> bool:
        """Run the service's hook `name` if it has one: True when it passed (or there is none)."""
        return service_hook(self.scene, frame, name, values={
            "action": action, "service": self.svc.name, "from": self.active or "", "to": self.color,
            "image": self.image, "build": self.build, "preview_url": self.preview_url if self.previewed else ""})

    def keep(self, frame: Frame) -> None:
        """The candidate served and was verified: it is the color's version now; the previous one goes."""
        frame.promote(self.color, self.instance_id or "", self.image)
        if self.runtime.discard_kept(self.color):
            self.out.say("deploy.kept_discarded", name=self.runtime.kept_name(self.color))

    # --- undo ----------------------------------------------------------------------------------------------
    def withdraw(self, frame: Frame) -> None:
        """Everything back as it was: traffic on the active color, the candidate removed, the kept previous
        version put back, and nginx serving the exact file it served before this run."""
        out = self.out
        out.say("rollback.auto" if self.active else "rollback.auto_first", active=self.active)
        in_nginx = self.switched or self.previewed
        # Addresses rendered (Swarm): the kept version comes back as new tasks, at other addresses than the file
        # of before names, so nginx gets them rendered anew rather than that file.
        anew = bool(self.kept and self.active and self.runtime.renders_addresses and self._was_backup())
        if in_nginx and self.kept and self.active:
            self._switch(frame, primary=self.active, backup=None)  # the candidate out before it goes away
        elif in_nginx and self.serving != self.before and not anew:
            self._restore(frame)
        # Not in nginx (failed before the switch, after make_room took the color out): the file of before names
        # the color, which is the candidate's name until the kept version is back; restored below, after the put
        # back, so that nginx resolves the kept container (a dead candidate's name does not resolve at all, and
        # `nginx -t` would fail the undo itself).
        if in_nginx:
            out.say("rollback.auto_restored" if self.active else "rollback.auto_restored_first", active=self.active)
        # Before the start began (a failed pull, a pre_deploy hook), the color's instances are its previous version,
        # the rollback target, untouched: only a started candidate (or one replacing a set-aside version) goes.
        if self.instance_id or (self.kept and self.runtime.instances(self.color)):
            out.log_tail(self.runtime.logs_tail(self.color, 20), name=self.name)
            # A candidate nginx served (switched, or behind the preview entry) finishes what it still answers.
            self.runtime.remove(self.color, grace=drain(frame, self.color) if in_nginx else 0)
            out.say("rollback.candidate_removed", name=self.name)
        if self.kept and self.runtime.put_back(self.color):
            out.say("deploy.kept_restored", name=self.name)
        if anew and self.runtime.alive(self.color):
            self._switch(frame, primary=self.active, backup=self.color)
        elif self.serving != self.before:
            if self.runtime.alive(self.color) or not self.kept:
                self._restore(frame)
            elif self.active:  # the kept version did not come back: nginx must not name it
                self._switch(frame, primary=self.active, backup=None)

    def _was_backup(self) -> bool:
        """nginx named this color as `backup` before this run (the version a failed deploy puts back)."""
        return one_color(self.svc, parse_upstream(self.before, self.svc.upstream).backups) == self.color

    def _restore(self, frame: Frame) -> None:
        frame.restore(self.before, self.serving or "")
        self.serving = self.before

    def _switch(self, frame: Frame, *, primary: str | None, backup: str | None, preview: str | None = None) -> None:
        if primary is None:
            raise DeployFailed("preview.no_active")
        self.serving = frame.switch(primary=primary, backup=backup, previous=self.serving, preview=preview)


def prober(scene: Scene, by_name: Mapping[str, ContainerInfo]) -> Callable[[list[str]], dict[str, health.Probe]]:
    """One round of the health gate: the named instances probed over the path nginx uses (the runtime's prober)."""
    def probe_round(names: list[str]) -> dict[str, health.Probe]:
        return dict(zip(names, scene.runtime.probe_all([by_name[n] for n in names], scene.service.health.path)))
    return probe_round


def say_moved(out: Reporter, key: str, moved: Sequence[Moved], **params: str) -> None:
    """One line per node that left, naming its tasks."""
    for node, why in dict.fromkeys((m.node, m.why) for m in moved):
        out.say(key, node=node, why=why, names=", ".join(m.name for m in moved if (m.node, m.why) == (node, why)),
                **params)


def _release(found: tuple[ContainerInfo, ...]) -> str | None:
    return next((i.release for i in found if i.running), found[0].release if found else None)


def service_hook(scene: Scene, frame: Frame, name: str, *, values: dict[str, str]) -> bool:
    """Run the service's hook `name`, its output shown masked; True when it passed or there is none."""
    svc, out = scene.service, scene.out
    hook = getattr(svc.hooks, name)
    if hook is None:
        return True
    out.say("hook.running", hook=name, timeout=format_seconds(hook.timeout))
    with frame.timed(f"hook_{name}"):
        result = run_hook(hook, name=name, environ=scene.environ, base_dir=svc.base_dir, values=values,
                          keep=out.keep_bytes())
    out.log_tail(result.output, withheld="output.hook_withheld", hook=name,
                 command=shlex.join(hook_argv(hook, svc.base_dir)))
    if result.leftovers:
        out.say("hook.leftovers_killed", hook=name, count=result.leftovers, timeout=format_seconds(hook.timeout))
    params = {k: format_seconds(v) if k == "timeout" else v for k, v in result.params.items()}
    out.say("hook.passed" if result.ok else "hook.failed", hook=name, detail=out.text(result.detail, **params))
    return result.ok


def verify_public(scene: Scene, color: str) -> None:
    """Through the public entry, the way users come in; the answering color must be the new one."""
    svc = scene.service
    url = scene.nginx.public(svc.health.public_path or svc.health.path)
    result = health.verify_color(url, svc.health, color)
    if not result.ok:
        raise DeployFailed("verify.failed", url=url, detail=result.detail)
    scene.out.say("verify.ok", url=url, detail=result.detail)
