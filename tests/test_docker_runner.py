"""The docker runner on the real engine: the bundle run by resources/bluegreen/docker-runner.sh — the file
blueGreenCli writes and runs for `runner: 'docker'`, with the environment it sets — in a throwaway container of
bluegreen-test/python:3 (Debian's python3 and its standard library), against a real stack.

The agent here has Docker but runs no python of its own: a minimal environment like a Jenkins agent's (PATH, HOME,
the BLUEGREEN_* values the step sets, the bound secret). A deploy and the quick rollback work as from the host (the
health gate through the host's network, nginx's master seen through the host's PID namespace), the state_dir is the
host's, a secret of several lines reaches the app and no process's argv; an agent that itself runs in a container
lends its volumes; a state_dir left on the throwaway container's own filesystem is refused."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import docker
import pytest

from helpers import wait_until
from site_under_test import Site, version

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "resources" / "bluegreen" / "docker-runner.sh"
DOCKER_CLI = "/usr/local/bin/docker"
# A secret of several lines (a PEM key's shape), reaching the app as DATABASE_URL through `-e DATABASE_URL`.
SECRET = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-runner-test\n"
          "Zq7+secret/line/three==\n-----END PRIVATE KEY-----\n")
QUICK = "quick_look"  # the phase only the rollback's quick path reports


class Agent:
    """A Jenkins agent's view: the workspace (cwd, bluegreen.yml), its @tmp dir (the CLI, the runner, reports) and
    the environment blueGreenCli gives `sh "$BLUEGREEN_RUNNER_SCRIPT" <command>`."""

    def __init__(self, site: Site, tmp: Path, bundle: Path, image: str) -> None:
        self.site, self.workspace, self.tmp = site, site.dir, Path(f"{site.dir}@tmp")
        self.tmp.mkdir()
        (self.tmp / "bluegreen.pyz").write_bytes(bundle.read_bytes())
        self.script = self.tmp / "bluegreen-docker-runner.sh"
        self.script.write_bytes(RUNNER.read_bytes())
        self.base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp / "home"), "LANG": "C.UTF-8",
                     "BUILD_NUMBER": "42", "BLUEGREEN_SERVICE": "backend", "BLUEGREEN_CONFIG": "bluegreen.yml",
                     "BLUEGREEN_LANG": "en", "BLUEGREEN_CLI": str(self.tmp / "bluegreen.pyz"),
                     "BLUEGREEN_RUNNER": "docker", "BLUEGREEN_RUNNER_SCRIPT": str(self.script),
                     "BLUEGREEN_RUNNER_IMAGE": image, "DATABASE_URL": SECRET}

    def report(self, command: str) -> Path:
        return self.tmp / f"bluegreen-{command.split()[0]}-backend.json"

    def run(self, command: str, *, state_dir: bool = True, **env: str) -> subprocess.CompletedProcess:
        """blueGreenCli's script for `command` (the report removed first), as `sh` on the agent runs it."""
        values = {**self.base, "BLUEGREEN_REPORT": str(self.report(command)), **env}
        if state_dir:
            values["BLUEGREEN_RUNNER_STATE_DIR"] = str(self.site.state_dir)
        script = f'rm -f "$BLUEGREEN_REPORT"; sh "$BLUEGREEN_RUNNER_SCRIPT" {command}'
        return subprocess.run(["sh", "-c", script], cwd=self.workspace, env=values, text=True, capture_output=True,
                              timeout=180)


