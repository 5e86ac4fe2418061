"""resources/bluegreen/docker-runner.sh without an engine: a stand-in `docker` on the PATH records the command line
the runner builds (tests/test_docker_runner.py runs the same file against the real engine). What reaches argv:
the flags, the paths shared at the same path, the build's environment by name only, less the agent's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "resources" / "bluegreen" / "docker-runner.sh"
SECRET = "line one of the secret\nline two=with an equals sign\n"
# A stand-in docker: `inspect` knows no container; `run` writes its argv, NUL-separated, and exits with $FAKE_EXIT.
FAKE_DOCKER = """#!/bin/sh
if [ "$1" = inspect ]; then exit 1; fi
printf '%s\\0' "$@" > "$FAKE_ARGV"
exit "${FAKE_EXIT:-0}"
"""


@pytest.fixture
def agent(tmp_path: Path) -> dict:
    """A workspace with a space in its path, its @tmp dir with the CLI, a state_dir elsewhere, a fake docker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    workspace = tmp_path / "workspace" / "my app"
    (Path(f"{workspace}@tmp")).mkdir(parents=True)
    workspace.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "BLUEGREEN_CLI": f"{workspace}@tmp/bluegreen.pyz", "BLUEGREEN_REPORT": f"{workspace}@tmp/r.json",
           "BLUEGREEN_SERVICE": "backend", "BLUEGREEN_RUNNER": "docker", "BLUEGREEN_RUNNER_IMAGE": "img:3",
           "BLUEGREEN_RUNNER_STATE_DIR": str(tmp_path / "state"), "BLUEGREEN_RUNNER_SCRIPT": str(RUNNER),
           "DATABASE_URL": SECRET, "REGISTRY_URL": "reg:5000", "JENKINS_SECRET": "agent-secret",
           "LD_LIBRARY_PATH": "/evil", "PYTHONPATH": "/evil", "DOCKER_HOST": "tcp://elsewhere:2375",
           "FAKE_ARGV": str(tmp_path / "argv"), "BLUEGREEN_CACHE_DIR": "/agent/cache"}
    return {"workspace": workspace, "env": env, "tmp": tmp_path}


def run(agent: dict, *command: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    result = subprocess.run(["sh", str(RUNNER), *command], cwd=agent["workspace"], env={**agent["env"], **env},
                            text=True, capture_output=True, timeout=30)
    argv_file = agent["tmp"] / "argv"
    argv = argv_file.read_text().split("\0")[:-1] if argv_file.exists() else []
    return result, argv


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == flag]


def test_the_flags_paths_and_environment_names_of_the_container(agent: dict):
    """--rm, the host's network and PID namespace, the socket, the working directory; the workspace (with its
    space), the temp dir and the state_dir at their own paths; every variable of the build by name, the secret
    among them, and none of the agent's own (PATH, HOME, the loader's, Python's, docker's, the agent's secret)."""
    result, argv = run(agent, "deploy", "--stage")
    workspace = str(agent["workspace"])

    assert result.returncode == 0, result.stderr
    assert argv[:2] == ["run", "--rm"] and "--network" in argv and "--pid" in argv
    assert pairs(argv, "--network") == ["host"] and pairs(argv, "--pid") == ["host"]
    assert pairs(argv, "-w") == [workspace]
    assert pairs(argv, "-v") == ["/var/run/docker.sock:/var/run/docker.sock", f"{workspace}:{workspace}",
                                 f"{workspace}@tmp:{workspace}@tmp", f"{agent['tmp']}/state:{agent['tmp']}/state"]
    names = pairs(argv, "-e")
    assert "BLUEGREEN_RUNNER=docker" in names
    assert {"DATABASE_URL", "REGISTRY_URL", "LANG", "BLUEGREEN_CLI", "BLUEGREEN_REPORT", "BLUEGREEN_SERVICE"} <= set(names)
    assert not {"PATH", "HOME", "LD_LIBRARY_PATH", "PYTHONPATH", "DOCKER_HOST", "JENKINS_SECRET",
                "BLUEGREEN_CACHE_DIR", "BLUEGREEN_RUNNER_IMAGE", "BLUEGREEN_RUNNER_STATE_DIR"} & set(names)
    assert argv[-5:] == ["img:3", "-I", f"{workspace}@tmp/bluegreen.pyz", "deploy", "--stage"]
    assert pairs(argv, "--entrypoint") == ["python3"]
    for line in SECRET.splitlines():
        assert not [arg for arg in argv if line in arg]


def test_a_config_elsewhere_is_shared_and_one_inside_the_workspace_is_not_shared_twice(agent: dict):
    """An absolute bluegreen.yml outside the workspace (the Rollback job's BLUEGREEN_CONFIG) brings its directory;
    a relative one is inside the workspace already."""
    _, argv = run(agent, "rollback", BLUEGREEN_CONFIG="/srv/maice/bluegreen.yml")
    assert "/srv/maice:/srv/maice" in pairs(argv, "-v")
    _, argv = run(agent, "rollback", BLUEGREEN_CONFIG="deploy/bluegreen.yml")
    assert len(pairs(argv, "-v")) == 4


@pytest.mark.parametrize("command", [["status"], ["deploy", "--image", "x"], ["rollback;", "reboot"], []])
def test_a_command_the_steps_never_run_is_refused(agent: dict, command: list[str]):
    """Only the steps' command lines: anything else is one line, exit 2, and docker never runs."""
    result, argv = run(agent, *command)
    assert result.returncode == 2 and argv == []
    assert "unknown bluegreen command" in result.stderr


@pytest.mark.parametrize("variable, value, says", [
    ("BLUEGREEN_RUNNER_STATE_DIR", "/srv/a:b", "docker -v takes no ':'"),
    ("BLUEGREEN_RUNNER_STATE_DIR", "relative/state", "not an absolute directory"),
    ("BLUEGREEN_CONFIG", "/bluegreen.yml", "cannot share '/'"),
    ("BLUEGREEN_RUNNER_IMAGE", "", "BLUEGREEN_RUNNER_IMAGE"),
])
def test_a_path_docker_cannot_share_or_a_missing_image_is_refused(agent: dict, variable: str, value: str, says: str):
    """A path with ':' (docker -v's separator), a relative or root path, no image: exit 2 saying which."""
    result, argv = run(agent, "deploy", **{variable: value})
    assert result.returncode == 2 and argv == []
    assert says in result.stderr


@pytest.mark.parametrize("code, says", [(125, "docker could not start a container of img:3"),
                                        (127, "img:3 has no runnable python3 on its PATH"), (4, None)])
def test_the_exit_code_is_the_containers_and_docker_failures_are_named(agent: dict, code: int, says: str | None):
    """The CLI's exit code comes back as it is (4: lock held); docker's own 125 and a missing python3 are named."""
    result, _ = run(agent, "deploy", FAKE_EXIT=str(code))
    assert result.returncode == code
    assert (says in result.stderr) if says else result.stderr == ""


def test_the_runner_is_posix_sh():
    """It runs under dash (Debian's /bin/sh, the jenkins/jenkins image's): no bash-only syntax."""
    dash = "/usr/bin/dash" if os.path.exists("/usr/bin/dash") else "/bin/sh"
    assert subprocess.run([dash, "-n", str(RUNNER)]).returncode == 0
