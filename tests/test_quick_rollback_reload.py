"""The rollback's quick path with the guide's `switch: reload` on its nginx 1.22 (quick/rollback.py,
parts/host_nginx.py), on the real stack: nginx seen from the host through /proc, the target probed where the last
switch found it, the file swapped and nginx reloaded with a signal, no Docker API round trip before traffic moves;
whenever nginx, the config, the file or the target is not as recorded, the full path does what it always did."""

from __future__ import annotations

import json
import os
import signal

import pytest

from bluegreen.parts import host_nginx
from helpers import wait_until
from site_under_test import UPSTREAM_FILE, Site, hand_reload, killed_rollback_is_repaired, version

QUICK = "quick_look"  # the phase only the quick path reports
ACTIVE = "    # {}: active"  # the reload file's line naming the color it serves


def rollback(site: Site, *args: str, **env: str) -> tuple[int, dict, str]:
    result = site.bg("rollback", "backend", "--json", *args, **env)
    return result.returncode, json.loads(result.stdout or "{}"), result.stderr


def test_traffic_moves_first_with_a_signal_then_the_rollback_finishes(steady_site, request_loop):
    """Two quick rollbacks under traffic: no failed request, nginx reloaded each time (new workers), the file
    names the target and keeps the previous one as `.backup`, history and status as after any rollback."""
    site = steady_site
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    for target, expect in (("blue", "v1"), ("green", "v2")):
        before = site.stack.nginx_worker_pids()
        previous = site.upstream_text()
        code, doc, err = rollback(site)
        assert code == 0 and QUICK in doc["phases"] and doc["to"] == target, (doc, err)
        assert "traffic moved first" in err
        assert version(site) == expect and ACTIVE.format(target) in site.upstream_text()
        assert site.stack.read_nginx_file(UPSTREAM_FILE + ".backup") == previous
        assert site.stack.nginx_worker_pids() - before  # reloaded: new workers
        code, status = site.status()
        assert code == 0 and status["active"] == target and status["consistent"], status["problems"]
        assert status["served"]["quick_rollback"] == "ready"  # ahead of the next one
    assert loop.stop().failures == []
    assert [(e["action"], e["result"]) for e in site.history()[:2]] == [("rollback", "success")] * 2


def _touch_config(site: Site) -> None:
    site.config_path.write_text(site.config_path.read_text() + "# edited\n")


@pytest.mark.parametrize("change, reason", [
    (hand_reload, "nginx_reloaded"),  # nginx runs processes the last switch did not see
    (_touch_config, "config_changed"),  # another config file than the last switch's
])
def test_the_quick_path_steps_aside_when_something_changed(steady_site, request_loop, change, reason):
    """status names the reason beforehand; the rollback takes the full path and succeeds as it always did."""
    site = steady_site
    change(site)
    assert site.status()[1]["served"]["quick_rollback"] == reason
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    code, doc, err = rollback(site)
    assert code == 0 and doc["to"] == "blue" and QUICK not in doc["phases"], (doc, err)
    assert loop.stop().failures == []
    assert site.status()[1]["served"]["quick_rollback"] == "ready"  # the full path recorded a new ticket


def test_a_symlinked_file_is_never_written_through_from_the_host(steady_site, tmp_path):
    """The file replaced, inside the container, by a link to an absolute path: from the host that path would
    resolve against the host's root. The quick path opens nothing through a link and steps aside; the host file
    of that name is untouched; the full path (inside the container) rolls back."""
    site = steady_site
    bait = tmp_path / "bait.conf"  # the same absolute path exists on the host and in the container
    bait.write_text("host file\n")
    text = site.upstream_text()
    path = UPSTREAM_FILE
    code, out = site.stack.nginx_exec("sh", "-c", f'mkdir -p "{tmp_path}" && cat "{path}" > "{bait}" && '
                                                  f'ln -sf "{bait}" "{path}"')
    assert code == 0, out
    assert site.stack.nginx_exec("cat", path) == (0, text)  # nginx reads the same text through the link
    assert site.status()[1]["served"]["quick_rollback"] == "file_edited"  # never opened through a link
    code, doc, err = rollback(site)
    assert QUICK not in doc.get("phases", {}), (doc, err)
    assert bait.read_text() == "host file\n"


def test_a_target_that_does_not_answer_is_never_switched_to(steady_site):
    """The target stopped: its probe fails, nothing moves before the full path refuses (exit 1)."""
    site = steady_site
    site.stack.client.containers.get(site.container("blue")).stop(timeout=1)
    before = site.stack.nginx_worker_pids()
    code, doc, err = rollback(site)
    assert code == 1 and "is not running" in err and QUICK not in doc.get("phases", {}), (doc, err)
    assert version(site) == "v2" and site.stack.nginx_worker_pids() == before


