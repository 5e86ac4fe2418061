"""One look at the live system: each color's instances, what nginx serves (switch.py says how that is known),
what bluegreen remembers, and what is wrong.

`status` prints this; every operation starts from it. The active color is the one nginx *serves* (the single
primary of the upstream it loaded), cross-checked with the instances; labels are never trusted for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from bluegreen.errors import Unreachable
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.runtime import ContainerRuntime
from bluegreen.parts.state import ServiceState, StateDir, now_iso
from bluegreen.parts.switch import RELOADED, UNKNOWN, Record, Served, Switch
from bluegreen.parts.upstream import UpstreamView
from bluegreen.settings import COLORS, Service


@dataclass(frozen=True)
class Problem:
    key: str  # message id (status.problem.*)
    params: dict[str, str] = field(default_factory=dict)
    repairable: bool = False  # the next deploy/rollback fixes it by itself


@dataclass(frozen=True)
class Live:
    service: Service
    instances: Mapping[str, tuple[ContainerInfo, ...]]
    served: Served
    state: ServiceState
    active: str | None
    backup: str | None
    problems: tuple[Problem, ...] = ()
    stale_lock: dict | None = None
    kept: Mapping[str, ContainerInfo] = field(default_factory=dict)  # previous versions set aside by a deploy
    remembered_view: UpstreamView = UpstreamView()  # the upstream of the last file bluegreen confirmed

    @property
    def remembered_active(self) -> str | None:
        view = self.remembered_view
        return self.service.color_of(view.primaries[0]) if len(view.primaries) == 1 else None

    @property
    def consistent(self) -> bool:
        return not self.problems

    @property
    def view(self):
        return self.served.view

    def instance(self, color: str | None) -> ContainerInfo | None:
        found = self.instances.get(color, ()) if color else ()
        return found[0] if found else None

    def running(self, color: str | None) -> bool:
        found = self.instances.get(color, ()) if color else ()
        return bool(found) and all(i.running for i in found)

    def orphans(self) -> list[str]:
        """Colors whose instances bluegreen started but that are neither named by the last finished switch nor
        promoted: an unfinished candidate. A container an operator ran by hand is never one."""
        staged = (self.state.staged or {}).get("color")  # waits for promote/abort: not unfinished
        named = {self.active, self.backup, staged}
        if self.unfinished_switch:  # the candidate an interrupted switch named is still unfinished
            view = self.remembered_view
            named = {self.service.color_of(h) for h in (*view.primaries, *view.backups)} | {staged}
        return [c for c, found in self.instances.items()
                if found and c not in named and all(i.ours for i in found)
                and self.state.promoted.get(c) != found[0].id]

    @property
    def unfinished_switch(self) -> bool:
        """nginx serves a file an interrupted run was installing (never confirmed, so never verified)."""
        pending = self.state.pending
        return pending is not None and self.served.loaded == pending and pending != self.state.loaded_config

    @property
    def leftover_file(self) -> bool:
        """The disk holds the file an interrupted run was installing, and nginx has not loaded it."""
        pending = self.state.pending
        return (pending is not None and self.served.disk == pending and self.served.file != pending
                and self.served.loaded != pending)

    @property
    def loaded_outside(self) -> bool:
        """nginx loaded an upstream file bluegreen did not write (a person edited it and reloaded)."""
        confirmed, served = self.state.loaded_config, self.served
        # Through a reload (the file), or — with the shared dictionary — through its socket, without one.
        changed_by = served.how == RELOADED or served.source is not None
        return (changed_by and confirmed is not None and served.loaded is not None and served.loaded != confirmed
                and not self.unfinished_switch)

    @property
    def switched_outside(self) -> bool:
        """…and it serves another color than bluegreen's last switch: the guide's hand switch."""
        return self.loaded_outside and self.active != self.remembered_active

    @property
    def edited_not_loaded(self) -> bool:
        """The file on disk was changed by someone else and nginx has not loaded it (or what it loaded since is
        not known)."""
        if self.state.pending is not None and self.served.disk == self.state.pending:
            return False  # bluegreen's own file, from an interrupted run: leftover_file / unfinished_switch
        return self.served.how == UNKNOWN or (self.served.file is not None and self.served.disk != self.served.file)


def record_of(state: ServiceState) -> Record:
    return Record(state.loaded_config, frozenset(state.workers), state.pending)


def look(service: Service, runtime: ContainerRuntime, switch: Switch, state_dir: StateDir) -> Live:
    if not switch.running():  # its files can still be read, but nothing can be served or reloaded
        raise Unreachable("nginx.not_running", name=switch.container)
    instances = {c: runtime.instances(c) for c in COLORS}
    state = state_dir.load()
    served = switch.look(record_of(state))
    view = served.view
    colors = {service.color_of(h) for h in view.primaries}
    active = colors.pop() if len(view.primaries) == 1 and len(colors) == 1 else None
    backups = {service.color_of(h) for h in view.backups}
    backup = backups.pop() if len(view.backups) == 1 and len(backups) == 1 else None
    if backup == active:
        backup = None
    stale = state_dir.stale_holder()
    # A version is set aside only inside a locked deploy, which puts it back or discards it before it ends: one
    # can be left only by a run that died holding the lock, or a staged deploy (two Docker requests saved
    # from every rollback otherwise).
    kept = {c: info for c in COLORS if (info := runtime.kept(c)) is not None} if stale or state.staged else {}
    live = Live(service, instances, served, state, active, backup, (), stale, kept,
                switch.view_of(state.loaded_config))
    return replace(live, problems=tuple(_problems(live)))


def _problems(live: Live) -> list[Problem]:
    s, view, served = live.service, live.view, live.served
    found: list[Problem] = []
    if served.disk is None and served.loaded is None:
        return [Problem("status.problem.no_file", {"path": s.upstream_file})]
    if live.loaded_outside:
        key = "status.problem.switched_outside" if live.switched_outside else "status.problem.edited_outside"
        found.append(Problem(key, {"color": live.active or "-", "path": s.upstream_file, "since": _when(served.since)},
                             repairable=True))
    if live.edited_not_loaded:
        found.append(Problem("status.problem.edited_not_loaded", {"path": s.upstream_file,
                                                                  "nginx": served.container}))
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
    for host in dict.fromkeys(hosts):
        if s.color_of(host) is None:
            found.append(Problem("status.problem.foreign", {"name": host}))
    for color in (live.active, live.backup):
        if color and not live.running(color):
            found.append(Problem("status.problem.not_running", {"name": s.container(color)}))
    if live.leftover_file:
        found.append(Problem("status.problem.disk_not_loaded", {"path": s.upstream_file}, repairable=True))
    if live.unfinished_switch:
        found.append(Problem("status.problem.unfinished_switch", {"path": s.upstream_file}, repairable=True))
    for color in live.orphans():
        found.append(Problem("status.problem.orphan", {"name": s.container(color)}, repairable=True))
    staged = (live.state.staged or {}).get("color")
    for color, info in live.kept.items():
        if color != staged:
            found.append(Problem("status.problem.kept", {"name": info.name, "color": color}, repairable=True))
    if live.stale_lock:
        found.append(Problem("status.problem.stale_lock", {k: str(v) for k, v in live.stale_lock.items()},
                             repairable=True))
    return found


def _when(epoch: float | None) -> str:
    return now_iso(epoch) if epoch is not None else "?"
