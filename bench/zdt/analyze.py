"""From one mode's records and operations to the numbers in the report.

Definitions (the README's Proof section repeats them):
- failure: anything but a 2xx answer. Kinds: non-2xx (by status), connect, reset (RST), closed (EOF before a
  complete answer), timeout, protocol.
- longest gap: the longest time between two consecutive successful answers of a class (by completion time),
  within the load window; at these rates the normal gap is a few milliseconds, so a long one is an outage.
- upper bound: with k = 0 failures in n requests, the failure rate is below 1 - 0.05^(1/n) ≈ 3/n with 95 %
  confidence (the "rule of three").
- rollback (and deploy) time: command start → exit; and command start → the start of the first request on a
  new connection that the target color (baseline: version) answered.
- reloads per switch: nginx's own "reconfiguring" log lines while the command ran.
"""

from __future__ import annotations

import bisect
import collections
import statistics
from typing import Any

KINDS = ("non2xx", "connect", "reset", "closed", "timeout", "protocol")


def kind_of(outcome: Any) -> str | None:
    """None for a success, else the failure kind."""
    if isinstance(outcome, int):
        return None if 200 <= outcome < 300 else "non2xx"
    return outcome if outcome in KINDS else "protocol"


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def upper_bound(n: int, k: int) -> float | None:
    """95 % one-sided upper bound of the failure rate for k = 0 (exact form of 3/n); None when k > 0."""
    return (1 - 0.05 ** (1 / n)) if n and k == 0 else None


def classes_summary(run: Any) -> dict[str, dict]:
    doc = run.load
    names = [c["name"] for c in doc["classes"]]
    by_class: dict[str, list] = {n: [] for n in names}
    for rec in doc["records"]:
        by_class[names[rec[0]]].append(rec)
    out = {}
    for cls in doc["classes"]:
        recs = by_class[cls["name"]]
        kinds = collections.Counter(kind_of(r[3]) for r in recs)
        statuses = collections.Counter(str(r[3]) for r in recs if kind_of(r[3]) == "non2xx")
        failures = sum(v for k, v in kinds.items() if k)
        done = sorted(r[1] + r[2] for r in recs if kind_of(r[3]) is None)
        edges = [run.started] + done + [run.stopped] if done else [run.started, run.stopped]
        gap = max(b - a for a, b in zip(edges, edges[1:]))
        ok_latency = [r[2] for r in recs if kind_of(r[3]) is None]
        span = run.stopped - run.started
        out[cls["name"]] = {
            "keepalive": cls["keepalive"], "rate": cls["rate"], "requests": len(recs), "failures": failures,
            # what the generator really sent: for the open-loop classes ≈ rate, for the busy one its throughput
            # (counted inside the load window: one generator may still run while the other drains its slow requests)
            "achieved_rate": round(sum(1 for r in recs if run.started <= r[1] <= run.stopped) / span, 1)
            if span > 0 else None,
            "by_kind": {k: kinds.get(k, 0) for k in KINDS}, "statuses": dict(statuses),
            "failure_rate": failures / len(recs) if recs else None,
            "upper_bound_95": upper_bound(len(recs), failures),
            "longest_gap_s": round(gap, 3),
            "latency_p50_s": quantile(ok_latency, 0.5), "latency_p99_s": quantile(ok_latency, 0.99),
            "scheduler_lag_max_s": round(doc["lag_max"][names.index(cls["name"])], 3),
            "late_starts": doc["late"][names.index(cls["name"])],
        }
    return out


def behind_schedule(mode: dict, *, max_lag: float = 0.25, max_late: float = 0.02) -> str:
    """Why the load generator did not keep its schedule ("" when it did): an open-loop load that starts late is
    no longer the load it claims, and a starved client reports its own delays as latency or misses EOFs.
    Kept: no start more than `max_lag` late, and at most `max_late` of them more than 50 ms late."""
    late = [f"{n}: max lag {c['scheduler_lag_max_s']:.2f} s, {c['late_starts']} late"
            for n, c in mode["classes"].items()
            if c["scheduler_lag_max_s"] > max_lag or c["late_starts"] > max_late * c["requests"]]
    return "; ".join(late)


