"""What `bluegreen init` concludes from what it read: the service's upstream block and which color it serves, the
values of a bluegreen.yml, and where an existing bluegreen.yml disagrees with the system. No I/O: the runbook
(init.py) reads, this decides.

Serving is the block's one primary. nginx sends traffic to a `backup` only when every primary is down, so the
primary is what users get; the guide's own monitoring sample names green twice (primary and backup): green serves.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from bluegreen.colors import COLORS, NAME
from bluegreen.config.values import SERVER_PARAM, env_name
from bluegreen.errors import Inconsistent, UsageError
from bluegreen.parts.nginx_config import Dump, UpstreamBlock
from bluegreen.config.settings import Config

DEFAULT_HEALTH = ("/health/simple", "/health")  # the guide's: the container's, and through nginx
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Request:
    """The command line: the service, bluegreen.yml (loaded when it exists) and the options that fill a new one."""

    service: str
    config_path: Path
    config: Config | None
    nginx: str | None = None
    upstream: str | None = None
    network: str | None = None
    switch: str | None = None
    admin_dir: str | None = None
    state_dir: str | None = None
    apply: bool = False

    def options(self) -> dict[str, tuple[str, str | None]]:
        """bluegreen.yml key → (option, value given)."""
        return {"nginx.container": ("--nginx", self.nginx), "network": ("--network", self.network),
                "nginx.switch": ("--switch", self.switch), "nginx.admin_dir": ("--admin-dir", self.admin_dir),
                "state_dir": ("--state-dir", self.state_dir),
                f"services.{self.service}.upstream": ("--upstream", self.upstream)}


@dataclass(frozen=True)
class Layout:
    """The service's upstream block as nginx reads it."""

    block: UpstreamBlock
    prefix: str  # container_prefix: the block names <prefix>-blue / <prefix>-green
    serving: str  # the color of its one primary
    backup: str | None  # the other color when the block names it as `backup`
    port: int
    params: tuple[str, ...]  # the primary's server parameters, `backup` left out

    @property
    def upstream(self) -> str:
        return self.block.name


@dataclass(frozen=True)
class Values:
    """What a new bluegreen.yml says (the template's blanks: parts/render.py render_config)."""

    service: str
    network: str
    state_dir: str
    nginx: str
    reload: str
    public_url: str
    switch: str
    admin_dir: str
    image: str
    prefix: str
    port: int
    upstream: str
    upstream_file: str
    server_params: str
    restart: str
    health_path: str = DEFAULT_HEALTH[0]
    public_path: str = DEFAULT_HEALTH[1]
    volumes: tuple[str, ...] = ()
    env: tuple[tuple[str, str, str | None], ...] = ()  # (name, credential id, field)
    env_unbound: tuple[str, ...] = ()  # names bluegreen cannot bind from the environment (shown commented out)
    notes: tuple[str, ...] = field(default=(), compare=False)


def color_of(host: str) -> tuple[str, str] | None:
    """(prefix, color) of a container name `<prefix>-blue` / `<prefix>-green`, None for any other host."""
    for color in COLORS:
        if host.endswith(f"-{color}") and NAME.fullmatch(host[:-len(color) - 1]):
            return host[:-len(color) - 1], color
    return None


def find_layout(dump: Dump, *, upstream: str | None, prefix: str | None) -> Layout:
    """The upstream block that names the two colors (by name when known), and what it serves; Inconsistent (exit
    3, nothing changed) naming the file and line when it cannot tell."""
    blocks = [b for b in dump.upstreams(upstream) if "stream" not in b.context]
    if upstream is None:
        blocks = [b for b in blocks if _names_colors(b, prefix)]
        if not blocks:
            names = ", ".join(dict.fromkeys(b.name for b in dump.upstreams())) or "-"
            raise Inconsistent("init.no_color_block", upstreams=names)
    if not blocks:
        raise Inconsistent("init.no_block", upstream=upstream, files=str(len(dump.files)))
    if len(blocks) > 1:
        raise Inconsistent("init.many_blocks", places=", ".join(f"{b.name} ({b.where})" for b in blocks))
    block = blocks[0]
    colors: dict[str, list[tuple[str, str]]] = {"primary": [], "backup": []}
    prefixes = set()
    for server in block.servers:
        named = color_of(server.host)
        if named is None or (prefix is not None and named[0] != prefix):
            raise Inconsistent("init.foreign_server", host=server.address, where=f"{server.path}:{server.line}",
                               prefix=prefix or "<prefix>")
        prefixes.add(named[0])
        colors["backup" if server.backup else "primary"].append((named[1], f"{server.path}:{server.line}"))
    if len(prefixes) > 1:
        raise Inconsistent("init.two_prefixes", names=", ".join(sorted(prefixes)), where=block.where)
    primaries = dict(colors["primary"])
    if len(primaries) != 1:
        key = "init.no_primary" if not primaries else "init.two_primaries"
        raise Inconsistent(key, upstream=block.name, where=block.where,
                           names=", ".join(f"{c} ({w})" for c, w in colors["primary"]))
    serving = next(iter(primaries))
    backups = [c for c, _ in colors["backup"] if c != serving]
    ports = {_port(s.address) for s in block.servers}
    if len(ports) != 1 or None in ports:
        raise Inconsistent("init.ports", where=block.where, addresses=", ".join(s.address for s in block.servers))
    primary = next(s for s in block.servers if not s.backup)
    params = tuple(p for p in primary.params if p != "backup")
    for param in params:
        if not SERVER_PARAM.fullmatch(param):
            raise Inconsistent("init.server_param", param=param, where=f"{primary.path}:{primary.line}")
    return Layout(block, prefixes.pop(), serving, backups[0] if backups else None, ports.pop() or 0, params)


