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
from bluegreen.parts.runtime import Runtime
from bluegreen.parts.state import ServiceState, StateDir, now_iso
from bluegreen.parts.switch import RELOADED, UNKNOWN, Record, Served, Switch
from bluegreen.parts.upstream import UpstreamView
from bluegreen.settings import Service


DOWN = ("status.problem.not_running", "status.problem.instance_down")  # a serving instance, by name, not running


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
    stale: tuple[str, ...] = ()  # addresses nginx names that no running instance has (Swarm, addresses rendered)

    @property
    def remembered_active(self) -> str | None:
        """The active color of the last file bluegreen confirmed."""
        return one_color(self.service, self.remembered_view.primaries)

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
        """The color can serve: it runs at least the instances a switch needs (`min_healthy`, else all of
        `replicas`); with one instance, that instance runs."""
        found = self.instances.get(color, ()) if color else ()
        if len(found) <= 1 or self.service.scale.replicas == 1:
            return bool(found) and all(i.running for i in found)
        return sum(i.running for i in found) >= self.service.scale.needed

    def release(self, color: str | None) -> str | None:
        """The deploy the color's instances come from (what the state remembers as promoted). Instances of two
        releases (a Swarm update that was interrupted) are the one not promoted: the color is on its way there."""
        releases = list(dict.fromkeys(i.release for i in (self.instances.get(color, ()) if color else ())))
        if len(releases) > 1:
            return next(r for r in releases if r != self.state.promoted.get(color or ""))
        return releases[0] if releases else None

    def promoted(self, color: str | None) -> bool:
        return color is not None and self.state.promoted.get(color) == self.release(color)

    def orphans(self) -> list[str]:
        """Colors whose instances bluegreen started but that are neither named by the last finished switch nor
        promoted: an unfinished candidate. A container an operator ran by hand is never one."""
        staged = (self.state.staged or {}).get("color")  # waits for promote/abort: not unfinished
        named = {self.active, self.backup, staged}
        if self.unfinished_switch:  # the candidate an interrupted switch named is still unfinished
            view = self.remembered_view
            named = {self.service.color_of(h) for h in (*view.primaries, *view.backups)} | {staged}
        return [c for c, found in self.instances.items()
                if found and c not in named and all(i.ours for i in found) and not self.promoted(c)]

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


def one_color(service: Service, hosts: tuple[str, ...]) -> str | None:
    """The color every host names (its container, or each of its replicas or tasks), None when they differ or
    one is not an instance of either color."""
    colors = {service.color_of(h) for h in hosts}
    return colors.pop() if len(colors) == 1 else None


def look(service: Service, runtime: Runtime, switch: Switch, state_dir: StateDir) -> Live:
    if not switch.running():  # its files can still be read, but nothing can be served or reloaded
        raise Unreachable("nginx.not_running", name=switch.container)
    survey = runtime.survey()
    state = state_dir.load()
    served = switch.look(record_of(state))
    view = served.view
    active = one_color(service, view.primaries)
    backup = one_color(service, view.backups)
    if backup == active:
        backup = None
    live = Live(service, survey.instances, served, state, active, backup, (), state_dir.stale_holder(),
                survey.kept, switch.view_of(state.loaded_config))
    if runtime.renders_addresses:
        live = replace(live, stale=_stale(live, runtime))
    seen = tuple(Problem(key, params) for key, params in survey.problems)
    seen += tuple(Problem(key, params, repairable) for key, params, repairable in served.problems)
    return replace(live, problems=seen + tuple(_problems(live)))


def _stale(live: Live, runtime: Runtime) -> tuple[str, ...]:
    """Addresses rendered into the file that no running instance of the active or backup color has any more (a
    task Swarm replaced since: its successor has another address), and running ones it lacks (scaled by hand)."""
    now = [f"{s.host}:{live.service.port}" for c in (live.active, live.backup) if c
           for s in runtime.servers_of(live.instances[c])]
    named = list(dict.fromkeys(live.view.servers))
    return tuple([a for a in named if a not in now] + [a for a in now if a not in named])


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
    if len({s.color_of(h) or h for h in view.primaries}) > 1:  # replicas of one color are one primary
        found.append(Problem("status.problem.two_primaries", {"names": ", ".join(view.primaries)}))
    if len({s.color_of(h) or h for h in view.backups}) > 1:
        found.append(Problem("status.problem.two_backups", {"names": ", ".join(view.backups)}))
    if view.blocks and not view.primaries:
        found.append(Problem("status.problem.no_primary", {"upstream": s.upstream}))
    for host in dict.fromkeys(hosts):
        if s.color_of(host) is None:
            found.append(Problem("status.problem.foreign", {"name": host}))
    for color in (live.active, live.backup):
        if not color:
            continue
        if s.scale.replicas > 1 and any(i.running for i in live.instances.get(color, ())):
            found.extend(_instances_down(live, color))  # each replica (or task) that should run and does not
        elif not live.running(color):
            found.append(Problem("status.problem.not_running", {"name": s.container(color)}))
    if live.stale:
        found.append(Problem("status.problem.stale_servers", {"addresses": ", ".join(live.stale),
                                                              "path": s.upstream_file}, repairable=True))
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


def _instances_down(live: Live, color: str) -> list[Problem]:
    """A serving color with fewer instances running than `replicas`: each missing or stopped one, by name."""
    found = {i.name: i for i in live.instances.get(color, ())}
    running = sum(i.running for i in found.values())
    wanted = live.service.scale.replicas
    if running >= wanted:
        return []
    names = [n for n in found if not found[n].running]
    names += [n for n in live.service.expected(color) if n not in found][: max(0, wanted - len(found))]
    return [Problem("status.problem.instance_down", {
        "name": n, "color": color, "state": found[n].state if n in found else "absent", "running": str(running),
        "replicas": str(wanted)}) for n in names]


def _when(epoch: float | None) -> str:
    return now_iso(epoch) if epoch is not None else "?"
