"""The signals of one watch, gathered round by round: new access-log lines attributed to the watched color and
to the previous one (its baseline), and probes through nginx. monitor.py runs it; judge.py decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from bluegreen.clock import Clock
from bluegreen.output import Reporter
from bluegreen.parts import health
from bluegreen.config.log_format import LogFormat, Request
from bluegreen.parts.access_log import LogSource, LogUnavailable
from bluegreen.parts.judge import ProbeStreak, Tally, Verdict, judge, millis, percent
from bluegreen.config.settings import Nginx, Service
from bluegreen.units import format_seconds

BASELINE_REQUESTS = 1000  # the previous color's newest requests before the switch
SWITCHING_PROTOCOLS = 101  # a WebSocket's status in the access log
PROGRESS_EVERY = 5.0  # at most, between progress lines: a minute of watching should not flood the build log


@dataclass(frozen=True)
class Watched:
    color: str
    release: str  # the deploy that serves (its instances carry it); a rollback checks it still serves
    addrs: tuple[str, ...]  # ip:port of each instance, as nginx's $upstream_addr names it
    previous: str
    previous_addrs: tuple[str, ...]
    image: str | None


# Each instance of the watched color, one round: name → (answered, detail). Watched one by one when a color has
# several: nginx hides a dead replica behind the others, so the probes through nginx would not see it.
InstanceRound = Callable[[], Mapping[str, tuple[bool, str]]]


class Watch:
    """The signals of one watch, gathered round by round."""

    def __init__(self, service: Service, nginx: Nginx, source: LogSource | None, watched: Watched, *,
                 out: Reporter, clock: Clock, instances: InstanceRound | None = None) -> None:
        self.service, self.watched, self.rules, self.out, self.clock = service, watched, service.monitor, out, clock
        self.instance_round = instances
        self.instances: dict[str, ProbeStreak] = {}
        self.format = LogFormat(nginx.log_format)
        self.source = source
        health_path = service.health.public_path or service.health.path
        self.urls = {path: nginx.public_url + path for path in dict.fromkeys((health_path, *self.rules.smoke))}
        self.probes = {path: ProbeStreak() for path in self.urls}
        self.probed_paths = {path.split("?", 1)[0] for path in self.urls}  # as access_log.Request.path has them
        self.window, self.baseline = Tally(), Tally()
        self.elapsed = 0.0

    def run(self, duration: float) -> Verdict | None:
        self.read_baseline()
        deadline = self.clock.deadline(duration)
        every = max(min(PROGRESS_EVERY, duration / 4), self.rules.interval)
        with health.make_client(self.service.health.request_timeout) as client:
            while True:
                self.read_traffic()
                for path, url in self.urls.items():
                    probe = health.probe_color(client, url, self.watched.color)
                    self.probes[path].record(probe.ok, probe.detail)
                if self.instance_round is not None:
                    for name, (ok, detail) in self.instance_round().items():
                        self.instances.setdefault(name, ProbeStreak()).record(ok, detail)
                self.elapsed = deadline.elapsed
                verdict = judge(self.rules, self.window, self.baseline, self.probes, self.instances)
                if verdict or deadline.expired:
                    return verdict
                self.out.progress("monitor.progress", every=every, total=format_seconds(duration),
                                  elapsed=format_seconds(self.elapsed), **self._counts())
                deadline.pause(self.rules.interval)

    # --- the access log ------------------------------------------------------------------------------------
    def read_baseline(self) -> None:
        lines = self._read(lambda source: source.backlog())
        requests = [r for r in map(self.format.parse, lines) if r is not None]
        if lines and not requests:
            self.out.say("monitor.log_unmatched", count=len(lines), source=self.source.description)
        self._count(requests, self.watched.previous_addrs, self.baseline)
        self.baseline = self.baseline.last(BASELINE_REQUESTS)
        if self.baseline.requests:
            self.out.say("monitor.baseline", color=self.watched.previous, requests=self.baseline.requests,
                             share=percent(self.baseline.error_rate), p95=millis(self.baseline.p95))
        elif self.source is not None:
            self.out.say("monitor.no_baseline", color=self.watched.previous)

    def read_traffic(self) -> None:
        lines = self._read(lambda source: source.poll())
        self._count(filter(None, map(self.format.parse, lines)), self.watched.addrs, self.window)

    def _read(self, how: Callable[[LogSource], list[str]]) -> list[str]:
        if self.source is None:
            return []
        try:
            return how(self.source)
        except LogUnavailable as error:
            self.out.say("monitor.log_unavailable", source=self.source.description, error=str(error))
            self.source = None  # said once; the probes go on
            return []

    def _count(self, requests: Iterable[Request], addrs: tuple[str, ...], tally: Tally) -> None:
        """Each request one of the color's instances served: failed when any of them failed it."""
        if not addrs:
            return
        for request in requests:
            if self.format.has_request and request.path in self.probed_paths:
                continue  # our own probes (and the deploy's verification) are not traffic
            if request.status == SWITCHING_PROTOCOLS:
                continue  # a WebSocket, logged when it closed: its time is how long it was open, not a latency
            outcomes = [a for a in request.attempts if a.addr in addrs]
            if outcomes:
                tally.add(failed=any(a.failed for a in outcomes), seconds=request.seconds)

    # --- what it says ----------------------------------------------------------------------------------------
    def _counts(self) -> dict[str, str]:
        failing = [(p, s) for p, s in (*self.probes.items(), *self.instances.items()) if s.failures]
        probes = (", ".join(self.out.text("monitor.probe_failing", url=p, count=s.failures,
                                              limit=self.rules.failures) for p, s in failing)
                  or self.out.text("monitor.probes_ok"))
        return {"requests": str(self.window.requests), "errors": str(self.window.errors),
                "share": percent(self.window.error_rate), "p95": millis(self.window.p95), "probes": probes}

    def summary(self, duration: float) -> dict[str, str]:
        return {"color": self.watched.color, "duration": format_seconds(duration), **self._counts()}

    def details(self) -> dict[str, object]:
        w, b = self.window, self.baseline
        return {"seconds": round(self.elapsed, 3), "requests": w.requests, "errors": w.errors,
                "p95_ms": _ms(w.p95), "baseline_requests": b.requests, "baseline_errors": b.errors,
                "baseline_p95_ms": _ms(b.p95), "access_log": self.source.description if self.source else "-",
                "probes": {p: {"probes": s.probes, "failing": s.failures} for p, s in self.probes.items()},
                **({"instances": {n: {"probes": s.probes, "failing": s.failures, "last": s.detail}
                                  for n, s in self.instances.items()}} if self.instances else {})}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
