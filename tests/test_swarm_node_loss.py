"""A node lost mid-deploy (issue 24): a worker drained, or its engine killed, while the candidate's tasks are
health-checked. On the three-node Swarm of tests/swarm_nodes.py (the fixtures of test_swarm_nodes.py); each test
gives the node back as it found it: active, ready, in the swarm."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Iterator

import pytest

from helpers import wait_until
from site_under_test import run_paused
from swarm_nodes import NODES, rejoin
from test_swarm import SHORT_CONNECT, ok, upstream_lines
from test_swarm_nodes import nodes_of, site as site_restart_no  # noqa: F401 - a fixture


@pytest.fixture
def site(site_restart_no):
    """The test site with Swarm's restart condition `any` (bluegreen's default `restart: unless-stopped`): Swarm
    starts a task that left with its node again elsewhere."""
    site_restart_no.config["services"]["backend"]["restart"] = "unless-stopped"
    site_restart_no.write_config()
    return site_restart_no

W1 = NODES[1]


def node_state(client, name: str) -> tuple[str, str]:
    attrs = client.nodes.get(name).attrs
    return attrs["Status"]["State"], attrs["Spec"]["Availability"]


def set_availability(client, name: str, value: str) -> None:
    node = client.nodes.get(name)
    node.update(dict(node.attrs["Spec"], Availability=value))


@contextlib.contextmanager
def drained(client, name: str) -> Iterator[None]:
    try:
        yield
    finally:
        set_availability(client, name, "active")


def stop_after(loop, version: str):
    """The loop's result, once requests made after this instant answered (the last one with `version`)."""
    now = loop.now()
    wait_until(lambda: (hits := loop.snapshot().hits) and hits[-1].t > now + 0.3, 20, "requests after the deploy")
    traffic = loop.stop()
    assert traffic.failures == [] and traffic.hits[-1].version == version, traffic.summary()
    return traffic


def gated_again(result, node: str, why: str) -> None:
    """The deploy completed on the tasks Swarm started elsewhere, after saying which node took which away."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Node {node} left ({why}) during the health check, with tasks " in output, output
    assert output.count("Health check passed!") == 1 and "Nginx upstream switched: blue → green" in output, output


def short_read_timeout(site) -> None:
    """A request nginx sent to a task on a node as it went silent waits for the answer: `proxy_read_timeout` (60 s by
    default) bounds it, then nginx resends it to the next task (`proxy_next_upstream timeout`, idempotent requests);
    measured here without it, 1 or 2 of ~450 requests ran into the client's 5 s timeout."""
    site.stack.write_nginx_file("conf.d/default.conf", SHORT_CONNECT.replace(
        "proxy_connect_timeout 1s;", "proxy_connect_timeout 1s;\n        proxy_read_timeout 2s;"))
    site.stack.reload_nginx()


def kill_engine(client, pid: int) -> None:
    """SIGKILL of a worker's dockerd (its containers go on, unmanaged), until the manager marks the node down."""
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: node_state(client, W1)[0] == "down", 40, f"the manager marks {W1} down")


def watch_briskly(site) -> None:
    site.config["services"]["backend"]["monitor"] = {"interval": "0.5s", "min_requests": 1000, "failures": 3}
    site.write_config()


@contextlib.contextmanager
def v2_with_w1_drained_at(site, request_loop, point: str, *, monitor: str) -> Iterator:
    """v1 deployed, requests every 20 ms; `deploy --monitor <monitor>` of v2 paused at `point` while W1 is drained: its
    result; W1 active again afterwards, and no request failed."""
    client = site.stack.client
    watch_briskly(site)
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    with drained(client, W1):
        yield run_paused(site, point, lambda: set_availability(client, W1, "drain"),
                         "deploy", "backend", "--monitor", monitor, APP_TAG="v2")
    assert set(stop_after(loop, "v2").versions) == {"v1", "v2"}


def test_placement_puts_two_tasks_on_each_worker(site):
    """`max_replicas_per_node: 2` and `constraints: [node.role==worker]`: each color's 4 tasks run 2 on each worker,
    none on the manager (without them Swarm puts tasks on the manager too). The third deploy replaces the idle
    color's tasks in place: its old tasks fill each worker's quota, so they stop before the new ones start."""
    site.config["services"]["backend"].update(max_replicas_per_node=2, constraints=["node.role==worker"])
    site.write_config()
    ok(site.deploy("v1"))
    ok(site.deploy("v2"))
    ok(site.deploy("v3"))
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue", doc["problems"]
    for color in ("blue", "green"):
        assert nodes_of(doc, color) == [NODES[1], NODES[1], NODES[2], NODES[2]], doc["containers"]


