"""Measurement (not a test; issue 22 item 5): in `switch: reload`, how many old nginx workers a run of deploys
leaves behind while browsers hold WebSockets, without and with `worker_shutdown_timeout`.

    .venv/bin/python bench/ws_workers_bench.py [--cycles 20] [--timeouts none,10s] [--stop-timeout 3s]
                                               [--rollback | --no-rollback]

Per setting: a fresh stack (`bgh-ws-<id>…`: nginx 1.30 with 2 workers, the real backend, the site of
tests/long_site.py), v1 deployed, then `--cycles` cycles back to back: a deploy, then (by default) a rollback —
so one color (blue) is never stopped, as when each release is tried and taken back. Before each cycle a browser
opens a WebSocket and keeps it, and every socket the app or nginx closed reconnects (what the client sketch in
docs/real-backend.md does). After each cycle: nginx's worker processes (current and "shutting down"), sockets
open, how long the deploy took. Writes bench/results/ws-workers-{rollback,deploys}-<date>.json and prints a markdown table. Hold
/tmp/bluegreen-docker-tests.lock while it runs (it uses the shared engine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

import docker  # noqa: E402

from helpers import wait_until  # noqa: E402
from long_site import wire  # noqa: E402
from provenance import measured_on  # noqa: E402
from site_under_test import Site  # noqa: E402
from stack import Stack, TestImages  # noqa: E402
from ws_client import Socket  # noqa: E402

NJS_NGINX = "bluegreen-test/nginx:1.30"


def workers(stack: Stack) -> tuple[int, int]:
    """nginx's worker processes: (current, shutting down)."""
    titles = [p[-1] for p in stack.nginx.top()["Processes"] if "nginx: worker process" in p[-1]]
    old = sum("is shutting down" in t for t in titles)
    return len(titles) - old, old


def run(client: docker.DockerClient, cycles: int, shutdown_timeout: str | None, stop_timeout: str,
        rollback: bool) -> dict:
    images = TestImages(app="bluegreen-test/app:1", nginx="bluegreen-test/nginx:1", app_repo="bluegreen-test/app")
    stack = Stack(client, images, nginx_image=NJS_NGINX)
    stack.name = stack.network = f"bgh-ws-{stack.id}"
    stack.nginx_name, stack.prefix = f"{stack.name}-nginx", f"{stack.name}-app"
    stack.switch = "reload"
    rows, sockets, reconnects = [], [], 0
    try:
        stack.start()
        if shutdown_timeout:
            conf = stack.read_nginx_file("nginx.conf")
            stack.write_nginx_file("nginx.conf", conf.replace("worker_processes 2;", "worker_processes 2;\n"
                                                              f"worker_shutdown_timeout {shutdown_timeout};"))
        site = Site(stack, Path(tempfile.mkdtemp(prefix="bgh-ws-")),
                    service={"image": "bluegreen-test/backend:${APP_TAG}", "stop_timeout": stop_timeout})
        wire(site)
        assert site.deploy("v1").returncode == 0
        url = f"{stack.public_url}/ws?every=1"
        for n in range(1, cycles + 1):
            for i, ws in enumerate(sockets):
                if not ws.open:
                    sockets[i], reconnects = Socket(url), reconnects + 1
            sockets.append(Socket(url))  # a browser arrives and stays
            wait_until(lambda: all(ws.messages for ws in sockets if ws.open), 10, "every socket's first tick")
            began = time.monotonic()
            result = site.deploy("v2" if n % 2 else "v3")
            seconds = time.monotonic() - began
            back = site.bg("rollback", "backend").returncode if rollback else 0
            current, old = workers(stack)
            rows.append({"cycle": n, "exit": result.returncode or back, "deploy_seconds": round(seconds, 1),
                         "workers": current, "shutting_down": old, "sockets_open": sum(ws.open for ws in sockets),
                         "reconnects_so_far": reconnects})
            print(f"  {shutdown_timeout or 'none'} #{n}: {rows[-1]}", flush=True)
        for ws in sockets:
            ws.close()
        time.sleep(1)  # the closes reach nginx; the old workers that carried only these sockets exit
        after = workers(stack)
    finally:
        stack.close()
    times = sorted(r["deploy_seconds"] for r in rows)
    return {"worker_shutdown_timeout": shutdown_timeout, "stop_timeout": stop_timeout, "rollback": rollback,
            "rows": rows,
            "max_shutting_down": max(r["shutting_down"] for r in rows),
            "last_shutting_down": rows[-1]["shutting_down"], "reconnects": reconnects,
            "deploy_p50_s": statistics.median(times), "deploy_max_s": times[-1],
            "failed_cycles": sum(r["exit"] != 0 for r in rows), "after_all_closed": list(after)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--rollback", action=argparse.BooleanOptionalAction, default=True,
                        help="roll back after each deploy (default), so blue is never stopped")
    parser.add_argument("--timeouts", default="none,10s", help="worker_shutdown_timeout values; none: not set")
    parser.add_argument("--stop-timeout", default="3s")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    client = docker.from_env()
    results = [run(client, args.cycles, None if t == "none" else t, args.stop_timeout, args.rollback)
               for t in args.timeouts.split(",")]
    doc = {"measured_on": measured_on(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "cycles": args.cycles, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    kind = "rollback" if args.rollback else "deploys"
    path = args.out / f"ws-workers-{kind}-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print("| cycle | worker_shutdown_timeout | old workers after each cycle (max / after the last) | sockets open "
          "at the end | reconnects | deploy p50 / max | failed |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {'deploy + rollback' if r['rollback'] else 'deploy'} | {r['worker_shutdown_timeout'] or 'not set'} "
              f"| {r['max_shutting_down']} / {r['last_shutting_down']} | {r['rows'][-1]['sockets_open']} | "
              f"{r['reconnects']} | {r['deploy_p50_s']} s / {r['deploy_max_s']} s | {r['failed_cycles']} |")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
