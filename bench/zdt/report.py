"""Writing one run: `<date>.json` (everything), `<date>.md` (the tables the README embeds), `<date>.png` (the plot).

matplotlib comes from bench/requirements.lock and is imported only here, with the headless Agg backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLASS_TITLES = {
    "get": "GET, new connection", "post": "POST 1 KB, new connection", "slow": "GET /slow?s=3, new connection",
    "ka-pool": "GET keep-alive, pooled, no retry", "ka-raw": "GET keep-alive, raw socket, no retry",
}


def _s(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _triple(stats: dict) -> str:
    return " / ".join(_s(stats.get(k)) for k in ("p50", "p95", "max")) if stats.get("n") else "–"


def _bound(c: dict) -> str:
    if c["upper_bound_95"] is not None:
        return f"< {c['upper_bound_95'] * 100:.4f} %"
    return f"{c['failure_rate'] * 100:.3f} % observed"


def markdown(doc: dict[str, Any]) -> str:
    modes = doc["modes"]
    lines = [f"Run {doc['date']} · {doc['machine']['cpus']} CPUs · nginx {doc['machine']['nginx']} · "
             f"Docker {doc['machine']['docker']} · {doc['load_description']} · total {doc['seconds']:.0f} s", ""]
    lines += ["| mode | class | requests | failed | non-2xx | connect | reset | closed | timeout "
              "| longest gap (s) | failure rate (95 % bound) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, m in modes.items():
        for cname, c in m["classes"].items():
            k = c["by_kind"]
            lines.append(f"| {m['title']} | {CLASS_TITLES.get(cname, cname)} | {c['requests']:,} "
                         f"| **{c['failures']:,}** | {k['non2xx']} | {k['connect']} | {k['reset']} | {k['closed']} "
                         f"| {k['timeout']} | {c['longest_gap_s']:.3f} | {_bound(c)} |")
    lines += ["", "| mode | switches | reloads per deploy / rollback "
              "| rollback: start → exit (s) p50 / p95 / max | rollback: start → first request served by target (s) "
              "| deploy: start → exit (s) | slow requests in flight at every reload (min) "
              "| keep-alive requests lost per reload (pooled / raw) |",
              "|---|---:|---|---|---|---|---:|---|"]
    for name, m in modes.items():
        if name == "sanity":
            continue
        ops = m["operations"]
        reloads = " / ".join(", ".join(f"{n}×{k}" for k, n in ops.get(a, {}).get("reloads", {}).items()) or "–"
                             for a in ("deploy", "rollback"))
        ka = m["keepalive_failures_per_reload"]
        lines.append(f"| {m['title']} | {m['switches']} | {reloads} | {_triple(ops['rollback']['exit_s'])} "
                     f"| {_triple(ops['rollback']['first_target_s'])} | {_triple(ops['deploy']['exit_s'])} "
                     f"| {m['slow_in_flight_min']} | {_s(ka.get('ka-pool'))} / {_s(ka.get('ka-raw'))} |")
    errors = [(m["title"], m.get("nginx_errors") or {}) for n, m in modes.items() if n != "sanity"]
    if any(e for _, e in errors):
        lines += ["", "nginx's own error log (upstream failures it saw; for a GET it tries the other color before "
                      "answering 502):", ""]
        for title, e in errors:
            found = "; ".join(f"{reason} × {n:,}" for reason, n in sorted(e.items(), key=lambda x: -x[1])[:4])
            lines.append(f"- {title}: {found or 'none'}")
    bg = modes.get("bluegreen")
    if bg:
        lines += ["", "Blue-green deploy, time by phase (from the CLI's `--json` report), seconds:", "",
                  "| phase | p50 | p95 | max |", "|---|---:|---:|---:|"]
        for phase, st in bg["operations"]["deploy"]["phases_s"].items():
            lines.append(f"| {phase} | {_s(st['p50'])} | {_s(st['p95'])} | {_s(st['max'])} |")
        idle = bg["rollback_without_load_s"]
        if idle.get("n"):
            outside = bg["rollback_without_load_outside_s"]
            lines += ["", f"Rollback with no load ({idle['n']} runs, before the load started): start → exit "
                          f"p50 / p95 / max {_triple(idle)} s, of which outside the operation {_triple(outside)} s."]
        lines += ["", "| rollback phase | p50 | p95 | max |", "|---|---:|---:|---:|"]
        for phase, st in bg["operations"]["rollback"]["phases_s"].items():
            lines.append(f"| {phase} | {_s(st['p50'])} | {_s(st['p95'])} | {_s(st['max'])} |")
    lines += ["", "| target | measured | |", "|---|---|---|"]
    for t in doc["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'✅' if t['met'] else '❌'} |")
    return "\n".join(lines) + "\n"


def write(doc: dict[str, Any], runs: dict[str, Any], out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.md", out_dir / f"{stem}.png"]
    paths[0].write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(doc), encoding="utf-8")
    plot(runs, doc, paths[2])
    return paths


# --- the plot ------------------------------------------------------------------------------------------------------
COLORS = {"blue": "#1f77b4", "green": "#2ca02c", "v1": "#1f77b4", "v2": "#2ca02c", "v3": "#17becf"}


def _timeline(ax: Any, run: Any, field: int, title: str, bin_s: float = 0.25) -> None:
    """Successful answers per second by color (or version) and failures, with each command's window shaded."""
    import numpy as np

    t0 = run.started
    span = run.stopped - t0
    bins = np.arange(0, span + bin_s, bin_s)
    keepalive = {i for i, c in enumerate(run.load["classes"]) if c["keepalive"] != "none"}
    groups: dict[str, list[float]] = {}
    failed: dict[str, list[float]] = {"new connection": [], "keep-alive": []}
    for rec in run.load["records"]:
        t = rec[1] - t0
        if isinstance(rec[3], int) and 200 <= rec[3] < 300:
            groups.setdefault(rec[field] or "?", []).append(t)
        else:
            failed["keep-alive" if rec[0] in keepalive else "new connection"].append(t)
    for label in sorted(groups):
        counts, _ = np.histogram(groups[label], bins)
        ax.plot(bins[:-1], counts / bin_s, lw=0.7, color=COLORS.get(label), label=f"answered by {label}")
    bottom = np.zeros(len(bins) - 1)
    for label, color in (("new connection", "#d62728"), ("keep-alive", "#8c564b")):
        if failed[label]:
            counts, _ = np.histogram(failed[label], bins)
            ax.bar(bins[:-1], counts / bin_s, width=bin_s, bottom=bottom, color=color, align="edge",
                   label=f"failed ({label})", zorder=3)
            bottom += counts / bin_s
    for op in run.operations:
        ax.axvspan(op.start - t0, op.end - t0, color="#ff7f0e" if op.action == "deploy" else "#9467bd",
                   alpha=0.12, lw=0)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel("requests/s")
    ax.set_xlim(0, span)
    ax.legend(fontsize=7, loc="upper right", ncol=4)


