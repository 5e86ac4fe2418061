"""A Swarm of three nodes on this machine, for the tests that deploy across nodes (issue 24): a manager and two
workers, each a Docker engine of the tests' own in a network namespace of its own (bench/chaos/engine.py), and the
registry they pull from. The machine's own engine is never touched, except to read the test images out of it.

    bgmn-lan   a namespace holding only the bridge bgmn-br: the nodes' "LAN" (its iptables are empty, so bridged
               frames pass; on the host, Docker's FORWARD policy DROP would stop them)
    bgmn-host  the host's end of a veth into that bridge: 10.99.24.1, so the tests reach nginx's published port
    bgmn-mgr   10.99.24.2: the manager engine, the registry (Debian's docker-registry, plain HTTP on :5000: the
               engines are started with --insecure-registry for it), nginx
    bgmn-w1/w2 10.99.24.3/.4: the workers

Nothing leaves this machine: no namespace has a route beyond 10.99.24.0/24. Every name is bgmn-*, and `clear()`
(run before `up()` and after) removes whatever a previous run left, an interrupted one included.

    .venv/bin/python tests/swarm_nodes.py up|down   # by hand; then DOCKER_HOST=unix:///run/docker-bgmn-mgr.sock
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from chaos.engine import OwnEngine, _alive  # noqa: E402
from helpers import WaitTimeout, wait_until  # noqa: E402  (tests/: on the path of whoever imports this file)

LAN, BRIDGE, HOST_LINK = "bgmn-lan", "bgmn-br", "bgmn-host"
SUBNET = "10.99.24"
HOST_ADDRESS = f"{SUBNET}.1"
MANAGER_ADDRESS = f"{SUBNET}.2"
REGISTRY = f"{MANAGER_ADDRESS}:5000"
OVERLAY_POOL = "10.214.0.0/16"  # the overlays' subnets: recognisable in the upstream file
REGISTRY_DIR = Path("/var/lib/bgmn-registry")
REGISTRY_PID = Path("/run/bgmn-registry.pid")
LOCK = Path("/run/bgmn.lock")  # one holder of the bgmn-* names at a time: a second run's clear() would end ours
NODES = ("bgmn-mgr", "bgmn-w1", "bgmn-w2")
PUSHED = ("bluegreen-test/app:v1", "bluegreen-test/app:v2", "bluegreen-test/app:v3")
NGINX = "bluegreen-test/nginx:1.30"


def engine(index: int) -> OwnEngine:
    name = NODES[index]
    return OwnEngine(name, bip=f"10.96.{index + 1}.1/24", pool=f"10.{180 + index}.0.0/16",
                     flags=(f"--insecure-registry={REGISTRY}",))


def address(index: int) -> str:
    return f"{SUBNET}.{index + 2}"


def registry_ref(image: str) -> str:
    return f"{REGISTRY}/{image}"


@dataclass(frozen=True)
class Nodes:
    manager: OwnEngine
    workers: tuple[OwnEngine, ...]

    @property
    def host(self) -> str:
        """DOCKER_HOST of the manager: where bluegreen runs its commands."""
        return self.manager.host


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *(["-n", netns] if netns else []), *args], check=check, capture_output=True,
                          text=True)


def _lan() -> None:
    _ip("netns", "add", LAN)
    _ip("link", "set", "lo", "up", netns=LAN)
    _ip("link", "add", BRIDGE, "type", "bridge", netns=LAN)
    _ip("link", "set", BRIDGE, "up", netns=LAN)
    _ip("link", "add", HOST_LINK, "type", "veth", "peer", "name", f"{HOST_LINK}-p", "netns", LAN)
    _ip("addr", "add", f"{HOST_ADDRESS}/24", "dev", HOST_LINK)
    _ip("link", "set", HOST_LINK, "up")
    _ip("link", "set", f"{HOST_LINK}-p", "master", BRIDGE, "up", netns=LAN)


def _node_link(index: int) -> None:
    """The node's namespace, its eth0 on the LAN bridge (the other end of the veth is in bgmn-lan)."""
    name = NODES[index]
    _ip("netns", "add", name)
    _ip("link", "set", "lo", "up", netns=name)
    _ip("link", "add", f"{name}-p", "type", "veth", "peer", "name", "eth0", "netns", name, netns=LAN)
    _ip("link", "set", f"{name}-p", "master", BRIDGE, "up", netns=LAN)
    _ip("addr", "add", f"{address(index)}/24", "dev", "eth0", netns=name)
    _ip("link", "set", "eth0", "up", netns=name)


