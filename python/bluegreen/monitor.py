"""`bluegreen monitor` and `bluegreen deploy --monitor`: watch the new color after the switch, roll back if it degrades.

    look (under the lock, briefly) → check the rollback target → baseline of the previous color from the
    access log → every interval: new access-log lines, probes through nginx, judge → roll back, or healthy

Why the lock is not held while watching: a deploy holds the service lock until it returns, and the monitor then
watches without it, taking it only to roll back, through `run_rollback` (the same checks, switch, verification and
history as `bluegreen rollback`). Holding it for the whole window would refuse an operator's manual rollback
(exit 4) exactly when something is wrong. The price: someone may deploy or roll back meanwhile, so the rollback
first checks, under the lock, that the watched container still serves as active (`expect_active`), and otherwise
changes nothing.

Signals (watch.py gathers them, judge.py has the rules): the health path and the smoke URLs probed through the
public entry, and real traffic of this upstream from nginx's own access log (access_log.py).
"""

from __future__ import annotations

import dataclasses
import time

from bluegreen.context import Context
from bluegreen.deploy import run_deploy
from bluegreen.errors import BlueGreenError, MonitorRolledBack, RollbackUnavailable, UsageError
from bluegreen.live import other
from bluegreen.report import Report
from bluegreen.rollback import check_target, run_rollback
from bluegreen.state import now_iso
from bluegreen.traffic import look
from bluegreen.units import format_seconds, parse_duration
from bluegreen.watch import Watch, Watched


def parse_duration_option(value: str | None, option: str) -> float | None:
    """`--monitor 60s` / `--duration 2m`: seconds, None when not given (empty counts as not given, as Jenkins
    passes it), 0 to switch monitoring off."""
    if value is None or not value.strip():
        return None
    seconds = parse_duration(value)
    if seconds is None:
        raise UsageError("monitor.bad_duration", option=option, value=value[:40])
    return seconds


def deploy_and_monitor(ctx: Context, *, image: str | None, monitor: str | None) -> Report:
    """`deploy --monitor`: the deploy (which releases the lock when it returns), then the watch. A rollback by
    the monitor turns the deploy's report into `monitor_rolled_back` (exit 5)."""
    duration = parse_duration_option(monitor, "--monitor")
    report = run_deploy(ctx, image=image)
    if not duration:
        return report
    started = time.monotonic()
    try:
        run_monitor(ctx, duration=duration, after_deploy=True)
    except BlueGreenError as error:
        report.fail(ctx, error)
        raise
    finally:
        report.phases["monitor"] = round(time.monotonic() - started, 3)
    return report


def run_monitor(ctx: Context, *, duration: float | None = None, after_deploy: bool = False) -> Report:
    """Watch for `duration` (default: the service's monitor.duration); exit 5 after a rollback, 1 when there is
    nothing to roll back to (after a deploy: a warning, and the deploy stands)."""
    ctx = dataclasses.replace(ctx, phases={})  # the rollback's phases, not the deploy's
    rules, out = ctx.service.monitor, ctx.out
    duration = duration or rules.duration
    report = Report.begin(ctx, "monitor", image=None, started=now_iso())
    with report.recording(ctx, since=time.monotonic()):
        try:
            watched = _watched(ctx)
        except RollbackUnavailable as error:
            reason = out.text(error.key, **error.params)
            if after_deploy:
                out.say("monitor.skipped", reason=reason)
                report.result, report.reason = "skipped", reason
                return report
            raise RollbackUnavailable("monitor.cannot_roll_back", reason=reason) from error
        report.source, report.target, report.image = watched.previous, watched.color, watched.image
        out.say("monitor.begin", color=watched.color, duration=format_seconds(duration),
                previous=watched.previous, interval=format_seconds(rules.interval))
        watch = Watch(ctx, watched)
        verdict = watch.run(duration)
        report.details = watch.details()
        if verdict is None:
            report.result, report.reason = "healthy", out.text("monitor.healthy", **watch.summary(duration))
            out.say("monitor.healthy", **watch.summary(duration))
            return report
        roll_back(ctx, watched, out.text(verdict.key, **verdict.params), report)
    return report  # not reached: roll_back() always raises (after settling the report's result)


def roll_back(ctx: Context, watched: Watched, reason: str, report: Report) -> None:
    """`bluegreen rollback`'s own path, if the watched container still serves; always raises: exit 5 when done,
    else the rollback's refusal or failure (its exit code), saying what was degraded."""
    out = ctx.out
    out.say("monitor.degraded", color=watched.color, reason=reason)
    out.say("monitor.rolling_back", target=watched.previous)
    try:
        run_rollback(ctx, reason=out.text("monitor.rollback_reason", reason=reason),
                     expect_active=(watched.color, watched.container_id))
    except BlueGreenError as error:
        failed = type(error)("monitor.not_rolled_back", error=out.text(error.key, **error.params), reason=reason)
        report.result, report.reason = "degraded", out.text(failed.key, **failed.params)
        report.exit_code = failed.exit_code
        raise failed from error
    report.result, report.reason, report.exit_code = "rolled_back", reason, MonitorRolledBack.exit_code
    raise MonitorRolledBack("monitor.rolled_back", target=watched.previous, reason=reason)


def _watched(ctx: Context) -> Watched:
    """One consistent look under the lock: what serves, and that there is something to roll back to."""
    ctx.state.acquire("monitor " + ctx.service.name)
    try:
        live = look(ctx)
        target = check_target(ctx, live)  # RollbackUnavailable: nothing to roll back to
    finally:
        ctx.state.release()
    active = other(target)
    info, before = live.containers[active], live.containers[target]
    assert info is not None and before is not None  # check_target saw both running
    port = ctx.service.port
    return Watched(active, info.id, f"{info.ip}:{port}" if info.ip else None, target,
                   f"{before.ip}:{port}" if before.ip else None, live.state.images.get(active))