def test_a_worker_drained_while_the_new_tasks_are_gated(site, request_loop):
    """`docker node update --availability drain` as the gate starts: Swarm moves the candidate's tasks off the
    node, bluegreen names it, waits for the tasks started elsewhere and gates them again; no request fails, the
    switch names only tasks on the nodes left; once the node is active again the next deploy uses it."""
    client = site.stack.client
    ok(site.deploy("v1"))
    assert W1 in nodes_of(site.status()[1], "blue")
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    with drained(client, W1):
        result = run_paused(site, "deploy.candidate_started", lambda: set_availability(client, W1, "drain"),
                            "deploy", "backend", APP_TAG="v2")
        gated_again(result, W1, "drain")
        code, doc = site.status()
        assert doc["active"] == "green" and len(nodes_of(doc, "green")) == 4, doc["containers"]
        assert W1 not in nodes_of(doc, "green"), doc["containers"]
    assert set(stop_after(loop, "v2").versions) == {"v1", "v2"}
    wait_until(lambda: node_state(client, W1) == ("ready", "active"), 10, f"{W1} active again")
    ok(site.deploy("v3"))
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and W1 in nodes_of(doc, "blue"), doc


def test_a_worker_drained_after_the_gate_is_gated_again_before_the_switch(site, request_loop):
    """The node leaves once the gate passed, before the switch: the tasks Swarm starts in place of the candidate's
    are gated too before nginx names them (the switch checks), and the deploy's monitor does not follow again what
    the deploy already handled."""
    with v2_with_w1_drained_at(site, request_loop, "deploy.gated", monitor="3s") as result:
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert f"Node {W1} left (drain) during the health check, with tasks " in output, output
        assert output.count("Health check passed!") == 2, output
        assert output.index("Health check passed!", output.index(f"Node {W1} left")) < output.index(
            "Nginx upstream switched: blue → green"), output
        assert "while green was watched" not in output and "Post-deploy monitoring passed" in output, output
        code, doc = site.status()
        green = [c for c in doc["containers"] if c["color"] == "green" and c["state"] == "running"]
        assert doc["active"] == "green" and len(green) == 4 and W1 not in nodes_of(doc, "green"), doc


def test_a_worker_drained_under_restart_no_rolls_back_naming_it(site_restart_no, request_loop):
    """`restart: no` (Swarm's condition none): Swarm starts nothing in place of the tasks the drain took away; the
    deploy says so at once, naming the node, and rolls back (exit 1); no request fails, status names the node for
    the active color's slots that do not run."""
    site, client = site_restart_no, site_restart_no.stack.client
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    with drained(client, W1):
        result = run_paused(site, "deploy.candidate_started", lambda: set_availability(client, W1, "drain"),
                            "deploy", "backend", APP_TAG="v2")
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert f"Node {W1} left (drain) during the health check, with tasks " in output, output
        assert "Swarm starts no task of " in output and "traffic stays on blue" in output, output
        code, doc = site.status()
        assert code == 3 and doc["active"] == "blue", doc
        assert any(f"ran on node {W1}, which is drain" in p["message"] for p in doc["problems"]), doc["problems"]
    assert set(stop_after(loop, "v1").versions) == {"v1"}


def test_a_worker_whose_engine_was_killed_while_the_new_tasks_are_gated(site, swarm_nodes, request_loop):
    """SIGKILL of a worker's dockerd as the gate starts (its containers go on, unmanaged): once the manager marks
    the node down, Swarm starts its tasks elsewhere; the deploy names the node and gates those tasks, no request
    fails. Then the node is removed (`docker node rm --force`): the next deploy works on the two nodes left; the
    engine restarted and joined again, the one after uses it again."""
    client, worker = site.stack.client, swarm_nodes.workers[0]
    short_read_timeout(site)
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    pid = worker.pid()
    try:
        result = run_paused(site, "deploy.candidate_started", lambda: kill_engine(client, pid),
                            "deploy", "backend", APP_TAG="v2")
        gated_again(result, W1, "down")
        code, doc = site.status()
        assert doc["active"] == "green" and W1 not in nodes_of(doc, "green"), doc["containers"]
        stop_after(loop, "v2")
        client.nodes.get(W1).remove(force=True)
        ok(site.deploy("v3"))
        code, doc = site.status()
        assert code == 0 and doc["active"] == "blue" and set(nodes_of(doc, "blue")) <= {NODES[0], NODES[2]}, doc
    finally:
        rejoin(swarm_nodes, 1, killed=pid)
    assert node_state(client, W1) == ("ready", "active")



