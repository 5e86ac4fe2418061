"""`bluegreen promote` and `bluegreen abort`: finish a staged deploy (`deploy --stage`), whatever time passed.

    promote = (frame: lock, look) → the staged candidate is still the one gated, runs and answers → switch →
              verify → post_switch hook → keep it (undo: everything back as before the stage)
    abort   = (frame: lock, look) → candidate out of nginx and removed → the version it replaced put back
"""

from __future__ import annotations

from bluegreen.errors import UsageError
from bluegreen.operations.candidate import Candidate
from bluegreen.operations.deploy import go_live
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.report import Report


class _Staged:
    """What promote and abort share: the staged deploy, found under the lock, as a candidate again."""

    def __init__(self, scene: Scene) -> None:
        self.scene, self.out, self.svc = scene, scene.out, scene.service

    begins: str  # the message that announces it

    def begin(self, report: Report) -> None:
        self.out.say(self.begins, service=self.svc.name)

    def plan(self, live: Live, frame: Frame) -> None:
        staged = live.state.staged
        if not staged:
            raise UsageError("stage.nothing", service=self.svc.name, action=self.action)
        self.staged = staged
        # Abort removes the staged instances, and so does a promotion that fails: refused first if nginx names
        # them outside bluegreen's file, or what it serves cannot be told (guard.py).
        self.scene.guard.ahead(live.instances.get(staged["color"], ()), color=staged["color"])
        self.active = live.active if live.running(live.active) else None
        c = Candidate(self.scene, color=staged["color"], active=self.active, serving=live.served.loaded,
                      image=staged.get("image", ""), build=staged.get("build", ""))
        c.kept, c.previewed, c.instance_id = bool(staged.get("kept")), True, staged.get("instance")
        # Undoing a staged deploy ends where a finished one would have started: the active color serving, the
        # replaced version (if any) back as its backup, no preview.
        c.before = self.scene.switch.render(primary=self.active, backup=c.color if c.kept else None) \
            if self.active else live.served.loaded
        self.candidate = c
        report = frame.report
        report.source, report.target, report.image = self.active, c.color, c.image
        self.out.say("stage.found", color=c.color, image=c.image, since=staged.get("since", "?"))


class Promote(_Staged):
    action, holds_lock, repairs, begins = "promote", True, True, "promote.begin"

    def act(self, frame: Frame) -> None:
        c = self.candidate
        c.still_healthy(self.staged.get("instance", ""))  # failing: nothing changed, the stage stays for `abort`
        self.out.say("promote.healthy", color=c.color)
        go_live(self.scene, c, frame, point="promote.switched")

    def end(self) -> None:
        self.out.rule()
        self.out.say("deploy.done")
        self.out.rule()
        self.out.say("summary.active", color=self.candidate.color)
        if self.active:
            self.out.say("summary.previous", color=self.active)


class Abort(_Staged):
    action, holds_lock, repairs, begins = "abort", True, True, "abort.begin"

    def act(self, frame: Frame) -> None:
        c = self.candidate
        c.withdraw(frame)
        frame.unstage()
        frame.report.result = "aborted"

    def end(self) -> None:
        self.out.say("abort.done", color=self.candidate.color, active=self.active or "-")
