"""Shared fixtures: the Docker engine, the local test images, an isolated stack per
test and a background request loop. Images: tests/images/README.md."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from stack import Stack, TestImages
from traffic import RequestLoop

REPO = Path(__file__).resolve().parents[1]
APP_REPO = os.environ.get("BLUEGREEN_TEST_APP_REPO", "bluegreen-test/app")
NGINX_REPO = os.environ.get("BLUEGREEN_TEST_NGINX_REPO", "bluegreen-test/nginx")
BACKEND_REPO = os.environ.get("BLUEGREEN_TEST_BACKEND_REPO", "bluegreen-test/backend")


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """A client of the local engine; the run fails (never skips) when none answers."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"Docker engine not answering: {exc}. Start it with scripts/ensure-docker.sh "
                    "(or `make env`).", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(docker_client: docker.DockerClient) -> TestImages:
    """The test images, built by scripts/build-images.sh when one is missing."""
    refs = TestImages(app=f"{APP_REPO}:1", nginx=f"{NGINX_REPO}:1", app_repo=APP_REPO, backend_repo=BACKEND_REPO)
    wanted = [refs.app, refs.nginx] + [refs.app_version(v) for v in ("v1", "v2", "v3")] \
        + [refs.backend_version(v) for v in ("1", "v1", "v2", "v3")]
    missing = [ref for ref in wanted if not docker_client.images.list(name=ref)]
    if missing:
        result = subprocess.run(["bash", str(REPO / "scripts/build-images.sh")],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"missing images {missing}; scripts/build-images.sh failed:\n"
                        f"{result.stdout}{result.stderr}", pytrace=False)
    return refs


def _built(client: docker.DockerClient, ref: str, target: str) -> str:
    """`ref`, built by `scripts/build-images.sh target` when missing; the run fails saying why when it can't be."""
    if not client.images.list(name=ref):
        result = subprocess.run(["bash", str(REPO / "scripts/build-images.sh"), target],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"missing image {ref}; scripts/build-images.sh {target} failed:\n"
                        f"{result.stdout}{result.stderr}", pytrace=False)
    return ref


@pytest.fixture(scope="session")
def nginx_njs_image(docker_client: docker.DockerClient) -> str:
    """bluegreen-test/nginx:1.30 (nginx 1.30 + njs), built by scripts/build-images.sh when missing."""
    return _built(docker_client, f"{NGINX_REPO}:1.30", "nginx-njs")


