"""Replicas on one host (`replicas: 3`, runtime containers): every replica is health-gated, nginx names each of
them, traffic moves with no failed request, one replica that never answers stops the switch, and one that dies
after the switch is a monitor signal."""

from __future__ import annotations

import re
import signal
import threading

import pytest

from helpers import wait_until
from site_under_test import ELSEWHERE, SITE, UPSTREAM, Site, name_elsewhere, run_paused

FAST_MONITOR = {"interval": "0.5s", "min_requests": 1000, "failures": 3}


def make_site(stack, tmp_path, **service) -> Site:
    return Site(stack, tmp_path, service={"replicas": 3, **service}, health={"timeout": "4s"})


@pytest.fixture
def site(stack, tmp_path):
    return make_site(stack, tmp_path)


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def servers(site) -> tuple[list[str], list[str]]:
    """The upstream's primary and backup hosts, from the file nginx serves."""
    text = site.upstream_text()
    block = text[text.index(f"upstream {UPSTREAM}"):]
    found = re.findall(r"^\s*server\s+([^:\s]+):\d+([^;]*);", block, re.M)
    return [h for h, p in found if "backup" not in p], [h for h, p in found if "backup" in p]


def freeze_when_running(client, name: str, image: str) -> threading.Thread:
    """SIGSTOP container `name` running `image` as soon as it runs: it stays running, and never answers (a hung
    replica)."""
    def run():
        def running():
            found = client.containers.list(filters={"name": f"^/{name}$", "status": "running",
                                                    "label": f"bluegreen.image={image}"},
                                           ignore_removed=True)
            return found[0] if found else None
        wait_until(running, 20, f"{name} to run", interval=0.02).kill(signal="SIGSTOP")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_three_replicas_deploy_and_rollback_under_load(site, request_loop):
    """Each color runs 3 containers named <prefix>-<color>-1…3, nginx names all of them (the other color's as
    backup), and v1 → v2 → rollback under load fails no request."""
    out = ok(site.deploy("v1")).stdout
    assert "3 instances started" in out and "on each of 3 instances" in out
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    ok(site.deploy("v2"))
    green = [f"{site.container('green')}-{i}" for i in (1, 2, 3)]
    blue = [f"{site.container('blue')}-{i}" for i in (1, 2, 3)]
    assert servers(site) == (green, blue)
    code, doc = site.status()
    assert code == 0 and doc["consistent"], doc["problems"]
    assert [(c["name"], c["role"], c["state"]) for c in doc["containers"]] == \
        [(n, "backup", "running") for n in blue] + [(n, "active", "running") for n in green]
    assert doc["runtime"] == {"kind": "containers", "replicas": 3, "min_healthy": 3,
                              "running": {"blue": 3, "green": 3}}
    ok(site.bg("rollback", "backend"))
    assert servers(site) == (blue, green)
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the rollback")
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    # (not the exact sequence: during a reload both worker generations accept for an instant)
    seen = traffic.transitions()
    assert (seen[0], seen[-1], set(seen)) == ("v1", "v1", {"v1", "v2"}), traffic.summary()
    assert site.running_names() == set(blue + green)


def test_one_replica_never_healthy_means_no_switch(site, request_loop):
    """One of the three candidates hangs: the gate waits for it until the deadline, nothing is switched, every
    candidate is removed and the previous blue comes back as the rollback target."""
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))  # green v2 active, blue v1 kept for rollback
    before = site.upstream_text()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    freeze_when_running(site.stack.client, f"{site.container('blue')}-2", "bluegreen-test/app:v3")
    result = site.deploy("v3", APP_START_DELAY="1")  # frozen before it opens its port
    traffic = loop.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"Health check of the new blue environment failed for good: {site.container('blue')}-2: " \
        "connect error" in output
    assert "2/3 instances healthy" in output
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert site.upstream_text() == before
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc["problems"]
    assert {c["image"] for c in doc["containers"] if c["color"] == "blue"} == {"bluegreen-test/app:v1"}
    assert ok(site.bg("rollback", "backend")).returncode == 0  # the kept v1 is a rollback target again


def test_min_healthy_switches_without_the_replica_that_failed(stack, tmp_path):
    """`min_healthy: 2`: one hung replica of three is removed and the other two take the traffic; status says
    the color runs 2 of 3, by name."""
    site = make_site(stack, tmp_path, min_healthy=2)
    ok(site.deploy("v1"))
    freeze_when_running(site.stack.client, f"{site.container('green')}-3", "bluegreen-test/app:v2")
    out = ok(site.deploy("v2", APP_START_DELAY="1")).stdout
    assert "2 of 3 instances passed the health check (min_healthy 2)" in out
    assert servers(site)[0] == [f"{site.container('green')}-{i}" for i in (1, 2)]
    code, doc = site.status()
    assert code == 3 and [p["id"] for p in doc["problems"]] == ["instance_down"], doc["problems"]
    assert f"{site.container('green')}-3 (green) is not running (absent): 2 of 3" in doc["problems"][0]["message"]
    assert doc["runtime"]["running"] == {"blue": 3, "green": 2}


