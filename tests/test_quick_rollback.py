"""The rollback's quick path (`switch: shared-dict`, quick/rollback.py) on the real stack: when nginx
confirms nothing changed since bluegreen's last switch, traffic moves with one request before anything heavy is
imported, and the rollback then finishes like any other; whenever nginx, the config or the target is not as
recorded, the quick path steps aside and the full path does exactly what it always did."""

from __future__ import annotations

import json
import os

import pytest

from bluegreen.parts.dict_file import file_color
from helpers import wait_until
from site_under_test import UPSTREAM, UPSTREAM_FILE, Site, hand_reload, socket_call, version
from socket_peers import UnixPeer, exchange

QUICK = "quick_look"  # the phase only the quick path reports


def rollback(site: Site, *args: str) -> tuple[int, dict, str]:
    result = site.bg("rollback", "backend", "--json", *args)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_traffic_moves_first_then_the_rollback_finishes_like_any_other(dict_site, request_loop):
    """Two quick rollbacks under traffic: no failed request, no reload; each writes the file (a restart comes up
    on the color served), records history and leaves status consistent."""
    site = dict_site
    workers = site.stack.nginx_worker_pids()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    for target, expect in (("blue", "v1"), ("green", "v2")):
        code, doc, err = rollback(site)
        assert code == 0 and QUICK in doc["phases"] and doc["to"] == target, (doc, err)
        assert version(site) == expect and file_color(site.upstream_text()) == target
        assert "traffic moved first" in err
        code, status = site.status()
        assert code == 0 and status["active"] == target and status["served"]["color_from"] == "dict", status
        assert status["served"]["quick_rollback"] == "ready"  # status says so ahead of the next one
    assert site.stack.nginx_worker_pids() == workers  # no reload
    assert loop.stop().failures == []
    assert [(e["action"], e["result"]) for e in site.history()[:2]] == [("rollback", "success")] * 2


def _touch_config(site: Site) -> None:
    site.config_path.write_text(site.config_path.read_text() + "# edited\n")


def _socket_switch(site: Site) -> None:
    assert socket_call(site, "PUT", "blue")["color"] == "blue"


@pytest.mark.parametrize("change, reason, expect", [
    (hand_reload, "nginx_reloaded", (0, "blue")),  # nginx runs processes the last switch did not see
    (_touch_config, "config_changed", (0, "blue")),  # another config file than the last switch's
    (_socket_switch, "color_moved", (0, "green")),  # an operator's switch: adopted, the rollback goes from there
])
def test_the_quick_path_steps_aside_when_something_changed(dict_site, request_loop, change, reason, expect):
    """status names the reason beforehand; the rollback takes the full path and succeeds as it always did."""
    site = dict_site
    change(site)
    assert site.status()[1]["served"]["quick_rollback"] == reason
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    code, doc, err = rollback(site)
    assert (code, doc.get("to")) == expect and QUICK not in doc["phases"], (doc, err)
    assert loop.stop().failures == []
    code, status = site.status()
    assert code == 0 and status["active"] == expect[1], status["problems"]


@pytest.mark.parametrize("fixture", ["dict_site", "steady_site"])  # shared-dict; reload (nginx seen through /proc)
def test_a_file_edited_on_disk_is_refused_by_the_full_path(request, fixture):
    """Someone edited bluegreen's file without reloading: nginx reports another digest, the quick path steps aside
    and the full path refuses as it always did (exit 3), nothing changed."""
    site = request.getfixturevalue(fixture)
    edited = site.upstream_text() + "# an operator's note\n"
    site.stack.write_nginx_file(UPSTREAM_FILE, edited)
    assert site.status()[1]["served"]["quick_rollback"] == "file_edited"
    code, doc, err = rollback(site)
    assert code == 3 and "edited outside bluegreen" in err and QUICK not in doc.get("phases", {}), (doc, err)
    assert version(site) == "v2" and site.upstream_text() == edited


def test_a_stopped_target_is_refused_before_anything_moves(dict_site, request_loop):
    """The target does not answer through nginx: no switch; the full path names the reason (exit 1)."""
    site = dict_site
    site.stack.client.containers.get(site.container("blue")).stop(timeout=1)
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    code, doc, err = rollback(site)
    assert code == 1 and "is not running" in err and QUICK not in doc.get("phases", {}), (doc, err)
    assert version(site) == "v2" and loop.stop().failures == []


