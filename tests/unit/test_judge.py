"""The rules that decide a rollback: thresholds, the minimum request count, the previous color's baseline."""

from __future__ import annotations

from bluegreen.config.settings import Monitor
from bluegreen.parts.judge import ProbeStreak, Tally, judge, percentile

RULES = Monitor(max_error_rate=0.05, min_requests=20, max_latency_factor=2.0, latency_floor=0.2, failures=3)


def tally(requests: int, errors: int = 0, seconds: float = 0.01, slow: int = 0, slow_seconds: float = 1.0) -> Tally:
    t = Tally()
    for i in range(requests):
        t.add(failed=i < errors, seconds=slow_seconds if i >= requests - slow else seconds)
    return t


def healthy_probes() -> dict[str, ProbeStreak]:
    streak = ProbeStreak()
    streak.record(True, "HTTP 200")
    return {"/health": streak}


def test_quiet_service_with_one_error_is_not_judged():
    """1 failed of 1 request (or 19 of 19) is below min_requests: no verdict."""
    assert judge(RULES, tally(1, errors=1), Tally(), healthy_probes()) is None
    assert judge(RULES, tally(19, errors=19), Tally(), healthy_probes()) is None


def test_error_share_above_the_limit_rolls_back():
    """2 of 20 (10%) > 5%: degraded, with the numbers in the reason."""
    verdict = judge(RULES, tally(20, errors=2), Tally(), healthy_probes())
    assert verdict.key == "monitor.reason.errors"
    assert verdict.params == {"share": "10.0%", "errors": "2", "requests": "20", "limit": "5.0%", "baseline": "-"}


def test_error_share_at_the_limit_is_kept():
    """Exactly 5% is not above 5%."""
    assert judge(RULES, tally(40, errors=2), Tally(), healthy_probes()) is None


def test_previous_colors_own_errors_raise_the_limit():
    """The old version already failed 10%: the new one may fail up to 15% before it counts as worse."""
    before = tally(100, errors=10)
    assert judge(RULES, tally(100, errors=14), before, healthy_probes()) is None
    verdict = judge(RULES, tally(100, errors=16), before, healthy_probes())
    assert verdict.key == "monitor.reason.errors" and verdict.params["baseline"] == "10.0%"


def test_a_thin_baseline_is_ignored():
    """A previous color with fewer than min_requests recent requests is no baseline: the plain limit applies."""
    assert judge(RULES, tally(100, errors=6), tally(5, errors=5), healthy_probes()).key == "monitor.reason.errors"


def test_p95_far_above_the_baseline_rolls_back():
    """p95 1 s against 10 ms before: slower than 2× and above the floor."""
    verdict = judge(RULES, tally(100, slow=10), tally(100), healthy_probes())
    assert verdict.key == "monitor.reason.latency"
    assert (verdict.params["p95"], verdict.params["baseline"], verdict.params["limit"]) == ("1000ms", "10ms", "200ms")


def test_latency_under_the_floor_is_never_slow():
    """10 ms → 150 ms is 15× but under the 200 ms floor."""
    assert judge(RULES, tally(100, slow=10, slow_seconds=0.15), tally(100), healthy_probes()) is None


def test_latency_within_the_factor_is_kept():
    """300 ms → 500 ms is less than 2×."""
    assert judge(RULES, tally(100, seconds=0.5), tally(100, seconds=0.3), healthy_probes()) is None


def test_latency_without_a_baseline_is_not_judged():
    """No previous requests to compare with: latency alone never rolls back."""
    assert judge(RULES, tally(100, seconds=5.0), Tally(), healthy_probes()) is None


def test_probe_failing_in_a_row_rolls_back_and_a_success_resets():
    """Three consecutive failures of one URL are degraded; a success in between starts over."""
    streak = ProbeStreak()
    for ok in (False, False, True, False, False):
        streak.record(ok, "HTTP 500" if not ok else "HTTP 200")
    assert judge(RULES, Tally(), Tally(), {"/": streak}) is None
    streak.record(False, "HTTP 500")
    verdict = judge(RULES, Tally(), Tally(), {"/": streak})
    assert verdict.key == "monitor.reason.probe" and verdict.params == {"url": "/", "count": "3", "detail": "HTTP 500"}


def test_percentile_and_baseline_window():
    """Nearest-rank p95; the baseline keeps the newest requests only."""
    assert percentile(list(range(1, 101)), 0.95) == 95 and percentile([], 0.95) is None
    t = tally(10, errors=5)
    assert (t.last(5).requests, t.last(5).errors, t.last(50).requests) == (5, 0, 10)