def fresh_answers(run: Any, field: int) -> tuple[list[float], list[Any]]:
    """Successful requests on a new connection (slow ones aside), sorted by start: (starts, who answered)."""
    names = [c["name"] for c in run.load["classes"]]
    fresh = {i for i, c in enumerate(run.load["classes"]) if c["keepalive"] == "none" and "slow" not in names[i]}
    found = sorted((r[1], r[field]) for r in run.load["records"] if r[0] in fresh and kind_of(r[3]) is None)
    return [s for s, _ in found], [who for _, who in found]


def first_target(answers: tuple[list[float], list[Any]], start: float, target: str) -> float | None:
    """Seconds from `start` to the first request, on a new connection, that `target` answered: when clients
    start landing on the target. Its start, not its answer, so that a busy client's latency does not count."""
    starts, who = answers
    for i in range(bisect.bisect_left(starts, start), len(starts)):
        if who[i] == target:
            return round(starts[i] - start, 3)
    return None


OUTSIDE = "outside the operation (interpreter, imports, config, Docker client, exit)"
BETWEEN = "inside, between phases (lock, look at containers and nginx file, state, history)"


def _unphased(op: Any, phases: dict[str, list[float]]) -> dict[str, list[float]]:
    """The time a run's phases do not cover: around the operation, and between its phases."""
    timed = sum((op.report.get("phases") or {}).values())
    return {OUTSIDE: phases[OUTSIDE] + [round(op.seconds - op.report["duration"], 3)],
            BETWEEN: phases[BETWEEN] + [round(op.report["duration"] - timed, 3)]}


def operations_summary(run: Any, *, target_field: int) -> dict[str, Any]:
    """target_field: index in a record of what identifies the target (4 = color, 5 = version)."""
    out: dict[str, Any] = {}
    answers = fresh_answers(run, target_field)
    for action in ("deploy", "rollback"):
        ops = [o for o in run.operations if o.action == action]
        if not ops:
            continue
        exits = [o.seconds for o in ops]
        firsts = [t for t in (first_target(answers, o.start, o.target) for o in ops) if t is not None]
        phases: dict[str, list[float]] = collections.defaultdict(list)
        for o in ops:
            for phase, seconds in (o.report.get("phases") or {}).items():
                phases[phase].append(seconds)
            if "duration" in o.report:  # the report times the operation; the rest is the process around it
                phases.update(_unphased(o, phases))
        out[action] = {
            "count": len(ops),
            "exit_s": _stats(exits),
            "first_target_s": _stats(firsts), "never_answered_by_target": len(ops) - len(firsts),
            "phases_s": {p: _stats(v) for p, v in phases.items()},
            "reloads": dict(sorted(collections.Counter(o.reloads for o in ops).items())),
        }
    return out


def in_flight_at_switches(run: Any, class_name: str) -> int | None:
    """The fewest `class_name` requests in flight at any nginx reload: > 0 proves some crossed every one."""
    names = [c["name"] for c in run.load["classes"]]
    if class_name not in names:
        return None
    idx = names.index(class_name)
    spans = [(r[1], r[1] + r[2]) for r in run.load["records"] if r[0] == idx]
    if not run.operations:
        return None
    offset = run.operations[0].epoch_start - run.operations[0].start  # epoch - monotonic
    moments = [t - offset for t in run.nginx_reloads if run.started <= t - offset <= run.stopped]
    counts = [sum(1 for a, b in spans if a <= t <= b) for t in moments]
    return min(counts) if counts else None


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(statistics.median(values), 3), "p95": round(quantile(values, 0.95), 3),
            "max": round(max(values), 3), "mean": round(statistics.fmean(values), 3)}


