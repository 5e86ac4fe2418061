"""Writing one run: `<date>.json` (everything), `<date>.md` (the tables the README embeds), `<date>.png` (the plot).

matplotlib comes from bench/requirements.lock and is imported only here, with the headless Agg backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from zdt import analyze

CLASS_TITLES = {
    "get": "GET, new connection", "post": "POST 1 KB, new connection", "slow": "GET /slow?s=3, new connection",
    "ka-pool": "GET keep-alive, pooled, no retry", "ka-raw": "GET keep-alive, raw socket, no retry",
    "ka-busy": "GET keep-alive, busy (8 connections, closed loop ≤ 400/s), no retry",
}
SHORT = {"sanity": "sanity", "reload": "reload 1.22", "reload-kmt": "reload+kmt 1.30", "dict": "dict 1.30",
         "dict-kmt": "dict+kmt 1.30", "swarm": "swarm 1.30",
         "swarm-nodes": "swarm 3 nodes 1.30", "recreate": "recreate 1.22"}


def _s(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _triple(stats: dict) -> str:
    return " / ".join(_s(stats.get(k)) for k in ("p50", "p95", "max")) if stats.get("n") else "–"


def _bound(c: dict) -> str:
    if c["upper_bound_95"] is not None:
        return f"< {c['upper_bound_95'] * 100:.4f} %"
    return f"{c['failure_rate'] * 100:.3f} % observed"


def _cell(c: dict | None) -> str:
    return "–" if c is None else f"**{c['failures']:,}** / {c['requests']:,}"


def side_by_side(doc: dict[str, Any]) -> list[str]:
    """Failed / requests: a row per class, a column per mode."""
    modes = doc["modes"]
    names = list(modes)
    classes = list(next(iter(modes.values()))["classes"])
    lines = ["| failed / requests | " + " | ".join(SHORT.get(n, n) for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for cname in classes:
        lines.append(f"| {CLASS_TITLES.get(cname, cname)} | "
                     + " | ".join(_cell(modes[n]["classes"].get(cname)) for n in names) + " |")
    lines.append("| cycles (deploy + rollback) | " + " | ".join(
        str(modes[n]["operations"].get("rollback", {}).get("count", "–")) for n in names) + " |")
    lines.append("| load window (s) | " + " | ".join(f"{modes[n]['seconds']:.0f}" for n in names) + " |")
    lines.append("| nginx | " + " | ".join(modes[n].get("nginx_version") or "–" for n in names) + " |")
    return lines


def _phase_table(modes: dict[str, Any], names: list[str], action: str) -> list[str]:
    phases: list[str] = []
    for n in names:
        for p in modes[n]["operations"].get(action, {}).get("phases_s", {}):
            if p not in phases:
                phases.append(p)
    lines = [f"| {action} phase (p50 / p95, s) | " + " | ".join(SHORT.get(n, n) for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for p in phases:
        cells = []
        for n in names:
            st = modes[n]["operations"].get(action, {}).get("phases_s", {}).get(p)
            cells.append(f"{_s(st['p50'])} / {_s(st['p95'])}" if st else "–")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return lines


def markdown(doc: dict[str, Any]) -> str:
    from zdt import anatomy

    modes = doc["modes"]
    lines = [f"Run {doc['date']} on commit {doc.get('commit', 'unknown')} · {doc['machine']['cpus']} CPUs · nginx {doc['machine']['nginx']} · "
             f"Docker {doc['machine']['docker']} · Python {doc['machine']['python']} · {doc['load_description']} · "
             f"total {doc['seconds'] / 60:.1f} min · harness checks: "
             + ("ok" if doc.get("harness_checks") == ["ok"] else f"{len(doc.get('harness_checks', []))} failed "
                                                                   "(listed at the end)"), ""]
    if doc.get("note"):
        lines += [doc["note"], ""]
    lines += side_by_side(doc)
    lines += ["", "| mode | class | requests | sent/s | failed | non-2xx | connect | reset | closed | timeout "
              "| longest gap (s) | failure rate (95 % bound) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, m in modes.items():
        for cname, c in m["classes"].items():
            k = c["by_kind"]
            lines.append(f"| {m['title']} | {CLASS_TITLES.get(cname, cname)} | {c['requests']:,} "
                         f"| {_s(c.get('achieved_rate'), 0)} "
                         f"| **{c['failures']:,}** | {k['non2xx']} | {k['connect']} | {k['reset']} | {k['closed']} "
                         f"| {k['timeout']} | {c['longest_gap_s']:.3f} | {_bound(c)} |")
    lines += ["", "| mode | switches | reloads per deploy / rollback "
              "| rollback: start → exit (s) p50 / p95 / max | switch lag: rollback start → first request served "
              "by target (s) | rollback with no load (s) | deploy: start → exit (s) "
              "| slow requests in flight at every reload (min) | keep-alive requests lost per reload "
              "(pooled / raw / busy) |",
              "|---|---:|---|---|---|---|---|---:|---|"]
    for name, m in modes.items():
        if name == "sanity" or "rollback" not in m["operations"]:  # (a mode whose first deploy failed)
            continue
        ops = m["operations"]
        reloads = " / ".join(", ".join(f"{n}×{k}" for k, n in ops.get(a, {}).get("reloads", {}).items()) or "–"
                             for a in ("deploy", "rollback"))
        ka = m["keepalive_failures_per_reload"]
        lines.append(f"| {m['title']} | {m['switches']} | {reloads} | {_triple(ops['rollback']['exit_s'])} "
                     f"| {_triple(ops['rollback']['first_target_s'])} | {_triple(m['rollback_without_load_s'])} "
                     f"| {_triple(ops['deploy']['exit_s'])} | {m['slow_in_flight_min']} "
                     f"| {' / '.join(_s(ka.get(k)) for k in ('ka-pool', 'ka-raw', 'ka-busy'))} |")
    errors = [(m["title"], m.get("nginx_errors") or {}) for n, m in modes.items() if n != "sanity"]
    if any(e for _, e in errors):
        lines += ["", "nginx's own error log (upstream failures it saw; for a GET it tries the other color before "
                      "answering 502):", ""]
        for title, e in errors:
            found = "; ".join(f"{reason} × {n:,}" for reason, n in sorted(e.items(), key=lambda x: -x[1])[:4])
            lines.append(f"- {title}: {found or 'none'}")
    bg = [n for n, m in modes.items() if m.get("setup")]
    if bg:
        lines += ["", "Time by phase under load (from the CLI's `--json` report), seconds:", ""]
        lines += _phase_table(modes, bg, "deploy") + [""] + _phase_table(modes, bg, "rollback")
        rows = anatomy.table(modes, (doc.get("anatomy") or {}).get("interpreter_s"))
        if rows:
            lines += ["", "Anatomy of a rollback with no load (medians, s; the import profile is one extra "
                          "profiled run, so the parts add up only roughly):", "",
                      "| mode | start → exit p50 / p95 | outside the operation p50 | of which interpreter start "
                      "(`python -c pass`) | imports (`-X importtime`, profiled run) | inside the operation: phases "
                      "(p50) | largest imports (self time by package) |",
                      "|---|---|---:|---:|---:|---|---|"]
            for r in rows:
                phases = ", ".join(f"{p} {v:.3f}" for p, v in r["phases"].items())
                top = ", ".join(f"{p} {v:.3f}" for p, v in list(r["top_imports"].items())[:5])
                lines.append(f"| {SHORT.get(r['mode'], r['mode'])} | {_s(r['total_p50'])} / {_s(r['total_p95'])} "
                             f"| {_s(r['outside'], 3)} | {_s(r['interpreter'], 3)} | {_s(r['imports'], 3)} "
                             f"| {phases} | {top} |")
    lines += ["", "| mode | target | measured | |", "|---|---|---|---|"]
    for t in doc["targets"]:
        lines.append(f"| {SHORT.get(t['mode'], t['mode'])} | {t['target']} | {t['measured']} "
                     f"| {'✅' if t['met'] else '❌'} |")
    checks = doc.get("harness_checks", [])
    if checks and checks != ["ok"]:
        lines += ["", "Harness checks that failed (the numbers of a mode named here are flagged, not hidden):", ""]
        lines += [f"- {c}" for c in checks]
    return "\n".join(lines) + "\n"


def write(doc: dict[str, Any], runs: dict[str, Any], out_dir: Path, stem: str,
          text: Callable[[dict[str, Any]], str] | None = None) -> list[Path]:
    """text: the .md's tables (this bench's markdown() when None)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.md", out_dir / f"{stem}.png"]
    paths[0].write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text((text or markdown)(doc), encoding="utf-8")
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
    busy = {i for i, c in enumerate(run.load["classes"]) if c["keepalive"] == "busy"}
    groups: dict[str, list[float]] = {}
    failed: dict[str, list[float]] = {"new connection": [], "keep-alive": []}
    for rec in run.load["records"]:
        t = rec[1] - t0
        if isinstance(rec[3], int) and 200 <= rec[3] < 300:
            if rec[0] not in busy:  # the closed-loop class's throughput swings with spare CPU: it would hide the rest
                groups.setdefault(rec[field] or "?", []).append(t)
        else:
            failed["keep-alive" if rec[0] in keepalive else "new connection"].append(t)
    for label in sorted(groups):
        counts, _ = np.histogram(groups[label], bins)
        ax.plot(bins[:-1], counts / bin_s, lw=0.7, color=COLORS.get(label),
                label=f"answered by {label} (open-loop classes)")
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


