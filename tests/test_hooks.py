"""Deploy hooks on the real stack: each outcome does what the config promises, hooks get their values in the
environment (never argv), and their output reaches the log with secrets masked."""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

import httpx
import pytest

from helpers import running
from site_under_test import SECRET, Site

SCRIPT = """#!{python}
import json, os, sys, urllib.request
out = {{k: v for k, v in os.environ.items() if k.startswith("BLUEGREEN_")}}
out["argv"] = sys.argv
out["has_secret"] = os.environ.get("DATABASE_URL") == {secret!r}
if os.environ.get("BLUEGREEN_PREVIEW_URL"):
    out["preview_version"] = urllib.request.urlopen(os.environ["BLUEGREEN_PREVIEW_URL"] + "/").headers["X-App-Version"]
with open({record!r}, "a") as f:
    f.write(json.dumps(out) + "\\n")
print("hook saw DATABASE_URL=" + os.environ.get("DATABASE_URL", ""))
sys.exit({code})
"""


def set_hooks(site: Site, tmp_path, **hooks: int | str) -> Site:
    """Hooks as scripts exiting with the given codes (each records what it saw in hooks.jsonl)."""
    record = tmp_path / "hooks.jsonl"
    config: dict = {}
    for name, code in hooks.items():
        if name == "post_switch_failure":
            config[name] = code
            continue
        path = tmp_path / f"{name}.py"
        path.write_text(SCRIPT.format(python=sys.executable, secret=SECRET, record=str(record), code=code))
        path.chmod(0o755)
        config[name] = {"command": [str(path)], "timeout": "20s"}
    site.config["services"]["backend"]["hooks"] = config
    site.write_config()
    return site


@pytest.fixture
def site(stack, tmp_path):
    """blue (v1) active, deployed without hooks; each test then sets the hooks it wants."""
    s = Site(stack, tmp_path, service={"preview": {"listen": "8081", "url": stack.preview_url}})
    assert s.deploy("v1").returncode == 0
    return s


def seen(tmp_path) -> list[dict]:
    path = tmp_path / "hooks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def version(url: str) -> str | None:
    return httpx.get(url + "/", timeout=2).headers.get("X-App-Version")


def test_every_hook_passes_and_sees_its_values_in_the_environment(site, tmp_path):
    """pre_deploy, post_gate (against the preview: the new version answers there), post_switch: each gets
    service, from, to, image, action and the bound secret through the environment; argv is the program only;
    the secret a hook prints is masked in the log."""
    set_hooks(site, tmp_path, pre_deploy=0, post_gate=0, post_switch=0)
    result = site.deploy("v2")
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = seen(tmp_path)
    assert [h["BLUEGREEN_HOOK"] for h in hooks] == ["pre_deploy", "post_gate", "post_switch"]
    for h in hooks:
        assert (h["BLUEGREEN_SERVICE"], h["BLUEGREEN_FROM"], h["BLUEGREEN_TO"]) == ("backend", "blue", "green")
        assert h["BLUEGREEN_IMAGE"] == "bluegreen-test/app:v2" and h["BLUEGREEN_ACTION"] == "deploy"
        assert h["has_secret"] and len(h["argv"]) == 1 and SECRET not in json.dumps(h["argv"])
    assert hooks[1]["preview_version"] == "v2" and hooks[1]["BLUEGREEN_PREVIEW_URL"] == site.stack.preview_url
    assert SECRET not in result.stdout + result.stderr and "hook saw DATABASE_URL=****" in result.stdout


def test_a_failing_pre_deploy_changes_nothing(site, tmp_path):
    """pre_deploy exits 3: no candidate starts, nginx is untouched, exit 1."""
    set_hooks(site, tmp_path, pre_deploy=3)
    before, names = site.upstream_text(), site.running_names()
    result = site.deploy("v2")
    assert result.returncode == 1 and "Hook pre_deploy failed (exit 3)" in result.stdout, result.stdout
    assert site.upstream_text() == before and site.running_names() == names


def test_a_failing_post_gate_removes_the_candidate(site, tmp_path, request_loop):
    """The smoke test against the preview fails: the candidate is removed before any switch."""
    set_hooks(site, tmp_path, post_gate=1)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = site.deploy("v2")
    traffic = loop.stop()
    assert result.returncode == 1 and "Hook post_gate failed (exit 1)" in result.stdout, result.stdout
    assert traffic.failures == [] and set(traffic.versions) == {"v1"}, traffic.summary()
    assert site.container("green") not in site.running_names()


def test_a_failing_post_switch_rolls_back_or_warns(site, tmp_path, request_loop):
    """post_switch fails: the automatic rollback puts v1 back (exit 1); with post_switch_failure: warn, v2
    stays (exit 0)."""
    set_hooks(site, tmp_path, post_switch=2)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = site.deploy("v2")
    assert result.returncode == 1 and "traffic stays on blue" in result.stderr, result.stdout + result.stderr
    assert version(site.stack.public_url) == "v1"
    set_hooks(site, tmp_path, post_switch=2, post_switch_failure="warn")
    result = site.deploy("v2")
    assert result.returncode == 0 and "so the new version stays" in result.stdout, result.stdout
    assert version(site.stack.public_url) == "v2"
    assert loop.stop().failures == []


