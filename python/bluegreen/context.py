"""Everything one operation on one service needs, built once from the config and the CLI's options."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Mapping

from bluegreen.config import Config, Service
from bluegreen.containers import Docker
from bluegreen.nginx import NginxGate
from bluegreen.output import Reporter
from bluegreen.state import StateDir


@dataclass
class Context:
    config: Config
    service: Service
    docker: Docker
    gate: NginxGate
    state: StateDir
    out: Reporter
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    phases: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, config: Config, service_name: str, out: Reporter,
             environ: Mapping[str, str] | None = None) -> "Context":
        service = config.service(service_name)
        env = dict(os.environ if environ is None else environ)
        out.add_secrets(env.get(v.name, "") for v in service.env if v.masked)
        docker = Docker(config.network)
        gate = NginxGate(docker, config.nginx, service.upstream_file)
        return cls(config, service, docker, gate, StateDir(config.state_dir, service.name), out, env)

    def timed(self, phase: str) -> "_Phase":
        return _Phase(self.phases, phase)

    def candidate_url(self, ip: str) -> str:
        return f"http://{ip}:{self.service.port}{self.service.health.path}"

    def public_url(self) -> str:
        return self.config.nginx.public_url + (self.service.health.public_path or self.service.health.path)


class _Phase:
    """`with ctx.timed("wait_until_healthy"):` records how long each runbook step took."""

    def __init__(self, phases: dict[str, float], name: str) -> None:
        self.phases, self.name = phases, name

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.phases[self.name] = round(self.phases.get(self.name, 0.0) + time.monotonic() - self.start, 3)
