"""Where a rollback's time goes with no load: the interpreter's start, imports (`python -X importtime`, through
PYTHONPROFILEIMPORTTIME), then the operation's own phases from the CLI's --json report (check_target: Docker API;
switch_traffic: nginx file + reload, or one PUT on the admin socket; verify: HTTP through nginx); what is left
is config, the Docker client and exit (the report shows "outside the operation": the process's time around the
operation's own report, i.e. interpreter + imports + config + Docker client + exit).

The import profile comes from one extra rollback run with the profiler on (which itself costs a little), the
other figures from the plain no-load rollbacks, so the parts are medians of different runs: they add up only
roughly, and the report says so.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any, Callable


def interpreter_start(runs: int = 5) -> float:
    """Median wall time of `python -c pass` with the bench's interpreter (the CLI's, too): the floor."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.monotonic() - t0)
    return round(statistics.median(times), 3)


def measure(log: Callable[[str], None]) -> dict[str, Any]:
    floor = interpreter_start()
    log(f"anatomy: python -c pass takes {floor:.3f} s (median of 5)")
    return {"interpreter_s": floor, "python": sys.version.split()[0]}


def parse_importtime(stderr: str) -> dict[str, float]:
    """`-X importtime` lines → seconds per top-level package (`docker`, `httpx`, `bluegreen`, …).

    A line reads `import time: <self us> | <cumulative us> | <indent><module>`. Each module's *self* time is
    added to its top-level package, so the packages add up to the whole import time with nothing counted twice
    (a cumulative time would count requests once under docker and again on its own). Other stderr is ignored."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        try:
            own = int(parts[0])
        except ValueError:  # the header line
            continue
        top = parts[2].strip().split(".")[0]
        out[top] = out.get(top, 0.0) + own / 1e6
    return {k: round(v, 4) for k, v in out.items()}


def profiled(argv: list[str], env: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    """Run one CLI command with the import profiler on: its wall time and imports by package."""
    t0 = time.monotonic()
    proc = subprocess.run(argv, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True,
                          timeout=timeout)
    seconds = time.monotonic() - t0
    imports = parse_importtime(proc.stderr)
    top = dict(sorted(imports.items(), key=lambda kv: -kv[1])[:8])
    return {"exit_code": proc.returncode, "seconds": round(seconds, 3), "imports_s": round(sum(imports.values()), 3),
            "top_imports_s": top}


def table(modes: dict[str, dict], interpreter_s: float | None) -> list[dict[str, Any]]:
    """Per blue-green mode, the no-load rollback's parts (medians, seconds)."""
    rows = []
    for name, m in modes.items():
        prof = m.get("anatomy") or {}
        idle = m.get("rollback_without_load_s") or {}
        if not prof or not idle.get("n"):
            continue
        phases = m.get("rollback_without_load_phases_s") or {}
        inside = sum(v for v in phases.values() if v is not None)
        outside = m.get("rollback_without_load_outside_s", {}).get("p50")
        rows.append({"mode": name, "total_p50": idle["p50"], "total_p95": idle["p95"], "interpreter": interpreter_s,
                     "imports": prof["imports_s"], "outside": outside, "profiled_total": prof["seconds"],
                     "phases": phases,
                     "inside_total": round(inside, 3), "top_imports": prof["top_imports_s"]})
    return rows