def test_nginx_not_visible_from_here_takes_the_full_path(steady_site):
    """A ticket whose master is not an nginx master this process sees (bluegreen in another PID namespace, or
    nginx restarted): status says so, the rollback takes the full path."""
    site = steady_site
    state_file = site.state_dir / "backend.state.json"
    state = json.loads(state_file.read_text())
    state["quick"]["master"] = os.getpid()  # alive, not nginx
    state_file.write_text(json.dumps(state))
    assert not host_nginx.is_master(os.getpid())
    assert site.status()[1]["served"]["quick_rollback"] == "nginx_unseen"
    code, doc, err = rollback(site)
    assert code == 0 and QUICK not in doc["phases"] and version(site) == "v1", (doc, err)


def _address(site: Site, name: str) -> str:
    container = site.stack.client.containers.get(name)
    return container.attrs["NetworkSettings"]["Networks"][site.stack.network]["IPAddress"]


def _blue_moves(site: Site) -> None:
    """blue (healthy) reconnected to the network at a new address; a container answering 503 takes its old one."""
    network, blue = site.stack.client.networks.get(site.stack.network), site.container("blue")
    network.disconnect(blue)
    site.stack.run_app("decoy", version="v3", env={"APP_HEALTH": "fail"})
    network.connect(blue)


def _blue_replaced(site: Site) -> None:
    """An operator replaced blue by hand with an instance that fails its health check; a healthy container took
    blue's old address."""
    site.stack.client.containers.get(site.container("blue")).remove(force=True)
    site.stack.run_app("decoy", version="v3")
    site.stack.run_app("blue", version="v1", env={"APP_HEALTH": "fail"})


@pytest.mark.parametrize("change", [_blue_moves, _blue_replaced])
def test_the_target_is_probed_where_nginx_will_find_it(steady_site, change):
    """The reload makes nginx resolve blue's name again: the quick path probes the address Docker gives that name
    now, never the one recorded at the last switch (another container may answer there). Moved and healthy: the
    quick path switches. Replaced by one that fails its health check: nothing moves, nginx is not even reloaded,
    and the full path refuses (exit 1)."""
    site = steady_site
    old = _address(site, site.container("blue"))
    change(site)
    assert _address(site, site.container("decoy")) == old != _address(site, site.container("blue"))
    workers = site.stack.nginx_worker_pids()
    code, doc, err = rollback(site)
    if change is _blue_moves:
        assert code == 0 and QUICK in doc["phases"] and version(site) == "v1", (doc, err)
        return
    assert code == 1 and "is unhealthy" in err and QUICK not in doc.get("phases", {}), (doc, err)
    assert version(site) == "v2" and site.stack.nginx_worker_pids() == workers


@pytest.mark.parametrize("point, left", [
    ("rollback.quick_pending", {"stale_lock"}),  # nothing moved yet
    ("rollback.quick_installed", {"stale_lock", "disk_not_loaded"}),  # the file swapped, nginx not reloaded
    ("rollback.quick_switched", {"stale_lock", "unfinished_switch"}),  # reloaded: blue serves, never verified
    ("nginx.installed", {"stale_lock", "unfinished_switch"}),  # the frame confirmed the file, not recorded
])
def test_a_killed_quick_rollback_is_repaired(steady_site, request_loop, point, left):
    """SIGKILL at each step of the quick path: status explains, no request fails, the next rollback completes."""
    killed_rollback_is_repaired(steady_site, request_loop, point, left)


NOTE = "# an operator's note\n"


def _edit(site: Site) -> None:
    site.stack.write_nginx_file(UPSTREAM_FILE, site.upstream_text() + NOTE)


def _edit_and_reload(site: Site) -> None:  # the guide's incident flow: fix the file by hand, then reload
    _edit(site)
    hand_reload(site)


