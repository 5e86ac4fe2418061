"""`bluegreen monitor` and `bluegreen deploy --monitor`: watch the new color after the switch, roll back if it degrades.

    look (under the lock, briefly) → check the rollback target → baseline of the previous color from the
    access log → every interval: new access-log lines, probes through nginx, judge → roll back, or healthy

Why the lock is not held while watching: a deploy holds the service lock until it returns, and the monitor then
watches without it, taking it only to roll back, through `run_rollback` (the same checks, switch, verification and
history as `bluegreen rollback`). Holding it for the whole window would refuse an operator's manual rollback
(exit 4) exactly when something is wrong. The price: someone may deploy or roll back meanwhile, so the rollback
first checks, under the lock, that the watched container still serves as active (`expect_active`), and otherwise
changes nothing.

Signals (judge.py has the rules): the health path and the smoke URLs probed through the public entry, and real
traffic of this upstream from nginx's own access log (access_log.py), attributed by the colors' `ip:port`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from bluegreen import health
from bluegreen.access_log import LogFormat, LogSource, LogUnavailable, open_source
from bluegreen.context import Context
from bluegreen.errors import BlueGreenError, MonitorRolledBack, RollbackUnavailable, UsageError
from bluegreen.judge import ProbeStreak, Tally, Verdict, judge, millis, percent
from bluegreen.live import other
from bluegreen.report import Report
from bluegreen.rollback import check_target, run_rollback
from bluegreen.state import now_iso
from bluegreen.traffic import look
from bluegreen.units import format_seconds, parse_duration

BASELINE_REQUESTS = 1000  # the previous color's newest requests before the switch
PROGRESS_EVERY = 5.0  # seconds between progress lines: a minute of watching should not flood the build log


@dataclass(frozen=True)
class Watched:
    color: str
    container_id: str
    addr: str | None  # ip:port as nginx's $upstream_addr names it
    previous: str
    previous_addr: str | None
    image: str | None


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
    from bluegreen.deploy import run_deploy

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
    t0 = time.monotonic()
    try:
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
            report.result = "healthy"
            report.reason = out.text("monitor.healthy", **watch.summary(duration))
            out.say("monitor.healthy", **watch.summary(duration))
            return report
        reason = out.text(verdict.key, **verdict.params)
        report.result, report.reason = "degraded", reason  # until the rollback is done
        out.say("monitor.degraded", color=watched.color, reason=reason)
        out.say("monitor.rolling_back", target=watched.previous)
        run_rollback(ctx, reason=out.text("monitor.rollback_reason", reason=reason),
                     expect_active=(watched.color, watched.container_id))
        report.result, report.exit_code = "rolled_back", MonitorRolledBack.exit_code
        raise MonitorRolledBack("monitor.rolled_back", target=watched.previous, reason=reason)
    except MonitorRolledBack:
        raise
    except BlueGreenError as error:
        if report.result == "degraded":  # the rollback itself was refused or failed
            report.reason += " · " + out.text(error.key, **error.params)
            report.exit_code = error.exit_code
            error.report = report  # type: ignore[attr-defined]
        else:
            report.fail(ctx, error)
        raise
    except BaseException as error:
        report.crash(error)
        raise
    finally:
        report.finish(ctx, time.monotonic() - t0)


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


class Watch:
    """The signals of one watch, gathered round by round."""

    def __init__(self, ctx: Context, watched: Watched) -> None:
        self.ctx, self.watched, self.rules = ctx, watched, ctx.service.monitor
        nginx = ctx.config.nginx
        self.format = LogFormat(nginx.log_format)
        self.source: LogSource | None = open_source(ctx.docker, nginx.container, nginx.access_log)
        health_path = ctx.service.health.public_path or ctx.service.health.path
        self.urls = {path: nginx.public_url + path for path in dict.fromkeys((health_path, *self.rules.smoke))}
        self.probes = {path: ProbeStreak() for path in self.urls}
        self.window, self.baseline = Tally(), Tally()
        self.elapsed = 0.0

    def run(self, duration: float) -> Verdict | None:
        self.read_baseline()
        start, pause = time.monotonic(), threading.Event()
        with health.make_client(self.ctx.service.health.request_timeout) as client:
            while True:
                self.read_traffic()
                for path, url in self.urls.items():
                    probe = health.probe_color(client, url, self.watched.color)
                    self.probes[path].record(probe.ok, probe.detail)
                self.elapsed = time.monotonic() - start
                verdict = judge(self.rules, self.window, self.baseline, self.probes)
                if verdict or self.elapsed >= duration:
                    return verdict
                self.ctx.out.progress("monitor.progress", every=PROGRESS_EVERY, total=format_seconds(duration),
                                      elapsed=format_seconds(self.elapsed), **self._counts())
                pause.wait(min(self.rules.interval, max(0.0, duration - self.elapsed)))

    # --- the access log ------------------------------------------------------------------------------------
    def read_baseline(self) -> None:
        lines = self._read(lambda source: source.backlog())
        requests = [r for r in map(self.format.parse, lines) if r is not None]
        if lines and not requests:
            self.ctx.out.say("monitor.log_unmatched", count=len(lines), source=self.source.description)
        self._count(requests, self.watched.previous_addr, self.baseline)
        self.baseline = self.baseline.last(BASELINE_REQUESTS)
        if self.baseline.requests:
            self.ctx.out.say("monitor.baseline", color=self.watched.previous, requests=self.baseline.requests,
                             share=percent(self.baseline.error_rate), p95=millis(self.baseline.p95))
        elif self.source is not None:
            self.ctx.out.say("monitor.no_baseline", color=self.watched.previous)

    def read_traffic(self) -> None:
        lines = self._read(lambda source: source.poll())
        self._count(filter(None, map(self.format.parse, lines)), self.watched.addr, self.window)

    def _read(self, how) -> list[str]:
        if self.source is None:
            return []
        try:
            return how(self.source)
        except LogUnavailable as error:
            self.ctx.out.say("monitor.log_unavailable", source=self.source.description, error=str(error))
            self.source = None  # said once; the probes go on
            return []

    def _count(self, requests, addr: str | None, tally: Tally) -> None:
        if addr is None:
            return
        for request in requests:
            if self.format.has_request and request.path in self.urls:
                continue  # our own probes (and the deploy's verification) are not traffic
            outcome = request.outcome_at(addr)
            if outcome is not None:
                tally.add(failed=outcome.failed, seconds=request.seconds)

    # --- what it says ----------------------------------------------------------------------------------------
    def _counts(self) -> dict[str, str]:
        failing = [(p, s) for p, s in self.probes.items() if s.failures]
        probes = (", ".join(self.ctx.out.text("monitor.probe_failing", url=p, count=s.failures,
                                              limit=self.rules.failures) for p, s in failing)
                  or self.ctx.out.text("monitor.probes_ok"))
        return {"requests": str(self.window.requests), "errors": str(self.window.errors),
                "share": percent(self.window.error_rate), "p95": millis(self.window.p95), "probes": probes}

    def summary(self, duration: float) -> dict[str, str]:
        return {"color": self.watched.color, "duration": format_seconds(duration), **self._counts()}

    def details(self) -> dict[str, object]:
        w, b = self.window, self.baseline
        return {"seconds": round(self.elapsed, 3), "requests": w.requests, "errors": w.errors,
                "p95_ms": _ms(w.p95), "baseline_requests": b.requests, "baseline_errors": b.errors,
                "baseline_p95_ms": _ms(b.p95), "access_log": self.source.description if self.source else "-",
                "probes": {p: {"probes": s.probes, "failing": s.failures} for p, s in self.probes.items()}}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