def test_replica_dying_after_the_switch_is_rolled_back_by_the_monitor(site, request_loop):
    """nginx hides a dead replica behind the two others, so the monitor watches each replica itself: one killed
    after the switch rolls back to blue (exit 5), naming it."""
    site.config["services"]["backend"]["monitor"] = FAST_MONITOR
    site.write_config()
    # A request nginx already sent to the killed replica waits for the connect to fail (no host answers for its
    # address: ~3 s here) before nginx tries the next one: a short connect timeout bounds it (docs/growing.md).
    site.stack.write_nginx_file("conf.d/default.conf", SITE.replace("location / {", "location / {\n"
                                "        proxy_connect_timeout 1s;"))
    site.stack.reload_nginx()
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    run = site.spawn("deploy", "backend", "--monitor", "20s", APP_TAG="v2")
    wait_until(lambda: [e["action"] for e in site.history()] == ["deploy", "deploy"], 30,
               "the deploy to end, the watch to begin")
    site.stack.client.containers.get(f"{site.container('green')}-2").kill()
    out, err = run.communicate(timeout=60)
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the rollback")
    traffic = loop.stop()
    assert run.returncode == 5, out + err
    assert f"{site.container('green')}-2 failed 3 times in a row" in out
    assert traffic.failures == [], traffic.summary()
    assert traffic.transitions()[-1] == "v1", traffic.summary()
    code, doc = site.status()  # green runs 2 of 3: too few to be the rollback target, so nginx names blue alone
    assert code == 0 and doc["active"] == "blue" and servers(site) == ([f"{site.container('blue')}-{i}"
                                                                         for i in (1, 2, 3)], [])
    assert {c["name"]: c["state"] for c in doc["containers"]}[f"{site.container('green')}-2"] == "exited"


def test_growing_from_one_container_to_three_keeps_the_rollback_target(site, request_loop):
    """A service deployed with one container per color grows to `replicas: 3`: the next deploy starts three,
    and rolling back reaches the one container of before."""
    site.config["services"]["backend"].pop("replicas")
    site.write_config()
    ok(site.deploy("v1"))
    site.config["services"]["backend"]["replicas"] = 3
    site.write_config()
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    ok(site.deploy("v2"))
    assert servers(site) == ([f"{site.container('green')}-{i}" for i in (1, 2, 3)], [site.container("blue")])
    ok(site.bg("rollback", "backend"))
    assert servers(site) == ([site.container("blue")], [f"{site.container('green')}-{i}" for i in (1, 2, 3)])
    ok(site.bg("rollback", "backend"))
    ok(site.deploy("v3"))  # blue's one container is set aside, three start
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    seen = traffic.transitions()
    assert (seen[0], seen[-1], set(seen)) == ("v1", "v3", {"v1", "v2", "v3"}), traffic.summary()
    code, doc = site.status()
    assert code == 0, doc["problems"]
    assert sorted(c["name"] for c in doc["containers"] if c["color"] == "blue") == \
        [f"{site.container('blue')}-{i}" for i in (1, 2, 3)]


def test_a_replica_nginx_names_elsewhere_is_never_set_aside(stack, tmp_path, request_loop):
    """Another site starts proxying straight to blue's second replica while a deploy into blue runs: the set aside
    stops before any replica stops, everything is put back (exit 1), and every blue replica runs untouched."""
    site = make_site(stack, tmp_path, replicas=2)
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    blue = [f"{site.container('blue')}-{i}" for i in (1, 2)]
    before = {name: site.stack.client.containers.get(name).attrs["State"]["StartedAt"] for name in blue}
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    result = run_paused(site, "deploy.room_made", lambda: name_elsewhere(site, blue[1]), "deploy", "backend",
                        APP_TAG="v3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"nginx names {blue[1]} at /etc/nginx/{ELSEWHERE}:4 (proxy_pass)" in result.stderr
    traffic = loop.stop()
    assert traffic.failures == [] and set(traffic.versions) == {"v2"}, traffic.summary()
    assert {name: site.stack.client.containers.get(name).attrs["State"]["StartedAt"] for name in blue} == before
    assert servers(site) == ([f"{site.container('green')}-{i}" for i in (1, 2)], blue)
