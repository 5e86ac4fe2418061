"""A typed, validated view of bluegreen.yml.

Every value that ends up in an nginx file or a container name is checked against a strict pattern here, so the
renderers and the Docker layer never see anything that could inject config or shell syntax.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from bluegreen.access_log import DEFAULT_FORMAT
from bluegreen.errors import MissingVariables, UsageError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")  # service names, container prefixes
CONTAINER = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$")
UPSTREAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
NGINX_PATH = re.compile(r"^/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.conf$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVER_PARAM = re.compile(r"^(?:max_fails=\d{1,3}|fail_timeout=\d{1,5}(?:ms|s|m)?|weight=\d{1,3}|max_conns=\d{1,6})$")
HTTP_PATH = re.compile(r"^/[A-Za-z0-9_./?=&%-]*$")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._:/-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")

DEFAULT_IMAGE = "${REGISTRY_URL}/${BACKEND_IMAGE}:${BUILD_NUMBER}"
DEFAULT_PATH = "bluegreen.yml"


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

    def container(self, color: str) -> str:
        return f"{self.container_prefix}-{color}"


@dataclass(frozen=True)
class Nginx:
    container: str = "nginx"
    reload: str = "signal"
    public_url: str = "http://127.0.0.1"
    reload_timeout: float = 10.0
    access_log: str = "docker-logs"  # a file in the nginx container, `docker-logs` (its stdout) or `off`
    log_format: str = DEFAULT_FORMAT  # the text of the log_format nginx writes that log with


@dataclass(frozen=True)
class Config:
    network: str
    state_dir: Path
    nginx: Nginx
    services: Mapping[str, Service] = field(default_factory=dict)
    source: Path | None = None

    def service(self, name: str) -> Service:
        if name not in self.services:
            known = ", ".join(sorted(self.services)) or "-"
            raise UsageError("config.unknown_service", service=name, known=known)
        return self.services[name]


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    path = Path(path or os.environ.get("BLUEGREEN_CONFIG") or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("config.not_found", path=str(path)) from None
    except yaml.YAMLError as exc:
        raise UsageError("config.bad_yaml", path=str(path), error=str(exc).splitlines()[0]) from None
    from bluegreen.config_schema import parse

    return parse(raw, source=path)


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)


def check(value: Any, pattern: re.Pattern[str], key: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise UsageError("config.bad_value", key=key, value=repr(value)[:80])
    return value
