"""What a row records after its fault: the load's failures by class, status, history and the state file."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.stack import ChaosStack


def load_failures(doc: dict, since: float, until: float) -> dict:
    """Per class: requests started in [since, until] (monotonic), failed ones (no answer or not 2xx) by kind,
    and the longest stretch of time in which every request of the class failed (the gap a user saw)."""
    classes = [c["name"] for c in doc["classes"]]
    out = {name: {"requests": 0, "failed": 0, "kinds": {}, "gap_s": 0.0} for name in classes}
    streak: dict[str, tuple[float, float] | None] = {name: None for name in classes}
    for index, start, latency, outcome, _color, _version in sorted(doc["records"], key=lambda r: r[1]):
        if not since <= start <= until:
            continue
        row, name = out[classes[index]], classes[index]
        row["requests"] += 1
        ok = isinstance(outcome, int) and 200 <= outcome < 300
        if ok:
            streak[name] = None
            continue
        row["failed"] += 1
        kind = str(outcome)
        row["kinds"][kind] = row["kinds"].get(kind, 0) + 1
        first = streak[name][0] if streak[name] else start
        streak[name] = (first, start + latency)
        row["gap_s"] = round(max(row["gap_s"], start + latency - first), 3)
    return out


def status(stack: ChaosStack) -> dict:
    code, doc = stack.status()
    return {"exit_code": code, "active": doc.get("active"),
            "problems": [p.get("id") for p in doc.get("problems") or []],
            "messages": [p.get("message", "")[:200] for p in doc.get("problems") or []],
            **({"unreadable": doc["unreadable"]} if "unreadable" in doc else {})}


def history_keys(stack: ChaosStack) -> list[str] | None:
    """One key per history entry, read from the file itself (what is on disk is what could be lost; a CLI call
    per row would also cost half a second); None when a line is not JSON."""
    path = stack.state_dir / "backend.history.jsonl"
    if not path.exists():
        return []
    keys = []
    for line in path.read_bytes().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            return None
        keys.append(f"{e.get('started_at')} {e.get('action')} {e.get('result')}")
    return keys


def state_valid(state_dir: Path) -> dict:
    """state.json parses as a JSON object; every history line parses (a torn last line is reported)."""
    result = {"state_json": "missing", "history_lines": 0, "history_bad_lines": 0}
    path = state_dir / "backend.state.json"
    if path.exists():
        try:
            result["state_json"] = "ok" if isinstance(json.loads(path.read_text(encoding="utf-8")), dict) else "bad"
        except (ValueError, OSError) as exc:
            result["state_json"] = f"bad: {exc}"[:120]
    hist = state_dir / "backend.history.jsonl"
    if hist.exists():
        for line in hist.read_bytes().splitlines():
            result["history_lines"] += 1
            try:
                json.loads(line)
            except ValueError:
                result["history_bad_lines"] += 1
    return result


def lost(before: list[str] | None, after: list[str] | None) -> list[str]:
    """History entries present before the row and missing after it."""
    if before is None or after is None:
        return ["history unreadable"]
    return [key for key in before if key not in set(after)]
