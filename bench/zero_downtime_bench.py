"""Benchmark (not a test): failed requests, rollback time and reloads per switch under load, blue-green against
the recreate baseline, on the real stack (Docker engine, nginx container, app containers). `make bench` runs it.

    .venv/bin/python bench/zero_downtime_bench.py [--quick] [--out bench/results]

Stages, all under the same open-loop load (bench/zdt/load.py) through nginx's port on 127.0.0.1:
  1. sanity     load, no switch: must show 0 failures, or the harness itself is broken and the run stops;
  2. bluegreen  ≥ 20 cycles of `bluegreen deploy` + `bluegreen rollback`, until ≥ 100,000 new-connection requests;
  3. ka0        a few cycles with `keepalive_timeout 0` on the public server (the keep-alive fix for nginx < 1.27.4);
  4. recreate   the guide's old way: stop + rm + run the one container under the same name, reload nginx.
Writes bench/results/<date>.json, .md and .png; the raw request records stay in .cache/bench/. Exits 1 when a
harness check fails (failures without switches, or none in the baseline), 0 otherwise: targets are reported,
not enforced. Every container and network it creates is named bgb-<id>… and removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_RUN = ROOT / ".cache" / "bench" / "last-run.pickle"  # the last run's records, for --render-only
sys.path.insert(0, str(ROOT / "bench"))

import docker  # noqa: E402

from zdt import analyze, modes, report  # noqa: E402
from zdt.load import LoadClass  # noqa: E402
from zdt.stack import APP_REPO, NGINX_IMAGE, BenchStack  # noqa: E402

# Rates this 2-core machine sustains with nginx, docker-proxy and the CLI beside the generator (the sanity stage
# checks it on every run). New-connection classes: 360 req/s; keep-alive: 2 × 50 req/s on 8 connections each.
CLASSES = [
    LoadClass("get", 250),
    LoadClass("post", 100, path="/upload", method="POST", body_bytes=1024),
    LoadClass("slow", 10, path="/slow?s=3", timeout=8.0),  # 3 s each: ~30 always in flight
    LoadClass("ka-pool", 50, keepalive="pool", connections=8),
    LoadClass("ka-raw", 50, keepalive="raw", connections=8),
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (3 cycles each, no 100k target)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--render-only", action="store_true", help="redo the report from the last run's records")
    args = parser.parse_args()
    plan = modes.Plan(CLASSES)
    if args.render_only:
        with open(LAST_RUN, "rb") as f:
            return finish(*pickle.load(f), plan=plan, client=docker.from_env(), out_dir=args.out)
    if args.quick:
        plan.sanity_seconds, plan.min_cycles, plan.min_requests = 5, 3, 0
        plan.recreate_cycles, plan.ka0_cycles, plan.idle_rollbacks = 3, 2, 2
    client = docker.from_env()
    missing = [ref for ref in (NGINX_IMAGE, f"{APP_REPO}:v1", f"{APP_REPO}:v2", f"{APP_REPO}:v3")
               if not client.images.list(name=ref)]
    if missing:
        log(f"missing images {missing}: run `make env` (scripts/build-images.sh) first")
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bgb-"))
    stack = BenchStack(client, workdir).start()
    runs: dict = {}
    checks: list[str] = []
    try:
        log(f"stack {stack.name} (work dir {workdir})")
        runs["sanity"] = modes.sanity(stack, plan, log)
        sanity = analyze.classes_summary(runs["sanity"])
        broken = {n: c["by_kind"] for n, c in sanity.items() if c["failures"]}
        behind = analyze.behind_schedule({"classes": sanity})
        if broken or behind:
            log(f"HARNESS BROKEN: with no switch at all: failures {broken or 'none'}, schedule {behind or 'kept'} "
                f"(load average {os.getloadavg()[0]:.1f}); lower the rates in CLASSES or free the machine")
            return 1
        log(f"sanity: {sum(c['requests'] for c in sanity.values()):,} requests, 0 failures")
        runs["bluegreen"] = modes.bluegreen(stack, plan, log, idle_rollbacks=plan.idle_rollbacks)
        runs["ka0"] = modes.bluegreen(stack, plan, log, name="ka0", keepalive_timeout="0",
                                      cycles=plan.ka0_cycles)
        runs["recreate"] = modes.recreate(stack, plan, log)
    finally:
        leftovers = stack.close()
        remaining = [c.name for c in client.containers.list(all=True, filters={"name": stack.name})]
        if leftovers or remaining:
            checks.append(f"cleanup left {leftovers or remaining}")
        log(f"removed stack {stack.name}" + (f" (problems: {leftovers or remaining})" if checks else ""))
        shutil.rmtree(workdir, ignore_errors=True)

    seconds, date = time.monotonic() - started, dt.datetime.now(dt.timezone.utc)
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    with open(LAST_RUN, "wb") as f:  # for --render-only
        pickle.dump((runs, seconds, checks, date), f)
    return finish(runs, seconds, checks, date, plan=plan, client=client, out_dir=args.out)


def finish(runs: dict, seconds: float, checks: list[str], date: dt.datetime, *, plan: modes.Plan,
           client: docker.DockerClient, out_dir: Path) -> int:
    doc = build_document(runs, plan, runs["sanity"].nginx_version, client, seconds)
    doc["date"] = date.strftime("%Y-%m-%dT%H:%M:%SZ")
    if doc["modes"]["recreate"]["new_connection_failures"] == 0:
        checks.append("the recreate baseline shows no failure: the harness cannot see downtime")
    for name, run in runs.items():
        checks.extend(f"{name}: {note}" for note in run.notes if "exited" in note)
        behind = analyze.behind_schedule(doc["modes"][name])
        if behind:
            checks.append(f"{name}: the load generator fell behind its schedule ({behind}); the machine was too busy "
                          f"(load average {run.loadavg[0]:.1f} → {run.loadavg[1]:.1f}): these numbers are not valid")
    doc["harness_checks"] = checks or ["ok"]
    stem = date.date().isoformat()
    raw = save_raw(runs, stem)
    doc["raw_records"] = str(raw.relative_to(ROOT))
    paths = report.write(doc, runs, out_dir, stem)
    print(report.markdown(doc))
    log("wrote " + ", ".join(str(p) for p in paths))
    for problem in checks:
        log(f"HARNESS CHECK FAILED: {problem}")
    return 1 if checks else 0


def build_document(runs: dict, plan: modes.Plan, nginx_version: str, client: docker.DockerClient,
                   seconds: float) -> dict:
    summaries = {name: analyze.summarize(run) for name, run in runs.items()}
    for name, run in runs.items():
        summaries[name]["operations_detail"] = [
            {k: v for k, v in op.as_dict().items() if k not in ("output", "mode")} for op in run.operations]
    strict = "new-connection GET, POST and slow"
    load = ", ".join(f"{c.name} {c.rate:g}/s" for c in plan.classes)
    return {
        "seconds": round(seconds, 1),
        "machine": {"cpus": os.cpu_count(), "nginx": nginx_version, "docker": client.version().get("Version"),
                    "python": platform.python_version(), "kernel": platform.release()},
        "load_description": f"open loop: {load}",
        "plan": {"classes": [c.__dict__ for c in plan.classes], "min_cycles": plan.min_cycles,
                 "min_requests": plan.min_requests, "hold_deploy_s": plan.hold_deploy,
                 "hold_rollback_s": plan.hold_rollback},
        "modes": summaries,
        "targets": targets(summaries, strict),
    }


def targets(m: dict, strict: str) -> list[dict]:
    bg, base = m["bluegreen"], m["recreate"]
    cycles = bg["operations"]["deploy"]["count"]
    n, k = bg["new_connection_requests"], bg["new_connection_failures"]
    rb = bg["operations"]["rollback"]
    return [
        {"target": f"blue-green, {strict}: 0 failures in ≥ 100,000 requests over ≥ 20 cycles",
         "measured": f"{k} failures in {n:,} requests over {cycles} cycles", "met": k == 0 and n >= 100_000
         and cycles >= 20},
        {"target": "rollback p95 ≤ 1.0 s, command start → exit, traffic on the target color",
         "measured": f"p95 {rb['exit_s']['p95']} s under load (first request served by target: p95 "
                     f"{rb['first_target_s']['p95']} s; never answered by target: {rb['never_answered_by_target']}); "
                     f"with no load: p95 {bg['rollback_without_load_s']['p95']} s",
         "met": (rb["exit_s"]["p95"] or 99) <= 1.0 and rb["never_answered_by_target"] == 0},
        {"target": "baseline (recreate): failures visible",
         "measured": f"{base['new_connection_failures']:,} failed new-connection requests in "
                     f"{base['switches']} recreates", "met": base["new_connection_failures"] > 0},
    ]


def save_raw(runs: dict, stem: str) -> Path:
    """Every request of every mode, gzipped JSON lines, outside git (.cache/bench/)."""
    path = ROOT / ".cache" / "bench" / f"{stem}-requests.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for name, run in runs.items():
            classes = [c["name"] for c in run.load["classes"]]
            for idx, start, latency, outcome, color, version in run.load["records"]:
                out.write(json.dumps([name, classes[idx], round(start - run.started, 4), round(latency, 4),
                                      outcome, color, version]) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
