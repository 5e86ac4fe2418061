"""A failed deploy in the steady state (green serves, blue is the rollback target it replaces): the undo puts
the previous blue back *before* nginx names blue again, so status is consistent at once and the backup is the
previous version, not the failed candidate; and a candidate that never started (its image cannot be pulled) never
costs the rollback target (both found by the fault bench, bench/chaos rows 1a and 1b)."""

from __future__ import annotations

import pytest

from site_under_test import give_up_sooner


@pytest.fixture
def site(steady_site):
    return give_up_sooner(steady_site)  # green (v2) active, blue (v1) kept for rollback


@pytest.mark.parametrize("version, knobs", [("v3", {"APP_DIE_AFTER": "0"}), ("v3", {"APP_HEALTH": "fail"}),
                                             ("does-not-exist", {})], ids=["exits", "unhealthy", "no-image"])
def test_failed_candidate_puts_the_rollback_target_back(site, request_loop, version, knobs):
    """no-image: the pull fails before anything of blue was touched; blue (v1, the rollback target) must stay,
    not be removed as if it were the failed candidate."""
    before = site.upstream_text()
    blue = site.stack.client.containers.get(site.container("blue")).id
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = site.deploy(version, **knobs)
    traffic = loop.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Nginx config test failed" not in output, output
    assert traffic.failures == [], traffic.summary()
    assert site.upstream_text() == before
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "green", doc
    assert site.stack.client.containers.get(site.container("blue")).id == blue  # the previous blue, running
    rollback = site.bg("rollback", "backend")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert site.status()[1]["active"] == "blue"
