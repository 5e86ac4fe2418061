"""One run of one operation in the frame: begin → lock → look → repair and adopt → plan → act → record → release.

The order is the runbook every command shares (operations/frame.py says why each step is where it is); the repair
is operations/repair.py's, and whatever the operation changes goes through the Frame.
"""

from __future__ import annotations

from bluegreen import failpoints
from bluegreen.operations.frame import Frame, Operation, Scene, Unwinds
from bluegreen.operations.repair import repair
from bluegreen.parts.state import now_iso
from bluegreen.report import Report


def run(scene: Scene, operation: Operation) -> Report:
    """The frame around one operation (operations/frame.py's docstring says each step and why)."""
    svc = scene.service
    report = Report(service=svc.name, action=operation.action, started_at=now_iso(),
                    build=scene.environ.get("BUILD_NUMBER", ""), build_url=scene.environ.get("BUILD_URL", ""),
                    lang=scene.out.lang)
    operation.begin(report)
    frame = Frame(scene, report)
    if not scene.state.locked:  # the rollback's quick path holds it already
        scene.state.acquire(f"{operation.action} {svc.name}")
    try:
        failpoints.reach(f"{operation.action}.locked")
        with frame.recording():
            try:
                for key, params in scene.switch.secure():  # shared-dict: the admin socket bluegreen's alone
                    scene.out.say(key, **params)
                live = scene.look()
                if operation.repairs:
                    live = repair(frame, live)
                operation.plan(live, frame)
                if operation.holds_lock:
                    operation.act(frame)
            except BaseException:
                # What an operation changed before the frame looked (the rollback's quick switch) goes back when
                # the run cannot finish it, still under the lock.
                if isinstance(operation, Unwinds):
                    operation.unwind(frame)
                raise
            finally:
                scene.state.unlock()
            if not operation.holds_lock:
                operation.act(frame)
        operation.end()
        return report
    finally:
        scene.state.unlock()
