"""The schema of bluegreen.yml: allowed keys and types, section by section, with errors that name the key.

The leaf values (patterns, ranges, URLs, volumes, env names) are checked by config/values.py; what spans keys
(two services sharing a container, a color named like the nginx container) is checked here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from bluegreen.config import file as config_file
from bluegreen.config.values import (CONTAINER, ENV_NAME, FLOOR, GRACE, HTTP_PATH, IMAGE, INTERVAL, LOG_PATH,
                                     SERVER_PARAM, TIMEOUT, UPSTREAM, WATCH, bad, check, duration, env_name, image,
                                     label, one_line, public_url, shown, upstream_file, volume)
from bluegreen.errors import UsageError
from bluegreen.config.log_format import DOCKER_LOGS, OFF, BadFormat, LogFormat
from bluegreen.config.settings import (
    COLORS, DEFAULT_IMAGE, NAME, Config, EnvVar, Health, Hook, Hooks, Monitor, Nginx, Preview, Scale, Service,
)

RESTART = ("no", "always", "unless-stopped", "on-failure")
MAX_SMOKE = 50  # paths probed through nginx every monitor interval


def _mapping(value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError("config.not_mapping", key=key) if key else UsageError("config.top_not_mapping")
    for k in value:
        if k not in allowed:
            raise UsageError("config.unknown_key", key=shown(f"{key}.{k}" if key else k))
    return value


def _int(value: Any, key: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(key, value)
    return value


def _opt(value: Any, key: str, default: Any, convert: Callable[[Any, str], Any]) -> Any:
    return default if value is None else convert(value, key)


def parse(raw: Any, *, source: Path | None = None) -> Config:
    top = _mapping(raw, "", {"version", "network", "state_dir", "nginx", "services"})
    version = top.get("version", 1)
    if type(version) is not int or version != 1:  # `true` and `1.0` compare equal to 1
        raise bad("version", version)
    network = check(top.get("network"), CONTAINER, "network")
    declared = one_line(top.get("state_dir", config_file.DEFAULT_STATE_DIR), "state_dir", limit=4096)
    state_dir = config_file.state_dir(declared, source)
    nginx = _parse_nginx(top.get("nginx"))
    services_raw = top.get("services")
    if not isinstance(services_raw, dict) or not services_raw:
        raise bad("services", services_raw)
    services = {check(n, NAME, f"services.{n}"): _parse_service(n, v) for n, v in services_raw.items()}
    _reject_shared(services)
    _reject_nginx_as_color(nginx, services)
    if source is not None:
        services = {n: replace(svc, base_dir=source.resolve().parent) for n, svc in services.items()}
    return Config(network=network, state_dir=Path(state_dir), nginx=nginx, services=services, source=source,
                  declared_state_dir=declared)


def _parse_nginx(raw: Any) -> Nginx:
    d = _mapping(raw, "nginx", {"container", "reload", "public_url", "reload_timeout", "access_log", "log_format",
                                "switch", "admin_dir", "keepalive_min_timeout"})
    reload = d.get("reload", "signal")
    if not isinstance(reload, str) or reload not in ("exec", "signal"):
        raise bad("nginx.reload", reload)
    return Nginx(
        container=_opt(d.get("container"), "nginx.container", "nginx", lambda v, k: check(v, CONTAINER, k)),
        reload=reload,
        public_url=public_url(d.get("public_url", Nginx.public_url), "nginx.public_url"),
        reload_timeout=duration(d.get("reload_timeout"), "nginx.reload_timeout", 10.0, TIMEOUT),
        access_log=_access_log(d.get("access_log", Nginx.access_log)),
        log_format=_log_format(d.get("log_format", Nginx.log_format)),
        **_switch_settings(d),
    )


SWITCHES = ("reload", "shared-dict")
ADMIN_DIR = re.compile(r"/[A-Za-z0-9_./-]{1,80}")
NGINX_TIME = re.compile(r"\d{1,4}(?:ms|s|m)?")


def _switch_settings(d: dict[str, Any]) -> dict[str, Any]:
    switch = d.get("switch", Nginx.switch)
    if switch not in SWITCHES:
        raise UsageError("config.bad_value", key="nginx.switch", value=repr(switch)[:80])
    admin_dir = d.get("admin_dir", Nginx.admin_dir)
    if not isinstance(admin_dir, str) or not ADMIN_DIR.fullmatch(admin_dir) or ".." in admin_dir:
        raise UsageError("config.bad_value", key="nginx.admin_dir", value=repr(admin_dir)[:80])
    kmt = d.get("keepalive_min_timeout")
    if kmt is not None and (not isinstance(kmt, str) or not NGINX_TIME.fullmatch(kmt)):
        raise UsageError("config.bad_value", key="nginx.keepalive_min_timeout", value=repr(kmt)[:80])
    return {"switch": switch, "admin_dir": admin_dir.rstrip("/"), "keepalive_min_timeout": kmt}


def _access_log(value: Any) -> str:
    if value in (DOCKER_LOGS, OFF) or (isinstance(value, str) and LOG_PATH.fullmatch(value) and ".." not in value):
        return value
    raise bad("nginx.access_log", value)


def _log_format(value: Any) -> str:
    """The text nginx writes its access log with; tabs are allowed (TSV logs), other control characters not."""
    if not isinstance(value, str) or not 0 < len(value) <= 4096 or not value.replace("\t", "").isprintable():
        raise bad("nginx.log_format", value)
    try:
        LogFormat(value)
    except BadFormat as missing:
        raise UsageError("config.log_format_missing", key="nginx.log_format", names=str(missing)) from None
    except re.error:  # a variable name no regex group can have ($1)
        raise bad("nginx.log_format", value) from None
    return value


def _parse_service(name: str, raw: Any) -> Service:
    key = f"services.{name}"
    allowed = {"image", "container_prefix", "port", "upstream", "upstream_file", "server_params", "health",
               "stop_timeout", "drain_timeout", "restart", "volumes", "labels", "env", "monitor", "preview", "hooks", "retain",
               *SCALE_KEYS}
    d = _mapping(raw, key, allowed)
    image_ref = d.get("image", DEFAULT_IMAGE)
    if not isinstance(image_ref, str) or not image_ref:
        raise bad(f"{key}.image", image_ref)
    prefix = check(d.get("container_prefix", name), NAME, f"{key}.container_prefix")
    upstream = check(d.get("upstream", f"{name.replace('-', '_')}_backend"), UPSTREAM, f"{key}.upstream")
    params = d.get("server_params", "max_fails=3 fail_timeout=30s")
    if not isinstance(params, str):
        raise bad(f"{key}.server_params", params)
    server_params = tuple(check(p, SERVER_PARAM, f"{key}.server_params") for p in params.split())
    restart = d.get("restart", "unless-stopped")
    if not isinstance(restart, str) or restart not in RESTART:
        raise bad(f"{key}.restart", restart)
    env_raw = d.get("env")
    return Service(
        name=name, image=image(image_ref, f"{key}.image"), container_prefix=prefix,
        port=_int(d.get("port"), f"{key}.port", 8000, 1, 65535),
        upstream=upstream,
        upstream_file=upstream_file(d.get("upstream_file", f"/etc/nginx/conf.d/{upstream}.upstream.conf"),
                                    f"{key}.upstream_file"),
        server_params=server_params,
        health=_parse_health(d.get("health"), f"{key}.health"),
        stop_timeout=duration(d.get("stop_timeout"), f"{key}.stop_timeout", 30.0, GRACE),
        drain_timeout=duration(d.get("drain_timeout"), f"{key}.drain_timeout", 30.0, GRACE),
        restart=restart, volumes=_parse_volumes(d.get("volumes"), f"{key}.volumes"),
        labels=_parse_labels(d.get("labels"), f"{key}.labels"),
        env=tuple(_parse_env(n, v, f"{key}.env.{n}") for n, v in
                  _mapping(env_raw, f"{key}.env", set(env_raw) if isinstance(env_raw, dict) else set()).items()),
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
        timeout=duration(d.get("timeout"), f"{key}.timeout", 120.0, TIMEOUT),
        interval=duration(d.get("interval"), f"{key}.interval", 2.0, INTERVAL),
        successes=_int(d.get("successes"), f"{key}.successes", 3, 1, 100),
        request_timeout=duration(d.get("request_timeout"), f"{key}.request_timeout", 5.0, TIMEOUT),
    )


def _parse_monitor(raw: Any, key: str) -> Monitor:
    d = _mapping(raw, key, {"duration", "interval", "max_error_rate", "min_requests", "max_latency_factor",
                            "latency_floor", "failures", "smoke"})
    smoke = d.get("smoke") or []
    if not isinstance(smoke, list) or len(smoke) > MAX_SMOKE:
        raise bad(f"{key}.smoke", smoke)
    return Monitor(
        duration=duration(d.get("duration"), f"{key}.duration", Monitor.duration, WATCH),
        interval=duration(d.get("interval"), f"{key}.interval", Monitor.interval, INTERVAL),
        max_error_rate=_number(d.get("max_error_rate"), f"{key}.max_error_rate", Monitor.max_error_rate, 0.0, 1.0),
        min_requests=_int(d.get("min_requests"), f"{key}.min_requests", Monitor.min_requests, 1, 1_000_000),
        max_latency_factor=_number(d.get("max_latency_factor"), f"{key}.max_latency_factor",
                                   Monitor.max_latency_factor, 1.0, 1000.0),
        latency_floor=duration(d.get("latency_floor"), f"{key}.latency_floor", Monitor.latency_floor, FLOOR),
        failures=_int(d.get("failures"), f"{key}.failures", Monitor.failures, 1, 100),
        smoke=tuple(check(p, HTTP_PATH, f"{key}.smoke") for p in smoke),
    )


def _number(value: Any, key: str, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad(key, value)
    return float(value)


def _parse_volumes(raw: Any, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > 100:
        raise bad(key, raw)
    return tuple(volume(v, key) for v in raw)


def _parse_labels(raw: Any, key: str) -> dict[str, str]:
    d = _mapping(raw, key, set(raw) if isinstance(raw, dict) else set())
    return dict(label(k, v, key) for k, v in d.items())


def _parse_env(name: Any, raw: Any, key: str) -> EnvVar:
    check(name, ENV_NAME, key)
    if raw is None:
        return EnvVar(name=env_name(name, key, from_environment=True))
    d = _mapping(raw, key, {"credential", "field", "optional", "value", "secret"})
    credential = d.get("credential")
    if credential is not None:
        check(credential, CONTAINER, f"{key}.credential")
    field = d.get("field")
    if field not in (None, "username", "password") or (field and not credential):
        raise bad(f"{key}.field", field)
    optional = d.get("optional", False)
    if not isinstance(optional, bool):
        raise bad(f"{key}.optional", optional)
    secret = d.get("secret", True)
    if not isinstance(secret, bool) or (credential and not secret):
        raise bad(f"{key}.secret", secret)
    value = d.get("value")
    if value is not None and (credential or isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise UsageError("config.bad_value", key=f"{key}.value", value="<hidden>")
    env_name(name, key, from_environment=value is None)
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
    url = public_url(d.get("url", Preview.url), f"{key}.url")
    name = d.get("server_name")
    if name is not None:
        check(name, SERVER_NAME, f"{key}.server_name")
    return Preview(listen=listen, url=url, server_name=name)


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
    return Hook(tuple(argv), duration(d.get("timeout"), f"{key}.timeout", Hook.timeout, TIMEOUT))


def _reject_shared(services: dict[str, Service]) -> None:
    """Two services must not fight over one container, upstream or nginx file."""
    for attr in ("container_prefix", "upstream", "upstream_file"):
        seen: dict[str, str] = {}
        for svc in services.values():
            value = getattr(svc, attr)
            if value in seen:
                raise UsageError("config.shared", key=f"services.{svc.name}.{attr}", other=seen[value])
            seen[value] = svc.name


def _reject_nginx_as_color(nginx: Nginx, services: dict[str, Service]) -> None:
    """A deploy replaces its idle color's container: if that were nginx's, the deploy would remove nginx."""
    for svc in services.values():
        for color in COLORS:
            if svc.container(color) == nginx.container:
                raise UsageError("config.nginx_is_color", key=f"services.{svc.name}.container_prefix",
                                 container=nginx.container)


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
    if isinstance(d.get("upstream_resolve"), bool):  # YAML 1.1 reads a bare on/off as true/false
        d = {**d, "upstream_resolve": "on" if d["upstream_resolve"] else "off"}
    for name, allowed in (("endpoint_mode", ("vip", "dnsrr")), ("upstream_resolve", ("off", "on"))):
        value = d.get(name)
        if value is not None and (runtime != "swarm" or value not in allowed):
            raise UsageError("config.bad_value", key=f"{key}.{name}", value=repr(value)[:80])
    return Scale(runtime, replicas, min_healthy, d.get("endpoint_mode") or Scale.endpoint_mode,
                 d.get("upstream_resolve") or Scale.upstream_resolve)


__all__ = ["parse", "check", "IMAGE", "COLORS"]
