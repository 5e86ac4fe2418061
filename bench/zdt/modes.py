"""What happens under the load, per mode. Each mode gets its own nginx (`bgb-<id>-<mode>`) and its own load run.

- sanity:    the load with no switch at all. Any failure here is the harness's own (rates too high for the
             machine, a client bug), so the run stops: the other modes' numbers would mean nothing.
- bluegreen: cycles of `bluegreen deploy` then `bluegreen rollback`, the real CLI as a subprocess with --json,
             as the Jenkins steps run it. Before the load starts, v1 and v2 are deployed and rolled back once,
             so every measured deploy is the steady-state one: it replaces the idle (backup) color; then a few
             rollbacks with no load measure the CLI's own time apart from CPU contention. One Variant per
             column of the report: nginx image, switch (reload | shared-dict), keepalive_min_timeout (in the
             user's server block for reload, in bluegreen.yml for shared-dict, which renders it), and the Swarm
             runtime (3 replicas per color, dnsrr, on an attachable overlay the nginx container joins).
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

from zdt import anatomy
from zdt.load import LoadClass
from zdt.runner import Loads, Operation, timed
from zdt.stack import APP_REPO, NGINX_IMAGE, NGINX_NJS_IMAGE, UPSTREAM, BenchStack, Nginx, site_conf

PLACEHOLDER = f"upstream {UPSTREAM} {{ server 127.0.0.1:9 down; }}\n"
# shared-dict: the server block proxies to the variable bluegreen's file defines; before the first deploy the
# placeholder defines it, so nginx starts.
DICT_PLACEHOLDER = f"map $host ${UPSTREAM} {{ default {UPSTREAM}; }}\n" + PLACEHOLDER
UPSTREAM_FILE = f"{UPSTREAM}.upstream.conf"


@dataclass(frozen=True)
class Variant:
    """One blue-green setup, measured under the same load as the others."""

    name: str
    title: str
    image: str = NGINX_IMAGE
    switch: str = "reload"  # | shared-dict
    site_kmt: str | None = None  # keepalive_min_timeout in the user's server block (reload mode)
    engine_kmt: str | None = None  # nginx.keepalive_min_timeout in bluegreen.yml (shared-dict renders it)
    keepalive_timeout: str | None = None  # in the user's server block
    swarm: bool = False  # runtime: swarm, 3 replicas per color, endpoint_mode: dnsrr
    until_requests: bool = False  # besides min_cycles, until plan.min_requests new-connection requests
    weight: float = 1.0  # its share of the run's time budget, against the other modes
    repo: str = APP_REPO  # the releases' image repository (:v1, :v2, :v3): the C test app, or the real backend
    websocket: bool = False  # the server block passes WebSockets on (Upgrade, HTTP/1.1 upstream)
    service: dict = field(default_factory=dict)  # more service keys in bluegreen.yml (drain_timeout, stop_timeout)


@dataclass
class Plan:
    classes: list[LoadClass]
    sanity_seconds: float = 10.0
    min_cycles: int = 20
    min_requests: int = 100_000  # of the classes that must not fail (new-connection GET, POST, slow)
    max_seconds: float = 290.0  # bound of one blue-green mode's load window
    budget: float = 24.0 * 60.0  # the whole run's bound: modes share what is left of it (share_of_budget)
    setup_seconds: float = 50.0  # per mode, outside its window: nginx, setup deploys, no-load rollbacks, the tail
    recreate_seconds: float = 110.0  # the baseline, setup included
    cycle_estimate: float = 10.0  # seconds per deploy + rollback cycle under the load, for the budget
    recreate_cycles: int = 20
    idle_rollbacks: int = 6  # rollbacks with no load, before each blue-green mode's load starts (even)
    warmup: float = 3.0
    hold_deploy: float = 0.5
    hold_rollback: float = 0.5
    streams: dict | None = None  # SSE streams and WebSockets beside the classes (zdt.streams' spec)
    # after a blue-green mode's cycles, still under its load: (run, cli, env) → fault rows (real_backend_bench)
    after_cycles: Callable | None = None


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
    setup: dict = field(default_factory=dict)  # the Variant's fields (blue-green modes)
    anatomy: dict = field(default_factory=dict)  # one no-load rollback with the import profiler on
    cycles_ended: float = 0.0  # monotonic: what follows (plan.after_cycles) is not the cycles' doing
    faults: list[dict] = field(default_factory=list)  # plan.after_cycles' rows


def _under_load(stack: BenchStack, nginx: Nginx, plan: Plan, name: str, title: str,
                body: Callable[[ModeRun, float], None], max_seconds: float) -> ModeRun:
    run = ModeRun(name, title, {})
    load = Loads(nginx.port, plan.classes, stack.workdir, name, max_seconds + 60, plan.streams)
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
    problems = stack.remove_services(f"{stack.name}-{name}")  # Swarm mode: its services and their tasks
    problems += stack.remove(f"{stack.name}-{name}")  # this mode's nginx and apps: the next mode gets the CPU
    run.notes += [f"cleanup: {p}" for p in problems]
    return run


def sanity(stack: BenchStack, plan: Plan, log: Callable[[str], None], nginx_image: str = NGINX_IMAGE) -> ModeRun:
    nginx, _ = _recreate_stack(stack, "sanity", nginx_image=nginx_image)
    log(f"sanity: {plan.sanity_seconds:.0f} s of load, no switch")
    return _under_load(stack, nginx, plan, "sanity", "Sanity: load, no switch",
                       lambda run, deadline: time.sleep(plan.sanity_seconds), plan.sanity_seconds)


# --- blue-green --------------------------------------------------------------------------------------------------
def _cli() -> list[str]:
    script = Path(sys.executable).with_name("bluegreen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bluegreen"]


def bluegreen(stack: BenchStack, plan: Plan, log: Callable[[str], None], variant: Variant,
              max_seconds: float | None = None) -> ModeRun:
    """max_seconds: this mode's load window bound (the run's budget share); plan.max_seconds when None."""
    name = variant.name
    shared = variant.switch == "shared-dict"
    network, admin_dir = stack.network, None
    if variant.swarm:  # an attachable overlay, which the nginx container joins (README: Growing past one server)
        network = f"{stack.name}-{name}"
        stack.client.networks.create(network, driver="overlay", attachable=True, labels={"bluegreen.bench": stack.id})
    if shared:  # the admin socket's directory: 0700, mounted into nginx at the same path
        admin = stack.workdir / f"admin-{name}"
        admin.mkdir(mode=0o700)
        admin_dir = str(admin)
    site = site_conf(UPSTREAM, keepalive_timeout=variant.keepalive_timeout, keepalive_min_timeout=variant.site_kmt,
                     variable=shared, connect_timeout="1s" if variant.swarm else None, websocket=variant.websocket)
    nginx = stack.nginx(name, {"default.conf": site, UPSTREAM_FILE: DICT_PLACEHOLDER if shared else PLACEHOLDER},
                        image=variant.image, admin_dir=admin_dir, network=network)
    nginx_keys = {"switch": variant.switch, **({"admin_dir": admin_dir} if admin_dir else {}),
                  **({"keepalive_min_timeout": variant.engine_kmt} if variant.engine_kmt else {})}
    service_keys = {"runtime": "swarm", "replicas": 3, "endpoint_mode": "dnsrr"} if variant.swarm else {}
    service_keys.update(variant.service, image=f"{variant.repo}:v1")
    config = stack.bluegreen_config(nginx, name, nginx_keys=nginx_keys, service_keys=service_keys, network=network)
    try:
        run = _bluegreen_cycles(stack, plan, log, variant, nginx, config, max_seconds or plan.max_seconds)
    finally:
        if variant.swarm:
            stack.remove_services(f"{stack.name}-{name}")
            stack.remove(f"{stack.name}-{name}")
            stack.remove_network(network)
    return run


def _bluegreen_cycles(stack: BenchStack, plan: Plan, log: Callable[[str], None], variant: Variant, nginx: Nginx,
                      config: Path, max_seconds: float) -> ModeRun:
    name = variant.name
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}
    env.update(BLUEGREEN_CONFIG=str(config), BLUEGREEN_LANG="en")

    def cli(mode: str, action: str, target: str, *args: str) -> Operation:
        return timed(mode, action, target, [*_cli(), action, "backend", *args, "--json"], env=env)

    log(f"{name}: setup (deploy v1, deploy v2, rollback), then {plan.idle_rollbacks} rollbacks with no load")
    for image, action in ((f"{variant.repo}:v1", "deploy"), (f"{variant.repo}:v2", "deploy"), (None, "rollback")):
        op = cli("setup", action, "-", *(("--image", image) if image else ()))
        if op.exit_code != 0:
            raise RuntimeError(f"{name} setup: bluegreen {action} exited {op.exit_code}:\n{op.output}")
    idle = []
    for i in range(plan.idle_rollbacks):  # an even number: blue is active again afterwards
        op = cli(f"{name}-idle", "rollback", ("green", "blue")[i % 2])
        if op.exit_code != 0:
            raise RuntimeError(f"{name} setup: bluegreen rollback exited {op.exit_code}:\n{op.output}")
        idle.append(op)
        time.sleep(0.5)  # spacing, not synchronisation: the CLI returned, the switch is confirmed
    profile = anatomy.profiled([*_cli(), "rollback", "backend", "--json"], env)  # to green, profiled
    back = cli("setup", "rollback", "blue")  # and back, so that the cycles start on blue
    if profile["exit_code"] != 0 or back.exit_code != 0:
        raise RuntimeError(f"{name} setup: the profiled rollback exited {profile['exit_code']}, the next "
                           f"{back.exit_code}:\n{back.output}")
    images = [f"{variant.repo}:v3", f"{variant.repo}:v2"]
    strict = [c for c in plan.classes if c.keepalive == "none"]

    def body(run: ModeRun, deadline: float) -> None:
        i = 0
        while time.monotonic() < deadline:
            if i >= plan.min_cycles and (not variant.until_requests or _sent(run, strict) >= plan.min_requests):
                break
            for action, target, args, hold in (("deploy", "green", ("--image", images[i % 2]), plan.hold_deploy),
                                               ("rollback", "blue", (), plan.hold_rollback)):
                op = cli(name, action, target, *args)
                run.operations.append(op)
                if op.exit_code != 0:  # a result, not a crash: recorded, and the mode ends here
                    run.notes.append(f"bluegreen {action} exited {op.exit_code}: {op.output[-600:]}")
                    log(f"{name}: bluegreen {action} exited {op.exit_code}; ending this mode: {op.output[-400:]}")
                    return
                time.sleep(hold)  # spacing between commands, as an operator's
            i += 1
            last = run.operations[-2:]
            log(f"{name}: cycle {i}: deploy {last[0].seconds:.2f} s, rollback {last[1].seconds:.2f} s")
        if i < plan.min_cycles:
            run.notes.append(f"only {i} cycles in the mode's time bound ({max_seconds:.0f} s)")
        run.cycles_ended = time.monotonic()
        if plan.after_cycles:
            plan.after_cycles(run, cli, env)

    rate = sum(c.rate for c in strict)
    run = _under_load(stack, nginx, plan, name, variant.title, body, max_seconds)
    run.idle_rollbacks = idle
    run.setup = dict(variant.__dict__)
    run.anatomy = profile
    run.notes.append(f"{rate:.0f} req/s of the new-connection classes")
    return run


def _sent(run: ModeRun, classes: list[LoadClass]) -> int:
    """Requests of `classes` sent so far: the rate is constant (open loop), so the schedule says it; the
    records themselves arrive when the load stops."""
    return int((time.monotonic() - run.started) * sum(c.rate for c in classes))


# --- the recreate baseline ----------------------------------------------------------------------------------------
def _recreate_stack(stack: BenchStack, name: str, image: str = f"{APP_REPO}:v1", *, nginx_image: str = NGINX_IMAGE,
                    websocket: bool = False) -> tuple[Nginx, str]:
    app = f"{stack.name}-{name}-app"
    stack.client.containers.run(image, name=app, network=stack.network, detach=True,
                                environment={"BLUEGREEN_COLOR": "single"}, labels={"bluegreen.bench": stack.id})
    nginx = stack.nginx(name, {"default.conf": site_conf(UPSTREAM, websocket=websocket),
                               UPSTREAM_FILE: f"upstream {UPSTREAM} {{ server {app}:8000; }}\n"}, image=nginx_image)
    _wait_answer(nginx)
    return nginx, app


def recreate(stack: BenchStack, plan: Plan, log: Callable[[str], None], variant: Variant | None = None,
             max_seconds: float = 200) -> ModeRun:
    """variant: its repo, nginx image and WebSocket lines (the C test app behind nginx 1.22 when None)."""
    variant = variant or Variant("recreate", "")
    nginx, app = _recreate_stack(stack, "recreate", f"{variant.repo}:v1", nginx_image=variant.image,
                                 websocket=variant.websocket)
    script = ('set -e; docker stop "$APP" >/dev/null; docker rm "$APP" >/dev/null; '
              'docker run -d --name "$APP" --network "$NET" -e BLUEGREEN_COLOR=single "$IMAGE" >/dev/null; '
              'docker exec "$NGINX" nginx -s reload')

    def swap(action: str, version: str) -> Operation:
        env = {**os.environ, "APP": app, "NET": stack.network, "NGINX": nginx.name,
               "IMAGE": f"{variant.repo}:{version}"}
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

    return _under_load(stack, nginx, plan, "recreate", "Baseline: recreate (the guide's 기존 방식)", body,
                       max_seconds)


# The report's columns, in order (sanity and the recreate baseline around them).
VARIANTS = [
    Variant("reload", "reload, nginx 1.22"),
    Variant("reload-kmt", "reload + keepalive_min_timeout 10s, nginx 1.30", image=NGINX_NJS_IMAGE, site_kmt="10s"),
    Variant("dict", "shared-dict, nginx 1.30", image=NGINX_NJS_IMAGE, switch="shared-dict"),
    Variant("dict-kmt", "shared-dict + keepalive_min_timeout 10s, nginx 1.30", image=NGINX_NJS_IMAGE,
            switch="shared-dict", engine_kmt="10s"),
    Variant("swarm", "Swarm, 3 replicas per color, dnsrr, reload + keepalive_min_timeout 10s, nginx 1.30",
            image=NGINX_NJS_IMAGE, site_kmt="10s", swarm=True),
]


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


def share_of_budget(plan: Plan, elapsed: float, left: list[Variant], variant: Variant) -> float:
    """The load window this mode gets so that the run stays within plan.budget: what is left after the baseline,
    every remaining mode's setup, and what the later modes need for their cycles (plan.cycle_estimate each, by
    weight), but never less than its fair share by weight; capped at plan.max_seconds. A mode that ends its cycles
    sooner leaves the time to the next ones; one that cannot finish them ends short, and the report says so."""
    spare = plan.budget - elapsed - plan.recreate_seconds - plan.setup_seconds * len(left)
    later = sum(v.weight for v in left if v is not variant) * plan.min_cycles * plan.cycle_estimate
    fair = spare * variant.weight / sum(v.weight for v in left)
    return max(30.0, min(plan.max_seconds, max(fair, spare - later)))
