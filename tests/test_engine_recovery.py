"""A run killed with SIGKILL at any step leaves traffic on a healthy color; `status` reports what it left and
the next deploy or rollback repairs it."""

from __future__ import annotations

import signal

import pytest

from site_under_test import hand_reload


@pytest.fixture
def site(steady_site):
    return steady_site  # green (v2) active, blue (v1) kept for rollback


# failpoint → problems `status` must report right after the kill. Killed after nginx confirmed a reload but
# before the state recorded it: nginx *serves* the unfinished file (unfinished_switch); killed before the reload,
# the file sits on disk unloaded (disk_not_loaded). Once the previous blue is set aside (kept, stopped) for the
# candidate, it stays until the deploy is through: the next run puts it back, or discards it if the candidate
# was promoted.
DEPLOY_POINTS = {
    "deploy.locked": {"stale_lock"},
    "deploy.room_made": {"stale_lock"},
    "deploy.set_aside": {"stale_lock", "kept"},
    "deploy.candidate_started": {"stale_lock", "orphan", "kept"},
    "nginx.installed#1": {"stale_lock", "disk_not_loaded"},  # while taking blue out of nginx (make room)
    "nginx.reloaded#1": {"stale_lock", "unfinished_switch"},
    "nginx.installed#2": {"stale_lock", "orphan", "kept", "disk_not_loaded"},  # the switch to the candidate
    "nginx.reloaded#2": {"stale_lock", "orphan", "kept", "unfinished_switch"},
    "deploy.switched": {"stale_lock", "kept"},
}


@pytest.mark.parametrize("point", list(DEPLOY_POINTS))
def test_deploy_killed_then_repaired(site, request_loop, point):
    """SIGKILL at each deploy step: no failed request, status explains, the next deploy repairs."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    killed = site.deploy("v3", BLUEGREEN_FAILPOINT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    code, doc = site.status()
    problems = {p["id"] for p in doc["problems"]}
    assert code == 3 and problems == DEPLOY_POINTS[point], doc["problems"]
    assert all(p["repairable"] for p in doc["problems"])
    again = site.deploy("v3")
    traffic = loop.stop()
    assert again.returncode == 0, again.stdout + again.stderr
    assert traffic.failures == [], traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["consistent"], doc["problems"]
    assert {c["image"] for c in doc["containers"]} >= {"bluegreen-test/app:v3"}
    assert traffic.transitions()[-1] == "v3", traffic.summary()


@pytest.mark.parametrize("point", ["deploy.set_aside", "deploy.candidate_started"])
def test_deploy_killed_then_rollback_finds_its_target(site, request_loop, point):
    """Killed while the previous blue was set aside: the next rollback puts it back first and rolls back to it."""
    blue = site.stack.client.containers.get(site.container("blue")).id
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    killed = site.deploy("v3", BLUEGREEN_FAILPOINT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    again = site.bg("rollback", "backend")
    traffic = loop.stop()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Putting back" in again.stdout and traffic.failures == [], traffic.summary()
    assert traffic.transitions()[-1] == "v1", traffic.summary()
    assert site.stack.client.containers.get(site.container("blue")).id == blue
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and doc["kept"] == [], doc["problems"]


@pytest.mark.parametrize("point", ["rollback.locked", "nginx.installed", "rollback.switched"])
@pytest.mark.parametrize("path", ["quick", "full"])
def test_rollback_killed_then_repaired(site, request_loop, point, path):
    """SIGKILL during a rollback: traffic stays on a healthy color and the next rollback completes. Both paths:
    the quick one (nginx as the last switch left it: tests/test_quick_rollback_reload.py has its own points) and
    the full one (`nginx -t`, reload through Docker), which a hand reload makes the rollback take."""
    if path == "full":
        hand_reload(site)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    killed = site.bg("rollback", "backend", BLUEGREEN_FAILPOINT=point)
    assert killed.returncode == -signal.SIGKILL
    code, doc = site.status()
    assert code == 3 and "stale_lock" in {p["id"] for p in doc["problems"]}
    again = site.bg("rollback", "backend")
    traffic = loop.stop()
    assert again.returncode == 0, again.stdout + again.stderr
    assert traffic.failures == [], traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["consistent"], doc["problems"]
