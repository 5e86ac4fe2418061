"""Fault bench (not a test; issue 15): each fault row injected at an exact phase of a real deploy or rollback, under
the zero-downtime bench's open-loop load, in both switch modes. `make chaos` runs it (hold the heavy lock).

    .venv/bin/python bench/chaos_bench.py [--rows 1,2,8d] [--modes reload,shared-dict] [--out bench/results]
    .venv/bin/python bench/chaos_bench.py --own-engine bgc-engine --dockerd --rows 11   # the engine rows, safely
    .venv/bin/python bench/chaos_bench.py --nodes   # a worker lost mid-deploy or while watched, three-node Swarm (N1-N4)

Per row and mode: a fresh stack (`bgc-<id>…`), v1 then v2 deployed, the load started, the fault injected through a
failpoint (`BLUEGREEN_FAILPOINT=<point>` kills the run there, `<point>:pause` holds it while the fault goes in),
`bluegreen status`, the fault's undo, the next ordinary command, status again, history and state checked, and
everything removed. Writes bench/results/faults-<date>.{json,md}. Exits 0 when every row ran (red rows are
results, not errors), 1 when the harness failed somewhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import docker  # noqa: E402

from chaos import engine, report, rows  # noqa: E402
from provenance import measured_on  # noqa: E402
from chaos.run import CLASSES, run_row  # noqa: E402
from chaos.stack import Result  # noqa: E402

MODES = ("reload", "shared-dict")
SHARED = ("Three engines of the tests' own (tests/swarm_nodes.py) on a 2-core machine shared with other work: "
          "timings are noisy; the failed requests, exit codes and statuses are the result.")


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", help="comma-separated row ids (8d and 8r select every kill point)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--dockerd", action="store_true",
                        help="also row 11: restart dockerd (stops every container without live-restore; only "
                             "inside /tmp/bluegreen-heavy.lock, which `make chaos` takes)")
    parser.add_argument("--own-engine", metavar="NAME",
                        help="run every row against a Docker engine of its own, in network namespace NAME "
                             "(chaos/engine.py: made, loaded with the test images, removed afterwards); row 11 then "
                             "restarts that engine only")
    parser.add_argument("--nodes", action="store_true",
                        help="the node-loss rows (N1 drained, N2 engine killed) on the three-node Swarm of "
                             "tests/swarm_nodes.py, brought up for the run and removed after → swarm-nodes-faults-<date>")
    parser.add_argument("--budget", type=float, default=22 * 60,
                        help="seconds after which the remaining rows are reported as not run (default 22 min)")
    parser.add_argument("--stem", default=None, help="file name stem (default faults-<date>)")
    parser.add_argument("--render-only", type=Path, metavar="JSON",
                        help="redo the verdicts and the md from a run's json (nothing is run)")
    args = parser.parse_args()
    if args.render_only:
        doc = json.loads(args.render_only.read_text(encoding="utf-8"))
        for row in doc["rows"]:  # the first line is derived from the output kept in the json
            for key in ("command", "next"):
                cmd = row.get(key)
                if cmd and cmd.get("tail"):
                    cmd["first_line"] = Result(cmd["exit_code"], cmd["tail"], "", 0).first_line
        js, md = report.write(args.render_only.parent, args.render_only.stem, doc["meta"], doc["rows"])
        log(f"wrote {js} and {md}")
        return 0
    if args.own_engine:
        return in_own_engine(args.own_engine)
    if args.nodes:
        from chaos import node_loss
        from three_nodes import swarm

        with swarm(log):
            return run(args, node_loss.rows(), [node_loss.MODE], "swarm-nodes-faults")
    return run(args, rows.all_rows(), [m for m in args.modes.split(",") if m], "faults")


def run(args: argparse.Namespace, catalogue: list, modes: list[str], prefix: str) -> int:
    client = docker.from_env()
    started, epoch = time.monotonic(), dt.datetime.now(dt.timezone.utc)
    workdir = Path(tempfile.mkdtemp(prefix="bgc-"))
    results = []
    try:
        # Row by row, both modes each, in the order of rows.all_rows() (most important first): when the time
        # budget runs out, what is left is the least important, and is reported as not run.
        for row, mode in [(r, m) for r in rows.selected(catalogue, args.rows) for m in modes if m in r.modes]:
            if row.heavy and not args.dockerd:
                results.append(rows.skipped(row, mode, "restarts dockerd: only with --dockerd (make chaos)"))
                continue
            if time.monotonic() - started > args.budget:
                results.append(rows.skipped(row, mode, f"time budget ({args.budget:.0f} s) used up"))
                continue
            log(f"{mode}: row {row.id}: {row.title}")
            doc = run_row(client, workdir, row, mode, log)
            v, why = report.verdict(doc)
            cmd, nxt = doc.get("command") or {}, doc.get("next") or {}
            log(f"  exit {cmd.get('exit_code')} · next {nxt.get('exit_code')} · failed "
                f"{report.failed(doc, 'load_total') if 'load_total' in doc else '-'} · {v} {'; '.join(why)}")
            results.append(doc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {"date": epoch.strftime("%Y-%m-%d"), "started": epoch.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": measured_on(), "cpus": os.cpu_count(), "docker": "Docker " + client.version().get("Version", "?")
            + (f" (own engine {own.name}, its own network namespace)" if (own := engine.of_docker_host()) else ""),
            "classes": [c.__dict__ for c in CLASSES], "seconds": time.monotonic() - started,
            **({"note": SHARED} if prefix != "faults" else {})}
    js, md = report.write(args.out, args.stem or f"{prefix}-{meta['date']}", meta, results)
    log(f"wrote {js} and {md} ({meta['seconds']:.0f} s)")
    return 1 if any("harness_error" in d and not d.get("not_run") for d in results) else 0


def in_own_engine(name: str) -> int:
    """This bench again, inside namespace `name` against its own engine (DOCKER_HOST), which is removed after."""
    own = engine.OwnEngine(name)
    argv = [a for i, a in enumerate(sys.argv[1:]) if a != "--own-engine" and sys.argv[i] != "--own-engine"
            and not a.startswith("--own-engine=")]
    try:
        log(f"own engine {name}: {own.host} in /run/netns/{name}")
        own.up()
        return subprocess.run([*own.enter(), sys.executable, __file__, *argv],
                              env={**os.environ, "DOCKER_HOST": own.host}).returncode
    finally:
        problems = own.down()
        log(f"own engine {name} removed" + (f"; not removed: {problems}" if problems else ""))


if __name__ == "__main__":
    sys.exit(main())
