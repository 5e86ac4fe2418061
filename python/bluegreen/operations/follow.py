"""While `monitor` watches a Swarm color: nginx names the color's tasks as they run now (issue 24, a node lost after
the switch).

    (frame: lock, look) → the watched release still serves, enough of its tasks run → switch to the same colors
    → verify through the public entry (undo: the file of before serves again)

Why a switch at all: Swarm starts a task that left with its node (drained, down) on another node, at another
address, and nginx's upstream names addresses (rendered from the tasks). Until this switch nginx names the lost
address and passes requests on to the tasks left; after it, only running, health-checked tasks are named. The
monitor health-checks the new tasks before it runs this, without the lock (operations/monitor.py).
"""

from __future__ import annotations

from bluegreen.colors import other
from bluegreen.errors import BlueGreenError, RollbackUnavailable
from bluegreen.operations.candidate import verify_public
from bluegreen.operations.frame import Frame, Scene
from bluegreen.operations.look import Live
from bluegreen.report import Report


class Follow:
    action, holds_lock, repairs = "follow", True, False

    def __init__(self, scene: Scene, *, color: str, release: str, reason: str) -> None:
        self.scene, self.out = scene, scene.out
        self.color, self.release, self.reason = color, release, reason

    def begin(self, report: Report) -> None:
        report.reason = self.reason

    def plan(self, live: Live, frame: Frame) -> None:
        # Someone deployed or rolled back since the monitor looked: theirs stands, nothing is changed.
        if live.active != self.color or live.release(self.color) != self.release:
            raise RollbackUnavailable("monitor.changed", watched=self.color, active=live.active or "-")
        report = frame.report
        report.source, report.target, report.image = self.color, self.color, live.state.images.get(self.color)
        self.previous = live.served.loaded
        backup = other(self.color)
        self.backup = backup if live.running(backup) else None  # as the rollback names it

    def act(self, frame: Frame) -> None:
        with frame.timed("switch_traffic"):
            text = frame.switch(primary=self.color, backup=self.backup, previous=self.previous)
        try:
            with frame.timed("verify"):
                verify_public(self.scene, self.color)
        except BlueGreenError:
            frame.restore(self.previous, text)
            raise

    def end(self) -> None:
        self.out.say("monitor.followed", color=self.color, name=self.scene.runtime.display(self.color))
