"""`switch: shared-dict` on nginx 1.30 + njs, on the real stack: the color moves with one request on the admin
socket, no reload (nginx keeps its workers, keep-alive clients keep their connections); a restart comes up on
the file's color; an empty dictionary falls back to the file; an unreachable socket changes nothing; an operator's
switch on the socket is adopted; the socket is neither published nor reachable over the network."""

from __future__ import annotations

import json
import os
import threading

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site, UPSTREAM, hand_reload, killed_rollback_is_repaired, socket_call, version


@pytest.fixture
def site(dict_site):
    return dict_site


class KeepAlive:
    """One pooled keep-alive client, no retries: a connection nginx closes under it is a failed request."""

    def __init__(self, url: str) -> None:
        self.url, self.ok, self.failed, self.versions = url, 0, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        transport = httpx.HTTPTransport(retries=0)
        with httpx.Client(transport=transport, timeout=5) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                    self.ok += 1
                    self.versions.append(response.headers.get("X-App-Version"))
                except httpx.HTTPError as exc:
                    self.failed.append(type(exc).__name__)
                self._stop.wait(0.005)

    def __enter__(self) -> "KeepAlive":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_rollback_and_back_move_traffic_without_a_reload(site, request_loop):
    """Two rollbacks: the workers stay the same processes, every keep-alive request succeeds, and the very next
    request after each rollback returns is served by the target."""
    code, doc = site.status()
    assert code == 0 and doc["served"]["switch"] == "shared-dict" and doc["served"]["color_from"] == "dict"
    workers = site.stack.nginx_worker_pids()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    with KeepAlive(site.stack.public_url + "/") as keepalive:
        for expect in ("v1", "v2"):
            result = site.bg("rollback", "backend")
            assert result.returncode == 0, result.stdout + result.stderr
            assert version(site) == expect
        wait_until(lambda: keepalive.ok > 200, 10, "keep-alive requests")
    assert site.stack.nginx_worker_pids() == workers  # no reload happened
    assert keepalive.failed == [], keepalive.failed
    assert loop.stop().failures == []


def test_a_restart_comes_up_on_the_files_color_and_an_empty_dictionary_falls_back(site):
    """The dictionary is lost on restart: the file's js_var names the served color, so nginx comes up on it;
    an emptied dictionary serves the file's color too, and status says where the color came from."""
    assert site.bg("rollback", "backend").returncode == 0  # blue (v1) serves, by the dictionary
    site.stack.restart_nginx()
    site.config["nginx"]["public_url"] = site.stack.public_url
    site.write_config()
    wait_until(lambda: version(site) == "v1", 15, "nginx back on blue after a restart")
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and doc["served"]["color_from"] == "file", doc
    assert socket_call(site, "DELETE")["source"] == "file"
    assert version(site) == "v1"
    result = site.deploy("v3")  # the next deploy works from there, to green
    assert result.returncode == 0 and version(site) == "v3", result.stdout + result.stderr


def test_an_operators_switch_on_the_socket_is_adopted(site, request_loop):
    """`curl -X PUT --data blue` on the socket: status says traffic is on blue, switched outside; the next
    deploy goes to green and never switches back to the color the operator left."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    assert socket_call(site, "PUT", "blue")["color"] == "blue"
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == {"switched_outside"} and doc["active"] == "blue"
    result = site.deploy("v3")
    assert result.returncode == 0 and "switched outside bluegreen" in result.stdout, result.stdout + result.stderr
    assert result.stdout.count("New deploy environment: green") == 1
    assert loop.stop().failures == []
    assert [e["action"] for e in site.history()[:2]] == ["deploy", "outside_switch"]


def test_an_unreachable_admin_socket_changes_nothing(site):
    """The socket is gone (a broken mount): deploy and rollback stop before any change, exit 6, saying which
    socket and what to check."""
    os.unlink(os.path.join(site.stack.admin_dir, f"{UPSTREAM}.sock"))
    before, names = site.upstream_text(), site.running_names()
    for result in (site.deploy("v3"), site.bg("rollback", "backend")):
        assert result.returncode == 6 and "admin socket" in result.stderr, result.stdout + result.stderr
    assert site.upstream_text() == before and site.running_names() == names and version(site) == "v2"


def test_the_admin_endpoint_is_not_on_the_network(site):
    """nginx listens on TCP only for the public entry and the preview; the socket lives in a 0700 directory."""
    code, out = site.stack.nginx_exec("cat", "/proc/net/tcp", "/proc/net/tcp6")
    docker_dns = "0B00007F"  # 127.0.0.11: Docker's embedded DNS listens inside every container on a user network
    listening = {int(line.split()[1].rsplit(":", 1)[1], 16) for line in out.splitlines()[1:]
                 if len(line.split()) > 3 and line.split()[3] == "0A" and not line.split()[1].startswith(docker_dns)}
    assert code == 0 and listening <= {80, 8081}, listening
    assert set(site.stack.nginx.attrs["HostConfig"]["PortBindings"]) == {"80/tcp", "8081/tcp"}
    assert os.stat(site.stack.admin_dir).st_mode & 0o077 == 0


def test_stage_and_promote_in_shared_dict_mode(site, request_loop):
    """A staged color on the preview entry, then promoted by the dictionary: no failed request."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    staged = site.bg("deploy", "backend", "--stage", "--json", APP_TAG="v3")
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert json.loads(staged.stdout)["result"] == "staged" and version(site) == "v2"
    assert httpx.get(site.stack.preview_url + "/").headers["X-App-Version"] == "v3"
    promoted = site.bg("promote", "backend")
    assert promoted.returncode == 0 and version(site) == "v3", promoted.stdout + promoted.stderr
    assert loop.stop().failures == []


@pytest.mark.parametrize("point, left, path", [
    # The quick path (nginx as at the last switch): the new file pending, one request moves the color, then the
    # frame. Killed before the request nothing moved; after it blue serves, never verified nor recorded.
    ("rollback.quick_pending", {"stale_lock"}, "quick"),
    ("rollback.quick_switched", {"stale_lock", "unfinished_switch"}, "quick"),
    ("rollback.locked", {"stale_lock", "unfinished_switch"}, "quick"),
    ("nginx.installed", {"stale_lock", "unfinished_switch"}, "quick"),
    # The full path (after a hand reload nginx runs processes the last switch did not see): the color moves first
    # (one request), then the file follows for restarts.
    ("rollback.locked", {"stale_lock"}, "full"),
    ("switch.color_set", {"stale_lock", "unfinished_switch"}, "full"),
])
def test_a_killed_rollback_is_repaired(site, request_loop, point, left, path):
    """SIGKILL in a reload-free rollback: status explains, no request fails, the next rollback completes; a
    killed switch is never left as if it had been verified."""
    if path == "full":
        hand_reload(site)
    killed_rollback_is_repaired(site, request_loop, point, left)


def test_the_guides_reload_mode_works_on_nginx_1_30_too(dict_stack, tmp_path, request_loop):
    """switch: reload (the default) on the 1.30 image: deploy, deploy, rollback under traffic, no failed request."""
    site = Site(dict_stack, tmp_path)
    assert site.deploy("v1").returncode == 0
    loop = request_loop(dict_stack.public_url + "/", interval=0.02)
    for result in (site.deploy("v2"), site.bg("rollback", "backend")):
        assert result.returncode == 0, result.stdout + result.stderr
    traffic = loop.stop()
    assert traffic.failures == [] and traffic.transitions()[-1] == "v1", traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["served"]["switch"] == "reload" and doc["active"] == "blue"
    assert doc["served"]["quick_rollback"] == "ready"  # seen from the host through /proc
