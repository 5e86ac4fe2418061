"""`NginxControl.reload` with `reload: signal` SIGHUPs nginx's master from this host and never asks Docker to send a
signal (Docker's kill API marks the container stopped by hand: `unless-stopped` then leaves nginx down after a
reboot); where the master cannot be signalled from here, `nginx -s reload` in the container does it."""

from __future__ import annotations

import subprocess
import time

import pytest

from bluegreen.clock import REAL
from bluegreen.parts.engine import Process
from bluegreen.parts.host_nginx import MASTER
from bluegreen.parts.nginx import NginxControl
from bluegreen.config.settings import Nginx


class _Docker:
    """The engine as the gate sees it: `docker top` lists `master_pid` as nginx's master, and a new worker
    generation once the master got a SIGHUP (the fake master writes a line per SIGHUP) or an exec reloaded."""

    def __init__(self, master_pid: int, hups) -> None:
        self.master_pid, self.hups = master_pid, hups
        self.execs: list[list[str]] = []

    def processes(self, container: str) -> list[Process]:
        generation = len(self.hups()) + sum(1 for cmd in self.execs if cmd == ["nginx", "-s", "reload"])
        return [Process(str(self.master_pid), 5, f"{MASTER} /usr/sbin/nginx -g daemon off;"),
                Process(str(900 + generation), 1, "nginx: worker process")]

    def exec(self, container: str, cmd: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        self.execs.append(cmd)
        return 0, ""

    def __getattr__(self, name: str):  # signal, kill…: anything else is a request the gate must not make
        raise AssertionError(f"the gate asked the engine for {name}")


@pytest.fixture
def fake_master(tmp_path):
    """A process whose title is nginx's master's and that counts the SIGHUPs it gets."""
    log = tmp_path / "hups"
    log.touch()
    script = f"trap 'echo hup >> {log}' HUP; while :; do sleep 0.05; done"
    proc = subprocess.Popen(["bash", "-c", f'exec -a "{MASTER}" bash -c "$0"', script])
    deadline = time.monotonic() + 5
    while not open(f"/proc/{proc.pid}/cmdline", "rb").read().startswith(MASTER.encode()):
        assert time.monotonic() < deadline, "the fake master did not take its title"
        time.sleep(0.01)  # poll: bash is exec'ing under its new title
    yield proc.pid, lambda: log.read_text().split()
    proc.kill()
    proc.wait()


def _control(docker: _Docker, reload: str = "signal") -> NginxControl:
    return NginxControl(docker, Nginx(container="nginx", reload=reload, reload_timeout=5.0),  # type: ignore[arg-type]
                     "/etc/nginx/conf.d/up.conf", REAL)


def test_the_master_gets_sighup_from_this_host_and_docker_sends_no_signal(fake_master):
    pid, hups = fake_master
    docker = _Docker(pid, hups)
    generation = _control(docker).reload()  # confirmed once the fake master counted the SIGHUP
    assert hups() == ["hup"] and docker.execs == []
    assert generation.workers == frozenset({"901"})


def test_a_master_this_process_cannot_see_is_reloaded_inside_the_container():
    not_nginx = subprocess.Popen(["sleep", "30"])  # a pid whose process is not an nginx master (another namespace)
    try:
        docker = _Docker(not_nginx.pid, lambda: [])
        _control(docker).reload()
        assert docker.execs == [["nginx", "-s", "reload"]]
        assert not_nginx.poll() is None  # never signalled
    finally:
        not_nginx.kill()
        not_nginx.wait()


def test_reload_exec_never_signals_from_here(fake_master):
    pid, hups = fake_master
    docker = _Docker(pid, hups)
    _control(docker, reload="exec").reload()
    assert docker.execs == [["nginx", "-s", "reload"]] and hups() == []
