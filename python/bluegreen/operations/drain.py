"""Before a color that may still answer requests stops (set aside for a candidate, or a withdrawn candidate that
served), its requests in flight are drained: each instance is asked to stop and bluegreen waits, up to
`drain_timeout`, while it still answers (parts/drain.py); what is left at the deadline is cut, said and recorded.

nginx no longer sends the color anything new when this runs: the caller switched it away first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluegreen.units import format_seconds

if TYPE_CHECKING:
    from bluegreen.operations.frame import Frame

ASKED_MIN = 2.0  # seconds; measured: uvicorn's close frames go out within 0.5 s of SIGTERM


def drain(frame: Frame, color: str, *, spent: float = 0.0) -> float:
    """Drain the color's instances; the grace the stop that follows gives them: `stop_timeout` for the app's own
    shutdown after its last request, 0 when requests were cut at the deadline (they are lost either way).
    `spent`: seconds of `drain_timeout` already spent waiting for nginx's old workers (reload mode's make room)."""
    scene = frame.scene
    svc, out, runtime = scene.service, scene.out, scene.runtime
    name, bound = runtime.display(color), format_seconds(svc.drain_timeout)

    def progress(count: int | None, left: float) -> None:
        if count is None:
            out.progress("drain.waiting_uncounted", name=name, bound=bound, left=format_seconds(left))
        else:
            out.progress("drain.waiting", count=count, name=name, bound=bound, left=format_seconds(left))

    # However much of the bound the old workers took, an app asked to stop gets a moment to close what it holds
    # itself (a WebSocket's close frame, 1012/1001, so its client reconnects at once) before it is killed.
    timeout = max(svc.drain_timeout - spent, min(svc.stop_timeout, svc.drain_timeout, ASKED_MIN))
    with frame.timed("drain"):
        drained = runtime.drain(color, timeout=timeout, progress=progress)
    if not drained.names:
        return svc.stop_timeout
    frame.report.extra.setdefault("drain", []).append(
        {"color": color, "instances": list(drained.names), "in_flight": drained.at_start if drained.counted else None,
         "cut": drained.cut if drained.counted else None, "timed_out": drained.timed_out,
         "seconds": round(drained.waited, 3)})
    if drained.timed_out:
        if drained.counted:
            out.say("drain.cut", count=drained.cut, name=name, bound=bound)
        else:
            out.say("drain.cut_uncounted", name=name, bound=bound)
        return 0.0
    if drained.at_start:
        out.say("drain.done", count=drained.at_start, name=name, seconds=format_seconds(drained.waited))
    return svc.stop_timeout