def test_what_docker_contradicts_after_the_switch_puts_the_previous_color_back(dict_site, request_loop):
    """The target answered through nginx, so traffic moved; then Docker shows its image was removed (the full path's
    refusal): the previous color serves again, the refusal is recorded, and status is consistent."""
    site = dict_site
    images, repo = site.stack.client.images, "bluegreen-test/app"  # the repository the site's config names
    images.get(site.stack.images.app_version("v1")).tag(repo, "quick-gone")
    for tag in ("quick-gone", "v2"):  # blue runs an image that is about to lose its only tag
        assert site.deploy(tag).returncode == 0
    images.remove(f"{repo}:quick-gone")
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    code, doc, err = rollback(site)
    assert code == 1 and "was removed" in err and QUICK in doc["phases"], (doc, err)
    assert version(site) == "v2" and file_color(site.upstream_text()) == "green"
    assert loop.stop().failures == []
    code, status = site.status()
    assert code == 0 and status["active"] == "green", status["problems"]
    assert site.history()[0]["result"] == "unavailable"  # as the full path records its refusal


def test_an_operators_switch_between_the_look_and_the_request_is_kept(dict_site, tmp_path):
    """Someone PUTs a color on the socket after the quick path looked and before its request: nginx's answer names
    the color it replaced, the quick path puts theirs back and steps aside; the full path adopts the operator's
    switch (history: outside_switch) and rolls back from the color they chose."""
    site = dict_site
    marker = tmp_path / "rollback.quick_pending.paused"
    proc = site.spawn("rollback", "backend", "--json", BLUEGREEN_FAILPOINT="rollback.quick_pending:pause",
                      BLUEGREEN_FAILPOINT_DIR=str(tmp_path))
    try:
        wait_until(marker.exists, 30, "the quick path paused before its request")
        assert socket_call(site, "PUT", "blue")["previous"] == "green"  # the operator's switch
        marker.unlink()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    doc = json.loads(out)
    assert proc.returncode == 0 and QUICK not in doc["phases"] and (doc["from"], doc["to"]) == ("blue", "green"), err
    assert [e["action"] for e in site.history()[:2]] == ["rollback", "outside_switch"]
    code, status = site.status()
    assert code == 0 and status["active"] == "green", status["problems"]


def _quick_socket(site: Site, path: str) -> None:
    """The quick path (only: the full path takes the socket from the config) talks to nginx through `path`."""
    state_file = site.state_dir / "backend.state.json"
    state = json.loads(state_file.read_text())
    state["quick"]["socket"] = path
    state_file.write_text(json.dumps(state))


def test_a_lost_answer_keeps_the_switch_pending_until_the_put_back_is_confirmed(dict_site, request_loop):
    """nginx applies the quick path's PUT but its answer is lost, and so is the put-back: what nginx serves is not
    known, so the new file stays pending. The full path repairs it as an interrupted switch (green serves again)
    and rolls back to blue — never adopts bluegreen's own switch as an operator's and undoes it (no outside_switch
    in history, not a rollback to the bad release)."""
    site = dict_site
    real = os.path.join(site.stack.admin_dir, f"{UPSTREAM}.sock")
    puts: list[bytes] = []

    def relay(conn, request: bytes) -> None:
        if request.startswith(b"PUT "):
            puts.append(request)
            if len(puts) == 1:
                exchange(real, request)  # nginx applies it; its answer never reaches the quick path
            return  # closed without an answer (the put-back never reaches nginx)
        conn.sendall(exchange(real, request))

    with UnixPeer(os.path.join(site.stack.admin_dir, "relay.sock"), relay) as peer:
        _quick_socket(site, peer.path)
        loop = request_loop(site.stack.public_url + "/", interval=0.02)
        code, doc, err = rollback(site)
    assert [p.rsplit(b"\r\n", 1)[-1] for p in puts] == [b"blue", b"green"]  # the switch, then its put-back
    assert code == 0 and QUICK not in doc["phases"] and (doc["from"], doc["to"]) == ("green", "blue"), (doc, err)
    assert "restoring the confirmed one" in err, err  # the repair of an interrupted switch
    assert version(site) == "v1" and loop.stop().failures == []
    assert [e["action"] for e in site.history()[:2]] == ["rollback", "deploy"]  # no outside_switch
    code, status = site.status()
    assert code == 0 and status["active"] == "blue", status["problems"]
