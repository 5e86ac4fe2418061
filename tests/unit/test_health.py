"""The health gate: consecutive successes, deadlines, redirects as failures, early stop on a dead container."""

from __future__ import annotations

import httpx

from bluegreen.clock import ManualClock
from bluegreen.parts import health
from bluegreen.config.settings import Health

FAST = Health(path="/health", timeout=1.0, interval=0.01, successes=3, request_timeout=0.5)


def transport(*responses):
    """A MockTransport answering the given statuses in turn (the last one repeats)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = responses[min(len(calls), len(responses) - 1)]
        calls.append(request)
        if isinstance(status, Exception):
            raise status
        headers = {"location": "https://example.invalid/login"} if status in (301, 302) else {}
        return httpx.Response(status, headers=headers)

    return httpx.MockTransport(handler), calls


def test_needs_consecutive_successes():
    """A failure in between resets the count: 200, 503, then three 200s."""
    t, calls = transport(200, 503, 200, 200, 200)
    result = health.wait_until_healthy("http://c/health", FAST, still_running=lambda: True, transport=t)
    assert result.successes == 3 and len(calls) == 5


def test_redirect_is_a_failure_with_its_location():
    """A 301 is not healthy, and the detail says where it points."""
    t, _ = transport(301)
    result = health.wait_until_healthy("http://c/health", FAST, still_running=lambda: True, transport=t)
    assert result.successes == 0 and "redirect" in result.last.detail and "/login" in result.last.detail


def test_deadline_is_respected():
    """A never-healthy endpoint gives up at the deadline, not later: two minutes of probing, no real waiting."""
    slow = Health(path="/health", timeout=120.0, interval=2.0, successes=3, request_timeout=5.0)
    clock = ManualClock()
    t, calls = transport(503)
    result = health.wait_until_healthy("http://c/health", slow, still_running=lambda: True, transport=t, clock=clock)
    assert result.successes == 0 and result.elapsed == 120.0
    assert len(calls) == 61 and set(clock.slept) == {2.0}  # every 2 s from t=0 to the deadline at t=120


def test_stops_early_when_the_container_died():
    """No point waiting out the deadline on a dead container."""
    t, calls = transport(httpx.ConnectError("refused"))
    result = health.wait_until_healthy("http://c/health", FAST, still_running=lambda: False, transport=t)
    assert len(calls) == 1 and result.elapsed < 0.5 and "connect error" in result.last.detail


def test_progress_is_reported_each_probe():
    """Every probe reports elapsed / deadline for the operator."""
    seen = []
    t, _ = transport(503, 200, 200, 200)
    health.wait_until_healthy("http://c/health", FAST, still_running=lambda: True, transport=t,
                              on_progress=seen.append)
    assert [p.successes for p in seen] == [0, 1, 2, 3] and all(p.deadline == 1.0 for p in seen)


def test_verify_color_requires_the_expected_color():
    """Through the public entry, an answer from the old color is a failed verification."""
    def handler(request):
        return httpx.Response(200, headers={health.COLOR_HEADER: "blue"})

    t = httpx.MockTransport(handler)
    assert not health.verify_color("http://nginx/health", FAST, "green", transport=t).ok
    assert health.verify_color("http://nginx/health", FAST, "blue", transport=t).ok
