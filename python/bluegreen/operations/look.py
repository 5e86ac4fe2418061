"""One look at the live system: each color's instances, what nginx serves (switch.py says how that is known),
what bluegreen remembers, and what is wrong.

`status` prints this; every operation starts from it. The active color is the one nginx *serves* (the single
primary of the upstream it loaded), cross-checked with the instances; labels are never trusted for it.

bluegreen's own record (its file, the state) is the whole truth only once bluegreen has switched and nginx still
serves what it confirmed. Before the first deploy, whenever nginx serves something else, and whenever bluegreen's
file does not hold exactly the service's block, the look reads every file nginx reads (`nginx -T`, detect.py):
the block wherever it is (the guide keeps it inline in `conf.d/default.conf`), and each color's instances named
anywhere else. What it cannot tell makes deploy, rollback and promote refuse (`Problem.refuses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from bluegreen.errors import Unreachable
from bluegreen.operations.detect import Found, block_names, block_where, find
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.runtime import Runtime
from bluegreen.parts.state import ServiceState, StateDir, now_iso
from bluegreen.parts.switch import RELOADED, UNKNOWN, Record, Served, Switch
from bluegreen.parts.upstream import UpstreamView
from bluegreen.settings import Service


@dataclass(frozen=True)
class Problem:
    key: str  # message id (status.problem.*)
    params: dict[str, str] = field(default_factory=dict)
    repairable: bool = False  # the next deploy/rollback fixes it by itself
    refuses: bool = False  # what nginx serves cannot be told (or is not bluegreen's to change): operations refuse


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
    found: Found | None = None  # what every file nginx reads says (read only when the look needs it: see above)
    where: str | None = None  # `file:line` of the block nginx serves the service from

    @property
    def remembered_active(self) -> str | None:
        """The active color of the last file bluegreen confirmed."""
        return one_color(self.service, self.remembered_view.primaries)

    @property
    def consistent(self) -> bool:
        return not self.problems

    @property
    def outside(self) -> bool:
        """nginx serves the service from a block outside bluegreen's file (the guide's layout)."""
        return not self.served.view.blocks and self.found is not None and bool(self.found.outside)

    @property
    def view(self):
        """The service's upstream as nginx serves it: from bluegreen's file, or from the block found elsewhere."""
        return self.found.view if self.outside and self.found and self.found.view else self.served.view

    @property
    def refusal(self) -> Problem | None:
        """The first problem that makes deploy, rollback and promote refuse, if any."""
        return next((p for p in self.problems if p.refuses), None)

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
    found = None
    if untrusted(state, served):
        found = find(service, switch.scan(), names=block_names(service, switch.mode), instances=survey.instances)
    live = Live(service, survey.instances, served, state, None, None, (), state_dir.stale_holder(),
                survey.kept, switch.view_of(state.loaded_config), found=found)
    view = live.view
    active = one_color(service, view.primaries)
    backup = one_color(service, view.backups)
    live = replace(live, active=active, backup=None if backup == active else backup)
    live = replace(live, where=_where(live, switch.mode))
    if runtime.renders_addresses:
        live = replace(live, stale=_stale(live, runtime))
    seen = tuple(Problem(key, params) for key, params in survey.problems)
    return replace(live, problems=seen + tuple(_problems(live)))


def untrusted(state: ServiceState, served: Served) -> bool:
    """bluegreen's own record is not the whole truth: no record yet (a first deploy, or its state lost), nginx
    serves neither what bluegreen confirmed nor what it was installing, or bluegreen's file does not hold exactly
    the service's block. A steady state never pays for `nginx -T`; neither does the rollback's quick path."""
    return (state.loaded_config is None or served.loaded is None
            or served.loaded not in (state.loaded_config, state.pending) or served.view.blocks != 1)


def _where(live: Live, mode: str) -> str | None:
    """`file:line` of the block nginx serves the service from (with shared-dict: the serving color's block)."""
    if live.outside and live.found:
        return live.found.outside[0].where
    text = live.served.loaded or live.served.disk
    names = block_names(live.service, mode)
    if live.active and len(names) > 1:
        names = (f"{live.service.upstream}_{live.active}", *names)
    path = live.service.upstream_file
    return next((w for name in names if (w := block_where(text, path, name))), None)


def _stale(live: Live, runtime: Runtime) -> tuple[str, ...]:
    """Addresses rendered into the file that no running instance of the active or backup color has any more (a
    task Swarm replaced since: its successor has another address), and running ones it lacks (scaled by hand)."""
    now = [f"{s.host}:{live.service.port}" for c in (live.active, live.backup) if c
           for s in runtime.servers_of(live.instances[c])]
    named = list(dict.fromkeys(live.view.servers))
    return tuple([a for a in named if a not in now] + [a for a in now if a not in named])


def _problems(live: Live) -> list[Problem]:
    s, view, served = live.service, live.view, live.served
    found: list[Problem] = _detected(live)
    if served.disk is None and served.loaded is None and not live.outside:
        return found + [Problem("status.problem.no_file", {"path": s.upstream_file})]
    if live.loaded_outside:
        key = "status.problem.switched_outside" if live.switched_outside else "status.problem.edited_outside"
        found.append(Problem(key, {"color": live.active or "-", "path": s.upstream_file, "since": _when(served.since)},
                             repairable=True))
    if live.edited_not_loaded:
        found.append(Problem("status.problem.edited_not_loaded", {"path": s.upstream_file,
                                                                  "nginx": served.container}))
    where = live.where or s.upstream_file
    if view.blocks == 0:
        found.append(Problem("status.problem.no_block", {"upstream": s.upstream, "path": s.upstream_file}))
    elif view.blocks > 1:
        found.append(Problem("status.problem.many_blocks", {"upstream": s.upstream, "count": str(view.blocks),
                                                            "where": s.upstream_file}, refuses=True))
    hosts = list(view.primaries) + list(view.backups)
    # A block naming only other servers (a placeholder, the one container served before bluegreen) is the first
    # deploy's to replace; one that names a color as well cannot be told apart.
    colored = any(s.color_of(h) for h in hosts)
    for host in sorted({h for h in hosts if hosts.count(h) > 1}):
        found.append(Problem("status.problem.named_twice", {"name": host}))
    if len({s.color_of(h) or h for h in view.primaries}) > 1:  # replicas of one color are one primary
        found.append(Problem("status.problem.two_primaries", {"names": ", ".join(view.primaries), "where": where},
                             refuses=colored))
    if len({s.color_of(h) or h for h in view.backups}) > 1:
        found.append(Problem("status.problem.two_backups", {"names": ", ".join(view.backups)}))
    if view.blocks and not view.primaries:
        found.append(Problem("status.problem.no_primary", {"upstream": s.upstream, "where": where}, refuses=colored))
    for host in dict.fromkeys(hosts):
        if s.color_of(host) is None:
            found.append(Problem("status.problem.foreign", {"name": host, "where": where}, refuses=colored))
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


def _detected(live: Live) -> list[Problem]:
    """What the scan of every file nginx reads found (none when the look did not need one)."""
    found, s, nginx = live.found, live.service, live.served.container
    if found is None:
        return []
    if found.error is not None:
        return [Problem("status.problem.unreadable", {"nginx": nginx, "error": found.error}, refuses=True)]
    problems = [Problem("status.problem.edited_elsewhere", {"path": p, "nginx": nginx}, refuses=True)
                for p in found.edited]
    if found.outside and (live.served.view.blocks or len(found.outside) > 1):
        problems.append(Problem("status.problem.many_blocks", {
            "upstream": s.upstream, "count": str(len(found.outside) + live.served.view.blocks),
            "where": ", ".join([b.where for b in found.outside] + [s.upstream_file] * bool(live.served.view.blocks))},
            refuses=True))
    elif found.outside:
        problems.append(Problem("status.problem.block_outside", {
            "upstream": s.upstream, "where": found.outside[0].where, "path": s.upstream_file,
            "color": live.active or "-"}, refuses=True))
    managed = bool(found.outside or live.served.view.blocks)
    for m in found.elsewhere:  # named outside the service's block: never stopped while named (guard.py)
        key = "status.problem.named_elsewhere" if managed else "status.problem.unmanaged"
        problems.append(Problem(key, {"name": m.host, "where": m.where, "directive": m.directive,
                                      "upstream": s.upstream}, refuses=not managed))
    return problems


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