def followed(site, result, node: str, why: str) -> None:
    """The monitor named the node, had nginx name the tasks Swarm started elsewhere, and passed: no rollback; nginx
    names exactly green's running tasks, none on the node; history has the follow switch."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Node {node} left ({why}) while green was watched, with tasks " in output, output
    assert "nginx names the tasks of " in output and "Post-deploy monitoring passed" in output, output
    assert "Automatic rollback" not in output and "Rolled back" not in output, output
    code, doc = site.status()
    green = [c for c in doc["containers"] if c["color"] == "green" and c["state"] == "running"]
    assert doc["active"] == "green" and len(green) == 4 and node not in nodes_of(doc, "green"), doc["containers"]
    named = {line.split()[1].split(":")[0] for line in upstream_lines(site)
             if line.startswith("server") and "backup" not in line}
    assert named == {c["address"] for c in green}, (named, doc["containers"])
    # newest first: the monitor's entry is written when its watch ends, the follow's during it
    assert [e["action"] for e in site.history()[:3]] == ["monitor", "follow", "deploy"], site.history()[:3]


def test_a_worker_drained_while_the_monitor_watches(site, request_loop):
    """The node leaves after the switch, as `deploy --monitor` starts watching: the monitor names it, health-checks
    the tasks Swarm starts elsewhere and has nginx name them (a follow switch), and does not roll back a healthy
    release for a lost node; no request fails. Without the follow it rolled back (and could not: blue's tasks had
    left too)."""
    with v2_with_w1_drained_at(site, request_loop, "monitor.watching", monitor="15s") as result:
        followed(site, result, W1, "drain")


def test_a_worker_drained_under_restart_no_while_the_monitor_watches_fails_the_watch_naming_it(site_restart_no,
                                                                                               request_loop):
    """`restart: no`: Swarm starts nothing in place of the watched tasks the drain took away. The watch says so for
    their slots, naming the node, and the monitor's rollback decides: here blue lost its tasks on the node too, so
    it refuses and changes nothing (green serves on with the tasks left); no request fails."""
    site = site_restart_no
    site.config["services"]["backend"].update(max_replicas_per_node=2, constraints=["node.role==worker"])
    with v2_with_w1_drained_at(site, request_loop, "monitor.watching", monitor="15s") as result:
        output = result.stdout + result.stderr
        assert result.returncode not in (0, 5), output
        assert f"Node {W1} left (drain) while green was watched" in output, output
        assert "Swarm starts no task of " in output, output
        assert "degraded after the switch: " in output and f"left with node {W1} (drain), and Swarm started " \
            "nothing in its place" in output, output
        assert "Post-deploy monitoring could not roll back: Rollback target" in output, output
        code, doc = site.status()
        assert doc["active"] == "green", doc
        assert any(f"ran on node {W1}, which is drain" in p["message"] for p in doc["problems"]), doc["problems"]


def test_a_worker_whose_engine_was_killed_while_the_monitor_watches(site, swarm_nodes, request_loop):
    """The same with the worker's dockerd SIGKILLed after the switch: its tasks go on answering, unmanaged, until
    the manager marks the node down; then Swarm starts them elsewhere, and the monitor follows as above."""
    client, worker = site.stack.client, swarm_nodes.workers[0]
    short_read_timeout(site)
    watch_briskly(site)
    ok(site.deploy("v1"))
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    pid = worker.pid()
    try:
        result = run_paused(site, "monitor.watching", lambda: os.kill(pid, signal.SIGKILL),
                            "deploy", "backend", "--monitor", "40s", APP_TAG="v2")
        followed(site, result, W1, "down")
        stop_after(loop, "v2")
    finally:
        rejoin(swarm_nodes, 1, killed=pid)
    assert node_state(client, W1) == ("ready", "active")
