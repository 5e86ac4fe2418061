"""Running things beside the load: the load generator process, and timed commands (the bluegreen CLI, docker).

Times are CLOCK_MONOTONIC (`time.monotonic()`), which every process on the machine shares, so a command's start
and exit line up with the load generator's request records; the epoch time is kept too, for nginx's log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zdt.load import LoadClass

BENCH_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Operation:
    """One switch under load: `bluegreen deploy|rollback`, or the baseline's recreate."""

    mode: str
    action: str  # deploy | rollback
    target: str  # the color (blue-green) or version (baseline) that must answer afterwards
    start: float  # monotonic
    end: float
    epoch_start: float
    epoch_end: float
    exit_code: int
    report: dict = field(default_factory=dict)  # the CLI's --json report (blue-green)
    reloads: int | None = None  # nginx "reconfiguring" lines during the command
    output: str = ""  # stderr tail when it failed

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict:
        return asdict(self)


def timed(mode: str, action: str, target: str, argv: list[str], *, env: dict[str, str] | None = None,
          timeout: float = 120) -> Operation:
    """Run argv to completion and time it from just before exec to its exit."""
    epoch, start = time.time(), time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = -9, "", f"timed out after {timeout:.0f} s: {exc}"
    end, epoch_end = time.monotonic(), time.time()
    report: dict = {}
    if stdout.strip().startswith("{"):
        try:
            report = json.loads(stdout)
        except json.JSONDecodeError:
            pass
    return Operation(mode, action, target, start, end, epoch, epoch_end, code, report,
                     output="" if code == 0 else (stderr or stdout)[-2000:])


class LoadProcess:
    """The load generator in its own process (python -m zdt.load), stopped through its stdin. `module`: another
    client with the same protocol (zdt.streams: SSE streams and WebSockets), `extra`: what its spec adds."""

    def __init__(self, port: int, classes: list[LoadClass], workdir: Path, tag: str, max_seconds: float,
                 *, nice: int = 0, module: str = "zdt.load", extra: dict | None = None) -> None:
        self.spec = workdir / f"load-{tag}.spec.json"
        self.out = workdir / f"load-{tag}.json"
        self.spec.write_text(json.dumps({"port": port, "max_seconds": max_seconds,
                                         "classes": [c.__dict__ for c in classes], **(extra or {})}),
                             encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(BENCH_DIR)}
        # A busy (closed-loop) generator runs niced: it takes what CPU is left, never the open-loop schedule's.
        prefix = ["nice", "-n", str(nice)] if nice else []
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", module, str(self.spec), str(self.out)],
                                     stdin=subprocess.PIPE, env=env, text=True)
        self.started = time.monotonic()

    def request_stop(self) -> None:
        """Tell the generator to stop scheduling (it then lets its in-flight requests end)."""
        if self.proc.stdin.closed:
            return
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def stop(self, timeout: float = 30) -> dict:
        """Stop scheduling, let in-flight requests end, and return the records document."""
        self.request_stop()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("the load generator did not stop in time") from None
        if self.proc.returncode != 0:
            raise RuntimeError(f"the load generator failed (exit {self.proc.returncode})")
        return json.loads(self.out.read_text(encoding="utf-8"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Loads:
    """The open-loop classes in one generator process, the busy (closed-loop) ones in another, niced: one
    record document for both, as if a single generator had run them (merge_loads). `streams` (zdt.streams' spec:
    SSE streams and WebSockets) runs a third process, whose document lands under the records' "streams"."""

    def __init__(self, port: int, classes: list[LoadClass], workdir: Path, tag: str, max_seconds: float,
                 streams: dict | None = None) -> None:
        groups = [[c for c in classes if c.keepalive != "busy"], [c for c in classes if c.keepalive == "busy"]]
        self.procs = [LoadProcess(port, group, workdir, f"{tag}-{i}", max_seconds, nice=19 * i)
                      for i, group in enumerate(groups) if group]
        self.streams = LoadProcess(port, [], workdir, f"{tag}-streams", max_seconds, module="zdt.streams",
                                   extra=streams) if streams else None
        self.streams_bound = (streams or {}).get("streams", {}).get("seconds", 0) + 60
        self.started = min(p.started for p in [*self.procs, *([self.streams] if self.streams else [])])

    def stop(self) -> dict:
        for p in [*self.procs, *([self.streams] if self.streams else [])]:
            p.request_stop()  # every generator stops scheduling at once, then each drains its in-flight requests
        doc = merge_loads([p.stop() for p in self.procs])
        if self.streams:  # its streams in flight run to their end
            doc["streams"] = self.streams.stop(timeout=self.streams_bound)
        return doc

    def kill(self) -> None:
        for p in [*self.procs, *([self.streams] if self.streams else [])]:
            p.kill()


def merge_loads(docs: list[dict]) -> dict:
    """Several generators' record documents as one: classes in order, record class indexes shifted."""
    out: dict = {"classes": [], "lag_max": [], "late": [], "records": []}
    for doc in docs:
        offset = len(out["classes"])
        out["classes"] += doc["classes"]
        out["lag_max"] += doc["lag_max"]
        out["late"] += doc["late"]
        out["records"] += [(r[0] + offset, *r[1:]) for r in doc["records"]]
    return out
