"""Where nginx's whole configuration names the service, wherever a team put it: the service's upstream block in
any file nginx reads (the guide's is inline in `conf.d/default.conf`), and each color's instances named anywhere
else (`proxy_pass http://maice-back-blue:8000;`, a server line in another upstream, `set $b maice-back-blue;`).

Read from a scan of nginx (switch.scan: `nginx -T`), by the look when bluegreen's own record cannot be trusted
alone (look.py says when), and by the guard before any instance stops (guard.py). Pure: no Docker, no nginx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.nginx_config import ConfigFile, Dump, Mention, UpstreamBlock, parse
from bluegreen.parts.switch import Scan
from bluegreen.parts.upstream import UpstreamView
from bluegreen.config.settings import COLORS, Service


@dataclass(frozen=True)
class Found:
    """What a scan says about the service beyond bluegreen's own file."""

    outside: tuple[UpstreamBlock, ...] = ()  # the service's upstream blocks in files other than bluegreen's
    elsewhere: tuple[Mention, ...] = ()  # a color's instance named outside bluegreen's file and outside those blocks
    edited: tuple[str, ...] = ()  # files nginx reads, edited after it last loaded them (what it serves: not known)
    error: str | None = None  # nginx cannot read its configuration (`nginx -T` failed): its error

    @property
    def view(self) -> UpstreamView | None:
        """The upstream nginx serves when its block is outside bluegreen's file (the first of them)."""
        if not self.outside:
            return None
        block = self.outside[0]
        return UpstreamView(len(self.outside), block.primaries, block.backups, None,
                            tuple(s.address for s in block.servers))


def block_names(service: Service, mode: str) -> tuple[str, ...]:
    """The names the service's upstream goes by: the guide's, and with `switch: shared-dict` each color's block."""
    if mode == "shared-dict":
        return (service.upstream, *(f"{service.upstream}_{c}" for c in COLORS))
    return (service.upstream,)


def hosts_of(service: Service, found: Iterable[ContainerInfo], *, colors: Iterable[str] = ()) -> set[str]:
    """Every name nginx could reach these instances by: their names and addresses, and for whole `colors` the
    color's own names too (its container or Swarm service, `tasks.<service>`, each replica)."""
    hosts = {h for i in found for h in (i.name, i.ip) if h}
    for color in colors:
        name = service.container(color)
        hosts.update({name, f"tasks.{name}", *service.expected(color)})
    return hosts


def find(service: Service, scan: Scan, *, names: Sequence[str],
         instances: Mapping[str, Sequence[ContainerInfo]]) -> Found:
    """The service's blocks outside bluegreen's file, the colors' instances named elsewhere, the files nginx has
    not loaded since they changed (scan.own, bluegreen's file, has its own evidence: switch.py)."""
    if scan.dump is None:
        return Found(error=scan.error)
    dump = scan.dump
    outside = tuple(b for name in names for b in dump.upstreams(name) if b.path != scan.own)
    hosts = hosts_of(service, [i for found in instances.values() for i in found], colors=COLORS)
    elsewhere = tuple(m for m in dump.mentions(hosts) if m.path != scan.own and m.upstream not in names)
    return Found(outside, elsewhere, scan.edited)


def named(scan: Scan, hosts: set[str], own_texts: Iterable[str | None]) -> list[Mention]:
    """Where nginx names any of `hosts`: every file it reads but bluegreen's as the scan read them, and bluegreen's
    file as each of `own_texts` has it (what bluegreen confirmed nginx serves, and what is on disk)."""
    found = [m for m in scan.dump.mentions(hosts) if m.path != scan.own] if scan.dump else []
    texts = dict.fromkeys(t for t in own_texts if t)  # each text once, in order
    own = Dump(tuple(ConfigFile(scan.own, t, parse(t, scan.own)) for t in texts))
    return found + [m for m in own.mentions(hosts) if m not in found]


def block_where(text: str | None, path: str, name: str) -> str | None:
    """`path:line` of the `upstream <name>` block in bluegreen's file as `text` has it."""
    if not text:
        return None
    try:
        blocks = Dump((ConfigFile(path, text, parse(text, path)),)).upstreams(name)
    except ValueError:  # DumpUnreadable: a file nginx would not load either
        return None
    return blocks[0].where if blocks else None
