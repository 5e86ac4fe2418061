"""Reading an nginx upstream block back: which servers are primary, which are `backup`.

This is how the active color is detected, and how `status` explains an ambiguous config (the guide's own
sample names the same container twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"#[^\n]*")
_GENERATION = re.compile(r"#\s*bluegreen-generation:\s*(\S+)")
# A `server` statement starts a line or follows another statement (`upstream u { server a:1; server b:1; }`).
_SERVER = re.compile(r"(?:^|(?<=[;{]))\s*server\s+([^\s;]+)([^;]*);", re.M)
# bluegreen names the instance an address belongs to beside it (`server 10.0.1.5:8000; # instance app-blue.1`):
# read as the server's host, so the address maps to its color like a container name does.
_INSTANCE = re.compile(r"^(\s*server\s+[^\s;]+[^;\n#]*);[ \t]*#[ \t]*instance[ \t]+([A-Za-z0-9_.-]+)[ \t]*$", re.M)
_NAMED = "bluegreen-instance="


@dataclass(frozen=True)
class UpstreamView:
    blocks: int = 0  # how many `upstream <name> {` blocks the file has
    primaries: tuple[str, ...] = ()  # host part of each `server host:port` without `backup`
    backups: tuple[str, ...] = ()
    generation: str | None = None
    servers: tuple[str, ...] = field(default=())  # raw `host:port` in file order


def parse_upstream(text: str | None, name: str) -> UpstreamView:
    if not text:
        return UpstreamView()
    generation = (m.group(1) if (m := _GENERATION.search(text)) else None)
    bodies = _blocks(_COMMENT.sub("", _INSTANCE.sub(rf"\1 {_NAMED}\2;", text)), name)
    if not bodies:
        return UpstreamView(generation=generation)
    primaries: list[str] = []
    backups: list[str] = []
    servers: list[str] = []
    for body in bodies:
        for addr, params in _SERVER.findall(body):
            servers.append(addr)
            host = addr.rsplit(":", 1)[0] if ":" in addr else addr
            words = params.split()
            host = next((w[len(_NAMED):] for w in words if w.startswith(_NAMED)), host)
            (backups if "backup" in words else primaries).append(host)
    return UpstreamView(len(bodies), tuple(primaries), tuple(backups), generation, tuple(servers))


def _blocks(text: str, name: str) -> list[str]:
    bodies = []
    for match in re.finditer(r"\bupstream\s+" + re.escape(name) + r"\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies.append(text[match.end():i - 1])
    return bodies
