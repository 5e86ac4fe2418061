"""`bluegreen status`: what runs, what nginx serves, and a verdict (consistent, or exactly why not)."""

from __future__ import annotations

from typing import Any

from bluegreen.context import Context
from bluegreen.errors import Inconsistent
from bluegreen.live import COLORS, Live
from bluegreen.messages import render
from bluegreen.traffic import look


def describe(live: Live, ctx: Context) -> dict[str, Any]:
    svc = live.service
    containers = []
    for color in COLORS:
        info = live.containers[color]
        role = "active" if color == live.active else "backup" if color == live.backup else "idle"
        containers.append({
            "color": color, "name": svc.container(color), "role": role,
            "exists": info is not None, "state": info.state if info else "absent",
            "health": info.health if info else None,
            "image": info.labels.get("bluegreen.image", info.image) if info else None,
            "build": info.labels.get("bluegreen.build") if info else None,
            "deployed_at": info.labels.get("bluegreen.deployed-at") if info else None,
            "id": info.id[:12] if info else None,
        })
    return {
        "service": svc.name, "active": live.active, "idle": None if live.active is None else
        ("green" if live.active == "blue" else "blue"),
        "upstream": {"name": svc.upstream, "file": svc.upstream_file, "primary": list(live.view.primaries),
                     "backup": list(live.view.backups), "generation": live.view.generation},
        "containers": containers,
        "consistent": live.consistent,
        "problems": [{"id": p.key.rsplit(".", 1)[-1], "message": ctx.out.mask(render(p.key, ctx.out.lang, **p.params)),
                      "repairable": p.repairable} for p in live.problems],
    }


def run_status(ctx: Context) -> dict[str, Any]:
    live = look(ctx)
    doc = describe(live, ctx)
    if not ctx.out.json_mode:
        show(ctx, doc)
    if not live.consistent:
        error = Inconsistent("status.inconsistent", count=str(len(live.problems)))
        error.document = doc  # type: ignore[attr-defined]
        raise error
    return doc


def show(ctx: Context, doc: dict[str, Any]) -> None:
    out = ctx.out
    out.say("active.current" if doc["active"] else "active.none", color=doc["active"] or "-")
    up = doc["upstream"]
    out.say("status.upstream", name=up["name"], primary=", ".join(up["primary"]) or "-",
            backup=", ".join(up["backup"]) or "-")
    out.line(f"{'NAMES':<28}{'ROLE':<8}{'STATE':<10}{'HEALTH':<10}{'BUILD':<8}IMAGE")
    for c in doc["containers"]:
        out.line(f"{c['name']:<28}{c['role']:<8}{c['state']:<10}{c['health'] or '-':<10}"
                 f"{c['build'] or '-':<8}{c['image'] or '-'}")
    if doc["consistent"]:
        out.say("status.consistent")
    for p in doc["problems"]:
        out.line(p["message"])
