"""One row in one mode: a fresh stack, the setup deploys, the load, the fault, the checks, the cleanup."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable

import docker

from chaos import observe
from chaos.rows import NEXT_DEPLOY, Row
from chaos.stack import ChaosStack
from zdt.load import LoadClass
from zdt.runner import LoadProcess

# Lower than the proof bench's rates: a row is short and the CLI, dockerd and two nginx generations share 2 cores.
CLASSES = [
    LoadClass("get", 80),
    LoadClass("post", 30, path="/upload", method="POST", body_bytes=1024),
    LoadClass("slow", 3, path="/slow?s=2", timeout=8.0),  # ~6 in flight at every instant
    LoadClass("ka-pool", 20, keepalive="pool", connections=4),
    LoadClass("ka-raw", 20, keepalive="raw", connections=4),
]
WARMUP = 0.8  # load before the fault: slow requests reach their steady number in flight
SETTLE = 2.2  # load after the last command: the slow ones started during it end (s=2)


def run_row(client: docker.DockerClient, workdir: Path, row: Row, mode: str, log: Callable[[str], None]) -> dict:
    stack = (row.stack or ChaosStack)(client, workdir, mode, row.id.replace(" ", "_").replace("#", "-"))
    doc: dict = {"row": row.id, "title": row.title, "mode": mode, "next_command": row.next}
    load = None
    try:
        if row.setup:
            row.setup(stack)
        stack.up(config_tmpfs=row.config_tmpfs)
        for version in ("v1", "v2"):
            r = stack.deploy(version)
            if r.code != 0:
                raise RuntimeError(f"setup deploy {version} exited {r.code}: {r.first_line}")
        before = observe.history_keys(stack)
        load = LoadProcess(stack.port, CLASSES, stack.dir, "load", 240)
        time.sleep(WARMUP)  # measurement, not synchronisation: the load's steady state before the fault
        t0 = time.monotonic()
        outcome = row.act(stack)
        t1 = time.monotonic()
        doc["command"] = _result(outcome.command)
        doc["notes"], doc["extra"] = outcome.notes, outcome.extra
        doc["status_after_fault"] = observe.status(stack)
        if row.clear:
            row.clear(stack)
            doc["fault_cleared_before_next"] = True
        nxt = stack.deploy(NEXT_DEPLOY) if row.next == "deploy" else stack.bg("rollback", "backend")
        doc["next"] = _result(nxt)
        t2 = time.monotonic()
        time.sleep(SETTLE)  # measurement: requests started during the commands end
        records = load.stop()
        load = None
        doc["load_fault"] = observe.load_failures(records, t0, t1)
        doc["load_next"] = observe.load_failures(records, t1, t2)
        doc["load_total"] = observe.load_failures(records, 0, t2 + SETTLE)
        if outcome.extra.get("serving_at"):  # an engine restart: what users saw once nginx served again
            doc["load_after_serving"] = observe.load_failures(records, outcome.extra["serving_at"], t2 + SETTLE)
        doc["lag_max_s"] = round(max(records["lag_max"]), 3)
        doc["status_after_next"] = observe.status(stack)
        after = observe.history_keys(stack)
        doc["history"] = {"before": len(before or []), "after": len(after or []),
                          "lost": observe.lost(before, after)}
        doc["state"] = observe.state_valid(stack.state_dir)
    except Exception as exc:  # a harness failure is a row result too: said, not hidden
        doc["harness_error"] = f"{type(exc).__name__}: {exc}"
        doc["traceback"] = traceback.format_exc()[-2000:]
        log(f"  harness error: {doc['harness_error']}")
    finally:
        if load is not None:
            load.kill()
        try:
            errors = stack.close()
        except Exception as exc:  # noqa: BLE001 - the engine may be the fault: the teardown still runs
            errors = [f"close: {exc}"]
        if errors:
            doc.setdefault("cleanup_errors", []).extend(errors)
        if row.teardown:
            try:
                row.teardown(stack)
            except Exception as exc:  # noqa: BLE001 - reported
                doc.setdefault("cleanup_errors", []).append(str(exc))
            if "dockerd" in row.title:
                stack.close()  # anything the restored engine brought back
    return doc


def _result(r) -> dict | None:
    if r is None:
        return None
    return {"exit_code": r.code, "first_line": r.first_line, "seconds": round(r.seconds, 2),
            "tail": (r.stdout + r.stderr)[-3000:] if r.code != 0 else ""}
