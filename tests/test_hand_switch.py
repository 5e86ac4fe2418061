"""The guide's own troubleshooting flow: an operator edits the upstream by hand (and reloads, or not). bluegreen
knows what nginx serves, says so, adopts a loaded switch and never switches it back, and refuses to act on an edit
nginx has not loaded — all while traffic runs, with no failed request."""

from __future__ import annotations

import pytest

from site_under_test import UPSTREAM, Site


@pytest.fixture
def site(steady_site):
    return steady_site  # green (v2) active, blue (v1) kept for rollback


def hand_switch_to_blue(site: Site, *, reload: bool) -> None:
    """What the guide tells an operator to do: make blue the active server, green the backup."""
    blue, green = site.container("blue"), site.container("green")
    text = (f"upstream {UPSTREAM} {{\n    server {blue}:8000 max_fails=3 fail_timeout=30s;\n"
            f"    server {green}:8000 max_fails=3 fail_timeout=30s backup;\n}}\n")
    site.stack.write_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf", text)
    if reload:
        site.stack.reload_nginx()


def served_versions(loop, since: float) -> set:
    return {h.version for h in loop.snapshot().hits if h.t >= since and h.ok}


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_status_tells_a_loaded_hand_switch(site, request_loop):
    """Edit + reload: status says traffic is on blue, switched outside bluegreen, with when (exit 3)."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    hand_switch_to_blue(site, reload=True)
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"switched_outside"}, doc["problems"]
    assert doc["active"] == "blue" and doc["served"]["known_by"] == "reloaded" and doc["served"]["loaded_at"]
    message = doc["problems"][0]["message"]
    assert "Traffic is on blue: switched outside bluegreen" in message
    assert loop.stop().failures == []


def test_deploy_adopts_the_hand_switch_and_never_reverts_it(site, request_loop):
    """The next deploy goes to the color nginx does not serve (green), records the outside switch, and blue
    keeps serving until the new green is verified."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    hand_switch_to_blue(site, reload=True)
    switched = loop.now()
    result = ok(site.deploy("v3"))
    assert "switched outside bluegreen: nginx serves blue (was green)" in result.stdout
    assert "Current active environment: blue" in result.stdout and "New deploy environment: green" in result.stdout
    deployed = loop.now()
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    # Between the hand switch and the deploy's switch, only blue (v1) answered: traffic never went back to v2.
    assert {h.version for h in traffic.hits if switched + 0.5 <= h.t < deployed - 5 and h.ok} <= {"v1", "v3"}
    assert "v2" not in {h.version for h in traffic.hits if h.t >= switched + 0.5}
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green" and doc["upstream"]["backup"] == [site.container("blue")]
    actions = [(e["action"], e["from"], e["to"]) for e in site.history()[:2]]
    assert actions == [("deploy", "blue", "green"), ("outside_switch", "green", "blue")]


def test_rollback_after_a_hand_switch_goes_to_the_color_not_served(site, request_loop):
    """After the operator moved traffic to blue, `rollback` means back to green, explicitly asked for."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    hand_switch_to_blue(site, reload=True)
    result = ok(site.bg("rollback", "backend", "--reason", "v1 misbehaves too"))
    assert "Nginx upstream rolled back: blue → green" in result.stdout
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green"
    assert [e["action"] for e in site.history()[:2]] == ["rollback", "outside_switch"]


def test_an_edit_nginx_has_not_loaded_is_reported_and_refused(site, request_loop):
    """Edit without reload: status names it (nginx still serves green); deploy and rollback change nothing
    (exit 3) and say how to resolve it; once reloaded, it is a hand switch like any other."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    hand_switch_to_blue(site, reload=False)
    before = site.upstream_text()
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"edited_not_loaded"}, doc["problems"]
    assert doc["active"] == "green"  # what nginx serves, not what the disk says
    names = site.running_names()
    for result in (site.deploy("v3"), site.bg("rollback", "backend")):
        assert result.returncode == 3, result.stdout + result.stderr
        assert "nginx has not loaded it" in result.stderr and "nginx -s reload" in result.stderr
    assert site.upstream_text() == before and site.running_names() == names
    assert served_versions(loop, 0) == {"v2"}
    site.stack.reload_nginx()
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"switched_outside"} and doc["active"] == "blue"
    assert loop.stop().failures == []
