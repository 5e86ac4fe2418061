"""Benchmark (not a test): `bluegreen jenkins sync` with nothing to change, 200 jobs and 50 credentials declared.

Against the Jenkins stand-in (tests/jenkins_standin.py) on 127.0.0.1, with python-jenkins unmocked, in each
Jenkins line it models ("recent" re-serializes every job on every save; "lts-older" keeps the posted XML until a
build saves it): one initial sync creates everything, every deploy job then runs a Declarative build (its
Jenkinsfile's parameters, options and tracker land on the job, re-serialized) and the Rollback job is re-saved,
then the no-change sync runs `repeats` times. Measured: wall time and the requests it makes (from the stand-in's
log). Target: zero writes, at most 2 requests per item. Writes bench/results/jenkins-sync-<date>.json and .md.

    PYTHONPATH=python python bench/jenkins_sync_bench.py           # the bench (~1 min)
    PYTHONPATH=python python bench/jenkins_sync_bench.py --quick   # a smoke run: 20 jobs, 5 credentials, no files
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "tests"), str(ROOT / "bench")]

from bluegreen.jenkins.commands import Settings, run_sync  # noqa: E402
from jenkins_standin import MODES, Standin  # noqa: E402
from jenkins_standin_xstream import Jenkinsfile  # noqa: E402
from provenance import measured_on  # noqa: E402


@dataclass(frozen=True)
class Size:
    jobs: int
    credentials: int
    repeats: int
    username_password: int  # of the credentials; the rest are secret text

    @property
    def items(self) -> int:
        return self.jobs + self.credentials


BENCH = Size(jobs=200, credentials=50, repeats=5, username_password=10)
QUICK = Size(jobs=20, credentials=5, repeats=1, username_password=1)


def declare(work: Path, size: Size) -> dict[str, str]:
    """Write the declaration, bluegreen.yml and Rollback script; return the environment the values need.
    The declaration names no `bluegreen_config`: the default, bluegreen.yml beside it, is what it reads."""
    env = {"BLUEGREEN_FINGERPRINT_KEY": "bench-fingerprint-key-0123456789"}
    jobs = [{"name": f"deploy-{i:03d}", "type": "deploy", "repo": f"https://git.example.com/app/svc-{i:03d}.git",
             "branch": "*/main", "checkout_credentials": "app-git", "script_path": "Jenkinsfile"}
            for i in range(size.jobs - 1)] + [{"name": "Rollback", "type": "rollback", "script": "Rollback.Jenkinsfile"}]
    credentials = []
    for i in range(size.credentials):
        if i < size.username_password:
            credentials.append({"id": f"cred-{i:02d}", "type": "usernamePassword",
                                "username_from_env": f"USER_{i:02d}", "password_from_env": f"PASS_{i:02d}"})
            env[f"USER_{i:02d}"], env[f"PASS_{i:02d}"] = f"user{i}", f"password-value-{i:02d}-xyz"
        else:
            credentials.append({"id": f"cred-{i:02d}", "type": "secret", "from_env": f"SECRET_{i:02d}"})
            env[f"SECRET_{i:02d}"] = f"secret-value-{i:02d}-abcdef"
    (work / "jenkins.yml").write_text(yaml.safe_dump({"version": 1, "id": "bench", "folder": "bench/app", "jobs": jobs,
                                                      "credentials": credentials}), encoding="utf-8")
    (work / "bluegreen.yml").write_text(yaml.safe_dump({"version": 1, "network": "bench", "services": {
        "backend": {"port": 8000}, "frontend": {"port": 3000}}}), encoding="utf-8")
    (work / "Rollback.Jenkinsfile").write_text("blueGreenRollback(service: params.SERVICE)\n", encoding="utf-8")
    return env


def timed_sync(settings: Settings, standin: Standin) -> dict[str, float | int]:
    before = len(standin.log)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        run_sync(settings, prune=False)
    seconds = time.perf_counter() - start
    log = standin.log[before:]
    return {"seconds": round(seconds, 3), "requests": len(log), "gets": sum(1 for r in log if r[0] == "GET"),
            "writes": sum(1 for r in log if r[0] != "GET")}


# What each deploy job's Jenkinsfile declares (the repository's: two parameters, disableConcurrentBuilds).
JENKINSFILE = Jenkinsfile(
    parameters=["<hudson.model.ChoiceParameterDefinition><name>DEPLOY_ENV</name><choices class=\"java.util.Arrays$"
                "ArrayList\"><a class=\"string-array\"><string>production</string><string>staging</string></a>"
                "</choices></hudson.model.ChoiceParameterDefinition>",
                "<hudson.model.BooleanParameterDefinition><name>FORCE_REBUILD</name><defaultValue>false"
                "</defaultValue></hudson.model.BooleanParameterDefinition>"],
    properties=["<org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>"
                "<abortPrevious>false</abortPrevious>"
                "</org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>"])


def measure(mode: str, settings: Settings, size: Size) -> dict:
    standin = Standin(mode=mode).start()
    try:
        os.environ.update(JENKINS_URL=standin.url, JENKINS_USER="admin", JENKINS_API_TOKEN="admin-token")
        initial = timed_sync(settings, standin)
        for i in range(size.jobs - 1):
            standin.build(f"bench/app/deploy-{i:03d}", JENKINSFILE)
        standin.resave("bench/app/Rollback")
        runs = [timed_sync(settings, standin) for _ in range(size.repeats)]
    finally:
        standin.stop()
    items = size.items
    return {"mode": mode, "initial_sync": initial, "builds_between": size.jobs - 1, "no_change_syncs": runs,
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "requests_per_item": round(max(r["requests"] for r in runs) / items, 3),
            "target_met": all(r["writes"] == 0 and r["requests"] <= 2 * items for r in runs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 jobs, 5 credentials, one no-change sync; prints, writes no results "
                             "unless --out is given")
    parser.add_argument("--out", type=Path, help="write <out>/jenkins-sync-<date>.{json,md} here (default: "
                                                 "bench/results, not for --quick)")
    args = parser.parse_args()
    size = QUICK if args.quick else BENCH
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.update(declare(work, size))
        settings = Settings(declaration=work / "jenkins.yml", credentials_file=None, timeout=30.0,
                            config_path=None, lang="en")
        modes = [measure(mode, settings, size) for mode in MODES]
    items = size.items
    result = {
        "date": dt.date.today().isoformat(), "commit": measured_on(), "items": {"jobs": size.jobs, "credentials": size.credentials},
        "modes": modes, "target_met": all(m["target_met"] for m in modes),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "server": "tests/jenkins_standin.py on 127.0.0.1 (local; a real Jenkins adds its own latency per request)",
    }
    if args.out or not args.quick:
        out = (args.out or ROOT / "bench" / "results") / f"jenkins-sync-{result['date']}"
        out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(_markdown(result, items), encoding="utf-8")
    print(_markdown(result, items))
    return 0 if result["target_met"] else 1


def _markdown(r: dict, items: int) -> str:
    lines = [f"# jenkins sync benchmark, {r['date']} (commit {r.get('commit', 'unknown')})", "",
             f"{r['items']['jobs']} jobs + {r['items']['credentials']} credentials declared ({items} items); "
             f"server: {r['server']}. Between the initial sync and the no-change syncs, every deploy job ran a "
             "Declarative build (parameters, options and the property tracker recorded, job re-serialized) and "
             "the Rollback job was re-saved.", ""]
    for m in r["modes"]:
        lines += [f"## stand-in mode `{m['mode']}`", "",
                  "| run | wall time (s) | requests | GET | writes | requests/item |", "|---|---|---|---|---|---|"]
        rows = [("initial sync (creates all)", m["initial_sync"])]
        rows += [(f"no-change sync #{i + 1}", run) for i, run in enumerate(m["no_change_syncs"])]
        for name, run in rows:
            lines.append(f"| {name} | {run['seconds']} | {run['requests']} | {run['gets']} | {run['writes']} | "
                         f"{run['requests'] / items:.2f} |")
        lines += ["", f"Median no-change sync: {m['median_seconds']} s. Target (0 writes, ≤ 2 requests/item): "
                  f"{'met' if m['target_met'] else 'NOT met'}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
