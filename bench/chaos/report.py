"""The results: every row's record as JSON, and the table (row × mode) as markdown, with a verdict per row."""

from __future__ import annotations

import json
import re
from pathlib import Path

STRICT = ("get", "post", "slow", "ka-pool")  # the classes that must not fail while nginx keeps running
OUTAGE_ROWS = ("10", "11")  # nginx or the engine itself goes away: a gap is expected, measured and explained


def failed(doc: dict, window: str, classes=STRICT) -> int:
    return sum(doc.get(window, {}).get(c, {}).get("failed", 0) for c in classes)


def verdict(doc: dict) -> tuple[str, list[str]]:
    """green / red, and why red."""
    if "harness_error" in doc:
        return "not run", [doc["harness_error"]]
    why = []
    strict = failed(doc, "load_total")
    if strict and re.match(r"\d*", doc["row"]).group() not in OUTAGE_ROWS:  # (N1, N2: no number, never an outage row)
        why.append(f"{strict} failed requests")
    why += _engine_restart(doc)
    nxt = doc.get("next") or {}
    if nxt.get("exit_code") != 0:
        why.append(f"next {doc['next_command']} exited {nxt.get('exit_code')}")
    if (doc.get("status_after_next") or {}).get("exit_code") != 0:
        why.append("status not consistent after the next command")
    if doc["history"]["lost"]:
        why.append(f"history lost {len(doc['history']['lost'])}")
    state = doc.get("state") or {}
    if state.get("state_json") != "ok" or state.get("history_bad_lines"):
        why.append(f"state {state.get('state_json')}, bad history lines {state.get('history_bad_lines')}")
    return ("red" if why else "green"), why


SERVING_WITHIN = 5.0  # seconds after the engine answers (issue 21: a reboot brings the site back by itself)


def _engine_restart(doc: dict) -> list[str]:
    """Row 11 without live-restore (a reboot): nginx serves again within SERVING_WITHIN s of the engine answering,
    no request started after that fails, and it serves the color status reports."""
    extra = doc.get("extra") or {}
    if "nginx_serving_after_s" not in extra or extra.get("live_restore"):
        return []
    seconds = extra["nginx_serving_after_s"]
    if seconds is None or seconds > SERVING_WITHIN:
        return [f"nginx not serving {SERVING_WITHIN:.0f} s after the engine answered"
                + (f" ({seconds} s)" if seconds is not None else "")]
    why = []
    if after := failed(doc, "load_after_serving"):
        why.append(f"{after} failed requests after nginx served again")
    active = extra.get("status_active_when_serving", (doc.get("status_after_fault") or {}).get("active"))
    if active != extra.get("served_color"):
        why.append(f"served {extra.get('served_color')}, status says {active}")
    return why


def _status(s: dict | None) -> str:
    if not s:
        return "-"
    return f"{s['exit_code']}" + (f" ({', '.join(s['problems'])})" if s.get("problems") else "")


def _classes(doc: dict) -> str:
    load = doc.get("load_total") or {}
    return " / ".join(str(load.get(c, {}).get("failed", "-")) for c in (*STRICT, "ka-raw"))


def markdown(meta: dict, rows: list[dict]) -> str:
    lines = [f"# Faults under load — {meta['date']}", "",
             f"Run {meta['started']} on commit {meta.get('commit', 'unknown')} · {meta['cpus']} CPUs · "
             f"{meta['docker']} · load per row: "
             + ", ".join(f"{c['name']} {c['rate']:.0f}/s" for c in meta["classes"])
             + f" · {meta['seconds']:.0f} s in all. Code: `bench/chaos_bench.py`, `bench/chaos/`."
             + (f" {meta['note']}" if meta.get("note") else ""), "",
             "Failed requests are counted from the fault's injection to the end of the next ordinary command "
             "(+2.2 s), by class: GET new connection / POST / slow (/slow?s=2, in flight across every step) / "
             "keep-alive pooled / keep-alive raw. *status* is `bluegreen status` right after the faulted command "
             "(exit code, problem ids); *next* is the next ordinary command (`deploy` of v3, or `rollback`) with "
             "no hand step, then status again. *lost*: history entries missing afterwards, and whether "
             "state.json and every history line are valid JSON. *verdict* is red when a GET, POST, slow or pooled "
             "keep-alive request failed (not in rows 10 and 11: nginx or the Docker engine itself goes away, and "
             "the gap is what is measured), the next command or the status after it did not exit 0, or anything was "
             "lost; the raw keep-alive client's losses at reloads are shown, not judged (README, Proof). Row 11 "
             "runs in reload mode only: the engine restart is the same in both modes.", "",
             "| row | mode | failed (get/post/slow/ka-pool/ka-raw) | faulted command: exit · first line | status after "
             "| next: exit · status | lost | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for doc in rows:
        v, why = verdict(doc)
        if v == "not run":
            lines.append(f"| {doc['row']} {doc['title']} | {doc['mode']} | - | - | - | - | - | **not run**: "
                         f"{why[0][:160]} |")
            continue
        cmd = doc.get("command") or {}
        first = (cmd.get("first_line") or "").replace("|", "\\|")[:140]
        extra = doc.get("extra") or {}
        gap = ""
        if "nginx_down_s" in extra:
            gap = f" (nginx down {extra['nginx_down_s']} s; longest GET gap {doc['load_total']['get']['gap_s']} s)"
        if "dockerd_gap_s" in extra:
            gap = f" (dockerd gap {extra['dockerd_gap_s']} s; longest GET gap {doc['load_total']['get']['gap_s']} s"
            if "nginx_serving_after_s" in extra:
                gap += (f"; serving {extra['nginx_serving_after_s']} s after the engine answered, "
                        f"{extra.get('served_color')}")
            gap += ")"
        nxt = doc.get("next") or {}
        lost = doc["history"]["lost"]
        state = doc["state"]
        lost_s = ("none" if not lost else f"{len(lost)} entries") + (
            "" if state["state_json"] == "ok" and not state["history_bad_lines"] else f"; state {state['state_json']}")
        mark = "ok" if v == "green" else "**red**: " + "; ".join(why)
        lines.append(f"| {doc['row']} {doc['title']} | {doc['mode']} | {_classes(doc)}{gap} | "
                     f"{cmd.get('exit_code')} · {first} | {_status(doc.get('status_after_fault'))} | "
                     f"{nxt.get('exit_code')} · {_status(doc.get('status_after_next'))} | {lost_s} | {mark} |")
    notes = [d for d in rows if d.get("notes")]
    if notes:
        lines += ["", "Notes per row:", ""]
        lines += [f"- {d['row']} ({d['mode']}): " + "; ".join(d["notes"]) for d in notes]
    return "\n".join(lines) + "\n"


def write(out_dir: Path, stem: str, meta: dict, rows: list[dict]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for doc in rows:
        doc["verdict"], doc["why"] = verdict(doc)
    js, md = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    js.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    md.write_text(markdown(meta, rows), encoding="utf-8")
    return js, md