@pytest.mark.parametrize("change", [_edit_and_reload, _edit, hand_reload])
def test_an_operators_change_inside_the_quick_window_is_never_overwritten(steady_site, tmp_path, change):
    """An operator edits bluegreen's file, reloads nginx, or both, after the quick path looked and probed the
    target and before it installs (a pause point opens that window): it looks again immediately before the
    install, steps aside, and the full path does what it does with their change — adopts an edit nginx loaded
    (`.backup` keeps their text), refuses one it did not (exit 3, their file untouched), rolls back after a plain
    reload."""
    site = steady_site
    backup = site.stack.read_nginx_file(UPSTREAM_FILE + ".backup")
    marker = tmp_path / "rollback.quick_pending.paused"
    proc = site.spawn("rollback", "backend", "--json", BLUEGREEN_FAILPOINT="rollback.quick_pending:pause",
                      BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    try:
        wait_until(marker.exists, 30, "the quick path paused after its look and its probe")
        change(site)
        theirs = site.upstream_text()
        marker.unlink()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    doc = json.loads(out or "{}")
    assert QUICK not in doc.get("phases", {}), (doc, err)
    actions = [e["action"] for e in site.history()[:2]]
    if change is _edit:
        assert proc.returncode == 3 and "edited outside bluegreen" in err, (doc, err)
        assert site.upstream_text() == theirs and version(site) == "v2"
        assert site.stack.read_nginx_file(UPSTREAM_FILE + ".backup") == backup
        return
    assert proc.returncode == 0 and doc["to"] == "blue" and version(site) == "v1", (doc, err)
    if change is _edit_and_reload:
        assert site.stack.read_nginx_file(UPSTREAM_FILE + ".backup") == theirs  # theirs, kept by the full path
        assert actions == ["rollback", "outside_edit"]
    else:
        assert actions == ["rollback", "deploy"]


PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n")


@pytest.mark.parametrize("secret", [PEM, "pg://maice:trailing-newline-S3cret@db/maice\n"])
def test_a_secret_of_any_shape_stays_out_of_a_quick_rollback(stack, tmp_path, secret):
    """A multi-line PEM key, a value ending in a newline: the container gets it, the quick rollback (which reads
    no environment) and the rest of the run print and record none of its lines."""
    site = Site(stack, tmp_path)
    results = [site.deploy(v, DATABASE_URL=secret) for v in ("v1", "v2")]
    results.append(site.bg("rollback", "backend", "--json", DATABASE_URL=secret))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert QUICK in json.loads(results[-1].stdout)["phases"]
    env = site.stack.client.containers.get(site.container("blue")).attrs["Config"]["Env"]
    assert f"DATABASE_URL={secret}" in env
    lines = [line for line in secret.splitlines() if len(line) >= 8]
    for result in results:
        assert not [line for line in lines if line in result.stdout + result.stderr]
    for path in site.state_dir.rglob("*"):
        if path.is_file():
            assert not [line for line in lines if line in path.read_text(errors="replace")], path


def test_a_reload_nginx_refuses_is_left_to_the_full_path(stack, tmp_path, request_loop):
    """Someone left a broken file in conf.d without reloading: bluegreen's own file is as recorded, so the quick
    path swaps it and signals, but nginx refuses the whole config and keeps its workers. Unconfirmed within
    `reload_timeout`, the quick path leaves its file pending; the full path repairs it and refuses with nginx's
    own error (exit 1); traffic never leaves green; once the file is gone the next rollback goes through."""
    site = Site(stack, tmp_path, nginx={"reload_timeout": "2s"})
    for v in ("v1", "v2"):
        assert site.deploy(v).returncode == 0
    stack.write_nginx_file("conf.d/zz-broken.conf", "this_is_not_a_directive on;\n")
    loop = request_loop(stack.public_url + "/", interval=0.02)
    code, doc, err = rollback(site)
    assert code == 1 and "this_is_not_a_directive" in err and QUICK not in doc.get("phases", {}), (doc, err)
    assert version(site) == "v2" and ACTIVE.format("green") in site.upstream_text()
    code, status = site.status()
    assert code == 0 and status["active"] == "green", status["problems"]
    assert stack.nginx_exec("rm", "/etc/nginx/conf.d/zz-broken.conf")[0] == 0
    code, doc, err = rollback(site)
    assert code == 0 and doc["to"] == "blue" and version(site) == "v1", (doc, err)
    assert loop.stop().failures == []


def test_ctrl_c_in_the_quick_window_ends_like_any_interrupted_run(steady_site, tmp_path):
    """Ctrl-C while the quick path holds the lock (its file pending): exit 130 without a traceback, and what it
    left (the lock's record, nothing moved) the next rollback repairs."""
    site = steady_site
    marker = tmp_path / "rollback.quick_pending.paused"
    proc = site.spawn("rollback", "backend", BLUEGREEN_FAILPOINT="rollback.quick_pending:pause",
                      BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    try:
        wait_until(marker.exists, 30, "the quick path paused with its file pending")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert version(site) == "v2"
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"stale_lock"}, doc["problems"]
    code, doc, err = rollback(site)
    assert code == 0 and doc["to"] == "blue" and version(site) == "v1", (doc, err)