class ArgvWatch:
    """Every process's command line, sampled every 10 ms while it runs: which carried a line of the secret, and
    the docker CLI's own command lines."""

    def __init__(self) -> None:
        self.leaks: list[str] = []
        self.docker_runs: list[list[str]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._lines = [line.encode() for line in SECRET.splitlines() if len(line) >= 8]

    def _sample(self) -> None:
        while not self._done.is_set():
            for path in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    raw = path.read_bytes()
                except OSError:
                    continue  # the process ended while we looked
                if any(line in raw for line in self._lines):
                    self.leaks.append(raw.decode(errors="replace"))
                argv = raw.decode(errors="replace").split("\0")
                if argv[:2] == ["docker", "run"] and argv not in self.docker_runs:
                    self.docker_runs.append(argv)
            self._done.wait(0.01)

    def __enter__(self) -> "ArgvWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(10)


@pytest.fixture
def agent(stack, tmp_path: Path, bundle: Path, python_image: str) -> Agent:
    """A site whose workspace is tmp_path/ws and whose state_dir is a host directory outside it."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    site = Site(stack, workspace)
    site.state_dir = tmp_path / "host-state"
    site.config["state_dir"] = str(site.state_dir)
    site.write_config()
    return Agent(site, tmp_path, bundle, python_image)


def ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def runner_containers(client: docker.DockerClient) -> list:
    return client.containers.list(all=True, filters={"label": "bluegreen.runner=docker"}, ignore_removed=True)


def test_deploy_and_the_quick_rollback_run_in_the_runner_container(agent: Agent, request_loop, docker_client):
    """Deploy v1 and v2 through the runner, then roll back: status (from the host) says the quick path is ready,
    the rollback takes it (its report has the quick phase) with no failed request, the state and history are the
    host's, the multi-line secret reaches the app exactly, and no process's argv ever carried it."""
    with ArgvWatch() as watch:
        for tag in ("v1", "v2"):
            ok(agent.run("deploy", APP_TAG=tag))
        deployed = json.loads(agent.report("deploy").read_text(encoding="utf-8"))
        assert deployed["result"] == "success" and deployed["to"] == "green", deployed
        code, status = agent.site.status()  # the host's CLI, on the state the container wrote
        assert code == 0 and status["active"] == "green", status
        assert status["served"]["quick_rollback"] == "ready"
        loop = request_loop(agent.site.stack.public_url + "/", interval=0.02)
        rolled = agent.run("rollback", BLUEGREEN_REASON="runner test")
        failures = loop.stop().failures
    ok(rolled)
    report = json.loads(agent.report("rollback").read_text(encoding="utf-8"))
    assert report["to"] == "blue" and QUICK in report["phases"], (report, rolled.stderr)
    assert "traffic moved first" in rolled.stdout
    assert failures == [] and version(agent.site) == "v1"
    assert [(e["action"], e["result"]) for e in agent.site.history()[:3]] == [
        ("rollback", "success"), ("deploy", "success"), ("deploy", "success")]
    assert sorted(p.name for p in agent.site.state_dir.iterdir()) == [
        "backend.history.jsonl", "backend.lock", "backend.state.json"]

    green = docker_client.containers.get(agent.site.container("green"))
    assert f"DATABASE_URL={SECRET}" in green.attrs["Config"]["Env"]
    assert watch.leaks == []
    assert watch.docker_runs, "the sampler saw no `docker run`"
    for argv in watch.docker_runs:
        assert ["-e", "DATABASE_URL"] in [argv[i:i + 2] for i in range(len(argv))]  # by name only
        assert {"--network", "host", "--pid", "--rm"} <= set(argv)
    assert runner_containers(docker_client) == []  # thrown away
    assert oct(agent.report("rollback").stat().st_mode & 0o777) == "0o644"  # the agent reads it


def test_a_state_dir_not_mounted_from_the_host_is_refused_inside(agent: Agent, docker_client):
    """Without BLUEGREEN_RUNNER_STATE_DIR the state_dir would be the throwaway container's: the CLI says so in one
    line and exits 2; nothing starts and nothing lands in the host's state_dir."""
    result = agent.run("deploy", state_dir=False, APP_TAG="v1")

    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("❌ state_dir ") and "own filesystem (BLUEGREEN_RUNNER=docker)" in lines[-1]
    assert "Traceback" not in result.stderr
    assert agent.site.running_names() == set()
    assert not agent.site.state_dir.exists()
    assert runner_containers(docker_client) == []


def test_an_image_without_python3_is_named(agent: Agent, images):
    """A runner image with no python3: exit 127 and a line naming the image, nothing changed."""
    result = agent.run("deploy", BLUEGREEN_RUNNER_IMAGE=images.app, APP_TAG="v1")

    assert result.returncode == 127
    assert f"{images.app} has no runnable python3 on its PATH" in result.stderr
    assert agent.site.running_names() == set()


def _put(container, path: str, files: dict[str, bytes]) -> None:
    """Files into a container directory (tar through the API: the agent's workspace lives in a volume)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    container.exec_run(["mkdir", "-p", path])
    assert container.put_archive(path, data.getvalue())


def test_an_agent_in_a_container_lends_its_volumes(agent: Agent, docker_client, python_image: str):
    """A Jenkins agent running in a container (its home a Docker volume, no path on the host, the socket mounted):
    the runner finds its container, passes --volumes-from it so the workspace paths mean the same, binds the
    state_dir from the host, and the deploy works."""
    stack = agent.site.stack
    home = f"{stack.name}-jenkins-home"  # a volume: the workspace has no host path a -v could name
    workspace = "/var/jenkins_home/workspace/app"
    docker_client.volumes.create(home)
    container = None
    try:
        container = docker_client.containers.run(
            python_image, ["sleep", "600"], name=f"{stack.name}-agent", detach=True,
            volumes={home: {"bind": "/var/jenkins_home", "mode": "rw"},
                     "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
                     DOCKER_CLI: {"bind": DOCKER_CLI, "mode": "ro"}})
        _put(container, workspace, {"bluegreen.yml": agent.site.config_path.read_bytes()})
        _put(container, f"{workspace}@tmp", {"bluegreen.pyz": (agent.tmp / "bluegreen.pyz").read_bytes(),
                                             "bluegreen-docker-runner.sh": RUNNER.read_bytes()})
        env = {**agent.base, "HOME": "/var/jenkins_home", "APP_TAG": "v1",
               "BLUEGREEN_CLI": f"{workspace}@tmp/bluegreen.pyz",
               "BLUEGREEN_RUNNER_SCRIPT": f"{workspace}@tmp/bluegreen-docker-runner.sh",
               "BLUEGREEN_REPORT": f"{workspace}@tmp/bluegreen-deploy-backend.json",
               "BLUEGREEN_RUNNER_STATE_DIR": str(agent.site.state_dir)}
        code, output = container.exec_run(["sh", "-c", 'rm -f "$BLUEGREEN_REPORT"; sh "$BLUEGREEN_RUNNER_SCRIPT" deploy'],
                                          workdir=workspace, environment=env, demux=False)
        assert code == 0, output.decode(errors="replace")
        assert not Path(workspace).exists()  # only the agent's volume has it
        code, report = container.exec_run(["cat", f"{workspace}@tmp/bluegreen-deploy-backend.json"])
        assert code == 0 and json.loads(report)["to"] == "blue"
        wait_until(lambda: version(agent.site) == "v1", 10, "v1 served")
        assert (agent.site.state_dir / "backend.history.jsonl").exists()  # bound from the host
    finally:
        if container is not None:
            container.remove(force=True)
        docker_client.volumes.get(home).remove(force=True)
