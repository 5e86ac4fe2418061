"""`bluegreen rollback`: a switch back to the previous color, which must already run and be healthy.

Nothing is started here, so it takes about a second: check the target → lock → switch → verify → record.
If the target does not run (first deploy, removed by hand) or is unhealthy, say so plainly and change nothing.
"""

from __future__ import annotations

import time

from bluegreen import failpoints, health
from bluegreen.context import Context
from bluegreen.errors import BlueGreenError, RollbackUnavailable
from bluegreen.live import Live, other
from bluegreen.report import Report
from bluegreen.state import now_iso
from bluegreen.traffic import look, repair, restore, switch_to, verify


def check_target(ctx: Context, live: Live) -> str:
    """The color to roll back to, or RollbackUnavailable with the guide's wording."""
    svc = ctx.service
    target = other(live.active) if live.active else None
    if target is None:
        raise RollbackUnavailable("rollback.no_active", upstream=svc.upstream)
    info = live.containers.get(target)
    name = svc.container(target)
    if not info or not info.running:
        last = live.state.images.get(target) or (info.labels.get("bluegreen.image") if info else None) or "-"
        raise RollbackUnavailable("rollback.target_missing", name=name, image=last)
    if live.state.promoted.get(target) != info.id:
        raise RollbackUnavailable("rollback.target_unpromoted", name=name)
    if not info.ip:
        raise RollbackUnavailable("rollback.target_unhealthy", name=name, detail="no address on the network")
    probe = health.is_healthy(ctx.candidate_url(info.ip), svc.health)
    if not probe.ok:
        raise RollbackUnavailable("rollback.target_unhealthy", name=name, detail=probe.detail)
    return target


def check_unchanged(live: Live, expect_active: tuple[str, str]) -> None:
    """The monitor watched (color, container id) without the lock: roll back only if it still serves."""
    color, container_id = expect_active
    info = live.containers.get(color)
    if live.active != color or not info or info.id != container_id:
        raise RollbackUnavailable("monitor.changed", watched=color, active=live.active or "-")


def run_rollback(ctx: Context, *, reason: str | None = None, expect_active: tuple[str, str] | None = None) -> Report:
    started, t0 = now_iso(), time.monotonic()
    out = ctx.out
    out.line("❌ " + "=" * 40)
    out.say("rollback.begin")
    out.line("❌ " + "=" * 40)
    report = Report.begin(ctx, "rollback", image=None, started=started)
    report.reason = reason or ""
    ctx.state.acquire("rollback " + ctx.service.name)
    failpoints.reach("rollback.locked")
    try:
        with report.recording(ctx, since=t0):
            live = repair(ctx, look(ctx))
            report.source = live.active
            out.say("active.current" if live.active else "active.none", color=live.active or "-")
            with ctx.timed("check_target"):
                if expect_active:
                    check_unchanged(live, expect_active)
                target = check_target(ctx, live)
            report.target = target
            report.image = live.state.images.get(target)
            out.say("rollback.target", color=target)
            out.say("rollback.target_healthy")
            out.say("rollback.switching")
            with ctx.timed("switch_traffic"):
                backup = live.active if live.running(live.active) else None
                text = switch_to(ctx, primary=target, backup=backup, previous=live.loaded)
            out.say("rollback.switched", old=live.active, new=target)
            failpoints.reach("rollback.switched")
            try:
                with ctx.timed("verify"):
                    verify(ctx, target)
            except BlueGreenError:
                restore(ctx, live.loaded, text)
                raise
        out.rule()
        out.say("rollback.done")
        out.rule()
        out.say("summary.active", color=target)
        return report
    finally:
        ctx.state.release()