def summarize(run: Any) -> dict[str, Any]:
    target_field = 5 if run.name == "recreate" else 4
    classes = classes_summary(run)
    strict = [c for c in classes.values() if c["keepalive"] == "none"]
    ka = {n: c for n, c in classes.items() if c["keepalive"] != "none"}
    switches = len(run.operations)
    reloads = sum(o.reloads or 0 for o in run.operations)
    return {
        "title": run.title, "setup": getattr(run, "setup", {}), "nginx_version": run.nginx_version,
        "seconds": round(run.stopped - run.started, 1), "switches": switches,
        "load_average": [round(x, 2) for x in run.loadavg],
        "nginx_reloads": reloads, "notes": run.notes,
        "classes": classes,
        "new_connection_requests": sum(c["requests"] for c in strict),
        "new_connection_failures": sum(c["failures"] for c in strict),
        "keepalive_failures_per_switch": {n: round(c["failures"] / switches, 2) if switches else None
                                          for n, c in ka.items()},
        "keepalive_failures_per_reload": {n: round(c["failures"] / reloads, 2) if reloads else None
                                          for n, c in ka.items()},
        "slow_in_flight_min": in_flight_at_switches(run, "slow"),
        "operations": operations_summary(run, target_field=target_field),
        "nginx_errors": getattr(run, "nginx_errors", {}),
        "rollback_without_load_s": _stats([o.seconds for o in getattr(run, "idle_rollbacks", [])]),
        "rollback_without_load_outside_s": _stats([o.seconds - o.report["duration"]
                                                   for o in getattr(run, "idle_rollbacks", []) if o.report]),
        "rollback_without_load_phases_s": idle_phases(getattr(run, "idle_rollbacks", [])),
        "anatomy": getattr(run, "anatomy", {}),
    }


def idle_phases(ops: list[Any]) -> dict[str, float | None]:
    """Median seconds per phase of the no-load rollbacks, and the time inside the operation between phases."""
    phases: dict[str, list[float]] = collections.defaultdict(list)
    for o in ops:
        timed = o.report.get("phases") or {}
        for phase, seconds in timed.items():
            phases[phase].append(seconds)
        if "duration" in o.report:
            phases["between phases"].append(o.report["duration"] - sum(timed.values()))
    return {p: round(statistics.median(v), 3) for p, v in phases.items()}


# The issues' targets (12 item 5, 13 item 5): reported per mode, never enforced (the run's exit code is for the
# harness's own checks).
ROLLBACK_P95 = {"shared-dict": 0.3, "reload": 0.5}


def targets(modes: dict[str, dict], *, min_cycles: int, min_requests: int) -> list[dict]:
    out = []
    for name, m in modes.items():
        setup = m.get("setup") or {}
        if not setup:
            continue
        cycles = m["operations"].get("rollback", {}).get("count", 0)  # completed cycles: a cycle ends with its rollback
        classes = m["classes"]
        total = sum(c["requests"] for c in classes.values())
        failed = {n: c["failures"] for n, c in classes.items() if c["failures"]}
        if setup.get("switch") == "shared-dict":
            out.append({"mode": name, "target": f"every class: 0 failed in ≥ {min_requests:,} requests over ≥ "
                                                f"{min_cycles} cycles",
                        "measured": f"{sum(failed.values()):,} failed ({_named(failed)}) in {total:,} requests "
                                    f"({m['new_connection_requests']:,} on new connections) over {cycles} cycles",
                        "met": not failed and total >= min_requests and cycles >= min_cycles})
        if setup.get("swarm"):
            k = m["new_connection_failures"]
            out.append({"mode": name, "target": f"new-connection GET, POST, slow: 0 failed over ≥ {min_cycles} cycles",
                        "measured": f"{k:,} failed in {m['new_connection_requests']:,} requests over {cycles} cycles",
                        "met": k == 0 and cycles >= min_cycles})
        limit = ROLLBACK_P95.get(setup.get("switch", ""), 0.5)
        rb = m["operations"].get("rollback", {})
        first, exits = rb.get("first_target_s", {}), rb.get("exit_s", {})
        idle = m.get("rollback_without_load_s", {})
        # The measure: command start → traffic on the target (the first new-connection request the target
        # answered), under the load; a rollback the target never answered fails it.
        out.append({"mode": name, "target": f"rollback p95 ≤ {limit} s, start → traffic on the target",
                    "measured": f"p95 {first.get('p95')} s under load (start → exit: p95 {exits.get('p95')} s under "
                                f"load, {idle.get('p95')} s with no load)",
                    "met": first.get("p95") is not None and first["p95"] <= limit
                    and not rb.get("never_answered_by_target")})
    base = modes.get("recreate")
    if base:
        out.append({"mode": "recreate", "target": "baseline: failures visible",
                    "measured": f"{base['new_connection_failures']:,} failed new-connection requests in "
                                f"{base['switches']} recreates", "met": base["new_connection_failures"] > 0})
    return out


def _named(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k:,}" for n, k in counts.items()) or "none"
