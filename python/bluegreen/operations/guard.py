"""The invariant: a container nginx serves is never stopped, replaced or set aside by bluegreen.

The runtime seam is handed to operations and the frame only as `Guarded` (commands.py builds the scene so), and
every call of it that stops, removes, replaces or sets aside a color's instances asks the guard first: making room
for a candidate (set aside; a Swarm service updated in place), a failed deploy's undo, an interrupted run's
candidate, the replicas `min_healthy` leaves out. No runbook step can go around it. The runtime itself never talks
to nginx; the guard asks through the switch seam.

What the guard asks is nginx itself: every file nginx reads but bluegreen's, as it serves them (`nginx -T`,
switch.scan), and bluegreen's file as bluegreen confirmed nginx serves it, as it was installing it and as it is on
disk. An instance named anywhere stops the step with an error: the operation's normal failure path puts the
previous state back and traffic stays where it was. Not knowing stops it too (nginx cannot read its configuration,
a file was edited after nginx last loaded it).

Cost: a scan (~0.15 s) only when there are instances to stop, none when nginx loaded nothing since the last one
(switch.scan), and `ahead` — called by the operations that may stop instances, before they change anything — so
that a refusal changes nothing. A rollback stops nothing and never reaches here.
"""

from __future__ import annotations

from typing import Any, Sequence

from bluegreen.errors import DeployFailed, Inconsistent
from bluegreen.operations.detect import hosts_of, named
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.nginx_config import DumpUnreadable, Mention
from bluegreen.parts.runtime import Runtime
from bluegreen.parts.state import StateDir
from bluegreen.parts.switch import Scan, Switch
from bluegreen.config.settings import Service


class Guard:
    def __init__(self, service: Service, runtime: Runtime, switch: Switch, state: StateDir) -> None:
        self.service, self.runtime, self.switch, self.state = service, runtime, switch, state

    def check(self, found: Sequence[ContainerInfo], *, color: str | None = None) -> None:
        """Before `found` (all of `color`'s instances, when given) stop: DeployFailed when nginx names any of them,
        or when what it serves cannot be told."""
        if not any(i.running for i in found):
            return  # nothing to stop: a container that does not run serves nothing, whatever nginx names
        name = found[0].name
        scan = self.switch.scan()
        if scan.dump is None:
            raise DeployFailed("guard.unreadable", name=name, nginx=self.switch.container, error=scan.error)
        if scan.edited:
            raise DeployFailed("guard.edited", name=name, path=scan.edited[0])
        state = self.state.load()
        mention = self._mention(scan, found, color, (state.loaded_config, state.pending, scan.own_text))
        if mention is not None:
            raise DeployFailed("guard.named", name=name, host=mention.host, where=mention.where,
                               directive=mention.directive)

    def ahead(self, found: Sequence[ContainerInfo], *, color: str) -> None:
        """Before an operation that may stop `color`'s instances changes anything: nginx's configuration can be
        read, is what nginx serves, and no file but bluegreen's names the color (bluegreen's own file is the
        operation's to change). Else Inconsistent: refused, nothing changed."""
        # Instances none of which runs (a staged color that died): removing them cuts nothing, and `nginx -T` may
        # fail on those very names (host not found), which must not keep them from being cleared. With no instance
        # at all the scan still runs: a file of someone else's may name the color's containers before they exist.
        if found and not any(i.running for i in found):
            return
        scan = self.switch.scan()
        if scan.dump is None:
            raise Inconsistent("nginx.dump_failed", nginx=self.switch.container, error=scan.error)
        if scan.edited:
            raise Inconsistent("guard.edited_ahead", path=scan.edited[0], nginx=self.switch.container)
        mention = self._mention(scan, found, color, ())
        if mention is not None:
            raise Inconsistent("guard.refused", host=mention.host, where=mention.where, directive=mention.directive,
                               color=color, name=self.runtime.display(color))

    def _mention(self, scan: Scan, found: Sequence[ContainerInfo], color: str | None,
                 own: tuple[str | None, ...]) -> Mention | None:
        hosts = hosts_of(self.service, found, colors=(color,) if color else ())
        try:
            mentions = named(scan, hosts, own)
        except DumpUnreadable as exc:  # bluegreen's file as recorded does not parse: nothing can be told from it
            raise DeployFailed("guard.unreadable", name=found[0].name if found else hosts.pop(),
                               nginx=self.switch.container, error=str(exc)) from None
        return mentions[0] if mentions else None


class Guarded:
    """The runtime seam as operations and the frame see it: reading, starting and probing as the runtime does;
    whatever stops, replaces or sets aside instances asks the guard first."""

    def __init__(self, runtime: Runtime, guard: Guard) -> None:
        self._runtime, self.guard = runtime, guard

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def _color(self, color: str) -> tuple[ContainerInfo, ...]:
        return self._runtime.survey().instances[color]

    def set_aside(self, color: str, *, grace: float) -> bool:
        self.guard.check(self._color(color), color=color)
        return self._runtime.set_aside(color, grace=grace)

    def drain(self, color: str, **kwargs: Any) -> Any:
        """Asks the color's instances to stop: a stop like any other."""
        self.guard.check(self._color(color), color=color)
        return self._runtime.drain(color, **kwargs)

    def remove(self, color: str, *, grace: float) -> bool:
        self.guard.check(self._color(color), color=color)
        return self._runtime.remove(color, grace=grace)

    def remove_instances(self, found: Sequence[ContainerInfo], *, grace: float) -> bool:
        self.guard.check(found)
        return self._runtime.remove_instances(found, grace=grace)

    def start(self, color: str, **kwargs: Any) -> tuple[ContainerInfo, ...]:
        """A Swarm service is updated in place: its running tasks are replaced."""
        self.guard.check(self._color(color), color=color)
        return self._runtime.start(color, **kwargs)

    def put_back(self, color: str) -> bool:
        """The kept version takes the color's name again (a Swarm service: its tasks are replaced)."""
        self.guard.check(self._color(color), color=color)
        return self._runtime.put_back(color)
