"""Benchmark (not a test): long answers and open connections through deploys, with the real backend (issue 22 item
6). `make bench-real` runs it.

    .venv/bin/python bench/real_backend_bench.py [--cycles 20] [--smoke] [--no-faults] [--out bench/results]

bluegreen-test/backend (uvicorn + Starlette) behind nginx 1.30 + njs, for each switch mode (reload, shared-dict):
the clients run during N `bluegreen deploy` + `bluegreen rollback` cycles (5 s after each command: a cycle starts
~10 s after the previous one ended) — SSE streams of 20 s started every second (GET and POST /chat, alternately),
8 WebSockets held (opened again at once when closed; the client itself closes each after 20 s and opens the next, so
that some are always on the color the next deploy replaces), short GET / at 50/s on new connections. The service's
`drain_timeout` is 30 s, longer than a stream: no stream may be cut. Measured: streams and sockets cut before their
end or before the drain deadline, failed short requests, the drain per deploy (the reports' `drain` and
`phases.drain`/`phases.make_room`), what the WebSockets saw (close codes, reconnects). Then the recreate baseline
(bench/zdt's: `docker stop` + `docker rm` + `docker run` of the one container nginx names, `nginx -s reload`) with
the same clients. Fault rows, in each mode after its cycles and under the same clients: the deploy SIGKILLed during
its drain (the next deploy must succeed and leave no container behind), and a deploy with `--drain-timeout 5s`
while 20 s streams are on the color it replaces (what it cut and counted = what the clients saw).

Writes bench/results/real-backend-<date>.{json,md,png} (--smoke: smoke.*). Exits 1 when a harness check fails
(a failed command outside the fault rows, anything left behind), 0 otherwise: the figures are reported, not
enforced. Every container and network it creates is named bgb-<id>… and removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import docker  # noqa: E402

from provenance import measured_on  # noqa: E402
from zdt import analyze, held, modes, report  # noqa: E402
from zdt.load import LoadClass  # noqa: E402
from zdt.stack import NGINX_NJS_IMAGE, BenchStack, missing_images  # noqa: E402

BACKEND = "bluegreen-test/backend"
STREAM_S = 20
DRAIN_TIMEOUT = "30s"  # ≥ STREAM_S: a stream opened just before its color stops still ends whole
FAULT_DRAIN = "5s"  # < STREAM_S: the row that cuts
CLASSES = [LoadClass("get", 50)]
STREAMS = {"streams": {"rate": 1.0, "seconds": STREAM_S, "every": 0.5, "methods": ["GET", "POST"]},
           "websockets": {"count": 8, "every": 1, "lifetime": 20}}
SERVICE = {"drain_timeout": DRAIN_TIMEOUT, "stop_timeout": "10s"}
VARIANTS = [
    modes.Variant("reload", "reload, nginx 1.30, real backend", image=NGINX_NJS_IMAGE, repo=BACKEND, websocket=True,
                  service=SERVICE),
    modes.Variant("dict", "shared-dict, nginx 1.30, real backend", image=NGINX_NJS_IMAGE, switch="shared-dict",
                  repo=BACKEND, websocket=True, service=SERVICE),
]
BASELINE = modes.Variant("recreate", "recreate", image=NGINX_NJS_IMAGE, repo=BACKEND, websocket=True)
SHORT_NAMES = {"reload": "reload 1.30", "dict": "shared-dict 1.30", "recreate": "recreate 1.30"}


def log(message: str) -> None:
    print(f"[bench-real {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20, help="deploy + rollback cycles per switch mode (20)")
    parser.add_argument("--smoke", action="store_true",
                        help="the plumbing only, under a minute: shared-dict, 1 cycle, no baseline, no fault "
                             "rows; writes smoke.{json,md,png} to --out, exits 0 when written")
    parser.add_argument("--recreate-cycles", type=int,
                        help="the baseline's cycles (as --cycles by default; each takes ~30 s: its stop waits for "
                             "the streams up to docker's 10 s)")
    parser.add_argument("--no-faults", action="store_true", help="skip the fault rows")
    parser.add_argument("--modes", help="comma-separated: reload,dict,recreate (all three by default)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    plan = modes.Plan(CLASSES, min_cycles=1 if args.smoke else args.cycles, min_requests=0,
                      hold_deploy=5.0, hold_rollback=5.0, idle_rollbacks=0, warmup=5.0,
                      recreate_cycles=1 if args.smoke else args.recreate_cycles or args.cycles,
                      streams={**STREAMS, "streams": {**STREAMS["streams"], "seconds": 4 if args.smoke else STREAM_S}})
    plan.max_seconds = 60 + plan.min_cycles * 75  # a reload-mode cycle with its drain: ~45 s
    wanted = set(args.modes.split(",")) if args.modes else ({"dict"} if args.smoke else {"reload", "dict", "recreate"})
    faults = not (args.smoke or args.no_faults)
    if faults:
        plan.after_cycles = fault_rows
    client = docker.from_env()
    missing = missing_images(client, [NGINX_NJS_IMAGE, *(f"{BACKEND}:{v}" for v in ("v1", "v2", "v3"))])
    if missing:
        log(f"missing images {missing}: run `make env` (scripts/build-images.sh) first")
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bgb-"))
    stack = BenchStack(client, workdir).start()
    runs: dict = {}
    checks: list[str] = []
    try:
        log(f"stack {stack.name} (work dir {workdir}); {plan.min_cycles} cycles per mode, faults: {faults}")
        for variant in (v for v in VARIANTS if v.name in wanted):
            log(f"mode {variant.title} ({time.monotonic() - started:.0f} s into the run)")
            runs[variant.name] = modes.bluegreen(stack, plan, log, variant)
        if "recreate" in wanted:
            log(f"baseline: recreate ({time.monotonic() - started:.0f} s into the run)")
            runs["recreate"] = modes.recreate(stack, plan, log, BASELINE,
                                              max_seconds=30 + plan.recreate_cycles * 35)
    finally:
        leftovers = stack.close()
        remaining = [c.name for c in client.containers.list(all=True, filters={"name": stack.name},
                                                           ignore_removed=True)]
        if leftovers or remaining:
            checks.append(f"cleanup left {leftovers or remaining}")
        log(f"removed stack {stack.name}")
        shutil.rmtree(workdir, ignore_errors=True)
    date = dt.datetime.now(dt.timezone.utc)
    doc = build_document(runs, plan, client, time.monotonic() - started, checks)
    doc["date"], doc["commit"] = date.strftime("%Y-%m-%dT%H:%M:%SZ"), measured_on()
    stem = "smoke" if args.smoke else f"real-backend-{date.date().isoformat()}"
    paths = report.write(doc, runs, args.out, stem, text=markdown)
    print(markdown(doc))
    log("wrote " + ", ".join(str(p) for p in paths))
    for problem in doc["harness_checks"]:
        if problem != "ok":
            log(f"HARNESS CHECK FAILED: {problem}")
    return 0 if args.smoke or doc["harness_checks"] == ["ok"] else 1


# --- fault rows (under the mode's clients, after its cycles) -------------------------------------------------------
def fault_rows(run: modes.ModeRun, cli, env: dict[str, str]) -> None:
    """Blue serves (a cycle ends with its rollback); green holds streams opened before that rollback. A row that
    breaks is a result too: recorded, and the mode's cycles and clients are kept."""
    for row in (sigkill_during_drain, stream_longer_than_drain):
        began = time.monotonic()
        try:
            run.faults.append(row(run, cli, env))
        except Exception as exc:  # noqa: BLE001 - the bench reports it, the run goes on
            run.faults.append({"row": row.__name__, "mode": run.name, "harness_error": repr(exc),
                               "window": [round(began - run.started, 2), round(time.monotonic() - run.started, 2)]})
            log(f"{run.name}: fault row {row.__name__} broke: {exc!r}")


