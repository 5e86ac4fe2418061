"""Post-deploy monitoring on the real stack, with traffic through nginx: a version that fails or slows down after
the switch is rolled back within the window (exit 5) and the client loop sees no failure beyond those that
triggered it; a healthy version and a quiet service with one error are kept; without a previous color the
monitor says it cannot roll back and exits non-zero."""

from __future__ import annotations

import json
import time

import pytest

from helpers import wait_until
from site_under_test import Site, SITE

ACCESS_LOG = "/var/log/nginx/access.log"  # where the test nginx image writes (tests/images/nginx/nginx.conf)
RULES = {"interval": "0.5s", "min_requests": 10, "failures": 3, "latency_floor": "100ms"}


def make_site(stack, tmp_path, *, access_log: str = ACCESS_LOG, **rules) -> Site:
    site = Site(stack, tmp_path, nginx={"access_log": access_log})
    site.config["services"]["backend"]["monitor"] = {**RULES, **rules}
    site.write_config()
    first = site.deploy("v1")
    assert first.returncode == 0, first.stdout + first.stderr
    return site


@pytest.fixture
def site(stack, tmp_path):
    return make_site(stack, tmp_path)


def with_baseline(request_loop, site, requests: int = 50):
    """Traffic on v1 before the deploy: the previous color's baseline in the access log."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    wait_until(lambda: loop.count >= requests, 10, f"{requests} requests through nginx")
    return loop


def back_on_v1(traffic) -> float:
    """When the rollback reached the client: the first v1 answer after the last v2 one."""
    last_v2 = max(i for i, h in enumerate(traffic.hits) if h.version == "v2")
    return next(h.t for h in traffic.hits[last_v2 + 1:] if h.ok and h.version == "v1")


def assert_rolled_back(site, result, why: str) -> dict:
    output = result.stdout + result.stderr
    assert result.returncode == 5, output
    assert "Rolled back by post-deploy monitoring: traffic is back on blue" in output
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "blue", doc
    monitor, rollback, deploy = site.history()[:3]
    assert monitor["action"] == "monitor" and monitor["result"] == "rolled_back" and why in monitor["reason"]
    assert rollback["action"] == "rollback" and rollback["result"] == "success"
    assert rollback["reason"].startswith("post-deploy monitoring: ") and why in rollback["reason"]
    assert (rollback["from"], rollback["to"]) == ("green", "blue")
    assert deploy["action"] == "deploy" and deploy["result"] == "success"
    return monitor


def answered_after(loop, version: str) -> None:
    """Wait until a request started from now on has been answered by `version`."""
    since = loop.now()

    def answered() -> bool:
        last = loop.snapshot().hits[-1:]
        return bool(last) and last[0].t > since and last[0].ok and last[0].version == version

    wait_until(answered, 10, f"a request started after the command to be answered by {version}")


def test_failing_version_is_rolled_back_within_the_window(site, request_loop, tmp_path):
    """5xx after the switch: rollback within the window; the only failed requests are v2's 500s before it."""
    loop = with_baseline(request_loop, site)
    report = tmp_path / "report.json"
    result = site.deploy("v2", BLUEGREEN_MONITOR="10s", BLUEGREEN_REPORT=str(report), APP_FAIL_AFTER="2.5")
    answered_after(loop, "v1")
    traffic = loop.stop()
    monitor = assert_rolled_back(site, result, "5xx share")
    assert monitor["details"]["seconds"] < 10 and monitor["details"]["baseline_requests"] >= 10
    doc = json.loads(report.read_text())
    assert doc["result"] == "monitor_rolled_back" and doc["exit_code"] == 5 and "5xx share" in doc["reason"]
    assert "monitor" in doc["phases"]

    failures = traffic.failures
    assert failures, traffic.summary()
    assert {(h.status, h.version) for h in failures} == {(500, "v2")}, traffic.summary()
    back = back_on_v1(traffic)
    assert all(h.t < back for h in failures), traffic.summary()
    assert traffic.hits[-1].ok and traffic.hits[-1].version == "v1"
    took, rollback = back - failures[0].t, site.history()[1]["duration"]
    print(f"\nfirst 5xx → traffic back on v1: {took:.2f}s (of which the rollback {rollback:.2f}s), "
          f"{len(failures)} failed requests; {traffic.summary()}")
    assert took < 5, took


def test_slow_version_is_rolled_back_reading_docker_logs(stack, tmp_path, request_loop):
    """p95 latency far above v1's baseline: rolled back; the log is read from `docker logs` (nginx's stdout)."""
    site = Site(stack, tmp_path, nginx={"access_log": "docker-logs"})
    stack.write_nginx_file("conf.d/default.conf",
                           SITE.replace("location /", "access_log /dev/stdout bluegreen;\n    location /"))
    stack.reload_nginx()
    site.config["services"]["backend"]["monitor"] = RULES
    site.write_config()
    assert site.deploy("v1").returncode == 0
    loop = with_baseline(request_loop, site)
    result = site.deploy("v2", BLUEGREEN_MONITOR="10s", APP_SLOW_AFTER="2.5", APP_SLOW_MS="400")
    answered_after(loop, "v1")  # requests still in flight on v2 have ended: the loop is sequential
    traffic = loop.stop()
    monitor = assert_rolled_back(site, result, "p95 latency")
    assert monitor["details"]["access_log"].startswith("docker logs")
    assert traffic.failures == [], traffic.summary()
    assert traffic.transitions()[-1] == "v1", traffic.summary()


