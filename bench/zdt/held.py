"""What the long answers and open connections saw (zdt.streams' records) against each command's --json report.

A stream is *whole* when its `done` event arrived. A cut one is matched with the deploy running when it ended: it
was cut *at the drain deadline* when that deploy's report says its color's drain timed out (the cut is counted
there), otherwise it was cut *early* — the failure the proof must show 0 of. A WebSocket closed by the app with a
close frame (uvicorn sends 1012 when its color is asked to stop) tells the client to reconnect; one that ends with
no close frame (1006) was cut.
"""

from __future__ import annotations

import collections
from typing import Any

from zdt.analyze import _stats

GRACE = 1.0  # seconds after a command's exit that still count as its doing (the client sees the EOF a bit later)


def _color(releases: list[str]) -> str | None:
    colors = {r.split(" ", 1)[1] for r in releases}
    return colors.pop() if len(colors) == 1 else None


def _deploy_at(ops: list[Any], moment: float) -> Any | None:
    for op in ops:
        if op.action == "deploy" and op.start <= moment <= op.end + GRACE:
            return op
    return None


def _drained(op: Any, color: str | None) -> dict:
    for entry in (op.report or {}).get("drain") or []:
        if entry.get("color") == color:
            return entry
    return {}


def streams_summary(run: Any, until: float | None = None) -> dict[str, Any]:
    """until: only the streams that ended before it (monotonic; what follows is a fault row's)."""
    doc = run.load.get("streams") or {}
    ops = list(run.operations)
    out: dict[str, Any] = {"started": 0, "whole": 0, "cut_at_deadline": 0, "cut_early": 0, "failed_to_open": 0,
                           "changed_release": 0, "by_method": {}, "cut_detail": []}
    for kind, start, end, status, tokens, done, releases, error in doc.get("streams", []):
        if until is not None and end > until:
            continue
        out["started"] += 1
        method = out["by_method"].setdefault(kind, {"started": 0, "whole": 0, "cut": 0})
        method["started"] += 1
        if len(releases) > 1:
            out["changed_release"] += 1
        if done and error is None:
            out["whole"] += 1
            method["whole"] += 1
            continue
        if status != 200 and not tokens:
            out["failed_to_open"] += 1
            method["cut"] += 1
            out["cut_detail"].append({"method": kind, "at_s": round(start - run.started, 2), "status": status,
                                      "error": error, "verdict": "failed to open"})
            continue
        method["cut"] += 1
        op = _deploy_at(ops, end)
        drained = _drained(op, _color(releases)) if op else {}
        verdict = "at the drain deadline" if drained.get("timed_out") else "early"
        out["cut_at_deadline" if drained.get("timed_out") else "cut_early"] += 1
        out["cut_detail"].append({"method": kind, "at_s": round(start - run.started, 2),
                                  "lasted_s": round(end - start, 2), "tokens": tokens, "releases": releases,
                                  "error": error, "verdict": verdict,
                                  "during": f"{op.action} {op.target}" if op else None})
    out["cut_detail"] = out["cut_detail"][:50]
    return out


def sockets_summary(run: Any, until: float | None = None) -> dict[str, Any]:
    doc = run.load.get("streams") or {}
    records = sorted((r for r in doc.get("sockets", []) if until is None or r[1] <= until), key=lambda r: (r[0], r[1]))
    closes = collections.Counter()
    gaps, failed, server_closes = [], 0, 0
    by_slot: dict[int, list] = collections.defaultdict(list)
    for r in records:
        by_slot[r[0]].append(r)
    for slot, recs in by_slot.items():
        for prev, nxt in zip(recs, recs[1:]):
            if prev[5] != "client":
                gaps.append(nxt[1] - prev[2])  # closed → the next connection opened
    for slot, start, end, ticks, code, by, releases, error in records:
        if error and code is None:
            failed += 1
            closes[f"not opened ({error})"] += 1
            continue
        closes[f"{code} by {by}"] += 1
        server_closes += by == "server"
    opened = sum(1 for r in records if r[4] is not None)
    slots = len(by_slot)
    return {"slots": slots, "connections": opened, "reopened_after_close": len(gaps),
            "failed_to_open": failed, "closes": dict(sorted(closes.items())),
            "cut_no_close_frame": sum(n for k, n in closes.items() if k.startswith("1006")),
            "reconnect_gap_s": _stats(gaps)}


def drains(run: Any) -> dict[str, Any]:
    """Per deploy, its report's drain entries: requests in flight when asked to stop, cut, timed out, seconds."""
    deploys = [o for o in run.operations if o.action == "deploy" and o.report]
    rows = [{"at_s": round(o.start - run.started, 2), "exit": o.exit_code, "seconds": round(o.seconds, 2),
             "drain": o.report.get("drain") or [],
             "phases": {k: v for k, v in (o.report.get("phases") or {}).items() if k in ("drain", "make_room")}}
            for o in deploys]
    return {"deploys": len(rows), "in_flight": sum(d.get("in_flight") or 0 for r in rows for d in r["drain"]),
            "cut": sum(d.get("cut") or 0 for r in rows for d in r["drain"]),
            "timed_out": sum(1 for r in rows if any(d.get("timed_out") for d in r["drain"])),
            "drain_s": _stats([r["phases"]["drain"] for r in rows if "drain" in r["phases"]]),
            "make_room_s": _stats([r["phases"]["make_room"] for r in rows if "make_room" in r["phases"]]),
            "per_deploy": rows}
