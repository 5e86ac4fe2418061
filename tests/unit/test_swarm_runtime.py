"""The Swarm runtime without a swarm: what the prober's output means, what a task list becomes, and what is
refused before anything changes (a fake engine stands in for the docker SDK module)."""

from __future__ import annotations

import pytest

from bluegreen.clock import ManualClock
from bluegreen.config.schema import parse
from bluegreen.errors import UsageError
from bluegreen.parts.overlay_probe import parse_probe, probe_in
from bluegreen.parts.swarm import SwarmRuntime
from bluegreen.config.settings import Nginx

SERVICE = parse({"network": "overlay-net", "services": {"backend": {
    "container_prefix": "app", "runtime": "swarm", "replicas": 3}}}).service("backend")


# --- the prober's output (busybox wget as captured in the test nginx image; curl -D -) ---------------------------
WGET_OK = """0
Connecting to 10.213.1.2:8000 (10.213.1.2:8000)
  HTTP/1.1 200 OK
  Content-Type: text/plain
  X-App-Color: blue
  Connection: close
  
saving to '/dev/null'
"""
WGET_503 = """1
Connecting to 10.213.1.34:8000 (10.213.1.34:8000)
  HTTP/1.1 503 Service Unavailable
wget: server returned error: HTTP/1.1 503 Service Unavailable
"""
WGET_REDIRECT = """0
  HTTP/1.1 301 Moved Permanently
  X-App-Color: none
  Location: /login
  HTTP/1.1 200 OK
  X-App-Color: none
"""
WGET_REFUSED = """1
Connecting to 10.213.1.34:8001 (10.213.1.34:8001)
wget: can't connect to remote host (10.213.1.34): Connection refused
"""
CURL_OK = "0\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-App-Color: green\r\n\r\n"
CURL_TIMEOUT = "28\ncurl: (28) Connection timed out after 2001 milliseconds\n"


@pytest.mark.parametrize("section, ok, detail, color", [
    (WGET_OK, True, "HTTP 200", "blue"),
    (WGET_503, False, "HTTP 503", None),
    (WGET_REDIRECT, False, "HTTP 301 redirect → /login", "none"),
    (WGET_REFUSED, False, "connect error: wget: can't connect to remote host (10.213.1.34): Connection refused", None),
    ("143\nConnecting to 10.213.1.250:8000 (10.213.1.250:8000)\n", False, "timeout", None),
    (CURL_OK, True, "HTTP 200", "green"),
    (CURL_TIMEOUT, False, "timeout", None),
])
def test_prober_output_reads_like_a_probe_from_this_host(section, ok, detail, color):
    """The same Probe health.probe would give: a redirect is a failure with its Location, the app's color."""
    probe = parse_probe(section)
    assert (probe.ok, probe.detail, probe.color) == (ok, detail, color)


class FakeDocker:
    network = "overlay-net"

    def __init__(self, *, manager=True, nodes=1, driver="overlay", attachable=True, attached=True,
                 digests=(), services=None, tasks=(), away=None):
        self.manager, self.node_count, self.driver, self.attachable = manager, nodes, driver, attachable
        self.away = away or {}  # node id → why it runs no task (n1, node-1, is always there)
        self._attached, self.digests = attached, tuple(digests)
        self._services, self._tasks = services or {}, list(tasks)
        self.execs: list[list[str]] = []
        self.output = ""

    def swarm(self):
        return self.manager, self.node_count

    def network_info(self, name):
        return {"Driver": self.driver, "Attachable": self.attachable}

    def attached(self, container):
        return self._attached

    def image_refs(self, ref):
        return "sha256:" + "1" * 64, self.digests

    def services(self, names):
        return {n: s for n, s in self._services.items() if n in names}

    def tasks(self, ids):
        return [t for t in self._tasks if t["ServiceID"] in ids]

    def nodes(self):
        return {"n1": ("node-1", self.away.get("n1", "")), "n2": ("node-2", self.away.get("n2", ""))}

    def exec(self, container, cmd, stdin=None):
        self.execs.append(cmd)
        return 0, self.output


