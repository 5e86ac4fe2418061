"""The leaf values of bluegreen.yml: patterns, ranges and checks that name the key (config/schema.py walks the
file's structure and calls these).

Every pattern is matched whole (`fullmatch`: `^…$` would let a trailing newline into an nginx file) and every
value that reaches nginx, Docker, the terminal or a wait is bounded here, at config time, so nothing fails
halfway through a deploy for a reason the file already showed:
- durations are finite, at most a day, and waits have a floor (a `0s` interval is ~1,500 probes a second);
- `public_url` is a plain http(s) origin (a URL httpx would refuse used to fail only after the switch);
- volumes may not hand the container the host (`/`, the Docker socket), env names may not steer the CLI itself
  (`BLUEGREEN_*`, `DOCKER_HOST`, `LD_PRELOAD`… are bound into its environment by Jenkins), labels are one line.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Any

from bluegreen.errors import UsageError
from bluegreen.output import escape
from bluegreen.units import MAX_SECONDS, parse_duration

CONTAINER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}")
UPSTREAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# The file bluegreen owns: a .conf directly in a conf.d directory (what nginx's `include conf.d/*.conf` reads).
NGINX_PATH = re.compile(r"/(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}/){0,10}conf\.d/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}\.conf")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
SERVER_PARAM = re.compile(r"(?:max_fails=\d{1,3}|fail_timeout=\d{1,5}(?:ms|s|m)?|weight=\d{1,3}|max_conns=\d{1,6})")
HTTP_PATH = re.compile(r"/[A-Za-z0-9_./?=&%~+-]{0,1000}")
# Docker's reference grammar (distribution/reference): [domain[:port]/]path-component(/path-component)*[:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?"
IMAGE = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
                   r"(?:@sha256:[0-9a-f]{64})?")
IMAGE_MAX = 512
PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
LOG_PATH = re.compile(r"/[A-Za-z0-9_./-]{1,1000}")
LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,254}")

# Waits. The floor keeps a loop from spinning (50 ms: 20 probes a second at most); the ceiling is a day.
MIN_WAIT = 0.05
HOUR = 3600.0
TIMEOUT = (MIN_WAIT, MAX_SECONDS)  # health.timeout, health.request_timeout, nginx.reload_timeout
INTERVAL = (MIN_WAIT, HOUR)  # health.interval, monitor.interval
WATCH = (MIN_WAIT, MAX_SECONDS)  # monitor.duration
GRACE = (0.0, MAX_SECONDS)  # stop_timeout (0: SIGKILL at once)
FLOOR = (0.0, HOUR)  # monitor.latency_floor

# Host paths a container must not get: the host itself, its kernel interfaces, or the Docker engine (= root).
HOST_CONTROL = frozenset({"/", "/etc", "/root", "/boot", "/proc", "/sys", "/dev", "/run", "/var/run",
                          "/run/docker.sock", "/var/run/docker.sock", "/var/lib/docker", "/run/containerd"})
VOLUME_MODES = frozenset({"ro", "rw", "z", "Z", "nocopy", "shared", "slave", "private", "rshared", "rslave",
                          "rprivate", "consistent", "cached", "delegated"})
# Names a credential is bound to in the CLI's own environment (Jenkins `withCredentials`) that would change how the
# CLI runs: which Docker engine it talks to, what it loads, where it looks for programs.
STEERING = ("BLUEGREEN_", "DOCKER_", "LD_", "PYTHON")
STEERING_NAMES = frozenset({"PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "TMPDIR", "XDG_CACHE_HOME"})


def shown(key: object) -> str:
    """A key path as it is printed: a key from the file may hold a newline or an escape sequence."""
    return escape(str(key), limit=200)


def bad(key: str, value: Any) -> UsageError:
    return UsageError("config.bad_value", key=shown(key), value=repr(value)[:80])


def check(value: Any, pattern: re.Pattern[str], key: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise bad(key, value)
    return value


def one_line(value: Any, key: str, *, limit: int) -> str:
    """Printable text on one line, at most `limit` characters (a label value, a state_dir)."""
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise bad(key, value)
    return value


def human(seconds: float) -> str:
    """50ms, 30s, 1h, 24h: a range bound as the operator writes it."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    return f"{seconds:g}s"


def duration(value: Any, key: str, default: float, bounds: tuple[float, float]) -> float:
    """Seconds within `bounds`, the key and the range named when not."""
    if value is None:
        return default
    low, high = bounds
    seconds = parse_duration(value, limit=high)
    if seconds is None or seconds < low:
        raise UsageError("config.bad_duration", key=key, value=repr(value)[:80], low=human(low), high=human(high))
    return seconds