def test_healthy_version_is_kept(site, request_loop):
    """No degradation: exit 0 after the window, v2 serves, history has a healthy monitor entry."""
    loop = with_baseline(request_loop, site)
    result = site.deploy("v2", BLUEGREEN_MONITOR="4s")
    traffic = loop.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Post-deploy monitoring passed: green stayed healthy" in output
    assert traffic.failures == [], traffic.summary()
    assert traffic.hits[-1].version == "v2"
    monitor = site.history()[0]
    assert monitor["action"] == "monitor" and monitor["result"] == "healthy"
    assert monitor["details"]["requests"] > 50 and monitor["details"]["errors"] == 0


def test_quiet_service_with_one_error_is_kept(site):
    """One failed request among too few to judge (min_requests) does not roll back."""
    deploy = site.spawn("deploy", "backend", APP_TAG="v2", BLUEGREEN_MONITOR="3s", APP_FAIL_AFTER="0")
    for line in deploy.stdout:
        if "No recent requests of blue" in line:  # the log was read up to here: what follows is the window
            break
    import httpx

    assert httpx.get(site.stack.public_url + "/", timeout=5).status_code == 500
    out, err = deploy.communicate(timeout=30)
    assert deploy.returncode == 0, out + err
    monitor = site.history()[0]
    assert monitor["result"] == "healthy", monitor
    assert (monitor["details"]["requests"], monitor["details"]["errors"]) == (1, 1), monitor
    assert site.status()[1]["active"] == "green"


def test_failing_smoke_url_rolls_back_with_the_monitor_command(site):
    """`bluegreen monitor` alone: a smoke URL failing through nginx three times in a row rolls back (exit 5)."""
    site.config["services"]["backend"]["monitor"]["smoke"] = ["/"]
    site.write_config()
    assert site.deploy("v2", APP_FAIL_AFTER="1").returncode == 0
    result = site.bg("monitor", "backend", "--duration", "8s")
    assert_rolled_back(site, result, "/ through nginx failed 3 times in a row (HTTP 500)")


def test_previous_color_gone_cannot_roll_back(site):
    """Without a running previous color, `monitor` says it cannot roll back, changes nothing and exits 1."""
    assert site.deploy("v2").returncode == 0
    site.stack.client.containers.get(site.container("blue")).remove(force=True)
    before = site.upstream_text()
    started = time.monotonic()
    result = site.bg("monitor", "backend", "--duration", "5s")
    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 4
    assert "Monitoring cannot roll back, so it did not start: Rollback target" in result.stderr
    assert site.container("blue") in result.stderr
    assert site.upstream_text() == before
    assert site.history()[0]["action"] == "monitor" and site.history()[0]["result"] == "unavailable"


def test_previous_color_gone_while_watching(site, request_loop):
    """The previous color removed during the window: the degraded version cannot be rolled back, exit 1."""
    loop = with_baseline(request_loop, site)
    deploy = site.spawn("deploy", "backend", APP_TAG="v2", BLUEGREEN_MONITOR="10s", APP_FAIL_AFTER="2.5")
    for line in deploy.stdout:
        if "Post-deploy monitoring of green" in line:
            break
    site.stack.client.containers.get(site.container("blue")).remove(force=True)
    out, err = deploy.communicate(timeout=30)
    loop.stop()
    assert deploy.returncode == 1, out + err
    assert "green degraded after the switch: 5xx share" in out
    assert "Rollback target" in err and "is not running" in err
    monitor = site.history()[0]
    assert monitor["action"] == "monitor" and monitor["result"] == "degraded" and "is not running" in monitor["reason"]
    assert site.status()[1]["active"] == "green"


def test_manual_rollback_during_the_window_is_left_alone(site):
    """An operator rolls back while the monitor watches (it holds no lock): the monitor then changes nothing,
    says the service changed under it, and the deploy exits 1."""
    deploy = site.spawn("deploy", "backend", APP_TAG="v2", BLUEGREEN_MONITOR="8s")
    for line in deploy.stdout:
        if "Post-deploy monitoring of green" in line:
            break
    manual = site.bg("rollback", "backend", "--reason", "by hand")
    assert manual.returncode == 0, manual.stdout + manual.stderr
    out, err = deploy.communicate(timeout=30)
    assert deploy.returncode == 1, out + err
    assert "green no longer serves as active (now: blue)" in err and "nothing was changed" in err
    monitor, refused, by_hand = site.history()[:3]
    assert monitor["result"] == "degraded" and "no longer serves as active" in monitor["reason"]
    assert refused["action"] == "rollback" and refused["result"] == "unavailable"
    assert by_hand["reason"] == "by hand" and by_hand["result"] == "success"
    assert site.status()[1]["active"] == "blue"
