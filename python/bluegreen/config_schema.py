"""The schema of bluegreen.yml: allowed keys, types and patterns, with errors that name the key.

Patterns are matched whole (`fullmatch`): `^…$` would let a trailing newline through into an nginx file.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from bluegreen.errors import UsageError
from bluegreen.parts.access_log import DOCKER_LOGS, OFF, BadFormat, LogFormat
from bluegreen.settings import (
    COLORS, DEFAULT_IMAGE, Config, EnvVar, Health, Hook, Hooks, Monitor, Nginx, Preview, Scale, Service,
)
from bluegreen.units import parse_duration

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")  # service names, container prefixes
CONTAINER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}")
UPSTREAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
NGINX_PATH = re.compile(r"/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.conf")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SERVER_PARAM = re.compile(r"(?:max_fails=\d{1,3}|fail_timeout=\d{1,5}(?:ms|s|m)?|weight=\d{1,3}|max_conns=\d{1,6})")
HTTP_PATH = re.compile(r"/[A-Za-z0-9_./?=&%-]*")
IMAGE = re.compile(r"[a-z0-9][a-z0-9._:/-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?")


def check(value: Any, pattern: re.Pattern[str], key: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UsageError("config.bad_value", key=key, value=repr(value)[:80])
    return value


RESTART = {"no", "always", "unless-stopped", "on-failure"}
LOG_PATH = re.compile(r"/[A-Za-z0-9_./-]+")


def _mapping(value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError("config.not_mapping", key=key)
    for k in value:
        if k not in allowed:
            raise UsageError("config.unknown_key", key=f"{key}.{k}" if key else str(k))
    return value


def _duration(value: Any, key: str, default: float) -> float:
    if value is None:
        return default
    seconds = parse_duration(value)
    if seconds is None:
        raise UsageError("config.bad_value", key=key, value=repr(value)[:80])
    return seconds


def _int(value: Any, key: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError("config.bad_value", key=key, value=repr(value)[:80])
    return value


def _opt(value: Any, key: str, default: Any, convert: Callable[[Any, str], Any]) -> Any:
    return default if value is None else convert(value, key)


def parse(raw: Any, *, source: Path | None = None) -> Config:
    top = _mapping(raw, "", {"version", "network", "state_dir", "nginx", "services"})
    if top.get("version", 1) != 1:
        raise UsageError("config.bad_value", key="version", value=repr(top.get("version")))
    network = check(top.get("network"), CONTAINER, "network")
    state_dir = top.get("state_dir", "/var/lib/bluegreen")
    if not isinstance(state_dir, str) or not state_dir:
        raise UsageError("config.bad_value", key="state_dir", value=repr(state_dir))
    if source is not None and not Path(state_dir).is_absolute():
        state_dir = str(source.parent / state_dir)
    nginx = _parse_nginx(top.get("nginx"))
    services_raw = top.get("services")
    if not isinstance(services_raw, dict) or not services_raw:
        raise UsageError("config.bad_value", key="services", value=repr(services_raw)[:80])
    services = {check(n, NAME, f"services.{n}"): _parse_service(n, v) for n, v in services_raw.items()}
    _reject_shared(services)
    if source is not None:
        services = {n: replace(svc, base_dir=source.resolve().parent) for n, svc in services.items()}
    return Config(network=network, state_dir=Path(state_dir), nginx=nginx, services=services, source=source)


def _parse_nginx(raw: Any) -> Nginx:
    d = _mapping(raw, "nginx", {"container", "reload", "public_url", "reload_timeout", "access_log", "log_format"})
    reload = d.get("reload", "signal")
    if reload not in ("exec", "signal"):
        raise UsageError("config.bad_value", key="nginx.reload", value=repr(reload))
    public_url = d.get("public_url", Nginx.public_url)
    if not isinstance(public_url, str) or not public_url.startswith(("http://", "https://")):
        raise UsageError("config.bad_value", key="nginx.public_url", value=repr(public_url)[:80])
    return Nginx(
        container=_opt(d.get("container"), "nginx.container", "nginx", lambda v, k: check(v, CONTAINER, k)),
        reload=reload,
        public_url=public_url.rstrip("/"),
        reload_timeout=_duration(d.get("reload_timeout"), "nginx.reload_timeout", 10.0),
        access_log=_access_log(d.get("access_log", Nginx.access_log)),
        log_format=_log_format(d.get("log_format", Nginx.log_format)),
    )


def _access_log(value: Any) -> str:
    if value in (DOCKER_LOGS, OFF) or (isinstance(value, str) and LOG_PATH.fullmatch(value) and ".." not in value):
        return value
    raise UsageError("config.bad_value", key="nginx.access_log", value=repr(value)[:80])


def _log_format(value: Any) -> str:
    if not isinstance(value, str):
        raise UsageError("config.bad_value", key="nginx.log_format", value=repr(value)[:80])
    try:
        LogFormat(value)
    except BadFormat as missing:
        raise UsageError("config.log_format_missing", key="nginx.log_format", names=str(missing)) from None
    return value


def _parse_service(name: str, raw: Any) -> Service:
    key = f"services.{name}"
    allowed = {"image", "container_prefix", "port", "upstream", "upstream_file", "server_params", "health",
               "stop_timeout", "restart", "volumes", "labels", "env", "monitor", "preview", "hooks", "retain",
               *SCALE_KEYS}
    d = _mapping(raw, key, allowed)
    image = d.get("image", DEFAULT_IMAGE)
    if not isinstance(image, str) or not image:
        raise UsageError("config.bad_value", key=f"{key}.image", value=repr(image)[:80])
    prefix = check(d.get("container_prefix", name), NAME, f"{key}.container_prefix")
    upstream = check(d.get("upstream", f"{name.replace('-', '_')}_backend"), UPSTREAM, f"{key}.upstream")
    upstream_file = check(d.get("upstream_file", f"/etc/nginx/conf.d/{upstream}.upstream.conf"), NGINX_PATH,
                          f"{key}.upstream_file")
    if ".." in upstream_file:
        raise UsageError("config.bad_value", key=f"{key}.upstream_file", value=repr(upstream_file))
    params = d.get("server_params", "max_fails=3 fail_timeout=30s")
    if not isinstance(params, str):
        raise UsageError("config.bad_value", key=f"{key}.server_params", value=repr(params)[:80])
    server_params = tuple(check(p, SERVER_PARAM, f"{key}.server_params") for p in params.split())
    restart = d.get("restart", "unless-stopped")
    if restart not in RESTART:
        raise UsageError("config.bad_value", key=f"{key}.restart", value=repr(restart))
    return Service(
        name=name, image=image, container_prefix=prefix,
        port=_int(d.get("port"), f"{key}.port", 8000, 1, 65535),
        upstream=upstream, upstream_file=upstream_file, server_params=server_params,
        health=_parse_health(d.get("health"), f"{key}.health"),
        stop_timeout=_duration(d.get("stop_timeout"), f"{key}.stop_timeout", 30.0),
        restart=restart, volumes=_parse_volumes(d.get("volumes"), f"{key}.volumes"),
        labels=_parse_labels(d.get("labels"), f"{key}.labels"),
        env=tuple(_parse_env(n, v, f"{key}.env.{n}") for n, v in _mapping(d.get("env"), f"{key}.env",
                                                                           set(d.get("env") or {})).items()),
        monitor=_parse_monitor(d.get("monitor"), f"{key}.monitor"),
        preview=_parse_preview(d.get("preview"), f"{key}.preview"),
        hooks=_parse_hooks(d.get("hooks"), f"{key}.hooks"),
        retain=None if d.get("retain") is None else _int(d.get("retain"), f"{key}.retain", 0, 1, 1000),
        scale=_parse_scale(d, key),
    )


def _parse_health(raw: Any, key: str) -> Health:
    d = _mapping(raw, key, {"path", "public_path", "timeout", "interval", "successes", "request_timeout"})
    path = check(d.get("path", "/health"), HTTP_PATH, f"{key}.path")
    public = d.get("public_path")
    return Health(
        path=path,
        public_path=check(public, HTTP_PATH, f"{key}.public_path") if public is not None else None,
        timeout=_duration(d.get("timeout"), f"{key}.timeout", 120.0),
        interval=_duration(d.get("interval"), f"{key}.interval", 2.0),
        successes=_int(d.get("successes"), f"{key}.successes", 3, 1, 100),
        request_timeout=_duration(d.get("request_timeout"), f"{key}.request_timeout", 5.0),
    )


def _parse_monitor(raw: Any, key: str) -> Monitor:
    d = _mapping(raw, key, {"duration", "interval", "max_error_rate", "min_requests", "max_latency_factor",
                            "latency_floor", "failures", "smoke"})
    smoke = d.get("smoke") or []
    if not isinstance(smoke, list):
        raise UsageError("config.bad_value", key=f"{key}.smoke", value=repr(smoke)[:80])
    return Monitor(
        duration=_positive(_duration(d.get("duration"), f"{key}.duration", Monitor.duration), f"{key}.duration"),
        interval=_positive(_duration(d.get("interval"), f"{key}.interval", Monitor.interval), f"{key}.interval"),
        max_error_rate=_number(d.get("max_error_rate"), f"{key}.max_error_rate", Monitor.max_error_rate, 0.0, 1.0),
        min_requests=_int(d.get("min_requests"), f"{key}.min_requests", Monitor.min_requests, 1, 1_000_000),
        max_latency_factor=_number(d.get("max_latency_factor"), f"{key}.max_latency_factor",
                                   Monitor.max_latency_factor, 1.0, 1000.0),
        latency_floor=_duration(d.get("latency_floor"), f"{key}.latency_floor", Monitor.latency_floor),
        failures=_int(d.get("failures"), f"{key}.failures", Monitor.failures, 1, 100),
        smoke=tuple(check(p, HTTP_PATH, f"{key}.smoke") for p in smoke),
    )


def _positive(seconds: float, key: str) -> float:
    if seconds <= 0:
        raise UsageError("config.bad_value", key=key, value=repr(seconds))
    return seconds


def _number(value: Any, key: str, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise UsageError("config.bad_value", key=key, value=repr(value)[:80])
    return float(value)


def _parse_volumes(raw: Any, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.count(":") in (1, 2) for v in raw):
        raise UsageError("config.bad_value", key=key, value=repr(raw)[:80])
    return tuple(raw)


def _parse_labels(raw: Any, key: str) -> dict[str, str]:
    d = _mapping(raw, key, set(raw or {}) if isinstance(raw, dict) else set())
    for k, v in d.items():
        if not isinstance(k, str) or not isinstance(v, (str, int, float)) or str(k).startswith("bluegreen."):
            raise UsageError("config.bad_value", key=f"{key}.{k}", value=repr(v)[:80])
    return {k: str(v) for k, v in d.items()}


def _parse_env(name: Any, raw: Any, key: str) -> EnvVar:
    check(name, ENV_NAME, key)
    if raw is None:
        return EnvVar(name=name)
    d = _mapping(raw, key, {"credential", "field", "optional", "value", "secret"})
    credential = d.get("credential")
    if credential is not None:
        check(credential, CONTAINER, f"{key}.credential")
    field = d.get("field")
    if field not in (None, "username", "password") or (field and not credential):
        raise UsageError("config.bad_value", key=f"{key}.field", value=repr(field))
    optional = d.get("optional", False)
    if not isinstance(optional, bool):
        raise UsageError("config.bad_value", key=f"{key}.optional", value=repr(optional))
    secret = d.get("secret", True)
    if not isinstance(secret, bool) or (credential and not secret):
        raise UsageError("config.bad_value", key=f"{key}.secret", value=repr(secret))
    value = d.get("value")
    if value is not None and (credential or not isinstance(value, (str, int, float))):
        raise UsageError("config.bad_value", key=f"{key}.value", value="<hidden>")
    return EnvVar(name=name, credential=credential, field=field, optional=optional,
                  value=None if value is None else str(value), secret=secret)


LISTEN = re.compile(r"(?:(?:\d{1,3}\.){3}\d{1,3}:)?\d{1,5}")  # "8081" or "127.0.0.1:8081"
SERVER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
HOOK_ARG = re.compile(r"[^\x00-\x1f\x7f]{1,4096}")
HOOK_NAMES = ("pre_deploy", "post_gate", "post_switch", "post_rollback")


def _parse_preview(raw: Any, key: str) -> Preview | None:
    """`preview:` — absent or null: no preview entry; `{}`: the defaults (port 8081 in nginx, 127.0.0.1:8081)."""
    if raw is None:
        return None
    d = _mapping(raw, key, {"listen", "url", "server_name"})
    listen = str(d.get("listen", Preview.listen))
    if not LISTEN.fullmatch(listen) or not 0 < int(listen.rsplit(":", 1)[-1]) < 65536:
        raise UsageError("config.bad_value", key=f"{key}.listen", value=repr(listen)[:80])
    url = d.get("url", Preview.url)
    if not isinstance(url, str) or not re.fullmatch(r"https?://[A-Za-z0-9.\[\]:_-]+(?::\d{1,5})?/?", url):
        raise UsageError("config.bad_value", key=f"{key}.url", value=repr(url)[:80])
    name = d.get("server_name")
    if name is not None:
        check(name, SERVER_NAME, f"{key}.server_name")
    return Preview(listen=listen, url=url.rstrip("/"), server_name=name)


def _parse_hooks(raw: Any, key: str) -> Hooks:
    d = _mapping(raw, key, {*HOOK_NAMES, "post_switch_failure"})
    failure = d.get("post_switch_failure", Hooks.post_switch_failure)
    if failure not in ("rollback", "warn"):
        raise UsageError("config.bad_value", key=f"{key}.post_switch_failure", value=repr(failure)[:80])
    return Hooks(**{n: _parse_hook(d.get(n), f"{key}.{n}") for n in HOOK_NAMES}, post_switch_failure=failure)


def _parse_hook(raw: Any, key: str) -> Hook | None:
    """A program path or an argv list, or `{command: …, timeout: 60s}`. Never a shell line: no secret or
    value reaches a hook's argv, only its environment."""
    if raw is None:
        return None
    d = _mapping(raw, key, {"command", "timeout"}) if isinstance(raw, dict) else {"command": raw}
    command = d.get("command")
    argv = [command] if isinstance(command, str) else command
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) and HOOK_ARG.fullmatch(a) for a in argv):
        raise UsageError("config.bad_value", key=f"{key}.command", value=repr(command)[:80])
    timeout = _duration(d.get("timeout"), f"{key}.timeout", Hook.timeout)
    if not 0 < timeout <= 3600:
        raise UsageError("config.bad_value", key=f"{key}.timeout", value=repr(d.get("timeout"))[:80])
    return Hook(tuple(argv), timeout)


