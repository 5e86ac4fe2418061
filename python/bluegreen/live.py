"""One look at the live system: containers of both colors, the upstream as nginx has it, and what is wrong.

`status` prints this; `deploy` and `rollback` start from it. The active color comes from nginx (the single
primary server of the upstream), cross-checked with the containers; labels are never trusted for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.config import Service
from bluegreen.containers import ContainerInfo, Docker
from bluegreen.errors import Unreachable
from bluegreen.nginx import NginxGate
from bluegreen.state import ServiceState, StateDir
from bluegreen.upstream import UpstreamView, parse_upstream

COLORS = ("blue", "green")


def other(color: str | None) -> str:
    return "green" if color == "blue" else "blue"


@dataclass(frozen=True)
class Problem:
    key: str  # message id (status.problem.*)
    params: dict[str, str] = field(default_factory=dict)
    repairable: bool = False  # the next deploy/rollback fixes it by itself


@dataclass(frozen=True)
class Live:
    service: Service
    containers: dict[str, ContainerInfo | None]
    disk: str | None  # the upstream file as it is on disk
    loaded: str | None  # what nginx serves: the confirmed text, or the disk file when none was recorded
    view: UpstreamView
    state: ServiceState
    active: str | None
    backup: str | None
    problems: tuple[Problem, ...]
    stale_lock: dict | None = None

    @property
    def consistent(self) -> bool:
        return not self.problems

    def running(self, color: str | None) -> bool:
        info = self.containers.get(color) if color else None
        return bool(info and info.running)

    def orphans(self) -> list[str]:
        """Colors whose container is neither served by nginx nor a promoted version: an unfinished candidate."""
        named = {self.active, self.backup}
        return [c for c, info in self.containers.items()
                if info and c not in named and self.state.promoted.get(c) != info.id]


def observe(service: Service, docker: Docker, gate: NginxGate, state_dir: StateDir) -> Live:
    nginx = docker.inspect(gate.container)
    if not nginx or not nginx.running:  # its files can still be read, but nothing can be served or reloaded
        raise Unreachable("nginx.not_running", name=gate.container)
    containers = {c: docker.inspect(service.container(c)) for c in COLORS}
    disk = gate.read()
    state = state_dir.load()
    loaded = state.loaded_config if state.loaded_config is not None else disk
    view = parse_upstream(loaded, service.upstream)
    by_host = {service.container(c): c for c in COLORS}
    active = by_host.get(view.primaries[0]) if len(view.primaries) == 1 else None
    backup = by_host.get(view.backups[0]) if len(view.backups) == 1 else None
    if backup == active:
        backup = None
    live = Live(service, containers, disk, loaded, view, state, active, backup, (), state_dir.stale_holder())
    return Live(**{**live.__dict__, "problems": tuple(_problems(live))})


def _problems(live: Live) -> list[Problem]:
    s, view = live.service, live.view
    found: list[Problem] = []
    if live.disk is None and live.loaded is None:
        return [Problem("status.problem.no_file", {"path": s.upstream_file})]
    if view.blocks == 0:
        found.append(Problem("status.problem.no_block", {"upstream": s.upstream, "path": s.upstream_file}))
    elif view.blocks > 1:
        found.append(Problem("status.problem.many_blocks", {"upstream": s.upstream, "count": str(view.blocks)}))
    hosts = list(view.primaries) + list(view.backups)
    for host in sorted({h for h in hosts if hosts.count(h) > 1}):
        found.append(Problem("status.problem.named_twice", {"name": host}))
    if len(set(view.primaries)) > 1:
        found.append(Problem("status.problem.two_primaries", {"names": ", ".join(view.primaries)}))
    if len(set(view.backups)) > 1:
        found.append(Problem("status.problem.two_backups", {"names": ", ".join(view.backups)}))
    if view.blocks and not view.primaries:
        found.append(Problem("status.problem.no_primary", {"upstream": s.upstream}))
    ours = {s.container(c) for c in COLORS}
    for host in dict.fromkeys(hosts):
        if host not in ours:
            found.append(Problem("status.problem.foreign", {"name": host}))
    for color in (live.active, live.backup):
        if color and not live.running(color):
            found.append(Problem("status.problem.not_running", {"name": s.container(color)}))
    if live.state.loaded_config is not None and live.disk != live.state.loaded_config:
        found.append(Problem("status.problem.disk_not_loaded", {"path": s.upstream_file}, repairable=True))
    for color in live.orphans():
        found.append(Problem("status.problem.orphan", {"name": s.container(color)}, repairable=True))
    if live.stale_lock:
        found.append(Problem("status.problem.stale_lock", {k: str(v) for k, v in live.stale_lock.items()},
                             repairable=True))
    return found
