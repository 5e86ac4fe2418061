"""Deploys across the nodes of a real Swarm (issue 24): three engines of the tests' own on this machine
(tests/swarm_nodes.py: a manager and two workers, the registry on the manager), `runtime: swarm` with 4 replicas
and `endpoint_mode: dnsrr`, bluegreen run against the manager (DOCKER_HOST), nginx on the manager reaching tasks
on the workers over the overlay, requests from the host to nginx's port on the manager's address.

Root and Debian's docker-registry (`make packages`); the machine's own engine only lends the test images."""

from __future__ import annotations

import contextlib
import io
import ipaddress
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site
from stack import Stack
from swarm_nodes import MANAGER_ADDRESS, NODES, OVERLAY_POOL, REGISTRY, registry_ref
from test_swarm import SHORT_CONNECT, ok, services, upstream_lines

POOL = ipaddress.ip_network(OVERLAY_POOL)
WORKERS = set(NODES[1:])
APP = "bluegreen-test/app"


class NodesSite(Site):
    """A site whose bluegreen talks to the manager engine, and whose image comes from the registry."""

    def __init__(self, stack: Stack, tmp_path: Path, docker_host: str) -> None:
        self.docker_host = docker_host
        super().__init__(stack, tmp_path, service={"runtime": "swarm", "replicas": 4, "endpoint_mode": "dnsrr",
                                                   "image": registry_ref(APP) + ":${APP_TAG}"},
                         health={"timeout": "20s"})
        stack.write_nginx_file("conf.d/default.conf", SHORT_CONNECT)
        stack.reload_nginx()

    def env(self, **extra: str) -> dict[str, str]:
        return {**super().env(**extra), "DOCKER_HOST": self.docker_host}


@pytest.fixture
def site(swarm_nodes, images, nginx_njs_image, tmp_path):
    """nginx 1.30 on the manager, on an attachable overlay, published on the manager's address."""
    stack = Stack(swarm_nodes.manager.client(), images, driver="overlay", nginx_image=nginx_njs_image,
                  publish_ip=MANAGER_ADDRESS)
    try:
        stack.start()
        yield NodesSite(stack, tmp_path, swarm_nodes.host)
    finally:
        stack.close()


def nodes_of(doc: dict, color: str) -> list[str]:
    return sorted(c["node"] for c in doc["containers"] if c["color"] == color and c["state"] == "running")


def test_deploys_and_rollback_across_nodes_under_load(site, request_loop):
    """v1, then v2 under a request loop, then a rollback: no failed request; each color's 4 tasks run on both
    workers, nginx names their overlay addresses, and status says which node each task runs on."""
    blue, green = site.container("blue"), site.container("green")
    out = ok(site.deploy("v1")).stdout
    assert "4 instances started" in out and "on each of 4 instances" in out
    code, doc = site.status()
    assert code == 0 and WORKERS <= set(nodes_of(doc, "blue")), doc["containers"]
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    ok(site.deploy("v2"))
    v2_done = loop.now()
    code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc["problems"]
    assert len(nodes_of(doc, "green")) == 4 and WORKERS <= set(nodes_of(doc, "green")), doc["containers"]
    assert {c["image"] for c in doc["containers"] if c["color"] == "green"} == {registry_ref(APP) + ":v2"}
    lines = upstream_lines(site)
    assert [line.split("# instance ")[1] for line in lines] == [f"{green}.{i}" for i in (1, 2, 3, 4)] + \
        [f"{blue}.{i}" for i in (1, 2, 3, 4)], lines
    assert all(ipaddress.ip_address(line.split()[1].split(":")[0]) in POOL for line in lines)
    rollback_start = loop.now()
    rolled = ok(site.bg("rollback", "backend"))
    assert "Nginx upstream rolled back: green → blue" in rolled.stdout
    done = loop.now()
    wait_until(lambda: loop.snapshot().hits[-1].t > done + 0.3, 10, "requests after the rollback")
    traffic = loop.stop()
    assert traffic.failures == [], traffic.summary()
    # (inside a switch nginx's old and new workers both accept for an instant; once a command returned, only the
    # version it switched to answers)
    assert traffic.transitions()[0] == "v1" and set(traffic.versions) == {"v1", "v2"}, traffic.summary()
    assert {h.version for h in traffic.hits if v2_done <= h.t < rollback_start} == {"v2"}, traffic.summary()
    assert {h.version for h in traffic.hits if h.t > done} == {"v1"}, traffic.summary()
    code, doc = site.status()
    assert code == 0 and doc["consistent"] and doc["active"] == "blue", doc["problems"]


def test_an_image_the_registry_does_not_have_fails_before_anything_switches(site):
    """A tag never pushed: the manager cannot pull it, the deploy fails naming the image (exit 1), v1 serves on."""
    ok(site.deploy("v1"))
    before = site.upstream_text()
    result = site.deploy("v9")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"{registry_ref(APP)}:v9" in output, output
    assert site.upstream_text() == before
    assert httpx.get(site.stack.public_url + "/", timeout=2).headers.get("X-App-Version") == "v1"
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue", doc["problems"]


@contextlib.contextmanager
def built_on_manager(site, tag: str) -> Iterator[str]:
    """An image of its own (v3 with a label), built on the manager as <registry>/bluegreen-test/app:<tag>, never
    pushed; removed afterwards."""
    ref = f"{registry_ref(APP)}:{tag}"
    dockerfile = io.BytesIO(f"FROM {registry_ref(APP)}:v3\nLABEL bgmn={tag}\n".encode())
    site.stack.client.images.build(fileobj=dockerfile, tag=ref, rm=True)
    try:
        yield ref
    finally:
        site.stack.client.images.remove(ref, force=True)


def test_an_image_only_the_manager_has_is_refused(site):
    """Built on the manager, never pushed (no registry digest): the workers could not pull it, so the deploy is
    refused before anything changes (exit 2), naming the image and how many nodes the swarm has."""
    ok(site.deploy("v1"))
    before = site.upstream_text()
    with built_on_manager(site, "local") as ref:
        result = site.deploy("local")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"Image {ref} exists only on this node" in output
    assert "the swarm has 3 nodes" in output and "nothing was changed" in output
    assert services(site) == {site.container("blue")} and site.upstream_text() == before


def test_an_image_gone_from_the_registry_fails_on_the_workers_before_anything_switches(site):
    """Pushed, then deleted from the registry: the manager still has it, the workers cannot pull it; the deploy
    fails at the tasks (exit 1, the task and the engine's error named) and v1 serves on."""
    ok(site.deploy("v1"))
    before = site.upstream_text()
    with built_on_manager(site, "gone") as ref:
        site.stack.client.images.push(registry_ref(APP), tag="gone")
        digest = site.stack.client.images.get(ref).attrs["RepoDigests"][0].split("@")[1]
        assert httpx.delete(f"http://{REGISTRY}/v2/{APP}/manifests/{digest}", timeout=5).status_code == 202
        result = site.deploy("gone")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"Task {site.container('green')}." in output and "of the new version failed to start on node bgmn-w" in output, \
        output
    assert f"No such image: {registry_ref(APP)}@{digest}" in output, output
    assert site.upstream_text() == before
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue", doc["problems"]
