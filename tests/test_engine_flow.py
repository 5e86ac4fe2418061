"""Deploys and rollbacks on the real engine and nginx, with traffic running: no request may fail."""

from __future__ import annotations

import pytest

from helpers import wait_until
from site_under_test import SECRET, Site


@pytest.fixture
def site(stack, tmp_path):
    return Site(stack, tmp_path)


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_first_deploy_serves_v1_from_blue(site):
    """The first deploy starts blue, points nginx at it alone, and status is consistent."""
    out = ok(site.deploy("v1")).stdout
    assert "No active environment yet (first deploy)" in out
    assert "New deploy environment: blue" in out and "Nginx upstream switched: - → blue" in out
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "blue"
    assert doc["upstream"]["primary"] == [site.container("blue")] and doc["upstream"]["backup"] == []
    blue = next(c for c in doc["containers"] if c["color"] == "blue")
    assert blue["image"] == "bluegreen-test/app:v1" and blue["build"] == "v1"
    labels = site.stack.client.containers.get(site.container("blue")).labels
    assert labels["bluegreen.service"] == "backend" and labels["bluegreen.color"] == "blue"
    assert "bluegreen.deployed-at" in labels


def served_after(result, since: float, until: float) -> set:
    """Versions that answered requests started in [since, until)."""
    return {h.version for h in result.hits if since <= h.t < until}


def test_v1_v2_v3_replace_the_oldest_with_zero_failed_requests(site, request_loop):
    """v1 → v2 → v3 under traffic: no request fails, and once a deploy returns only the new version answers."""
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    ok(site.deploy("v2"))
    v2_done = loop.now()
    code, doc = site.status()
    assert doc["active"] == "green" and doc["upstream"]["backup"] == [site.container("blue")]
    v3_start = loop.now()
    ok(site.deploy("v3"))
    v3_done = loop.now()
    wait_until(lambda: loop.count and loop.snapshot().hits[-1].t > v3_done + 0.2, 10, "requests after v3")
    result = loop.stop()
    assert result.failures == [], result.summary()
    # While nginx starts new workers both generations accept for an instant; once the reload is confirmed
    # (the command returned), only the new version answers.
    assert served_after(result, v2_done, v3_start) == {"v2"}, result.summary()
    assert served_after(result, v3_done, float("inf")) == {"v3"}, result.summary()
    assert set(result.versions) == {"v1", "v2", "v3"}, result.summary()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue"
    images = {c["color"]: c["image"] for c in doc["containers"]}
    assert images == {"blue": "bluegreen-test/app:v3", "green": "bluegreen-test/app:v2"}


def test_rollback_and_rollback_of_rollback(site, request_loop):
    """Rollback returns to the previous color in about a second; rolling back again returns again."""
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    first = ok(site.bg("rollback", "backend", "--reason", "bad release"))
    first_done = loop.now()
    assert "Nginx upstream rolled back: green → blue" in first.stdout
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and doc["upstream"]["backup"] == [site.container("green")]
    second_start = loop.now()
    ok(site.bg("rollback", "backend"))
    second_done = loop.now()
    wait_until(lambda: loop.count and loop.snapshot().hits[-1].t > second_done + 0.2, 10, "requests after")
    result = loop.stop()
    assert result.failures == [], result.summary()
    assert served_after(result, first_done, second_start) == {"v1"}, result.summary()
    assert served_after(result, second_done, float("inf")) == {"v2"}, result.summary()
    entries = site.history()
    assert [(e["action"], e["from"], e["to"], e["result"]) for e in entries[:3]] == [
        ("rollback", "blue", "green", "success"), ("rollback", "green", "blue", "success"),
        ("deploy", "blue", "green", "success")]
    assert entries[1]["reason"] == "bad release"
    assert all(e["duration"] < 5 for e in entries[:2])


def test_rollback_target_not_running_changes_nothing(site):
    """With the previous color gone, rollback says so as the guide does, names its image, and exits 1."""
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    site.stack.client.containers.get(site.container("blue")).remove(force=True)
    before = site.upstream_text()
    result = site.bg("rollback", "backend")
    assert result.returncode == 1
    assert f"Rollback target ({site.container('blue')}) is not running" in result.stdout + result.stderr
    assert "bluegreen-test/app:v1" in result.stdout + result.stderr
    assert site.upstream_text() == before
    korean = site.bg("--lang", "ko", "rollback", "backend")
    assert f"롤백 대상 환경({site.container('blue')})이 실행되지 않고 있습니다" in korean.stdout + korean.stderr


def test_first_rollback_has_nothing_to_roll_back_to(site):
    """Right after the first deploy there is no previous color: exit 1, nothing changed."""
    ok(site.deploy("v1"))
    before = site.upstream_text()
    result = site.bg("rollback", "backend")
    assert result.returncode == 1 and site.upstream_text() == before


def test_report_file_and_json_output(site, tmp_path):
    """--report writes the JSON report; --json prints one document on stdout and human lines on stderr."""
    report = tmp_path / "report.json"
    result = ok(site.bg("deploy", "backend", "--json", "--report", str(report), APP_TAG="v1",
                        BUILD_NUMBER="41", BUILD_URL="http://jenkins.invalid/job/x/41/"))
    import json

    doc = json.loads(result.stdout)
    assert doc == json.loads(report.read_text())
    assert doc["result"] == "success" and doc["to"] == "blue" and doc["description"] == "- → blue · app:v1"
    assert set(doc["phases"]) >= {"start_candidate", "wait_until_healthy", "switch_traffic", "verify"}
    assert "Blue-Green zero-downtime deploy complete" in result.stderr
    entry = site.history()[0]
    assert entry["build"] == "41" and entry["build_url"] == "http://jenkins.invalid/job/x/41/"


def test_secret_never_appears_in_output_history_or_state(site):
    """The secret reaches the container's environment, but no output, history or state file."""
    outputs = [site.deploy("v1"), site.deploy("v2"), site.bg("status", "backend"), site.bg("history", "backend"),
               site.bg("rollback", "backend"), site.bg("status", "backend", "--json")]
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
    for path in site.state_dir.iterdir():
        assert SECRET not in path.read_text(errors="replace"), path
    container = site.stack.client.containers.get(site.container("blue"))
    assert f"DATABASE_URL={SECRET}" in container.attrs["Config"]["Env"]
    assert SECRET not in " ".join(container.attrs["Config"]["Cmd"] or []) + str(container.attrs["Args"])


def test_secret_never_reaches_any_process_argv(site):
    """While a deploy runs, no process on the machine has the secret in its command line."""
    import threading
    from pathlib import Path

    seen: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if SECRET.encode() in cmdline.read_bytes():
                        seen.append(str(cmdline))
                except OSError:
                    pass  # the process ended while we looked
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        ok(site.deploy("v1"))
        ok(site.deploy("v2"))
    finally:
        done.set()
        sampler.join(10)
    assert seen == []


def test_previous_file_is_kept_as_backup(site):
    """The guide's manual restore works: the file before the last switch is kept as <file>.backup."""
    ok(site.deploy("v1"))
    before = site.upstream_text()
    ok(site.deploy("v2"))
    assert site.stack.read_nginx_file("conf.d/bgt_backend.upstream.conf.backup") == before
