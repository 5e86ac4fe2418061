"""`bluegreen status`: what runs, what nginx serves (and how that is known), and a verdict: consistent, or
exactly why not. Read-only: no lock, nothing changed, nothing recorded."""

from __future__ import annotations

from typing import Any

from bluegreen.errors import Inconsistent
from bluegreen.operations.frame import Scene
from bluegreen.operations.look import Live
from bluegreen.parts.instance import ContainerInfo
from bluegreen.output import Reporter
from bluegreen.parts.state import now_iso
from bluegreen.config.settings import COLORS


def describe(live: Live, out: Reporter, *, switch_mode: str, quick: str) -> dict[str, Any]:
    """`quick`: whether the next rollback may take the quick path ("ready"), or why not (parts/quick_ticket.py)."""
    svc, served, scale = live.service, live.served, live.service.scale
    containers = []
    for color in COLORS:
        role = "active" if color == live.active else "backup" if color == live.backup else "idle"
        found = live.instances.get(color) or ()
        for info in found or (None,):
            containers.append(_row(svc.container(color), color, role, info, scale.replicas > 1))
        if found and scale.replicas > 1:  # a replica (or Swarm task) that should run and does not exist
            names = {i.name for i in found}
            missing = [n for n in svc.expected(color) if n not in names][: max(0, scale.replicas - len(found))]
            containers.extend(_row(name, color, role, None, True) for name in missing)
    doc = {
        "service": svc.name, "active": live.active, "idle": None if live.active is None else
        ("green" if live.active == "blue" else "blue"),
        "upstream": {"name": svc.upstream, "file": svc.upstream_file, "where": live.where,
                     "in_file": not live.outside, "primary": list(live.view.primaries),
                     "backup": list(live.view.backups), "generation": live.view.generation},
        "served": {"switch": switch_mode, "known_by": served.how, "scanned": live.found is not None,
                   "color_from": served.source,
                   "loaded_at": now_iso(served.since) if served.since else None,
                   "disk_is_loaded": served.disk_loaded, "quick_rollback": quick},
        "containers": containers,
        "staged": live.state.staged,
        "kept": [{"color": c, "name": i.name, "state": i.state, "image": i.labels.get("bluegreen.image", i.image),
                  "id": i.id[:12]} for c, i in live.kept.items()],
        "consistent": live.consistent,
        "problems": [{"id": p.key.rsplit(".", 1)[-1], "message": out.message(p.key, **p.params),
                      "refuses": p.refuses,
                      "repairable": p.repairable} for p in live.problems],
    }
    if scale.replicas > 1 or scale.runtime != "containers":
        doc["runtime"] = {"kind": scale.runtime, "replicas": scale.replicas, "min_healthy": scale.needed,
                          "running": {c: sum(i.running for i in live.instances.get(c) or ()) for c in COLORS}}
    return doc


def _row(name: str, color: str, role: str, info: ContainerInfo | None, many: bool) -> dict[str, Any]:
    """One instance (a container or a Swarm task), or one that does not exist."""
    row = {
        "color": color, "name": info.name if info else name, "role": role,
        "exists": info is not None, "state": info.state if info else "absent",
        "health": info.health if info else None,
        "image": info.labels.get("bluegreen.image", info.image) if info else None,
        "build": info.labels.get("bluegreen.build") if info else None,
        "deployed_at": info.labels.get("bluegreen.deployed-at") if info else None,
        "id": info.id[:12] if info else None,
    }
    if many or (info and info.node):
        row.update(address=info.ip if info else None, node=info.node if info else None,
                   detail=info.detail if info else "")
    return row


def run_status(scene: Scene) -> dict[str, Any]:
    live = scene.look()
    doc = describe(live, scene.out, switch_mode=scene.switch.mode, quick=scene.switch.quick_readiness(live.state))
    if not scene.out.json_mode:
        show(scene.out, doc)
    if not live.consistent:
        error = Inconsistent("status.inconsistent", count=str(len(live.problems)))
        error.document = doc  # type: ignore[attr-defined]
        raise error
    return doc


def show(out: Reporter, doc: dict[str, Any]) -> None:
    up = doc["upstream"]
    if doc["active"]:
        out.say("active.current_at" if up["where"] else "active.current", color=doc["active"], where=up["where"])
    else:
        out.say("active.none")
    served = doc["served"]
    out.say("status.switch", switch=served["switch"], known=served["known_by"],
            source=served["color_from"] or "-", loaded=served["loaded_at"] or "-")
    out.say(f"status.quick.{served['quick_rollback']}")
    out.say("status.upstream", name=up["name"], where=up["where"] or up["file"], primary=", ".join(up["primary"]) or "-",
            backup=", ".join(up["backup"]) or "-")
    runtime = doc.get("runtime")
    if runtime:
        out.say("status.replicas", kind=runtime["kind"], replicas=runtime["replicas"], needed=runtime["min_healthy"],
                blue=runtime["running"]["blue"], green=runtime["running"]["green"])
        out.line(f"{'NAMES':<32}{'ROLE':<8}{'STATE':<10}{'HEALTH':<10}{'ADDRESS':<16}{'BUILD':<8}IMAGE")
        for c in doc["containers"]:
            out.line(f"{c['name']:<32}{c['role']:<8}{c['state']:<10}{c['health'] or '-':<10}"
                     f"{c.get('address') or '-':<16}{c['build'] or '-':<8}{c['image'] or '-'}"
                     + (f"  ({c['detail']})" if c.get("detail") else ""))
    else:
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
