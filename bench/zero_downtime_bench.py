"""Benchmark (not a test): failed requests, rollback time and reloads per switch under load, blue-green against
the recreate baseline, on the real stack (Docker engine, nginx container, app containers). `make bench` runs it.

    .venv/bin/python bench/zero_downtime_bench.py [--quick] [--out bench/results]

Stages, all under the same load (bench/zdt/load.py) through their own nginx's port on 127.0.0.1:
  1. sanity       load, no switch: must show 0 failures, or the harness itself is broken and the run stops;
  2. reload       ≥ 20 cycles of `bluegreen deploy` + `bluegreen rollback`, switch: reload, nginx 1.22;
  3. reload-kmt   the same on nginx 1.30 with `keepalive_min_timeout 10s` in the public server block;
  4. dict         switch: shared-dict on nginx 1.30, ≥ 20 cycles and ≥ 100,000 new-connection requests;
  5. dict-kmt     shared-dict with nginx.keepalive_min_timeout: 10s (bluegreen renders it);
  6. swarm        runtime: swarm, 3 replicas per color, dnsrr, on a single-node swarm this run creates and leaves;
  7. recreate     the guide's old way: stop + rm + run the one container under the same name, reload nginx.
`--nodes` runs instead, on the three-node Swarm of tests/swarm_nodes.py (bench/three_nodes.py: brought up, removed after;
the machine's own engine is not touched): the sanity stage on nginx 1.30 there, then swarm-nodes: 4 replicas per
color, 2 on each worker, nginx on the manager, the releases pulled from the registry; no recreate baseline (the
one-node run has it). It writes bench/results/swarm-nodes-<date>.{json,md,png}.
(The 2026-11-26 run's `keepalive_timeout 0` stage is dropped to keep the run within 25 minutes; its numbers stay
in bench/results/2026-11-26.md.)
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

from provenance import measured_on  # noqa: E402
from zdt import analyze, anatomy, modes, report  # noqa: E402
from zdt.load import LoadClass  # noqa: E402
from zdt.stack import APP_REPO, NGINX_IMAGE, NGINX_NJS_IMAGE, BenchStack, missing_images  # noqa: E402

# Rates this 2-core machine sustains with nginx, docker-proxy and the CLI beside the generator (the sanity stage
# checks it on every run). New-connection classes: 360 req/s; keep-alive: 2 × 50 req/s on 8 connections each.
# The busy class, closed loop: each connection sends its next request when the previous answer is in, but at most
# every 20 ms (400/s for the 8). Uncapped it reached ~1,000/s, and nginx, docker-proxy and the app serving it (not
# niced) took the CPU from the CLI: rollbacks measured 3 s instead of 1. 20 ms is still ~8× denser than ka-raw.
BUSY_RATE = 400
CLASSES = [
    LoadClass("get", 250),
    LoadClass("post", 100, path="/upload", method="POST", body_bytes=1024),
    LoadClass("slow", 10, path="/slow?s=3", timeout=8.0),  # 3 s each: ~30 always in flight
    LoadClass("ka-pool", 50, keepalive="pool", connections=8),
    LoadClass("ka-raw", 50, keepalive="raw", connections=8),
    LoadClass("ka-busy", BUSY_RATE, keepalive="busy", connections=8),  # closed loop, like wrk -c 8
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 3-minute smoke run (1 cycle per mode, no 100k target)")
    parser.add_argument("--smoke", action="store_true",
                        help="the plumbing only, about a minute (`make test`): the reload mode, 1 cycle, a 2 s "
                             "sanity, 1 recreate cycle; writes smoke.{json,md,png} to --out, exits 0 when written")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--render-only", action="store_true", help="redo the report from the last run's records")
    parser.add_argument("--only", help="comma-separated blue-green modes to run (dev tries), e.g. dict,swarm")
    parser.add_argument("--nodes", action="store_true",
                        help="the three-node Swarm instead (tests/swarm_nodes.py; root, docker-registry): sanity and "
                             "swarm-nodes only → swarm-nodes-<date>.*")
    parser.add_argument("--cycles", type=int, help="deploy + rollback cycles per mode (default 20)")
    args = parser.parse_args()
    if args.nodes:
        from three_nodes import swarm

        with swarm(log) as three:
            return run(args, three)
    return run(args)


def nodes_variant() -> modes.Variant:
    """Swarm across the workers: 4 tasks per color, at most 2 per node, none on the manager (so each color has 2
    on each worker), the releases pulled from the registry on the manager."""
    from three_nodes import APP_REPO as REGISTRY_REPO

    return modes.Variant("swarm-nodes", "Swarm, 2 workers, 4 replicas per color (2 per worker), dnsrr, reload + "
                         "keepalive_min_timeout 10s, nginx 1.30 on the manager", image=NGINX_NJS_IMAGE, site_kmt="10s",
                         swarm=True, repo=REGISTRY_REPO,
                         service={"replicas": 4, "max_replicas_per_node": 2, "constraints": ["node.role==worker"]})


def run(args: argparse.Namespace, three=None) -> int:
    plan = modes.Plan(CLASSES)
    if args.render_only:
        with open(LAST_RUN, "rb") as f:
            return finish(*pickle.load(f), plan=plan, client=docker.from_env(), out_dir=args.out)
    if args.quick:
        plan.sanity_seconds, plan.min_cycles, plan.min_requests = 5, 1, 0
        plan.recreate_cycles, plan.idle_rollbacks = 2, 2
    if args.smoke:  # nothing measured is worth reading: this proves the bench still runs and writes its files
        plan.sanity_seconds, plan.min_cycles, plan.min_requests, plan.max_seconds = 2, 1, 0, 30
        plan.recreate_cycles, plan.idle_rollbacks, plan.warmup = 1, 0, 1
    if args.cycles:
        plan.min_cycles = args.cycles
    only = set(args.only.split(",")) if args.only else ({"reload"} if args.smoke else None)
    variants = [v for v in modes.VARIANTS if only is None or v.name in only]
    if three:  # one mode, its cycles given the run's whole time (a cycle across nodes takes longer)
        variants, plan.min_requests = [nodes_variant()], 0
        plan.max_seconds = plan.budget = 40 * 60
    client = docker.from_env()
    missing = [] if three else missing_images(
        client, [NGINX_IMAGE, NGINX_NJS_IMAGE, *(f"{APP_REPO}:{v}" for v in ("v1", "v2", "v3"))])
    if missing:
        log(f"missing images {missing}: run `make env` (scripts/build-images.sh) first")
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bgb-"))
    stack = BenchStack(client, workdir)
    if three:
        from three_nodes import PUBLISH_IP

        stack.publish_ip = PUBLISH_IP
    stack.start()
    runs: dict = {}
    checks: list[str] = []
    swarm_created = False
    anatomy_doc: dict = {}
    try:
        log(f"stack {stack.name} (work dir {workdir})")
        runs["sanity"] = modes.sanity(stack, plan, log, NGINX_NJS_IMAGE if three else NGINX_IMAGE)
        sanity = analyze.classes_summary(runs["sanity"])
        broken = {n: c["by_kind"] for n, c in sanity.items() if c["failures"]}
        behind = analyze.behind_schedule({"classes": sanity})
        if broken or behind:
            log(f"HARNESS BROKEN: with no switch at all: failures {broken or 'none'}, schedule {behind or 'kept'} "
                f"(load average {os.getloadavg()[0]:.1f}); lower the rates in CLASSES or free the machine")
            if broken and not (args.quick or args.smoke):  # failures with no switch: the harness itself is wrong, nothing to measure
                return 1
            # a generator behind schedule: the machine is busier than the rates assume; the run goes on and its
            # report says the numbers are not valid (a --quick run goes on whatever, for the plumbing)
            if broken:
                checks.append(f"sanity: failures with no switch: {broken}")
        log(f"sanity: {sum(c['requests'] for c in sanity.values()):,} requests, 0 failures; achieved "
            + ", ".join(f"{n} {c['achieved_rate']:.0f}/s" for n, c in sanity.items()))
        anatomy_doc = {} if args.smoke or three else anatomy.measure(log)
        for i, variant in enumerate(variants):
            elapsed = time.monotonic() - started
            window = modes.share_of_budget(plan, elapsed, variants[i:], variant)
            log(f"mode {i + 1}/{len(variants)}: {variant.title} ({elapsed:.0f} s into the run; load window ≤ "
                f"{window:.0f} s)")
            if variant.swarm and not three:
                swarm_created = swarm_created or start_swarm(client)
            runs[variant.name] = modes.bluegreen(stack, plan, log, variant, window)
        if not three:
            log(f"baseline: recreate ({time.monotonic() - started:.0f} s into the run)")
            runs["recreate"] = modes.recreate(stack, plan, log)
    finally:
        leftovers = stack.close()
        if swarm_created:
            leftovers += leave_swarm(client)
        remaining = [c.name for c in client.containers.list(all=True, filters={"name": stack.name}, ignore_removed=True)]
        if leftovers or remaining:
            checks.append(f"cleanup left {leftovers or remaining}")
        log(f"removed stack {stack.name}" + (f" (problems: {leftovers or remaining})" if checks else ""))
        shutil.rmtree(workdir, ignore_errors=True)

    seconds, date = time.monotonic() - started, dt.datetime.now(dt.timezone.utc)
    stem = f"swarm-nodes-{date.date().isoformat()}" if three else None
    if args.smoke:  # the files are the result; the harness checks judge a real run's numbers, not this one's
        finish(runs, seconds, checks, date, anatomy_doc, plan=plan, client=client, out_dir=args.out, stem="smoke")
        return 0
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    with open(LAST_RUN, "wb") as f:  # for --render-only
        pickle.dump((runs, seconds, checks, date, anatomy_doc), f)
    return finish(runs, seconds, checks, date, anatomy_doc, plan=plan, client=client, out_dir=args.out, stem=stem)


def _last_line(note: str) -> str:
    """A failed command's note ends with its output: its first line (what exited) and last line (why) suffice."""
    lines = [line for line in note.splitlines() if line.strip()]
    return lines[0] if len(lines) < 2 else f"{lines[0]} … {lines[-1].strip()}"