def runtime(docker: FakeDocker) -> SwarmRuntime:
    return SwarmRuntime(docker, SERVICE, Nginx(container="nginx"), ManualClock())  # type: ignore[arg-type]


def test_one_exec_probes_every_task_from_inside_the_overlay():
    """Never a request from this host to an overlay address: nginx's container runs the probes, all in one exec."""
    docker = FakeDocker()
    docker.output = "=== " + WGET_OK + "=== " + WGET_503
    probes = probe_in(docker, "nginx", ["http://10.213.1.2:8000/h", "http://10.213.1.3:8000/h"], 2.5)  # type: ignore[arg-type]
    assert [p.detail for p in probes] == ["HTTP 200", "HTTP 503"]
    (cmd,) = docker.execs
    assert cmd[:2] == ["sh", "-c"] and cmd[3:] == ["bluegreen", "3", "http://10.213.1.2:8000/h", "http://10.213.1.3:8000/h"]


# --- refused before anything changes ----------------------------------------------------------------------------
@pytest.mark.parametrize("docker, key", [
    (FakeDocker(manager=False), "swarm.not_manager"),
    (FakeDocker(driver="bridge"), "swarm.network"),
    (FakeDocker(attachable=False), "swarm.network"),
    (FakeDocker(attached=False), "swarm.nginx_not_attached"),
    (FakeDocker(nodes=3), "swarm.image_local"),
])
def test_preflight_refuses_what_cannot_work(docker, key):
    with pytest.raises(UsageError) as err:
        runtime(docker).preflight("app:1")
    assert err.value.key == key and err.value.exit_code == 2


def test_an_image_every_node_can_pull_runs_by_digest_and_a_local_one_by_id():
    """On several nodes a pushed image passes and tasks run it by digest; on one node a local image runs by id
    (the engine then never tries to pull it)."""
    pushed = FakeDocker(nodes=3, digests=("reg:5000/app@sha256:" + "2" * 64,))
    runtime(pushed).preflight("reg:5000/app:7")
    assert runtime(pushed)._pinned("reg:5000/app:7") == "reg:5000/app@sha256:" + "2" * 64
    runtime(FakeDocker()).preflight("app:1")
    assert runtime(FakeDocker())._pinned("app:1") == "sha256:" + "1" * 64


# --- tasks as instances -----------------------------------------------------------------------------------------
def task(tid, slot, state, desired="running", release="r1", ip="10.213.1.5", err="", at="2", node="n1"):
    return {"ID": tid, "ServiceID": "s-blue", "Slot": slot, "DesiredState": desired, "UpdatedAt": at,
            "NodeID": node, "Status": {"State": state, "Err": err, "ContainerStatus": {"ExitCode": 137 if err else 0}},
            "Spec": {"ContainerSpec": {"Image": "sha256:" + "1" * 64,
                                       "Labels": {"bluegreen.service": "backend", "bluegreen.release": release}}},
            "NetworksAttachments": [{"Network": {"Spec": {"Name": "overlay-net"}}, "Addresses": [ip + "/24"]}]}


BLUE = {"ID": "s-blue", "Spec": {"Name": "app-blue", "Labels": {}, "Mode": {"Replicated": {"Replicas": 3}},
                                 "TaskTemplate": {"ContainerSpec": {"Image": "x"}}}}


