"""Nothing rots unseen (issue 23): every bench runs in its smoke form in `make test` — the plumbing only, no figure
judged — and writes its files, each naming the commit it ran on. A bench that crashes (as jenkins_sync_bench.py did
after the config split) fails here instead of on the day someone wants numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_bench(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}
    result = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args[0]} exited {result.returncode}:\n{result.stdout[-3000:]}\n" \
                                   f"{result.stderr[-3000:]}"
    return result


def commit_named(text: str) -> None:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert head and head in text, f"the result does not name the commit {head!r}"


def test_jenkins_sync_bench_smoke(tmp_path: Path) -> None:
    run_bench(["bench/jenkins_sync_bench.py", "--quick", "--out", str(tmp_path)], timeout=120)
    (js,) = tmp_path.glob("jenkins-sync-*.json")
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert [m["mode"] for m in doc["modes"]] and all(m["no_change_syncs"] for m in doc["modes"])
    commit_named(doc["commit"])
    commit_named(js.with_suffix(".md").read_text(encoding="utf-8"))


@pytest.mark.usefixtures("images")
def test_zero_downtime_bench_smoke(tmp_path: Path) -> None:
    run_bench(["bench/zero_downtime_bench.py", "--smoke", "--out", str(tmp_path)], timeout=300)
    doc = json.loads((tmp_path / "smoke.json").read_text(encoding="utf-8"))
    assert {"sanity", "reload", "recreate"} <= set(doc["modes"])
    assert doc["modes"]["reload"]["operations"]["rollback"]["count"] >= 1
    commit_named(doc["commit"])
    commit_named((tmp_path / "smoke.md").read_text(encoding="utf-8"))
    assert (tmp_path / "smoke.png").stat().st_size > 1000


@pytest.mark.usefixtures("images")
def test_chaos_bench_smoke(tmp_path: Path) -> None:
    run_bench(["bench/chaos_bench.py", "--rows", "1b", "--modes", "reload", "--out", str(tmp_path), "--stem",
               "smoke"], timeout=300)
    doc = json.loads((tmp_path / "smoke.json").read_text(encoding="utf-8"))
    (row,) = doc["rows"]
    assert row["row"] == "1b" and row["mode"] == "reload" and "harness_error" not in row, row
    commit_named(doc["meta"]["commit"])
    commit_named((tmp_path / "smoke.md").read_text(encoding="utf-8"))


@pytest.mark.usefixtures("images", "nginx_njs_image")
def test_real_backend_bench_smoke(tmp_path: Path) -> None:
    run_bench(["bench/real_backend_bench.py", "--smoke", "--out", str(tmp_path)], timeout=300)
    doc = json.loads((tmp_path / "smoke.json").read_text(encoding="utf-8"))
    mode = doc["modes"]["dict"]
    assert mode["operations"]["rollback"]["count"] >= 1 and mode["streams"]["started"] > 0, mode["streams"]
    assert mode["sockets"]["connections"] > 0 and mode["drain"]["deploys"] >= 1
    commit_named(doc["commit"])
    commit_named((tmp_path / "smoke.md").read_text(encoding="utf-8"))
    assert (tmp_path / "smoke.png").stat().st_size > 1000