def _registry() -> None:
    """docker-registry on the manager's address; its pid in REGISTRY_PID."""
    REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
    config = REGISTRY_DIR / "config.yml"
    config.write_text("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {REGISTRY_DIR}/data\n  delete:\n    enabled: true\n"
                      f"http:\n  addr: {REGISTRY}\n")
    with open(REGISTRY_DIR / "log", "ab") as log:
        proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{NODES[0]}", "docker-registry", "serve", str(config)],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    REGISTRY_PID.write_text(str(proc.pid))

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the registry exited (see {REGISTRY_DIR}/log)")
        return httpx.get(f"http://{REGISTRY}/v2/", timeout=1).status_code == 200

    wait_until(answers, 20, f"the registry on {REGISTRY} (see {REGISTRY_DIR}/log)", interval=0.05)


def _push(manager: OwnEngine, images: tuple[str, ...]) -> None:
    """The machine's test images into the manager (`docker save | load`: the machine's engine does not trust this
    registry, and is never reconfigured), then pushed from there."""
    manager.load((*images, NGINX))
    client = manager.client(timeout=120)
    for image in images:
        repository, tag = image.rsplit(":", 1)
        client.images.get(image).tag(registry_ref(repository), tag)
        for line in client.images.push(registry_ref(repository), tag=tag, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"push {registry_ref(image)}: {line['error']}")


def _swarm(manager: OwnEngine, workers: tuple[OwnEngine, ...]) -> None:
    client = manager.client()
    client.swarm.init(advertise_addr=MANAGER_ADDRESS, listen_addr=f"{MANAGER_ADDRESS}:2377",
                      default_addr_pool=[OVERLAY_POOL], subnet_size=24)
    token = client.swarm.attrs["JoinTokens"]["Worker"]
    for index, worker in enumerate(workers, start=1):
        worker.client().swarm.join(remote_addrs=[f"{MANAGER_ADDRESS}:2377"], join_token=token,
                                   advertise_addr=address(index), listen_addr=f"{address(index)}:2377")
    # a joined node reports ready after its first heartbeat
    wait_until(lambda: sum(n.attrs["Status"]["State"] == "ready" for n in client.nodes.list()) == len(NODES), 30,
               "the workers ready")


def up(images: tuple[str, ...] = PUSHED) -> Nodes:
    """The LAN, three engines, the registry with `images` in it, the Swarm; whatever a previous run left first
    removed."""
    clear()
    engines = tuple(engine(i) for i in range(len(NODES)))
    _lan()
    for index in range(len(NODES)):
        _node_link(index)
    for one in engines:
        one.start()
    _registry()
    _push(engines[0], images)
    _swarm(engines[0], engines[1:])
    return Nodes(engines[0], engines[1:])


def rejoin(nodes: Nodes, index: int, killed: int | None = None) -> None:
    """Worker `index` (1, 2) back in the swarm, ready: its engine started again (once `killed`, the pid of its
    dockerd that was killed, has exited) and, if the manager removed the node meanwhile, out of its old swarm and
    joined anew."""
    worker, manager = nodes.workers[index - 1], nodes.manager.client()
    if killed is not None:  # start() would take a dockerd not yet gone for the running engine
        exited(killed, "the killed dockerd")
    worker.start()

    def listed(ready: bool) -> bool:
        return any(n.attrs["Description"]["Hostname"] == NODES[index]
                   and (not ready or n.attrs["Status"]["State"] == "ready") for n in manager.nodes.list())

    if not listed(ready=False):
        worker.client().swarm.leave(force=True)
        worker.client().swarm.join(remote_addrs=[f"{MANAGER_ADDRESS}:2377"],
                                   join_token=manager.swarm.attrs["JoinTokens"]["Worker"],
                                   advertise_addr=address(index), listen_addr=f"{address(index)}:2377")
    wait_until(lambda: listed(ready=True), 40, f"{NODES[index]} ready (after its first heartbeat)")