def plot(runs: dict[str, Any], doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(n, r) for n, r in runs.items() if n != "sanity"]
    names = {**SHORT, **doc.get("short_names", {})}
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(12, 3 * len(panels) + 5), constrained_layout=True,
                             gridspec_kw={"height_ratios": [3] * len(panels) + [5]})
    for ax, (name, run) in zip(axes, panels):
        m = doc["modes"][name]
        ka = sum(c["failures"] for c in m["classes"].values() if c["keepalive"] != "none")
        _timeline(ax, run, 5 if name == "recreate" else 4,
                  f"{names.get(name, name)}: {m['switches']} switches; failed: {m['new_connection_failures']:,} of "
                  f"{m['new_connection_requests']:,} on new connections, {ka:,} keep-alive "
                  f"(shaded: deploy orange, rollback purple)")
    axes[-2].set_xlabel("seconds since the load started")
    ax = axes[-1]
    series = []
    for name, run in panels:
        short = names.get(name, name)
        rollbacks = [o for o in run.operations if o.action == "rollback"]
        answers = analyze.fresh_answers(run, 5 if name == "recreate" else 4)
        moved = [t for t in (analyze.first_target(answers, o.start, o.target) for o in rollbacks) if t is not None]
        if moved:  # the targets' measure: start → the first request the target answered
            series.append((f"{short}: start → traffic", moved))
        if rollbacks:
            series.append((f"{short}: start → exit", [o.seconds for o in rollbacks]))
        idle = [o.seconds for o in getattr(run, "idle_rollbacks", [])]
        if idle:
            series.append((f"{short}, no load: start → exit", idle))
    if series:
        ax.boxplot([s for _, s in series], orientation="horizontal", tick_labels=[t for t, _ in series],
                   whis=(0, 100))
        ax.axvline(0.3, color="#2ca02c", ls="--", lw=0.8, label="target p95 ≤ 0.3 s, start → traffic (shared-dict)")
        ax.axvline(0.5, color="#d62728", ls="--", lw=0.8, label="target p95 ≤ 0.5 s, start → traffic (reload)")
        ax.set_xlabel("rollback, under load unless marked (s)")
        ax.legend(fontsize=7)
        ax.set_title("Rollback time", fontsize=9, loc="left")
    fig.savefig(path, dpi=110)
    plt.close(fig)