def start_swarm(client: docker.DockerClient) -> bool:
    """A single-node swarm for the Swarm mode; True when this run created it (and so must leave it)."""
    info = client.info().get("Swarm") or {}
    if info.get("LocalNodeState") == "active":
        if not info.get("ControlAvailable"):
            raise RuntimeError("this Docker engine is a Swarm worker: the Swarm mode needs a manager")
        return False
    client.swarm.init(advertise_addr="127.0.0.1", default_addr_pool=["10.214.0.0/16"], subnet_size=24)
    return True


def leave_swarm(client: docker.DockerClient) -> list[str]:
    """Leave the swarm this run created, and the bridge Swarm made for the nginx container's overlay endpoint."""
    try:
        client.swarm.leave(force=True)
        for network in client.networks.list(names=["docker_gwbridge"]):
            network.remove()
    except docker.errors.APIError as exc:
        return [f"leaving the swarm: {exc}"]
    log("left the swarm this run created")
    return []


def finish(runs: dict, seconds: float, checks: list[str], date: dt.datetime, anatomy_doc: dict, *,
           plan: modes.Plan, client: docker.DockerClient, out_dir: Path, stem: str | None = None) -> int:
    doc = build_document(runs, plan, client, seconds)
    doc["date"] = date.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["commit"] = measured_on()
    doc["anatomy"] = anatomy_doc
    if stem and stem.startswith("swarm-nodes"):
        doc["note"] = ("A manager and two workers, three Docker engines of the tests' own (tests/swarm_nodes.py) on "
                       "one 2-core machine shared with other sessions: latencies are noisy; "
                       "the failed requests are the claim. The one-node Swarm row and the recreate baseline: "
                       "bench/results/2026-12-01.md.")
    if seconds > plan.budget + 60:
        checks.append(f"the run took {seconds / 60:.1f} min, over its {plan.budget / 60 + 1:.0f}-minute bound")
    if "recreate" in doc["modes"] and doc["modes"]["recreate"]["new_connection_failures"] == 0:
        checks.append("the recreate baseline shows no failure: the harness cannot see downtime")
    for name, run in runs.items():
        checks.extend(f"{name}: {_last_line(note)}" for note in run.notes if "exited" in note or "cleanup" in note)
        if name not in ("sanity", "recreate") and doc["modes"][name]["operations"].get("rollback", {}).get(
                "count", 0) < plan.min_cycles:
            checks.append(f"{name}: fewer than {plan.min_cycles} cycles")
        behind = analyze.behind_schedule(doc["modes"][name])
        if behind:
            checks.append(f"{name}: the load generator fell behind its schedule ({behind}); the machine was too busy "
                          f"(load average {run.loadavg[0]:.1f} → {run.loadavg[1]:.1f}): these numbers are not valid")
    doc["harness_checks"] = checks or ["ok"]
    stem = stem or date.date().isoformat()
    raw = save_raw(runs, stem)
    doc["raw_records"] = str(raw.relative_to(ROOT))
    paths = report.write(doc, runs, out_dir, stem)
    print(report.markdown(doc))
    log("wrote " + ", ".join(str(p) for p in paths))
    for problem in checks:
        log(f"HARNESS CHECK FAILED: {problem}")
    return 1 if checks else 0


