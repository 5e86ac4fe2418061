"""Is the new color degraded? Pure rules over what the monitor saw; no I/O, so every threshold is unit-tested.

    probes   a URL probed through nginx (health path, smoke URLs) failed `failures` times in a row
    instance one of the color's replicas (or Swarm tasks), probed directly, failed or was gone `failures` times in
             a row (with replicas nginx hides a dead one behind the others, so the probes above would not see it)
    errors   the 5xx share of real requests is above the previous color's recent share + `max_error_rate`
    latency  the p95 of real requests is above `max_latency_factor` × the previous color's recent p95
             (and above `latency_floor`, so 2 ms → 5 ms is not "slow")

Real traffic is judged only from `min_requests` requests on: a quiet service does not roll back on one error.
The previous color's share and p95 count only when it had `min_requests` recent requests itself; without such a
baseline the error share is compared with `max_error_rate` alone and latency is not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bluegreen.config.settings import Monitor

__all__ = ["Tally", "ProbeStreak", "Verdict", "judge", "percentile"]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p95: share=0.95); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Tally:
    """Outcomes of the requests one color served, in log order."""

    failed: list[bool] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, *, failed: bool, seconds: float) -> None:
        self.failed.append(failed)
        self.latencies.append(seconds)
        self.errors += failed

    @property
    def requests(self) -> int:
        return len(self.failed)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def p95(self) -> float | None:
        return percentile(self.latencies, 0.95)

    def last(self, count: int) -> "Tally":
        """Only the newest `count` requests (the baseline is the requests just before the switch)."""
        failed = self.failed[-count:]
        return Tally(failed, self.latencies[-count:], sum(failed))


@dataclass
class ProbeStreak:
    """Consecutive failures of one probed URL."""

    failures: int = 0
    detail: str = ""
    probes: int = 0

    def record(self, ok: bool, detail: str) -> None:
        self.probes += 1
        self.failures = 0 if ok else self.failures + 1
        self.detail = detail


@dataclass(frozen=True)
class Verdict:
    """Degraded, with the reason as a message key and its parameters (said in the operator's language)."""

    key: str
    params: dict[str, str]


def judge(rules: Monitor, window: Tally, baseline: Tally, probes: dict[str, ProbeStreak],
          instances: dict[str, ProbeStreak] | None = None) -> Verdict | None:
    """The first rule the new color breaks, or None while it is healthy."""
    for url, streak in probes.items():
        if streak.failures >= rules.failures:
            return Verdict("monitor.reason.probe", {"url": url, "count": str(streak.failures),
                                                    "detail": streak.detail})
    for name, streak in (instances or {}).items():
        if streak.failures >= rules.failures:
            return Verdict("monitor.reason.instance", {"name": name, "count": str(streak.failures),
                                                       "detail": streak.detail})
    if window.requests < rules.min_requests:
        return None
    has_baseline = baseline.requests >= rules.min_requests
    allowed = rules.max_error_rate + (baseline.error_rate if has_baseline else 0.0)
    if window.errors and window.error_rate > allowed:
        return Verdict("monitor.reason.errors", {
            "share": percent(window.error_rate), "errors": str(window.errors), "requests": str(window.requests),
            "limit": percent(allowed), "baseline": percent(baseline.error_rate) if has_baseline else "-"})
    p95, before = window.p95, baseline.p95
    if has_baseline and p95 is not None and before is not None:
        limit = max(before * rules.max_latency_factor, rules.latency_floor)
        if p95 > limit:
            return Verdict("monitor.reason.latency", {
                "p95": millis(p95), "baseline": millis(before), "factor": f"{rules.max_latency_factor:g}",
                "limit": millis(limit), "requests": str(window.requests)})
    return None


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def millis(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}ms"