def _names_colors(block: UpstreamBlock, prefix: str | None) -> bool:
    found = [color_of(s.host) for s in block.servers]
    return bool(found) and all(f is not None and (prefix is None or f[0] == prefix) for f in found)


def _port(address: str) -> int | None:
    host, _, port = address.rpartition(":")
    if not host:
        return 80  # nginx's default for a server without a port
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else None


def shared_networks(nginx: Sequence[str], colors: Iterable[Sequence[str]]) -> list[str]:
    """The networks nginx shares with every running color: where it reaches them by name (Docker's DNS answers
    on user-defined networks only, so `bridge`, `host` and `none` are not among them)."""
    shared = set(nginx) - {"bridge", "host", "none"}
    for networks in colors:
        shared &= set(networks)
    return sorted(shared)


def public_url(published: Iterable[tuple[str, str, str]]) -> str | None:
    """The public entry as this host reaches it: nginx's published port 80 (else 443), on loopback when it is
    published on every address."""
    found = {port: (ip, host_port) for port, ip, host_port in published}
    for port, scheme, default in (("80/tcp", "http", "80"), ("443/tcp", "https", "443")):
        if port in found:
            ip, host_port = found[port]
            host = "127.0.0.1" if ip in ("", "0.0.0.0", "::") else (f"[{ip}]" if ":" in ip else ip)
            return f"{scheme}://{host}" + ("" if host_port == default else f":{host_port}")
    return None


def url_reaches(url: str, published: Iterable[tuple[str, str, str]]) -> bool:
    """A public_url on this host's loopback names one of nginx's published ports (another host name: not known
    from here, so not contradicted)."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return True
    port = str(parts.port or (443 if parts.scheme == "https" else 80))
    return any(host_port == port for _, _, host_port in published)


def image_repository(image: str) -> str:
    """`registry:5000/maice-back:123` → `registry:5000/maice-back` (tag and digest off)."""
    ref = image.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def env_entries(names: Iterable[str], image_names: Iterable[str], prefix: str
                ) -> tuple[tuple[tuple[str, str, str | None], ...], tuple[str, ...]]:
    """One entry per variable the serving container was given (the image's own left out): a Jenkins credential
    id made from the name (`<prefix>-database-url`), a `*_USERNAME`/`*_PASSWORD` pair as one username/password
    credential; and the names bluegreen cannot bind from the environment (`PATH`, `LD_*`…: they would steer the
    CLI itself), which the operator sets with `value:` or in the image."""
    # BLUEGREEN_*: what bluegreen itself gives the containers it starts (their color, their service)
    own = [n for n in dict.fromkeys(names) if n not in set(image_names) and not n.startswith("BLUEGREEN_")]
    entries, unbound = [], []
    for name in own:
        try:
            env_name(name, "env", from_environment=True)
        except UsageError:
            unbound.append(name)
            continue
        stem, _, kind = name.rpartition("_")
        pair = {"USERNAME": "PASSWORD", "PASSWORD": "USERNAME"}.get(kind)
        if stem and pair and f"{stem}_{pair}" in own:
            entries.append((name, _credential(prefix, stem), kind.lower()))
        else:
            entries.append((name, _credential(prefix, name), None))
    return tuple(entries), tuple(unbound)


def _credential(prefix: str, name: str) -> str:
    return f"{prefix}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"[:100]


@dataclass(frozen=True)
class Disagreement:
    key: str  # the bluegreen.yml key
    says: str  # what bluegreen.yml says
    found: str  # what the system has


def disagreements(config_values: Mapping[str, str], found: Mapping[str, str | set[str]]) -> list[Disagreement]:
    """Each key of bluegreen.yml the system contradicts: `found` holds a value, or the set of acceptable ones."""
    out = []
    for key, says in config_values.items():
        have = found.get(key)
        if have is None:
            continue
        ok = says in have if isinstance(have, set) else says == have
        if not ok:
            shown = ", ".join(sorted(have)) if isinstance(have, set) else have
            out.append(Disagreement(key, says, shown or "-"))
    return out