def build_document(runs: dict, plan: modes.Plan, client: docker.DockerClient, seconds: float) -> dict:
    summaries = {name: analyze.summarize(run) for name, run in runs.items()}
    for name, run in runs.items():
        summaries[name]["operations_detail"] = [
            {k: v for k, v in op.as_dict().items() if k not in ("output", "mode")} for op in run.operations]
    load = ", ".join(f"{c.name} closed loop on {c.connections} connections, ≤ {c.rate:g}/s" if c.keepalive == "busy"
                     else f"{c.name} {c.rate:g}/s" for c in plan.classes)
    nginx = sorted({run.nginx_version for run in runs.values() if run.nginx_version})
    return {
        "seconds": round(seconds, 1),
        "machine": {"cpus": os.cpu_count(), "nginx": ", ".join(nginx), "docker": client.version().get("Version"),
                    "python": platform.python_version(), "kernel": platform.release()},
        "load_description": f"open loop: {load}",
        "plan": {"classes": [c.__dict__ for c in plan.classes], "min_cycles": plan.min_cycles,
                 "min_requests": plan.min_requests, "hold_deploy_s": plan.hold_deploy,
                 "hold_rollback_s": plan.hold_rollback},
        "modes": summaries,
        "targets": analyze.targets(summaries, min_cycles=plan.min_cycles, min_requests=plan.min_requests),
    }


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