@pytest.fixture(scope="session")
def python_image(docker_client: docker.DockerClient) -> str:
    """bluegreen-test/python:3 (Debian's python3 and its standard library), built by scripts/build-images.sh when
    missing."""
    return _built(docker_client, os.environ.get("BLUEGREEN_TEST_PYTHON_REPO", "bluegreen-test/python") + ":3",
                  "python")


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI bundle built from this checkout into a temp dir (the committed one may be stale), once per run: the
    tests read it and never change it."""
    out = tmp_path_factory.mktemp("bundle") / "bluegreen.pyz"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build-bundle.py"), "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    return out


@pytest.fixture
def stack(docker_client: docker.DockerClient, images: TestImages) -> Stack:
    """A fresh network + nginx (placeholder site) per test; removed afterwards, even on failure."""
    s = Stack(docker_client, images)
    try:
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture
def steady_site(stack: Stack, tmp_path: Path):
    """The steady state most recovery tests start from: v1 then v2 deployed, so green (v2) serves and blue (v1)
    is the rollback target."""
    from site_under_test import Site

    s = Site(stack, tmp_path)
    for version in ("v1", "v2"):
        result = s.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    return s


@pytest.fixture
def request_loop(request: pytest.FixtureRequest):
    """Factory: request_loop(url=stack.public_url, interval=0.02, max_duration=120) -> started loop.

    Call .stop() for the LoopResult; loops still running at teardown are stopped.
    """
    loops: list[RequestLoop] = []

    def start(url: str | None = None, **kwargs) -> RequestLoop:
        if url is None:
            url = request.getfixturevalue("stack").public_url
        loop = RequestLoop(url, **kwargs).start()
        loops.append(loop)
        return loop

    yield start
    for loop in loops:
        loop.stop()


@pytest.fixture
def dict_stack(docker_client: docker.DockerClient, images: TestImages, nginx_njs_image: str, tmp_path_factory) -> Stack:
    """A stack on nginx 1.30 + njs with an admin directory (mode 0700) mounted at the same path, for
    `switch: shared-dict`."""
    admin = tmp_path_factory.mktemp("admin")
    admin.chmod(0o700)
    s = Stack(docker_client, images, nginx_image=nginx_njs_image, admin_dir=str(admin))
    try:
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture
def dict_site(dict_stack: Stack, tmp_path: Path):
    """switch: shared-dict, after two deploys: green (v2) serves, blue (v1) is kept for a rollback."""
    from site_under_test import Site

    site = Site(dict_stack, tmp_path, nginx={"switch": "shared-dict"},
                service={"preview": {"listen": "8081", "url": dict_stack.preview_url}})
    for version in ("v1", "v2"):
        result = site.deploy(version)
        assert result.returncode == 0, result.stdout + result.stderr
    return site


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> docker.DockerClient:
    """A single-node Swarm (this engine as its manager) for the Swarm runtime tests. Overlay subnets come from
    10.213.0.0/16, so test networks are recognisable. A Swarm this run created is left at the end; one that was
    already there is left alone."""
    info = docker_client.info().get("Swarm") or {}
    created = False
    gwbridge = bool(docker_client.networks.list(names=["docker_gwbridge"]))
    if info.get("LocalNodeState") != "active":
        docker_client.swarm.init(advertise_addr="127.0.0.1", default_addr_pool=["10.213.0.0/16"], subnet_size=24)
        created = True
    elif not info.get("ControlAvailable"):
        pytest.fail("this Docker engine is a Swarm worker: the Swarm tests need a manager", pytrace=False)
    yield docker_client
    if created:
        docker_client.swarm.leave(force=True)
        if not gwbridge:  # the bridge Swarm made for the nginx container's overlay endpoint
            for network in docker_client.networks.list(names=["docker_gwbridge"]):
                try:
                    network.remove()
                except docker.errors.APIError:
                    pass


@pytest.fixture
def swarm_stack(swarm: docker.DockerClient, images: TestImages, nginx_njs_image: str):
    """Factory: swarm_stack(nginx_image=None) -> a started Stack on an attachable overlay network (nginx 1.30 by
    default, whose `resolve` reaches tasks by name); removed afterwards, services included."""
    stacks: list[Stack] = []

    def start(nginx_image: str | None = None) -> Stack:
        s = Stack(swarm, images, driver="overlay", nginx_image=nginx_image or nginx_njs_image)
        stacks.append(s)
        return s.start()

    yield start
    for s in stacks:
        s.close()


@pytest.fixture(scope="session")
def swarm_nodes(images: TestImages, nginx_njs_image: str):
    """A Swarm of three nodes of the tests' own (tests/swarm_nodes.py: a manager and two workers, each a dockerd
    in a network namespace, and the registry they pull from), brought up only for the tests that ask for it and
    removed afterwards, also after a failure; a previous run's leftovers (bgmn-*) are removed first."""
    import shutil

    import swarm_nodes

    if os.geteuid() != 0 or not shutil.which("docker-registry"):
        pytest.fail("the multi-node Swarm needs root (namespaces, dockerd) and Debian's docker-registry "
                    "(`make packages`)", pytrace=False)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(swarm_nodes.exclusive())
            nodes = swarm_nodes.up()
        except (RuntimeError, subprocess.CalledProcessError, docker.errors.DockerException) as exc:
            detail = getattr(exc, "stderr", "") or ""
            swarm_nodes.clear()
            pytest.fail(f"the multi-node Swarm did not come up: {exc} {detail}", pytrace=False)
        try:
            yield nodes
        finally:
            problems = swarm_nodes.clear() + swarm_nodes.leftovers()
            assert not problems, f"the multi-node Swarm was not removed entirely: {problems}"