def _containers(prefix: str) -> list[str]:
    client = docker.from_env()
    return sorted(f"{c.name} ({c.status})" for c in client.containers.list(all=True, filters={"name": prefix})
                  if c.name.startswith(prefix + "-"))


def sigkill_during_drain(run: modes.ModeRun, cli, env: dict[str, str]) -> dict:
    """`deploy v3` to green, SIGKILLed as soon as it says it waits for requests in flight; then the next deploy
    (which repairs what the killed one left) must succeed and leave only the two colors."""
    prefix = _prefix(env)
    row: dict = {"row": "SIGKILL of the deploy during its drain", "mode": run.name}
    begin = time.monotonic()
    proc = subprocess.Popen([*modes._cli(), "deploy", "backend", "--image", f"{BACKEND}:v3", "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    waiting = threading.Event()

    def watch() -> None:
        for line in proc.stderr:
            seen.append(line.rstrip())
            if line.startswith("⏳"):  # the drain's progress: nginx's old workers or green itself still busy
                waiting.set()

    threading.Thread(target=watch, daemon=True).start()
    waiting.wait(60)
    time.sleep(0.5)  # inside the drain: its streams (opened on green while it served) still running
    row["killed_after_s"] = round(time.monotonic() - begin, 2)
    row["killed_at"] = seen[-1] if waiting.is_set() else f"no drain progress within 60 s (last: {seen[-1:]})"
    row["exited_before_kill"] = proc.poll()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    row["output_before_kill"] = seen[-12:]
    row["drain_progress_seen"] = any("⏳" in line for line in seen)
    row["left_after_kill"] = _containers(prefix)
    time.sleep(2)  # an operator's pause before running it again
    nxt = cli(f"{run.name}-fault", "deploy", "green", "--image", f"{BACKEND}:v2")
    row["next_deploy_exit"] = nxt.exit_code
    row["next_deploy_s"] = round(nxt.seconds, 2)
    row["next_deploy_drain"] = nxt.report.get("drain")
    row["next_deploy_repair"] = {k: v for k, v in nxt.report.items() if "repair" in k or "recover" in k}
    row["next_deploy_output"] = nxt.output[-400:]
    row["left_after_next"] = _containers(prefix)
    row["window"] = [round(begin - run.started, 2), round(time.monotonic() - run.started, 2)]
    row["ok"] = nxt.exit_code == 0 and len(row["left_after_next"]) == 2
    log(f"{run.name}: fault SIGKILL during the drain: killed after {row['killed_after_s']} s; next deploy exit "
        f"{nxt.exit_code}; containers {row['left_after_next']}")
    return row


def stream_longer_than_drain(run: modes.ModeRun, cli, env: dict[str, str]) -> dict:
    """Green serves (the repaired deploy): 10 s for streams to open on it, a rollback to blue, 3 s, then
    `deploy --drain-timeout 5s` replaces green under streams of 20 s. What it cut and counted must be what the clients saw cut."""
    row: dict = {"row": f"streams of {STREAM_S} s, --drain-timeout {FAULT_DRAIN}", "mode": run.name}
    begin = time.monotonic()
    time.sleep(STREAM_S / 2)  # green (just deployed by the row before) serves: streams of 20 s open on it
    back = cli(f"{run.name}-fault", "rollback", "blue")
    time.sleep(3)
    op = cli(f"{run.name}-fault", "deploy", "green", "--image", f"{BACKEND}:v3", "--drain-timeout", FAULT_DRAIN)
    row["rollback_exit"], row["deploy_exit"] = back.exit_code, op.exit_code
    row["deploy_s"] = round(op.seconds, 2)
    row["drain"] = op.report.get("drain")
    row["counted_cut"] = sum(d.get("cut") or 0 for d in row["drain"] or [])
    row["deploy_op"] = op  # replaced by what the clients saw once the load stopped (build_document)
    row["window"] = [round(begin - run.started, 2), None]
    log(f"{run.name}: fault --drain-timeout {FAULT_DRAIN}: deploy exit {op.exit_code} in {op.seconds:.1f} s, "
        f"counted cut {row['counted_cut']}")
    time.sleep(STREAM_S + 2)  # every stream opened before this deploy has ended before the load stops
    row["window"][1] = round(time.monotonic() - run.started, 2)
    return row


def _prefix(env: dict[str, str]) -> str:
    """The service's container prefix, from its bluegreen.yml."""
    import yaml

    config = yaml.safe_load(Path(env["BLUEGREEN_CONFIG"]).read_text(encoding="utf-8"))
    return config["services"]["backend"]["container_prefix"]


def fault_seen(run: modes.ModeRun, row: dict) -> dict:
    """What the clients saw during a fault row: streams ending in its window, WebSocket closes in it."""
    since, until = (run.started + t for t in row["window"])
    every = (run.load.get("streams") or {}).get("streams", [])
    streams = [s for s in every if since <= s[2] <= until]
    in_flight = _count(" / ".join(s[6]) or "none" for s in every if s[1] < since < s[2])
    cut = [s for s in streams if not (s[5] and s[7] is None)]
    op = row.pop("deploy_op", None)
    seen = {"streams_in_flight_at_start": in_flight, "streams_ended": len(streams), "streams_cut": len(cut),
            "streams_cut_by_release": dict(sorted(_count(" / ".join(s[6]) or "none" for s in cut).items()))}
    if op is not None:  # the cut row: the streams that ended during its deploy, on the color it replaced
        during = [s for s in cut if op.start <= s[2] <= op.end + held.GRACE]
        seen["streams_cut_during_deploy"] = len(during)
        row["ok"] = op.exit_code == 0 and len(during) == row["counted_cut"]
    sockets = [s for s in (run.load.get("streams") or {}).get("sockets", []) if since <= s[2] <= until]
    seen["websocket_closes"] = dict(sorted(_count(f"{s[4]} by {s[5]}" for s in sockets).items()))
    return seen


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


# --- the document and its tables ---------------------------------------------------------------------------------
def build_document(runs: dict, plan: modes.Plan, client: docker.DockerClient, seconds: float,
                   checks: list[str]) -> dict:
    out: dict = {}
    faults: list[dict] = []
    for name, run in runs.items():
        cycles_until = run.started + run.faults[0]["window"][0] if run.faults else None
        m = analyze.summarize(run)
        m["operations_detail"] = [{k: v for k, v in op.as_dict().items() if k not in ("output", "mode")}
                                  for op in run.operations]
        m["streams"] = held.streams_summary(run, until=cycles_until)
        m["sockets"] = held.sockets_summary(run, until=cycles_until)
        m["drain"] = held.drains(run)
        for row in run.faults:
            if "harness_error" not in row:
                row["seen"] = fault_seen(run, row)
            else:
                checks.append(f"{name}: fault row {row['row']}: {row['harness_error']}")
            faults.append(row)
        checks.extend(f"{name}: {note.splitlines()[0]}" for note in run.notes if "exited" in note or "cleanup" in note)
        if name != "recreate" and m["operations"].get("rollback", {}).get("count", 0) < plan.min_cycles:
            checks.append(f"{name}: fewer than {plan.min_cycles} cycles")
        out[name] = m
    nginx = sorted({run.nginx_version for run in runs.values() if run.nginx_version})
    return {
        "seconds": round(seconds, 1),
        "machine": {"cpus": os.cpu_count(), "nginx": ", ".join(nginx), "docker": client.version().get("Version"),
                    "python": platform.python_version(), "kernel": platform.release()},
        "clients": {"short": [c.__dict__ for c in plan.classes], **plan.streams},
        "plan": {"cycles": plan.min_cycles, "hold_deploy_s": plan.hold_deploy, "hold_rollback_s": plan.hold_rollback,
                 "service": SERVICE, "fault_drain_timeout": FAULT_DRAIN},
        "short_names": SHORT_NAMES,
        "modes": out, "faults": faults, "harness_checks": checks or ["ok"],
    }


def _s(stats: dict, key: str) -> str:
    value = stats.get(key)
    return "–" if value is None else f"{value:.2f}"


def markdown(doc: dict) -> str:
    modes_ = doc["modes"]
    names = list(modes_)
    st = doc["clients"]["streams"]
    ws = doc["clients"]["websockets"]
    lines = [f"Run {doc['date']} on commit {doc['commit']} · {doc['machine']['cpus']} CPUs · nginx "
             f"{doc['machine']['nginx']} · Docker {doc['machine']['docker']} · total {doc['seconds'] / 60:.1f} min"
             " · "
             f"clients: SSE streams of {st['seconds']:g} s started {st['rate']:g}/s ({', '.join(st['methods'])} "
             f"alternately), {ws['count']} WebSockets held ≤ {ws.get('lifetime') or '∞'} s each, GET / at "
             f"{doc['clients']['short'][0]['rate']:g}/s on new "
             f"connections · service: drain_timeout {doc['plan']['service']['drain_timeout']}, stop_timeout "
             f"{doc['plan']['service']['stop_timeout']} · harness checks: "
             + ("ok" if doc["harness_checks"] == ["ok"] else "; ".join(doc["harness_checks"])), ""]
    header = "| | " + " | ".join(SHORT_NAMES.get(n, n) for n in names) + " |"
    lines += [header, "|---|" + "---:|" * len(names)]

    def row(title: str, cell) -> None:
        lines.append(f"| {title} | " + " | ".join(cell(modes_[n]) for n in names) + " |")

    row("cycles (deploy + rollback)", lambda m: str(m["operations"].get("rollback", {}).get("count", 0)))
    row("SSE streams started (GET + POST)", lambda m: f"{m['streams']['started']:,}")
    row("… whole (`done` received)", lambda m: f"{m['streams']['whole']:,}")
    row("… **cut before their end or the drain deadline**", lambda m: f"**{m['streams']['cut_early']}**")
    row("… cut at a drain deadline (counted in the report)", lambda m: str(m["streams"]["cut_at_deadline"]))
    row("… failed to open", lambda m: str(m["streams"]["failed_to_open"]))
    row("… tokens from two releases", lambda m: str(m["streams"]["changed_release"]))
    row(f"WebSocket connections ({ws['count']} held, each ≤ {ws.get('lifetime') or '∞'} s; reopened after a "
        "close not the client's)",
        lambda m: f"{m['sockets']['connections']} ({m['sockets']['reopened_after_close']})")
    row("… closes (code by whom)", lambda m: ", ".join(f"{k} × {v}" for k, v in m["sockets"]["closes"].items())
        or "none")
    row("… **cut without a close frame (1006)**", lambda m: f"**{m['sockets']['cut_no_close_frame']}**")
    row("… closed → reopened (s) p50 / p95", lambda m: f"{_s(m['sockets']['reconnect_gap_s'], 'p50')} / "
        f"{_s(m['sockets']['reconnect_gap_s'], 'p95')}")
    row("**short GET / failed** / requests", lambda m: f"**{m['new_connection_failures']:,}** / "
        f"{m['new_connection_requests']:,}")
    row("deploy: drain (s) p50 / p95 / max", lambda m: f"{_s(m['drain']['drain_s'], 'p50')} / "
        f"{_s(m['drain']['drain_s'], 'p95')} / {_s(m['drain']['drain_s'], 'max')}")
    row("deploy: make_room (s) p50 / p95", lambda m: f"{_s(m['drain']['make_room_s'], 'p50')} / "
        f"{_s(m['drain']['make_room_s'], 'p95')}")
    row("deploys whose drain timed out; requests in flight when asked to stop; cut",
        lambda m: f"{m['drain']['timed_out']}; {m['drain']['in_flight']}; {m['drain']['cut']}"
        if m["drain"]["deploys"] and m["setup"] else "–")
    row("deploy: start → exit (s) p50 / p95", lambda m: f"{_s(m['operations']['deploy']['exit_s'], 'p50')} / "
        f"{_s(m['operations']['deploy']['exit_s'], 'p95')}" if "deploy" in m["operations"] else "–")
    row("rollback: start → exit (s) p50 / p95", lambda m: f"{_s(m['operations']['rollback']['exit_s'], 'p50')} / "
        f"{_s(m['operations']['rollback']['exit_s'], 'p95')}" if "rollback" in m["operations"] else "–")
    if doc["faults"]:
        lines += ["", "| fault row | mode | what bluegreen did | what the clients saw | |", "|---|---|---|---|---|"]
        for f in doc["faults"]:
            if "harness_error" in f:
                lines.append(f"| {f['row']} | {SHORT_NAMES.get(f['mode'], f['mode'])} | broke: "
                             f"{f['harness_error'][:200]} | – | ❌ |")
                continue
            seen = f["seen"]
            if "killed_after_s" in f:
                did = (f"killed {f['killed_after_s']} s in, at `{f['killed_at'][:90]}`; left: "
                       f"{', '.join(f['left_after_kill'])}; next deploy exit {f['next_deploy_exit']} in "
                       f"{f['next_deploy_s']} s, then: {', '.join(f['left_after_next'])}")
            else:
                did = (f"deploy exit {f['deploy_exit']} in {f['deploy_s']} s; drain "
                       + "; ".join(f"{d['color']}: in flight {d['in_flight']}, cut {d['cut']}, timed out "
                                   f"{d['timed_out']}" for d in f["drain"] or []))
            saw = (f"streams ended {seen['streams_ended']}, cut {seen['streams_cut']}"
                   + (f" (during the deploy: {seen['streams_cut_during_deploy']})"
                      if "streams_cut_during_deploy" in seen else "")
                   + "; WebSocket closes " + (", ".join(f"{k} × {v}" for k, v in seen["websocket_closes"].items())
                                               or "none"))
            lines.append(f"| {f['row']} | {SHORT_NAMES.get(f['mode'], f['mode'])} | {did} | {saw} "
                         f"| {'✅' if f.get('ok') else '❌'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
