"""Look before you switch, on the real stack: a staged color answers on the preview entry while users stay on the
active one; promote switches with no failed request; abort puts everything back; a failed deploy never costs the
rollback target."""

from __future__ import annotations

import json

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site, give_up_sooner


@pytest.fixture
def site(stack, tmp_path):
    s = Site(stack, tmp_path, service={"preview": {"listen": "8081", "url": stack.preview_url}})
    for version in ("v1", "v2"):  # green (v2) active, blue (v1) kept for rollback
        result = s.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    return s


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def version_at(url: str) -> str | None:
    try:
        return httpx.get(url + "/", timeout=2).headers.get("X-App-Version")
    except httpx.HTTPError:
        return None


def container_id(site: Site, color: str) -> str:
    return site.stack.client.containers.get(site.container(color)).id


def test_a_failed_deploy_keeps_the_rollback_target(site, request_loop):
    """The candidate never gets healthy: the previous blue (v1, the same container) is put back, nginx serves the
    exact file it served, and a rollback to it works."""
    blue, before = container_id(site, "blue"), site.upstream_text()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    failed = give_up_sooner(site).deploy("v3", APP_HEALTH="fail")
    assert failed.returncode == 1 and "Previous version put back" in failed.stdout, failed.stdout + failed.stderr
    assert container_id(site, "blue") == blue and site.upstream_text() == before
    code, doc = site.status()
    assert code == 0 and doc["kept"] == [] and doc["upstream"]["backup"] == [site.container("blue")]
    ok(site.bg("rollback", "backend"))
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    # (while nginx replaces its workers, both generations accept for an instant: v2, v1, v2, v1 is possible)
    seen = traffic.transitions()
    assert seen[0] == "v2" and seen[-1] == "v1" and set(seen) == {"v1", "v2"}, traffic.summary()


def test_stage_previews_then_promote_switches_with_no_failed_request(site, request_loop, tmp_path):
    """Staged v3 answers on the preview entry only; the lock is free; a second deploy and a rollback are refused
    naming it; promote switches, closes the preview and discards the replaced v1."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    report = tmp_path / "stage.json"
    staged = ok(site.bg("deploy", "backend", "--stage", "--report", str(report), APP_TAG="v3"))
    doc = json.loads(report.read_text())
    assert doc["result"] == "staged" and doc["preview_url"] == site.stack.preview_url and doc["to"] == "blue"
    assert "Staged: blue is healthy" in staged.stdout
    assert version_at(site.stack.preview_url) == "v3" and version_at(site.stack.public_url) == "v2"
    code, status = site.status()
    assert code == 0 and status["staged"]["color"] == "blue" and status["active"] == "green"
    assert [k["name"] for k in status["kept"]] == [f"{site.container('blue')}-replaced"]
    for refused in (site.deploy("v1"), site.bg("rollback", "backend")):
        assert refused.returncode == 4 and "is staged" in refused.stderr, refused.stdout + refused.stderr
    promoted = ok(site.bg("promote", "backend"))
    assert "still healthy" in promoted.stdout and "Nginx upstream switched: green → blue" in promoted.stdout
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the promotion")
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    assert {h.version for h in traffic.hits if h.t > done} == {"v3"}, traffic.summary()
    assert version_at(site.stack.preview_url) is None  # the preview entry is closed
    code, status = site.status()
    assert code == 0 and status["staged"] is None and status["kept"] == [] and status["active"] == "blue"
    assert [(e["action"], e["result"]) for e in site.history()[:4]] == [
        ("promote", "success"), ("rollback", "refused"), ("deploy", "refused"), ("deploy", "staged")]


def test_abort_puts_everything_back(site, request_loop):
    """Abort removes the staged v3 and its preview; the replaced v1 is back as the rollback target."""
    blue = container_id(site, "blue")
    ok(site.bg("deploy", "backend", "--stage", APP_TAG="v3"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    aborted = ok(site.bg("abort", "backend", "--json"))
    assert json.loads(aborted.stdout)["result"] == "aborted"
    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert container_id(site, "blue") == blue and version_at(site.stack.preview_url) is None
    code, status = site.status()
    assert code == 0 and status["staged"] is None and status["upstream"]["backup"] == [site.container("blue")]
    assert site.bg("promote", "backend").returncode == 2  # nothing staged any more


def test_promote_of_a_staged_color_that_died_changes_nothing(site):
    """The staged container stopped meanwhile: promote fails before any change; abort then clears it."""
    ok(site.bg("deploy", "backend", "--stage", APP_TAG="v3"))
    before = site.upstream_text()
    site.stack.client.containers.get(site.container("blue")).stop(timeout=1)
    failed = site.bg("promote", "backend")
    assert failed.returncode == 1 and "no longer runs" in failed.stderr, failed.stdout + failed.stderr
    assert site.upstream_text() == before and version_at(site.stack.public_url) == "v2"
    ok(site.bg("abort", "backend"))
    code, status = site.status()
    assert code == 0 and status["active"] == "green" and status["staged"] is None


def test_stage_needs_a_preview_entry(stack, tmp_path):
    """Without `preview:` in the config a stage is refused (exit 2) before anything starts."""
    site = Site(stack, tmp_path)
    ok(site.deploy("v1"))
    refused = site.bg("deploy", "backend", "--stage", APP_TAG="v2")
    assert refused.returncode == 2 and "preview" in refused.stderr
    assert site.running_names() == {site.container("blue")}