def test_tasks_become_one_instance_per_slot_with_what_went_wrong():
    """Current tasks by slot; a slot Swarm left empty is its last failed task (with its error, no address); old
    tasks of a slot are history."""
    docker = FakeDocker(services={"app-blue": BLUE}, tasks=[
        task("t1", 1, "running", ip="10.213.1.5"),
        task("t2-old", 2, "failed", desired="shutdown", err="task: non-zero exit (137)", at="1"),
        task("t2", 2, "starting", ip="10.213.1.6", at="3"),
        task("t3", 3, "failed", desired="shutdown", err="task: non-zero exit (137)", ip="10.213.1.7"),
        task("t3-older", 3, "shutdown", desired="shutdown", at="0")])
    rt = runtime(docker)
    found = rt.survey().instances["blue"]
    assert [(i.name, i.state, i.ip, i.detail, i.node) for i in found] == [
        ("app-blue.1", "running", "10.213.1.5", "", "node-1"),
        ("app-blue.2", "starting", "10.213.1.6", "task: non-zero exit (137)", "node-1"),
        ("app-blue.3", "failed", None, "task: non-zero exit (137)", "node-1")]
    assert not rt.alive("blue") and found[0].release == "r1"
    assert [(s.host, s.instance) for s in rt.servers("blue")] == [("10.213.1.5", "app-blue.1")]
    rt.service = parse({"network": "overlay-net", "services": {"backend": {
        "container_prefix": "app", "runtime": "swarm", "replicas": 3, "upstream_resolve": "on"}}}).service("backend")
    assert [s.host for s in rt.servers("blue")] == ["tasks.app-blue"] and rt.resolver == "127.0.0.11 valid=2s"


def test_resolve_needs_an_nginx_that_has_it():
    """`upstream_resolve: on` on nginx < 1.27.3 would fail `nginx -t`: refused before anything changes."""
    svc = parse({"network": "overlay-net", "services": {"backend": {
        "container_prefix": "app", "runtime": "swarm", "upstream_resolve": "on"}}}).service("backend")
    docker = FakeDocker()
    docker.output = "nginx version: nginx/1.22.1\n"
    rt = SwarmRuntime(docker, svc, Nginx(container="nginx"), ManualClock())  # type: ignore[arg-type]
    with pytest.raises(UsageError) as err:
        rt.preflight("app:1")
    assert err.value.key == "swarm.resolve_unsupported" and "1.22.1" in str(err.value)
    docker.output = "nginx version: nginx/1.30.6\n"
    rt.preflight("app:1")
    assert rt.resolver == "127.0.0.11 valid=2s" and not rt.renders_addresses
    assert runtime(FakeDocker()).renders_addresses  # the default: addresses


def test_tasks_taken_off_a_node_that_left_are_named_with_the_node():
    """Drained (or down, or removed): the release's tasks Swarm shut down there are `moved` (the gate judges their
    successors), and status names the node for each slot that runs no task yet; tasks of another release, or
    taken off a node that is still there, are neither."""
    docker = FakeDocker(services={"app-blue": BLUE}, away={"n2": "drain"}, tasks=[
        task("t1", 1, "running"),
        task("t2-old", 2, "running", desired="shutdown", node="n2", at="1"),
        task("t2", 2, "running", at="3"),
        task("t3-old", 3, "running", desired="shutdown", node="n2", at="1"),
        task("t3", 3, "pending", at="3"),
        task("t4-old", 4, "running", desired="shutdown", node="n2", release="r0", at="1"),
        task("t5-old", 5, "shutdown", desired="shutdown", node="n1", at="1"),
        task("t6-old", 6, "running", desired="shutdown", node="gone", at="1")])
    rt = runtime(docker)
    assert [(m.id, m.name, m.node, m.why) for m in rt.moved("blue", "r1")] == [
        ("t2-old", "app-blue.2", "node-2", "drain"), ("t3-old", "app-blue.3", "node-2", "drain"),
        ("t6-old", "app-blue.6", "gone", "removed")]
    assert [p for p in rt.survey().problems if p[0] == "status.problem.node_away"] == [
        ("status.problem.node_away", {"name": "app-blue.3", "node": "node-2", "why": "drain"}),
        ("status.problem.node_away", {"name": "app-blue.4", "node": "node-2", "why": "drain"}),
        ("status.problem.node_away", {"name": "app-blue.6", "node": "gone", "why": "removed"})]
    docker.away = {}
    assert [m.id for m in rt.moved("blue", "r1")] == ["t6-old"]
    assert [p for p in rt.survey().problems if p[0] == "status.problem.node_away"] == [
        ("status.problem.node_away", {"name": "app-blue.6", "node": "gone", "why": "removed"})]