def _latin(title: str) -> str:
    """The plot's fonts have no Hangul: drop a parenthesis that holds any."""
    return title.split(" (")[0] if not title.isascii() else title


def plot(runs: dict[str, Any], doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(n, r) for n, r in runs.items() if n != "sanity"]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(12, 3 * (len(panels) + 1)), constrained_layout=True)
    for ax, (name, run) in zip(axes, panels):
        m = doc["modes"][name]
        ka = sum(c["failures"] for c in m["classes"].values() if c["keepalive"] != "none")
        _timeline(ax, run, 5 if name == "recreate" else 4,
                  f"{_latin(m['title'])}: {m['switches']} switches; failed: {m['new_connection_failures']:,} of "
                  f"{m['new_connection_requests']:,} on new connections, {ka:,} keep-alive "
                  f"(shaded: deploy orange, rollback purple)")
    axes[-2].set_xlabel("seconds since the load started")
    ax = axes[-1]
    series = []
    for name, run in panels:
        rollbacks = [o.seconds for o in run.operations if o.action == "rollback"]
        if rollbacks:
            series.append((_latin(doc["modes"][name]["title"]), rollbacks))
        idle = [o.seconds for o in getattr(run, "idle_rollbacks", [])]
        if idle:
            series.append((f"{_latin(doc['modes'][name]['title'])}, no load", idle))
    if series:
        ax.boxplot([s for _, s in series], orientation="horizontal", tick_labels=[t for t, _ in series],
                   whis=(0, 100))
        ax.axvline(1.0, color="#d62728", ls="--", lw=0.8, label="target p95 ≤ 1.0 s")
        ax.set_xlabel("rollback: command start → exit (s)")
        ax.legend(fontsize=7)
        ax.set_title("Rollback time", fontsize=9, loc="left")
    fig.savefig(path, dpi=110)
    plt.close(fig)