@contextlib.contextmanager
def exclusive(timeout: float = 600) -> Iterator[None]:
    """Hold LOCK (another test run holding it is waited for, up to `timeout` seconds)."""
    with open(LOCK, "a") as handle:
        # another run's swarm in use: BlockingIOError, "not yet"
        wait_until(lambda: fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB) is None, timeout,
                   f"{LOCK}, held by another run", interval=0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clear() -> list[str]:
    """Remove every engine, namespace, link and registry named bgmn-*; what could not be removed."""
    problems: list[str] = []
    pid = _registry_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        exited(pid, "the registry")
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    REGISTRY_PID.unlink(missing_ok=True)
    shutil.rmtree(REGISTRY_DIR, ignore_errors=True)
    left = {p.name for p in Path("/run/netns").glob("bgmn-*")} if Path("/run/netns").exists() else set()
    for name in NODES:  # also an engine whose namespace is gone already (its pidfile, data and exec roots)
        problems += OwnEngine(name).down()
    problems += _end_orphans()
    for name in sorted(left - set(NODES)):  # bgmn-lan, and anything else of ours
        r = _ip("netns", "del", name, check=False)
        if r.returncode != 0:
            problems.append(f"ip netns del {name}: {r.stderr.strip()}")
    if _ip("link", "show", HOST_LINK, check=False).returncode == 0:  # gone with its peer, unless that failed
        _ip("link", "del", HOST_LINK, check=False)
    return problems


def _registry_pid() -> int | None:
    try:
        pid = int(REGISTRY_PID.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "docker-registry" else None  # never another process that got the pid since


def leftovers() -> list[str]:
    """What of ours exists now (nothing, after clear())."""
    found = [str(p) for p in Path("/run/netns").glob("bgmn-*")] if Path("/run/netns").exists() else []
    found += [str(p) for p in Path("/run").glob("docker-bgmn-*")] + [str(p) for p in Path("/var/lib").glob("*bgmn-*")]
    if _ip("link", "show", HOST_LINK, check=False).returncode == 0:
        found.append(f"link {HOST_LINK}")
    if _registry_pid() is not None:
        found.append("registry process")
    found += [f"dockerd {pid}" for pid in _dockerds_of_ours()]
    found += [f"containerd-shim {pid}" for pid in _orphan_shims()]
    return found


def _orphan_shims() -> list[int]:
    """The containerd shims of an engine of ours whose dockerd was killed (SIGKILL: its containerd dies with it,
    the shims and their containers run on, unmanaged; a test kills a worker's engine so)."""
    return [pid for pid, argv in _processes() if argv and argv[0].endswith(b"containerd-shim-runc-v2")
            and any(a.startswith(b"/run/docker-bgmn-") for a in argv)]


def _end_orphans() -> list[str]:
    """SIGKILL each orphaned shim's container (its init: the container's processes go with it), then the shim."""
    problems = []
    for shim in _orphan_shims():
        try:
            children = [int(p) for p in Path(f"/proc/{shim}/task/{shim}/children").read_text().split()]
        except OSError:
            children = []  # gone meanwhile
        for pid in [*children, shim]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        exited(shim, "the shim")
        if _alive(shim):
            problems.append(f"containerd-shim {shim} did not exit")
    return problems


def exited(pid: int, what: str) -> None:
    """Up to 10 s for `pid` to exit; the caller deals with one that did not."""
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: not _alive(pid), 10, f"{what} ({pid}) to exit", interval=0.05)


def _processes() -> Iterator[tuple[int, list[bytes]]]:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                yield int(proc.name), (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue


def _dockerds_of_ours() -> list[int]:
    return [pid for pid, argv in _processes() if argv and argv[0].endswith(b"dockerd")
            and any(a.startswith(b"--data-root=/var/lib/docker-bgmn-") for a in argv)]


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("up", "down"):
        sys.exit("usage: swarm_nodes.py up|down")
    with exclusive():
        if sys.argv[1] == "up":
            print(up().host)
            sys.exit(0)
        problems = clear()
        print("\n".join(problems) or "removed")
        sys.exit(1 if problems else 0)