def public_url(value: Any, key: str) -> str:
    """An http(s) origin with an optional path prefix: a host, a port in range; no user, query, fragment,
    whitespace or control character. Refused here, not by httpx after the switch."""
    if not isinstance(value, str) or not _url_ok(value):
        raise UsageError("config.bad_url", key=key, value=repr(value)[:120])
    return value.rstrip("/")


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_NETLOC = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,253})(?::(?P<port>[0-9]{1,5}))?")
_URL_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]{1,200}){0,20}/?")


def _url_ok(value: str) -> bool:
    if len(value) > 2048 or not value.isascii() or not value.isprintable() or " " in value:
        return False
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:  # an unclosed IPv6 bracket
        return False
    netloc = _NETLOC.fullmatch(parts.netloc)
    if parts.scheme not in ("http", "https") or not netloc or parts.query or parts.fragment or "?" in value \
            or "#" in value or not _URL_PATH.fullmatch(parts.path):
        return False
    host, port = netloc.group("host"), netloc.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        return False
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if host.replace(".", "").isdigit():  # all-numeric: must be an IPv4 address
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return bool(_HOST.fullmatch(host.rstrip(".")))


def is_reference(value: str) -> bool:
    """The one check of an image reference (Docker's grammar, bounded), wherever one comes from: the config once its
    ${VAR}s are filled in, --image, a deploy's expanded template."""
    return len(value) <= IMAGE_MAX and IMAGE.fullmatch(value) is not None


def image(value: str, key: str) -> str:
    """A reference (Docker's grammar), or a template whose ${VAR}s are filled in at deploy time (and the result
    checked again then): outside its placeholders only reference characters, and `$` only in `${NAME}`."""
    if len(value) > IMAGE_MAX:
        raise bad(key, value)
    if PLACEHOLDER.search(value):
        rest = PLACEHOLDER.sub("", value)
        if not re.fullmatch(r"[A-Za-z0-9._:/@-]*", rest):
            raise bad(key, value)
        return value
    if not is_reference(value):
        raise bad(key, value)
    return value


def upstream_file(value: Any, key: str) -> str:
    """A .conf file directly in a conf.d directory, never nginx's own files or the site's default.conf."""
    if not isinstance(value, str) or not NGINX_PATH.fullmatch(value) or value.rsplit("/", 1)[1] == "default.conf":
        raise UsageError("config.upstream_file_place", key=key, value=repr(value)[:120])
    return value


def volume(value: Any, key: str) -> str:
    """`source:target[:mode]`: a host path or a named volume, an absolute target, known modes; never the host's
    root, kernel interfaces or the Docker socket."""
    if not isinstance(value, str) or len(value) > 1000 or not value.isprintable() or value.count(":") not in (1, 2):
        raise bad(key, value)
    source, target, *mode = value.split(":")
    if not re.fullmatch(r"/[A-Za-z0-9._@+/-]*|[A-Za-z0-9][A-Za-z0-9_.-]*", source) \
            or not re.fullmatch(r"/[A-Za-z0-9._@+/-]*", target) \
            or (mode and not set(mode[0].split(",")) <= VOLUME_MODES):
        raise bad(key, value)
    for path in (source, target):
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise bad(key, value)
    if source.startswith("/") and "/" + "/".join(p for p in source.split("/") if p not in ("", ".")) in HOST_CONTROL:
        raise UsageError("config.volume_host", key=key, value=repr(value)[:120])
    if target.strip("/.") == "":
        raise bad(key, value)
    return value


def env_name(name: Any, key: str, *, from_environment: bool) -> str:
    """A variable name; `BLUEGREEN_*` is bluegreen's own, and a name bound into the CLI's environment (a credential,
    a pass-through) may not be one that steers the CLI or its shell."""
    check(name, ENV_NAME, key)
    if name.startswith("BLUEGREEN_") or (from_environment and (name.startswith(STEERING) or name in STEERING_NAMES)):
        raise UsageError("config.env_reserved", key=key, name=name)
    return name


def label(name: Any, value: Any, key: str) -> tuple[str, str]:
    if not isinstance(name, str) or not LABEL_KEY.fullmatch(name) or name.lower().startswith("bluegreen."):
        raise bad(f"{key}.{name}", value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad(f"{key}.{name}", value)
    text = str(value)
    if len(text) > 4096 or not text.isprintable():
        raise bad(f"{key}.{name}", value)
    return name, text


__all__ = ["CONTAINER", "ENV_NAME", "FLOOR", "GRACE", "HTTP_PATH", "IMAGE", "INTERVAL", "is_reference", "LOG_PATH",
           "SERVER_PARAM", "TIMEOUT", "UPSTREAM", "WATCH", "bad", "check", "duration", "env_name", "human", "image",
           "label", "one_line", "public_url", "shown", "upstream_file", "volume"]
