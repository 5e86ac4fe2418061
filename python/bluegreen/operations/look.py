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
from bluegreen.operations.problems import Problem, find_problems
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.runtime import Runtime
from bluegreen.parts.state import ServiceState, StateDir
from bluegreen.parts.switch import RELOADED, UNKNOWN, Record, Served, Switch
from bluegreen.parts.upstream import UpstreamView
from bluegreen.config.settings import Service


DOWN = ("status.problem.not_running", "status.problem.instance_down")  # a serving instance, by name, not running


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
    seen += tuple(Problem(key, params, repairable) for key, params, repairable in served.problems)
    return replace(live, problems=seen + tuple(find_problems(live)))


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