def _reject_shared(services: dict[str, Service]) -> None:
    """Two services must not fight over one container, upstream or nginx file."""
    for attr in ("container_prefix", "upstream", "upstream_file"):
        seen: dict[str, str] = {}
        for svc in services.values():
            value = getattr(svc, attr)
            if value in seen:
                raise UsageError("config.shared", key=f"services.{svc.name}.{attr}", other=seen[value])
            seen[value] = svc.name


SCALE_KEYS = ("runtime", "replicas", "min_healthy", "endpoint_mode", "upstream_resolve")


def _parse_scale(d: dict[str, Any], key: str) -> Scale:
    """`runtime: containers|swarm`, `replicas: N`, `min_healthy: M` (1…N), and for Swarm `endpoint_mode:
    vip|dnsrr` and `upstream_resolve: off|on` (refused with containers: they would mean nothing)."""
    runtime = d.get("runtime", Scale.runtime)
    if runtime not in ("containers", "swarm"):
        raise UsageError("config.bad_value", key=f"{key}.runtime", value=repr(runtime)[:80])
    replicas = _int(d.get("replicas"), f"{key}.replicas", 1, 1, 100)
    min_healthy = None if d.get("min_healthy") is None else \
        _int(d.get("min_healthy"), f"{key}.min_healthy", replicas, 1, replicas)
    for name, allowed in (("endpoint_mode", ("vip", "dnsrr")), ("upstream_resolve", ("off", "on"))):
        value = d.get(name)
        if value is not None and (runtime != "swarm" or value not in allowed):
            raise UsageError("config.bad_value", key=f"{key}.{name}", value=repr(value)[:80])
    return Scale(runtime, replicas, min_healthy, d.get("endpoint_mode") or Scale.endpoint_mode,
                 d.get("upstream_resolve") or Scale.upstream_resolve)


__all__ = ["parse", "check", "IMAGE", "COLORS"]
