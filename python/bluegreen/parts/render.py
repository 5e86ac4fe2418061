"""The only module that uses jinja2: the upstream file bluegreen owns inside nginx.

Every value rendered here was validated by the config schema (names, ports, server params) or comes from the
runtime (container names built from validated prefixes, task addresses the engine gave), so the template can
stay plain; StrictUndefined turns a missing value into an error instead of an empty directive.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from bluegreen.parts.instance import Server
from bluegreen.config.settings import Service

if TYPE_CHECKING:
    import jinja2


@functools.cache
def _env() -> "jinja2.Environment":
    # Imported on first render, not with the module: status, history and images never render, and jinja2's
    # imports cost ~50 ms of every command's start on 2 cores.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bluegreen", "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
    )
    env.filters.update(q=_yaml_scalar, col=lambda text, width: f"{text:<{width}}" if len(text) < width else f"{text} ")
    return env

Servers = Callable[[str], Sequence[Server]]  # a color → the hosts its `server` lines name
Segments = Sequence[tuple[str, str]]  # (gateway, subnet) of each network nginx is on (containers.Docker.segments)


def render_upstream(service: Service, *, primary: str, backup: str | None, generation: str,
                    preview: str | None = None, servers: Servers | None = None, resolver: str | None = None,
                    segments: Segments = ()) -> str:
    """The upstream with `primary` serving and `backup` (if any) named as nginx `backup`; with `preview`, also
    that color's preview server (service.preview), which users never reach through the public entry, nor any
    container on nginx's networks (`segments`: each network's gateway — this host — allowed, the rest denied).

    `servers` gives each color's hosts (the runtime's: its replicas, or a Swarm service's tasks); by default
    the color's one container. With `resolver`, nginx resolves the hosts itself while it runs (`resolve`, in an
    upstream with a shared-memory `zone`: nginx >= 1.27.3)."""
    hosts = servers or (lambda color: (Server(service.container(color)),))
    return _env().get_template("upstream.conf.j2").render(
        service=service.name, upstream=service.upstream, port=service.port, params=service.server_params,
        primary=primary, primary_hosts=list(hosts(primary)),
        backup=backup, backup_hosts=list(hosts(backup)) if backup else [],
        generation=generation, resolver=resolver, preview=_preview(service, preview, hosts, segments),
    )


def render_shared_dict(service: Service, *, primary: str, backup: str | None, generation: str,
                       preview: str | None = None, admin_socket: str, module: str, key_digest: str,
                       keepalive_min_timeout: str | None = None, servers: Servers | None = None,
                       resolver: str | None = None, segments: Segments = ()) -> str:
    """`switch: shared-dict`: both colors' upstream blocks (the other as `backup`, as in the guide), the js_var
    naming `primary` for an empty dictionary, the dictionary, the map and the admin socket. Only running colors
    are named: with no backup, both blocks name `primary`'s servers (nginx must never name a stopped container).
    `servers`, `resolver` and `segments` as for render_upstream. Each running color also gets a probe entry on the
    admin socket: its health path through nginx to that color alone (the rollback's quick path checks the target
    so). The admin server admits only requests whose key has the SHA-256 `key_digest` (parts/admin_key.py)."""
    hosts = servers or (lambda color: (Server(service.container(color)),))
    named = {primary: list(hosts(primary)), **({backup: list(hosts(backup))} if backup else {})}
    colors = []
    for color in ("blue", "green"):
        own = named.get(color) or named[primary]
        others = [h for c, found in named.items() if c != color for h in found] if color in named else []
        colors.append({"name": color, "primary": own, "backup": others})
    return _env().get_template("upstream-shared-dict.conf.j2").render(
        service=service.name, upstream=service.upstream, port=service.port, params=service.server_params,
        generation=generation, primary=primary, colors=colors, admin_socket=admin_socket, module=module,
        key_digest=key_digest, keepalive_min_timeout=keepalive_min_timeout, resolver=resolver,
        probes=[{"color": color, "hosts": named[color]} for color in ("blue", "green") if color in named],
        health_path=service.health.path, probe_timeout=f"{max(1, round(service.health.request_timeout * 1000))}ms",
        preview=_preview(service, preview, hosts, segments),
    )


def render_config(values: Mapping[str, Any]) -> str:
    """A commented bluegreen.yml (`bluegreen init`): examples/maice/bluegreen.yml's comments, with the values it
    read of the system (operations/init_plan.Values)."""
    return _env().get_template("bluegreen.yml.j2").render(**values)


_PLAIN = re.compile(r"[A-Za-z0-9_./$](?:[A-Za-z0-9_./:${}@= -]*[A-Za-z0-9_./${}@=-])?")


def _yaml_scalar(value: object) -> str:
    """A value as YAML reads it back unchanged: plain when nothing in it means something to YAML, else a JSON
    string (YAML reads JSON strings as they are)."""
    text = str(value)
    if _PLAIN.fullmatch(text) and not re.search(r":(\s|$)|\s#|\s\s|^(true|false|yes|no|on|off|null|~|[0-9.]+)$",
                                                text, re.I):
        return text
    return json.dumps(text, ensure_ascii=False)


def _preview(service: Service, color: str | None, hosts: Servers, segments: Segments) -> dict | None:
    """The preview server's values: `color`'s hosts, where it listens, and who may reach it."""
    entry = service.preview
    if entry is None or color is None:
        return None
    return {"color": color, "upstream": service.preview_upstream, "hosts": list(hosts(color)), "listen": entry.listen,
            "server_name": entry.server_name, "gateways": sorted({g for g, _ in segments if g}),
            "subnets": sorted({s for _, s in segments})}


def render_module(service: Service) -> str:
    """The njs module of `switch: shared-dict` for one service."""
    return _env().get_template("bluegreen.js.j2").render(upstream=service.upstream, upstream_file=service.upstream_file)