def test_a_failing_post_rollback_is_reported_after_the_rollback(site, tmp_path):
    """The rollback is done (traffic on blue), the hook's failure is reported: exit 1, history `hook_failed`."""
    assert site.deploy("v2").returncode == 0
    set_hooks(site, tmp_path, post_rollback=4)
    result = site.bg("rollback", "backend")
    assert result.returncode == 1 and "rollback to blue is done, but the post_rollback hook failed" in result.stderr
    assert version(site.stack.public_url) == "v1"
    entry = site.history()[0]
    assert (entry["action"], entry["result"], entry["to"]) == ("rollback", "hook_failed", "blue")
    assert seen(tmp_path)[-1]["BLUEGREEN_ACTION"] == "rollback"


# --- bounded in time and memory (issue 21 §2) ---
def set_script(site: Site, tmp_path, name: str, body: str, timeout: str) -> Path:
    """The hook `name` as a shell script with `body`, bounded by `timeout`."""
    path = tmp_path / f"{name}.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    site.config["services"]["backend"]["hooks"] = {name: {"command": [str(path)], "timeout": timeout}}
    site.write_config()
    return path


def deploy_json(site: Site, tag: str, **env: str) -> tuple[int, dict, str, str]:
    result = site.bg("deploy", "backend", "--json", APP_TAG=tag, **env)
    return result.returncode, json.loads(result.stdout), result.stderr, result.stdout


def test_a_flooding_hook_costs_bounded_memory_and_its_tail_is_masked_before_it_is_cut(site, tmp_path):
    """pre_deploy writes 300 MB, then the secret, then 64 KiB more (where the old cut of the last 64 KiB fell inside
    the secret): the deploy passes, bluegreen's peak memory stays far below the flood, the last lines are shown
    cut, and no part of the secret shows."""
    tail = 65536 + 10 - len(SECRET) - 2  # the last 64 KiB of the output start 10 characters into the secret
    set_script(site, tmp_path, "pre_deploy", "head -c 300000000 /dev/zero | tr '\\0' x; echo; seq 1 100\n"
               f"printf '%s\\n' \"$DATABASE_URL\"; head -c {tail} /dev/zero | tr '\\0' y; echo\n", "60s")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = site.deploy("v2")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert peak <= max(before, 150 * 1024), f"a child peaked at {peak // 1024} MiB"
    assert "S3cret-Valu3" not in result.stdout + result.stderr and "│ ****" in result.stdout
    assert "│ 100" in result.stdout and "│ yyyy" in result.stdout and "yyyy…" in result.stdout


def test_a_hook_that_leaves_its_output_held_passes_at_its_bound(site, tmp_path):
    """pre_deploy exits 0 at once, leaving `setsid sleep 60 &` holding its stdout: the deploy goes on at the 3 s
    bound (not after 60 s), the hook passes on its own exit status, and the sleep is killed and named."""
    set_script(site, tmp_path, "pre_deploy", f"setsid sleep 60 & echo $! > {tmp_path}/pid\necho started\n", "3s")
    code, doc, err, _ = deploy_json(site, "v2")
    pid = int((tmp_path / "pid").read_text())
    try:
        assert code == 0 and "Hook pre_deploy passed (exit 0)" in err, err
        assert 3.0 <= doc["phases"]["hook_pre_deploy"] < 6.0, doc["phases"]
        assert "1 process(es) killed" in err and not running(pid)
    finally:
        if running(pid):
            os.kill(pid, 9)


def test_a_hanging_hook_and_its_double_forked_grandchild_are_killed_at_its_bound(site, tmp_path):
    """pre_deploy sleeps while a grandchild it double-forked into its own session holds its output: at the 2 s bound
    the hook times out (exit 1, nothing changed) and the grandchild is gone too."""
    set_script(site, tmp_path, "pre_deploy",
               f"(setsid sh -c 'sleep 61 & echo $! > {tmp_path}/pid; wait' &)\necho forked\nsleep 62\n", "2s")
    before, names = site.upstream_text(), site.running_names()
    code, doc, err, _ = deploy_json(site, "v2")
    pid = int((tmp_path / "pid").read_text())
    try:
        assert code == 1 and "Hook pre_deploy failed (timed out after 2.0s" in err, err
        assert doc["phases"]["hook_pre_deploy"] < 5.0, doc["phases"]
        assert not running(pid) and site.upstream_text() == before and site.running_names() == names
    finally:
        if running(pid):
            os.kill(pid, 9)


def test_a_withheld_hook_output_names_the_hooks_command(site, tmp_path):
    """A one-character secret cannot be masked: the hook's output is withheld, and the hint says to run the hook's
    command (not `docker logs`, which has nothing to do with a hook)."""
    path = set_script(site, tmp_path, "pre_deploy", "echo \"password is $DATABASE_URL\"\n", "10s")
    result = site.deploy("v2", DATABASE_URL="7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "password is" not in result.stdout and str(path) in result.stdout
    assert "docker logs" not in result.stdout
