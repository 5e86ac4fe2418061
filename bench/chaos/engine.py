"""A Docker engine of the bench's own, in a network namespace of its own (issue 24's recipe), so that the rows
that restart an engine (11a, 11b, 11c) stop only this engine's containers, never the machine's other ones.

    python bench/chaos/engine.py up NAME      # namespace NAME, dockerd on unix:///run/docker-NAME.sock, test images
    python bench/chaos/engine.py down NAME    # the engine, its data, the namespace: gone

The engine runs `nsenter --net=/run/netns/NAME dockerd --data-root /var/lib/docker-NAME --exec-root
/run/docker-NAME -H unix:///run/docker-NAME.sock --pidfile /run/docker-NAME.pid --bip …` (`ip netns exec`
remounts /sys and dockerd fails: "Devices cgroup isn't mounted"). It needs no link to the host: its containers
publish ports on the namespace's loopback, so whatever talks to them (the bench, the load, the bluegreen CLI's
health probes over the bridge) runs inside the namespace too (chaos_bench.py --own-engine does that). Nothing
leaves this machine: the namespace has no route anywhere.

The engine is found again from DOCKER_HOST alone (`of_docker_host`): dockerd.py restarts this engine, not the
machine's, when DOCKER_HOST names one.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker

TEST_IMAGES = ("bluegreen-test/app:v1", "bluegreen-test/app:v2", "bluegreen-test/app:v3",
               "bluegreen-test/nginx:1", "bluegreen-test/nginx:1.30")
_NAME = re.compile(r"[a-z][a-z0-9-]{1,30}")


@dataclass(frozen=True)
class OwnEngine:
    name: str
    bip: str = "10.198.0.1/24"  # not the machine's 172.x: addresses in the results tell the engines apart
    pool: str = "10.197.0.0/16"
    flags: tuple[str, ...] = ()  # more dockerd flags (tests/swarm_nodes.py: --insecure-registry)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"engine name {self.name!r}: lower-case letters, digits and '-'")

    @property
    def netns(self) -> Path:
        return Path("/run/netns") / self.name

    @property
    def sock(self) -> str:
        return f"/run/docker-{self.name}.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    @property
    def pidfile(self) -> Path:
        return Path(f"/run/docker-{self.name}.pid")

    @property
    def data_root(self) -> Path:
        return Path(f"/var/lib/docker-{self.name}")

    @property
    def exec_root(self) -> Path:
        return Path(f"/run/docker-{self.name}")

    @property
    def log(self) -> Path:
        return Path(f"/tmp/docker-{self.name}.log")

    def client(self, timeout: int = 60) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def enter(self) -> list[str]:
        """The prefix that runs a command in the namespace."""
        return ["nsenter", f"--net={self.netns}"]

    # --- the engine ------------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid if _is_dockerd(pid) else None

    def answers(self) -> bool:
        try:
            self.client(timeout=5).ping()
            return True
        except Exception:  # noqa: BLE001 - not answering (yet)
            return False

    def live_restore(self) -> bool | None:
        try:
            return bool(self.client(timeout=10).info().get("LiveRestoreEnabled"))
        except Exception:  # noqa: BLE001 - not answering
            return None

    def start(self, *, live: bool = False, timeout: float = 60) -> float:
        """dockerd in the namespace, detached (it outlives the caller); seconds until it answers."""
        t0 = time.monotonic()
        if self.pid() is None:
            # a UTS namespace of its own named like the engine: a Swarm node's name is its engine's hostname
            args = [*self.enter(), "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.name,
                    "dockerd", f"--data-root={self.data_root}", f"--exec-root={self.exec_root}",
                    f"-H={self.host}", f"--pidfile={self.pidfile}", f"--bip={self.bip}",
                    f"--default-address-pool=base={self.pool},size=24", *(["--live-restore"] if live else []),
                    *self.flags]
            with open(self.log, "ab") as log:
                subprocess.Popen(["setsid", *args], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        deadline = t0 + timeout
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"engine {self.name} did not answer within {timeout:.0f} s (see {self.log})")
            time.sleep(0.05)  # poll: dockerd is starting
        return time.monotonic() - t0

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM this engine's dockerd (never another: the pid is its own pidfile's) and wait until it exited."""
        t0, pid = time.monotonic(), self.pid()
        if pid is None:
            return 0.0
        os.kill(pid, signal.SIGTERM)
        deadline = t0 + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd of {self.name} (pid {pid}) did not exit within {timeout:.0f} s")
            time.sleep(0.05)  # poll: without live-restore dockerd stops its containers, then exits
        return time.monotonic() - t0

    # --- the whole of it -------------------------------------------------------------------------------------
    def up(self, images: tuple[str, ...] = TEST_IMAGES) -> None:
        if not self.netns.exists():
            subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run([*self.enter(), "ip", "link", "set", "lo", "up"], check=True)
        self.start()
        self.load(images)

    def load(self, images: tuple[str, ...]) -> None:
        """The machine's test images into this engine (`docker save | docker -H … load`)."""
        mine = self.client()
        missing = [ref for ref in images if not _has(mine, ref)]
        if not missing:
            return
        save = subprocess.Popen(["docker", "-H", "unix:///var/run/docker.sock", "save", *missing],
                                stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "-H", self.host, "load", "-q"], stdin=save.stdout, capture_output=True,
                              text=True)
        save.stdout.close()
        if save.wait() != 0 or load.returncode != 0:
            raise RuntimeError(f"loading {missing} into {self.name}: {load.stderr.strip()}")

    def down(self) -> list[str]:
        """Stop the engine (without live-restore its containers stop with it), remove its data and the namespace;
        what could not be removed."""
        errors = []
        pid = self.pid()
        if pid is not None:
            if self.live_restore():  # live-restore would leave the containers running: remove them first
                try:
                    for c in self.client().containers.list(all=True):
                        c.remove(force=True)
                except Exception as exc:  # noqa: BLE001 - reported
                    errors.append(f"containers: {exc}")
            try:
                self.stop()
            except RuntimeError as exc:
                errors.append(str(exc))
                os.kill(pid, signal.SIGKILL)
        for path in (self.data_root, self.exec_root):
            for mount in _mounts_under(path):
                subprocess.run(["umount", "-l", mount], check=False)
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                errors.append(f"{path} not removed")
        for path in (self.pidfile, Path(self.sock)):
            path.unlink(missing_ok=True)
        if self.netns.exists():
            r = subprocess.run(["ip", "netns", "del", self.name], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"ip netns del {self.name}: {r.stderr.strip()}")
        return errors


def of_docker_host(value: str | None = None) -> OwnEngine | None:
    """The engine DOCKER_HOST names, when it is one of these (`unix:///run/docker-NAME.sock` with a namespace
    NAME); None for the machine's own engine."""
    value = os.environ.get("DOCKER_HOST", "") if value is None else value
    match = re.fullmatch(r"unix:///run/docker-([a-z][a-z0-9-]{1,30})\.sock", value)
    if not match or not (Path("/run/netns") / match.group(1)).exists():
        return None
    return OwnEngine(match.group(1))


def _has(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (our own child that exited) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _is_dockerd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except OSError:
        return False


def _mounts_under(path: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1]
        if target == str(path) or target.startswith(f"{path}/"):
            found.append(target)
    return sorted(found, key=len, reverse=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("up", "down"):
        sys.exit("usage: engine.py up|down NAME")
    engine = OwnEngine(sys.argv[2])
    if sys.argv[1] == "up":
        engine.up()
        print(engine.host)
    else:
        problems = engine.down()
        print("\n".join(problems) or "removed")
        sys.exit(1 if problems else 0)
