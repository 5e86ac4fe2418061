"""Deploy hooks on the real stack: each outcome does what the config promises, hooks get their values in the
environment (never argv), and their output reaches the log with secrets masked."""

from __future__ import annotations

import json
import sys

import httpx
import pytest

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
