"""The typed, validated view of bluegreen.yml: frozen values only (config/schema.py builds them, config/__init__.py loads).

Every value that ends up in an nginx file or a container name was checked against a strict pattern by the schema,
so the renderers and the runtime never see anything that could inject config or shell syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from bluegreen.colors import COLORS, NAME, other  # noqa: F401 (the names every layer uses, re-exported)
from bluegreen.config.log_format import DEFAULT_FORMAT
from bluegreen.errors import UsageError

DEFAULT_IMAGE = "${REGISTRY_URL}/${BACKEND_IMAGE}:${BUILD_NUMBER}"
_INDEX = re.compile(r"[-.][0-9]{1,3}")  # a replica's `-<n>`, a Swarm task's `.<slot>`



@dataclass(frozen=True)
class EnvVar:
    """One variable the container receives: from the process environment, or a literal `value`."""

    name: str
    credential: str | None = None
    field: str | None = None  # "username" / "password" for a Jenkins username-with-password credential
    optional: bool = False
    value: str | None = None
    secret: bool = True  # values from the environment are masked everywhere unless `secret: false`

    @property
    def masked(self) -> bool:
        return self.value is None and self.secret


@dataclass(frozen=True)
class Health:
    path: str = "/health"
    public_path: str | None = None  # defaults to `path`
    timeout: float = 120.0
    interval: float = 2.0
    successes: int = 3
    request_timeout: float = 5.0


@dataclass(frozen=True)
class Monitor:
    """Post-deploy monitoring (`services.<name>.monitor`): how long, how often, and what counts as degraded."""

    duration: float = 60.0  # `bluegreen monitor` without --duration
    interval: float = 2.0  # between rounds: read the access log, probe health and smoke URLs through nginx
    max_error_rate: float = 0.05  # 5xx share allowed above the previous color's recent share
    min_requests: int = 20  # fewer requests than this are never judged (a quiet service, one error)
    max_latency_factor: float = 2.0  # p95 allowed, as a multiple of the previous color's recent p95
    latency_floor: float = 0.2  # a p95 below this is never "slow", whatever the factor
    failures: int = 3  # consecutive failed probes of one URL that count as degraded
    smoke: tuple[str, ...] = ()  # extra paths probed through nginx each round


@dataclass(frozen=True)
class Preview:
    """Where a staged (healthy, not yet switched) color can be looked at: a second nginx server of its own,
    never the public entry."""

    listen: str = "8081"  # nginx's `listen` inside its container; publish it on the host's 127.0.0.1 only
    url: str = "http://127.0.0.1:8081"  # where people and hooks reach it
    server_name: str | None = None  # a host name instead of (or besides) a port of its own


@dataclass(frozen=True)
class Hook:
    command: tuple[str, ...]  # argv (no shell); a relative program is relative to bluegreen.yml
    timeout: float = 60.0


@dataclass(frozen=True)
class Hooks:
    pre_deploy: Hook | None = None  # before the candidate starts; failing stops the deploy, nothing changed
    post_gate: Hook | None = None  # the candidate is healthy (and previewed): a smoke test; failing removes it
    post_switch: Hook | None = None  # traffic is on the new color; failing rolls back (or only warns)
    post_rollback: Hook | None = None  # after a rollback (manual or automatic by the monitor); failing is reported
    post_switch_failure: str = "rollback"  # rollback | warn

    def __iter__(self):
        return iter((self.pre_deploy, self.post_gate, self.post_switch, self.post_rollback))


@dataclass(frozen=True)
class Scale:
    """How a color runs (`runtime`, `replicas`, `min_healthy`, `endpoint_mode`, `upstream_resolve`): one
    container per color (the guide's setup), N containers per color on this host, or a Swarm service per color."""

    runtime: str = "containers"  # containers | swarm
    replicas: int = 1  # instances per color
    min_healthy: int | None = None  # instances that must pass the health gate before a switch (None: all)
    endpoint_mode: str = "vip"  # swarm: vip | dnsrr (nginx reaches tasks by their own addresses either way)
    upstream_resolve: str = "off"  # swarm: bluegreen renders the task addresses (off), or nginx >= 1.27.3
    #                                resolves tasks.<service> itself (on; loses requests at reloads: growing.md)

    @property
    def needed(self) -> int:
        return self.min_healthy or self.replicas


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    container_prefix: str
    port: int
    upstream: str
    upstream_file: str
    server_params: tuple[str, ...]
    health: Health
    stop_timeout: float
    restart: str | None
    volumes: tuple[str, ...]
    labels: Mapping[str, str]
    env: tuple[EnvVar, ...]
    monitor: Monitor = Monitor()
    preview: Preview | None = None
    hooks: Hooks = Hooks()
    retain: int | None = None  # keep this many deployed images of the service; None: never remove images
    base_dir: Path | None = None  # bluegreen.yml's directory: relative hook programs start there
    scale: Scale = Scale()
    # How long the requests an instance still answers may take once it is asked to stop (parts/drain.py); then
    # they are cut. `stop_timeout` is the app's own shutdown after its last request.
    drain_timeout: float = 30.0

    @property
    def preview_upstream(self) -> str:
        return f"{self.upstream}_preview"

    def container(self, color: str) -> str:
        """The color's name: its container (one per color), the prefix of its replicas, or its Swarm service."""
        return f"{self.container_prefix}-{color}"

    def replica(self, color: str, index: int) -> str:
        """The name of replica `index` (1…N) of a color on one host; with one replica, the guide's name."""
        return self.container(color) if self.scale.replicas == 1 else f"{self.container(color)}-{index}"

    def expected(self, color: str) -> list[str]:
        """The instances a deployed color has, by name: containers, or Swarm tasks `<service>.<slot>`."""
        if self.scale.runtime == "swarm":
            return [f"{self.container(color)}.{i}" for i in range(1, self.scale.replicas + 1)]
        return [self.replica(color, i) for i in range(1, self.scale.replicas + 1)]

    def color_of(self, host: str) -> str | None:
        """The color whose instance `host` names (an upstream server's host part), None for anything else:
        `<prefix>-<color>`, a replica `<prefix>-<color>-<n>`, a Swarm task `<prefix>-<color>.<slot>` or
        `tasks.<prefix>-<color>`."""
        for color in COLORS:
            name = self.container(color)
            if host in (name, f"tasks.{name}"):
                return color
            if host.startswith(name) and _INDEX.fullmatch(host[len(name):]):
                return color
        return None


@dataclass(frozen=True)
class Nginx:
    container: str = "nginx"
    reload: str = "signal"
    public_url: str = "http://127.0.0.1"
    reload_timeout: float = 10.0
    access_log: str = "docker-logs"  # a file in the nginx container, `docker-logs` (its stdout) or `off`
    log_format: str = DEFAULT_FORMAT  # the text of the log_format nginx writes that log with
    switch: str = "reload"  # reload: the guide's file + graceful reload · shared-dict: njs dictionary, no reload
    admin_dir: str = "/run/bluegreen"  # shared-dict: host directory (mode 0700) mounted into nginx at the same path
    keepalive_min_timeout: str | None = None  # rendered into bluegreen's file when set (nginx >= 1.27.4)

    def public(self, path: str) -> str:
        return self.public_url + path


@dataclass(frozen=True)
class Config:
    network: str
    state_dir: Path
    nginx: Nginx
    services: Mapping[str, Service] = field(default_factory=dict)
    source: Path | None = None
    digest: str | None = None  # SHA-256 of the file's bytes (the rollback's quick path checks it is still this one)
    declared_state_dir: str = ""  # `state_dir` as the file writes it (`state_dir` is it, resolved)

    def service(self, name: str) -> Service:
        if name not in self.services:
            known = ", ".join(sorted(self.services)) or "-"
            raise UsageError("config.unknown_service", service=name, known=known)
        return self.services[name]
