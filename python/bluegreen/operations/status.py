"""`bluegreen status`: what runs, what nginx serves (and how that is known), and a verdict: consistent, or
exactly why not. Read-only: no lock, nothing changed, nothing recorded."""

from __future__ import annotations

from typing import Any

from bluegreen.errors import Inconsistent
from bluegreen.operations.frame import Scene
from bluegreen.operations.look import Live
from bluegreen.output import Reporter
from bluegreen.parts.state import now_iso
from bluegreen.settings import COLORS


def describe(live: Live, out: Reporter, *, switch_mode: str) -> dict[str, Any]:
    svc, served = live.service, live.served
    containers = []
    for color in COLORS:
        role = "active" if color == live.active else "backup" if color == live.backup else "idle"
        found = live.instances.get(color) or (None,)
        for info in found:
            containers.append({
                "color": color, "name": info.name if info else svc.container(color), "role": role,
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
        "served": {"switch": switch_mode, "known_by": served.how, "color_from": served.source,
                   "loaded_at": now_iso(served.since) if served.since else None,
                   "disk_is_loaded": served.disk_loaded},
        "containers": containers,
        "staged": live.state.staged,
        "kept": [{"color": c, "name": i.name, "state": i.state, "image": i.labels.get("bluegreen.image", i.image),
                  "id": i.id[:12]} for c, i in live.kept.items()],
        "consistent": live.consistent,
        "problems": [{"id": p.key.rsplit(".", 1)[-1], "message": out.message(p.key, **p.params),
                      "repairable": p.repairable} for p in live.problems],
    }


def run_status(scene: Scene) -> dict[str, Any]:
    live = scene.look()
    doc = describe(live, scene.out, switch_mode=scene.switch.mode)
    if not scene.out.json_mode:
        show(scene.out, doc)
    if not live.consistent:
        error = Inconsistent("status.inconsistent", count=str(len(live.problems)))
        error.document = doc  # type: ignore[attr-defined]
        raise error
    return doc


def show(out: Reporter, doc: dict[str, Any]) -> None:
    out.say("active.current" if doc["active"] else "active.none", color=doc["active"] or "-")
    served = doc["served"]
    out.say("status.switch", switch=served["switch"], known=served["known_by"],
            source=served["color_from"] or "-", loaded=served["loaded_at"] or "-")
    up = doc["upstream"]
    out.say("status.upstream", name=up["name"], primary=", ".join(up["primary"]) or "-",
            backup=", ".join(up["backup"]) or "-")
    out.line(f"{'NAMES':<28}{'ROLE':<8}{'STATE':<10}{'HEALTH':<10}{'BUILD':<8}IMAGE")
    for c in doc["containers"]:
        out.line(f"{c['name']:<28}{c['role']:<8}{c['state']:<10}{c['health'] or '-':<10}"
                 f"{c['build'] or '-':<8}{c['image'] or '-'}")
    staged = doc["staged"]
    if staged:
        out.say("status.staged", image=staged.get("image", "?"), color=staged.get("color", "?"),
                since=staged.get("since", "?"), url=staged.get("preview_url") or "-")
    if doc["consistent"]:
        out.say("status.consistent")
    for p in doc["problems"]:
        out.line(p["message"])
