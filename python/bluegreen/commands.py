"""The command layer: what each CLI command does, composed from operations. Click stays in cli/app.py.

    deploy  = the Deploy operation (the system's cheap checks first), then (with --monitor) the Monitor operation
    rollback, monitor = one operation each; status, doctor, history, credentials = read-only queries

Each command builds the parts it needs for one service (the scene) from the config and the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from bluegreen import config as config_mod
from bluegreen.clock import REAL
from bluegreen.errors import BlueGreenError, UsageError
from bluegreen.output import Reporter
from bluegreen.report import Report
from bluegreen.config.settings import Config, Service

if TYPE_CHECKING:  # the quick path's module is imported by cli/entry.py only when it runs
    from bluegreen.quick.rollback import QuickSwitch


@dataclass(frozen=True)
class Options:
    """What every command gets from the command line."""

    config_path: str | None
    lang: str
    json_mode: bool = False
    quick: QuickSwitch | None = None  # rollback: the quick path's switch, already made (cli/entry.py)
    out: Reporter = field(default_factory=lambda: Reporter("en"))  # the run's one masking owner (cli.main's)


def scene_for(config: Config, service_name: str, out: Reporter, environ: Mapping[str, str] | None = None,
              state=None):
    """The parts of one service: the runtime its config names (containers on this host, or Swarm services) behind
    the guard, the nginx switch (naming the runtime's servers), state, output (secrets registered first)."""
    from bluegreen.operations.frame import Scene
    from bluegreen.operations.guard import Guard, Guarded
    from bluegreen.parts.state import StateDir

    service = config.service(service_name)
    env = dict(os.environ if environ is None else environ)
    out.add_secrets(secrets_of(service, env))
    docker, runtime, switch = parts_for(config, service)
    state = state or StateDir(config.state_dir, service.name)  # the quick rollback's: it holds the lock already
    # Operations and the frame get the runtime only guarded: nothing nginx serves can be stopped (guard.py).
    guard = Guard(service, runtime, switch, state)
    return Scene(service, config.nginx, Guarded(runtime, guard), switch, state, out, REAL, env, guard, docker)


def parts_for(config: Config, service: Service):
    """The Docker client, the runtime and the nginx switch of one service (no state: `init`'s dry run must not
    create state_dir)."""
    from bluegreen.parts import admin_key
    from bluegreen.parts.engine import Docker
    from bluegreen.parts.nginx import NginxControl
    from bluegreen.parts.shared_dict import SharedDictSwitch
    from bluegreen.parts.switch import ReloadSwitch

    docker = Docker(config.network)
    runtime = runtime_for(docker, config, service)
    control = NginxControl(docker, config.nginx, service.upstream_file, REAL)
    switch = SharedDictSwitch(control, service, config.nginx, runtime, config.digest,
                              key_file=admin_key.path_for(config.state_dir, service.name)) \
        if config.nginx.switch == "shared-dict" else ReloadSwitch(control, service, runtime, config.digest)
    return docker, runtime, switch


def secrets_of(service: Service, environ: Mapping[str, str]) -> list[str]:
    """The values every line is masked with: the service's credentials and other masked variables, as bound."""
    return [environ.get(v.name, "") for v in service.env if v.masked]


def runtime_for(docker, config: Config, service: Service):
    """`runtime: containers` (the default: one container per color, or `replicas` of them, on this host) or
    `runtime: swarm` (a Swarm service per color)."""
    if service.scale.runtime == "swarm":
        from bluegreen.parts.swarm import SwarmRuntime

        return SwarmRuntime(docker, service, config.nginx, REAL)
    from bluegreen.parts.runtime import ContainerRuntime

    return ContainerRuntime(docker, service)


def _scene(opts: Options, service: str, state=None):
    return scene_for(config_mod.load(opts.config_path), service, opts.out, state=state)


def deploy(opts: Options, service: str, *, image: str | None, monitor: float | None, stage: bool = False,
           drain: float | None = None) -> Report:
    """The deploy (which releases the lock when it returns), then the watch. A rollback by the monitor turns
    the deploy's report into `monitor_rolled_back` (exit 5). Staged: no switch, so nothing to watch yet.
    `drain` (--drain-timeout) stands for the service's `drain_timeout` in this run."""
    from bluegreen.operations.deploy import Deploy
    from bluegreen.operations.run import run
    from bluegreen.parts.system import gather

    config = config_mod.load(opts.config_path)
    if drain is not None:
        changed = replace(config.service(service), drain_timeout=drain)
        config = replace(config, services={**config.services, service: changed})
    scene = scene_for(config, service, opts.out)
    system = partial(gather, config, scene.service, scene.switch, complete=False)
    return _then_monitor(scene, run(scene, Deploy(scene, image=image, stage=stage, system=system)),
                         None if stage else monitor)


def promote(opts: Options, service: str, *, monitor: float | None) -> Report:
    """Switch to the staged color (a fresh health check first), then watch it like `deploy --monitor`."""
    from bluegreen.operations.run import run
    from bluegreen.operations.promote import Promote

    scene = _scene(opts, service)
    return _then_monitor(scene, run(scene, Promote(scene)), monitor)


def abort(opts: Options, service: str) -> Report:
    from bluegreen.operations.run import run
    from bluegreen.operations.promote import Abort

    scene = _scene(opts, service)
    return run(scene, Abort(scene))


def _then_monitor(scene, report: Report, duration: float | None) -> Report:
    """`--monitor`: the watch after the switch (its own operation: the lock is free meanwhile)."""
    from bluegreen.operations.run import run
    from bluegreen.operations.monitor import Monitor

    if not duration:
        return report
    started = scene.clock.monotonic()
    try:
        run(scene, Monitor(scene, duration=duration, after_deploy=True))
    except BlueGreenError as error:
        report.fail(error, scene.out.text(error.key, **error.params))
        raise
    finally:
        report.phases["monitor"] = round(scene.clock.monotonic() - started, 3)
    return report


def rollback(opts: Options, service: str, *, reason: str | None) -> Report:
    from bluegreen.operations.run import run
    from bluegreen.operations.rollback import Rollback

    quick = opts.quick
    if quick is None:
        scene = _scene(opts, service)
        return run(scene, Rollback(scene, reason=reason))
    # Traffic is on the target already (cli/entry.py → quick/rollback.py): the rollback finishes in the same frame, under
    # the lock the quick path holds, and puts the previous color back if anything it checks now disagrees.
    scene = _scene(opts, service, state=quick.state)
    quick.taken = True
    return run(scene, Rollback(scene, reason=reason, quick=quick))


def monitor(opts: Options, service: str, *, duration: float | None) -> Report:
    from bluegreen.operations.run import run
    from bluegreen.operations.monitor import Monitor

    scene = _scene(opts, service)
    return run(scene, Monitor(scene, duration=duration))


def status(opts: Options, service: str) -> dict[str, Any]:
    from bluegreen.operations.status import run_status

    scene = _scene(opts, service)
    try:
        doc = run_status(scene)
    except BlueGreenError as error:
        if opts.json_mode and hasattr(error, "document"):
            scene.out.document(error.document)
        raise
    if opts.json_mode:
        scene.out.document(doc)
    return doc


def doctor(opts: Options, service: str) -> dict[str, Any]:
    """Every check of the system around the service, each with its fix; read-only (checks/, parts/system.py)."""
    from bluegreen.operations.doctor import run_doctor
    from bluegreen.parts.system import gather

    config = config_mod.load(opts.config_path)
    svc = config.service(service)
    opts.out.add_secrets(secrets_of(svc, os.environ))  # as every command masks them
    _, _, switch = parts_for(config, svc)
    return run_doctor(opts.out, gather(config, svc, switch, complete=True))


def images(opts: Options, service: str) -> list[dict[str, Any]]:
    """What `retain:` keeps of the service's local images, and why; removes nothing."""
    from bluegreen.operations.retention import verdicts

    scene = _scene(opts, service)
    live = scene.look()
    history = list(scene.state.history())
    image = live.state.images.get(live.active or "") or next((e["image"] for e in history if e.get("image")), None) \
        or next((i.labels.get("bluegreen.image") for found in live.instances.values() for i in found), None)
    if not image:
        return []
    return [v.__dict__ for v in verdicts(scene.runtime, live, history, image=image, retain=scene.service.retain or 0)]


def history(opts: Options, service: str, limit: int) -> list[dict[str, Any]]:
    from bluegreen.parts.state import StateDir

    cfg = config_mod.load(opts.config_path)
    svc = cfg.service(service)
    opts.out.add_secrets(secrets_of(svc, os.environ))  # history keeps images whole; what is printed is masked
    entries = []
    for entry in StateDir(cfg.state_dir, svc.name).history():
        entries.append(entry)
        if len(entries) >= limit:
            break
    return entries


def init(opts: Options, service: str, *, apply: bool, **options: str | None) -> None:
    """`bluegreen init`: read the live system, check or write bluegreen.yml, show the diff of every file; with
    `apply`, move the upstream block into bluegreen's file (operations/init.py)."""
    from bluegreen.config import file as config_file
    from bluegreen.operations import init as runbook
    from bluegreen.parts.engine import Docker
    from bluegreen.parts.render import render_config
    from bluegreen.parts.site_survey import SiteSurvey
    from bluegreen.parts.state import recorded_config

    from bluegreen.colors import NAME

    if not NAME.fullmatch(service):
        raise UsageError("option.bad_value", option="SERVICE", value=repr(service)[:120])
    path = config_file.config_path(opts.config_path)
    existing = config_mod.load(path) if path.exists() else None
    request = runbook.Request(service, path, existing, apply=apply, **options)
    tools = runbook.Tools(
        survey=SiteSurvey(Docker(existing.network if existing else "")), render_config=render_config,
        parse_config=lambda text, where: config_mod.loads(text.encode("utf-8"), Path(where)),
        parts=lambda cfg, name: parts_for(cfg, cfg.service(name))[1:],
        write_config=config_file.write_new, remove_config=config_file.remove_new,
        loaded_config=lambda cfg, name: recorded_config(cfg.state_dir, name))
    runbook.run_init(request, tools, opts.out,
                     scene=lambda cfg, name, out: scene_for(cfg, name, out))


def credential_bindings(service: Service, *, state_dir: Path) -> dict[str, Any]:
    """What the Jenkins steps need from bluegreen.yml before they run a command: one `withCredentials` binding per
    Jenkins credential id (from the service's `env`), and the state_dir as an absolute path, which the docker runner
    mounts from the host (resources/bluegreen/docker-runner.sh)."""
    bindings: list[dict[str, Any]] = []
    pairs: dict[str, dict[str, Any]] = {}
    for var in service.env:
        if not var.credential:
            continue
        if var.field:
            binding = pairs.setdefault(var.credential, {"type": "usernamePassword", "credentialsId": var.credential,
                                                        "optional": var.optional})
            if binding not in bindings:
                bindings.append(binding)
            binding[f"{var.field}Variable"] = var.name
            binding["optional"] = binding["optional"] and var.optional
        else:
            bindings.append({"type": "string", "credentialsId": var.credential, "variable": var.name,
                             "optional": var.optional})
    return {"service": service.name, "bindings": bindings, "state_dir": os.path.abspath(state_dir)}
