"""The Docker engine itself, for row 11: stopped and started again exactly the way scripts/ensure-docker.sh starts
it (the only module that touches dockerd). Only ever called inside /tmp/bluegreen-heavy.lock (`make chaos` takes
it): a restart without live-restore stops every container on the machine, not only this bench's.

When DOCKER_HOST names an engine of the bench's own (engine.py: `chaos_bench.py --own-engine NAME`), that engine
is the one restarted, by its own pidfile, and the machine's engine is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import docker

from chaos import engine

ENSURE = Path(__file__).resolve().parents[2] / "scripts" / "ensure-docker.sh"


def pid() -> int | None:
    if (own := engine.of_docker_host()) is not None:
        return own.pid()
    out = subprocess.run(["pidof", "-s", "dockerd"], capture_output=True, text=True).stdout.strip()
    return int(out) if out else None


def live_restore() -> bool | None:
    if (own := engine.of_docker_host()) is not None:
        return own.live_restore()
    try:
        return bool(docker.from_env(timeout=10).info().get("LiveRestoreEnabled"))
    except Exception:  # noqa: BLE001 - not answering
        return None


def stop(timeout: float = 60) -> float:
    """SIGTERM dockerd and wait until it has exited; seconds it took."""
    if (own := engine.of_docker_host()) is not None:
        return own.stop(timeout)
    start, p = time.monotonic(), pid()
    if p is None:
        return 0.0
    os.kill(p, signal.SIGTERM)
    deadline = start + timeout
    while pid() is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd (pid {p}) did not exit within {timeout:.0f} s")
        time.sleep(0.1)  # poll: dockerd stops its containers (without live-restore) and exits
    return time.monotonic() - start


def start(*, live: bool) -> float:
    """scripts/ensure-docker.sh, with BLUEGREEN_DOCKERD_ARGS=--live-restore or with none (as `make env` starts it);
    seconds until `docker info` answers."""
    if (own := engine.of_docker_host()) is not None:
        return own.start(live=live)
    t0 = time.monotonic()
    env = {**os.environ, "BLUEGREEN_DOCKERD_ARGS": "--live-restore" if live else ""}
    subprocess.run(["bash", str(ENSURE)], env=env, check=True, capture_output=True, text=True, timeout=120)
    return time.monotonic() - t0


def restart(*, live: bool) -> dict:
    stopped = stop()
    started = start(live=live)
    return {"stop_s": round(stopped, 2), "start_s": round(started, 2)}


def restore(original_live: bool | None) -> dict:
    """dockerd as ensure-docker.sh starts it (no extra args), and live-restore as it was; checked."""
    if pid() is None or live_restore() != bool(original_live):
        stop()
        start(live=bool(original_live))
    now = live_restore()
    if now is None or now != bool(original_live):
        raise RuntimeError(f"dockerd not restored: live-restore {now}, expected {original_live}")
    return {"restored": True, "live_restore": now}
