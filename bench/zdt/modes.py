"""What happens under the load, per mode. Each mode gets its own nginx (`bgb-<id>-<mode>`) and its own load run.

- sanity:    the load with no switch at all. Any failure here is the harness's own (rates too high for the
             machine, a client bug), so the run stops: the other modes' numbers would mean nothing.
- bluegreen: cycles of `bluegreen deploy` then `bluegreen rollback`, the real CLI as a subprocess with --json,
             as the Jenkins steps run it. Before the load starts, v1 and v2 are deployed and rolled back once,
             so every measured deploy is the steady-state one: it replaces the idle (backup) color; then a few
             rollbacks with no load measure the CLI's own time apart from CPU contention.
- recreate:  the guide's "기존 방식": `docker stop` + `docker rm` the one app container, `docker run` the new image
             under the same name, `nginx -s reload` so nginx resolves the new container's address (design note
             4); nginx's upstream names that single container. Its best case: no health wait, no pull.

After each command the bench holds a second. The next deploy then replaces the color a rollback just left, while
old nginx workers may still be proxying slow requests to it (the test app exits at once on SIGTERM, so stopping
it would cut them); bluegreen waits for those workers first. nginx's own error log, in the report, shows any
upstream request that was cut anyway.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from zdt.load import LoadClass
from zdt.runner import LoadProcess, Operation, timed
from zdt.stack import APP_REPO, UPSTREAM, BenchStack, Nginx, site_conf

PLACEHOLDER = f"upstream {UPSTREAM} {{ server 127.0.0.1:9 down; }}\n"
UPSTREAM_FILE = f"{UPSTREAM}.upstream.conf"


@dataclass
class Plan:
    classes: list[LoadClass]
    sanity_seconds: float = 15.0
    min_cycles: int = 20
    min_requests: int = 100_000  # of the classes that must not fail (new-connection GET, POST, slow)
    max_seconds: float = 330.0  # bound of the blue-green mode's cycles
    recreate_cycles: int = 10
    idle_rollbacks: int = 10  # rollbacks with no load, before the blue-green load starts
    ka0_cycles: int = 5
    warmup: float = 3.0
    hold_deploy: float = 1.0
    hold_rollback: float = 1.0


@dataclass
class ModeRun:
    name: str
    title: str
    load: dict
    operations: list[Operation] = field(default_factory=list)
    nginx_reloads: list[float] = field(default_factory=list)  # epoch times of every reload nginx logged
    nginx_version: str = ""
    nginx_errors: dict[str, int] = field(default_factory=dict)  # [error] lines by reason (upstream failures)
    loadavg: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average as the load started / stopped
    started: float = 0.0  # monotonic, load start
    stopped: float = 0.0
    notes: list[str] = field(default_factory=list)
    idle_rollbacks: list[Operation] = field(default_factory=list)  # before the load: the CLI's own time


def _under_load(stack: BenchStack, nginx: Nginx, plan: Plan, name: str, title: str,
                body: Callable[[ModeRun, float], None], max_seconds: float) -> ModeRun:
    run = ModeRun(name, title, {})
    load = LoadProcess(nginx.port, plan.classes, stack.workdir, name, max_seconds + 60)
    try:
        run.started = load.started
        start_load = os.getloadavg()[0]
        time.sleep(plan.warmup)  # slow requests reach their steady number in flight
        body(run, load.started + max_seconds)
        time.sleep(plan.warmup)  # the last switch's aftermath is measured too
        run.stopped = time.monotonic()
        run.loadavg = (start_load, os.getloadavg()[0])
        run.load = load.stop()
    finally:
        load.kill()
    run.nginx_reloads = stack.reload_times(nginx.name)
    for op in run.operations:
        op.reloads = sum(1 for t in run.nginx_reloads if op.epoch_start - 0.05 <= t <= op.epoch_end + 0.05)
    run.nginx_errors = stack.errors(nginx.name)
    run.nginx_version = stack.exec(nginx.name, "nginx", "-v")[1].strip().rsplit("/", 1)[-1]
    stack.remove(f"{stack.name}-{name}")  # this mode's nginx and apps: the next mode gets the CPU
    return run


def sanity(stack: BenchStack, plan: Plan, log: Callable[[str], None]) -> ModeRun:
    nginx, _ = _recreate_stack(stack, "sanity")
    log(f"sanity: {plan.sanity_seconds:.0f} s of load, no switch")
    return _under_load(stack, nginx, plan, "sanity", "Sanity: load, no switch",
                       lambda run, deadline: time.sleep(plan.sanity_seconds), plan.sanity_seconds)


# --- blue-green --------------------------------------------------------------------------------------------------
def _cli() -> list[str]:
    script = Path(sys.executable).with_name("bluegreen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bluegreen"]


def bluegreen(stack: BenchStack, plan: Plan, log: Callable[[str], None], *, name: str = "bluegreen",
              keepalive_timeout: str | None = None, cycles: int | None = None, idle_rollbacks: int = 0) -> ModeRun:
    nginx = stack.nginx(name, {"default.conf": site_conf(UPSTREAM, keepalive_timeout=keepalive_timeout),
                               UPSTREAM_FILE: PLACEHOLDER})
    config = stack.bluegreen_config(nginx, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}
    env.update(BLUEGREEN_CONFIG=str(config), BLUEGREEN_LANG="en")

    def cli(mode: str, action: str, target: str, *args: str) -> Operation:
        return timed(mode, action, target, [*_cli(), action, "backend", *args, "--json"], env=env)

    for image, action in ((f"{APP_REPO}:v1", "deploy"), (f"{APP_REPO}:v2", "deploy"), (None, "rollback")):
        op = cli("setup", action, "-", *(("--image", image) if image else ()))
        if op.exit_code != 0:
            raise RuntimeError(f"setup: bluegreen {action} exited {op.exit_code}:\n{op.output}")
    idle = []
    for i in range(idle_rollbacks):  # an even number: blue is active again afterwards
        op = cli(f"{name}-idle", "rollback", ("green", "blue")[i % 2])
        if op.exit_code != 0:
            raise RuntimeError(f"setup: bluegreen rollback exited {op.exit_code}:\n{op.output}")
        idle.append(op)
        time.sleep(0.5)
    images = [f"{APP_REPO}:v3", f"{APP_REPO}:v2"]
    title = "Blue-green" if keepalive_timeout is None else f"Blue-green, keepalive_timeout {keepalive_timeout}"

    def body(run: ModeRun, deadline: float) -> None:
        strict = [c for c in plan.classes if c.keepalive == "none"]
        i = 0
        while time.monotonic() < deadline:
            if cycles is not None and i >= cycles:
                break
            if cycles is None and i >= plan.min_cycles and _sent(run, strict) >= plan.min_requests:
                break
            for action, target, args, hold in (("deploy", "green", ("--image", images[i % 2]), plan.hold_deploy),
                                               ("rollback", "blue", (), plan.hold_rollback)):
                op = cli(name, action, target, *args)
                run.operations.append(op)
                if op.exit_code != 0:  # a result, not a crash: recorded, and the mode ends here
                    run.notes.append(f"bluegreen {action} exited {op.exit_code}: {op.output[-600:]}")
                    log(f"{name}: bluegreen {action} exited {op.exit_code}; ending this mode")
                    return
                time.sleep(hold)
            i += 1
            last = run.operations[-2:]
            log(f"{name}: cycle {i}: deploy {last[0].seconds:.2f} s, rollback {last[1].seconds:.2f} s")

    rate = sum(c.rate for c in plan.classes if c.keepalive == "none")
    run = _under_load(stack, nginx, plan, name, title, body, plan.max_seconds if cycles is None else 300)
    run.idle_rollbacks = idle
    run.notes.append(f"{rate:.0f} req/s of the zero-failure classes")
    return run


def _sent(run: ModeRun, classes: list[LoadClass]) -> int:
    """Requests of `classes` sent so far: the rate is constant (open loop), so the schedule says it; the
    records themselves arrive when the load stops."""
    return int((time.monotonic() - run.started) * sum(c.rate for c in classes))


# --- the recreate baseline ----------------------------------------------------------------------------------------
def _recreate_stack(stack: BenchStack, name: str, image: str = f"{APP_REPO}:v1") -> tuple[Nginx, str]:
    app = f"{stack.name}-{name}-app"
    stack.client.containers.run(image, name=app, network=stack.network, detach=True,
                                environment={"BLUEGREEN_COLOR": "single"}, labels={"bluegreen.bench": stack.id})
    nginx = stack.nginx(name, {"default.conf": site_conf(UPSTREAM),
                               UPSTREAM_FILE: f"upstream {UPSTREAM} {{ server {app}:8000; }}\n"})
    _wait_answer(nginx)
    return nginx, app


def recreate(stack: BenchStack, plan: Plan, log: Callable[[str], None]) -> ModeRun:
    nginx, app = _recreate_stack(stack, "recreate")
    script = ('set -e; docker stop "$APP" >/dev/null; docker rm "$APP" >/dev/null; '
              'docker run -d --name "$APP" --network "$NET" -e BLUEGREEN_COLOR=single "$IMAGE" >/dev/null; '
              'docker exec "$NGINX" nginx -s reload')

    def swap(action: str, version: str) -> Operation:
        env = {**os.environ, "APP": app, "NET": stack.network, "NGINX": nginx.name,
               "IMAGE": f"{APP_REPO}:{version}"}
        return timed("recreate", action, version, ["bash", "-c", script], env=env)

    def body(run: ModeRun, deadline: float) -> None:
        for i in range(plan.recreate_cycles):
            if time.monotonic() >= deadline:
                break
            for action, version, hold in (("deploy", ("v3", "v2")[i % 2], plan.hold_deploy),
                                          ("rollback", "v1", plan.hold_rollback)):
                op = swap(action, version)
                run.operations.append(op)
                if op.exit_code != 0:
                    run.notes.append(f"recreate {action} exited {op.exit_code}: {op.output[-600:]}")
                    return
                time.sleep(hold)
            last = run.operations[-2:]
            log(f"recreate: cycle {i + 1}: deploy {last[0].seconds:.2f} s, rollback {last[1].seconds:.2f} s")

    return _under_load(stack, nginx, plan, "recreate", "Baseline: recreate (the guide's 기존 방식)", body, 200)


def _wait_answer(nginx: Nginx, timeout: float = 15) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(nginx.url + "/", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{nginx.name} did not answer on {nginx.url} within {timeout:.0f} s")
        time.sleep(0.2)  # poll: nginx and the app are starting
