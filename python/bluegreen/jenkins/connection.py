"""Where the Jenkins URL, user and API token come from: the environment, or a file only its owner can read.

The file holds the same names as the environment, one `NAME=value` a line (# comments allowed); values in the
file win over the environment. A file that group or others may read or write is refused before it is read:
an API token there is as good as leaked.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from bluegreen.errors import UsageError
from bluegreen.files import Unreadable, read_bounded

NAMES = ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN")


@dataclass(frozen=True)
class Connection:
    url: str
    user: str
    token: str = field(repr=False)

    @property
    def plain_http_remote(self) -> bool:
        """http:// that leaves this machine: the token would cross the network unencrypted. To the loopback it does
        not (whoever can read loopback traffic is root here, and can read the token where it is kept) — unless a
        proxy from the environment carries it (requests honours HTTP_PROXY/ALL_PROXY for loopback too)."""
        parts = urlsplit(self.url)
        if parts.scheme != "http":
            return False
        host = parts.hostname or ""
        proxies = getproxies_environment()
        proxied = bool(proxies.get("http") or proxies.get("all")) and not proxy_bypass_environment(host, proxies)
        return proxied or not _loopback(host)


def resolve(credentials_file: str | None, environ: Mapping[str, str] = os.environ,
            ) -> tuple[Connection | None, list[str]]:
    """The connection, or the names that are missing (reported together with any other missing value)."""
    values = {n: environ.get(n, "") for n in NAMES}
    if credentials_file:
        values.update({k: v for k, v in _read_file(Path(credentials_file)).items() if k in NAMES and v})
    missing = [n for n in NAMES if not values[n]]
    if missing:
        return None, missing
    for name in NAMES:
        # A newline or control character would end up in a header or a request line (or, for the URL, be
        # silently dropped by urlsplit): refuse it, naming the variable only.
        if any(not c.isprintable() or (c.isspace() and name == "JENKINS_URL") for c in values[name]):
            raise UsageError("jenkins.connection_value_bad", name=name)
    url = values["JENKINS_URL"]
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and _valid_port(parts)
    except ValueError:  # "Invalid IPv6 URL" and the like
        raise UsageError("jenkins.bad_url", url="?") from None
    if not valid:
        raise UsageError("jenkins.bad_url", url=parts.hostname or "?")
    if parts.username or parts.password:
        # A token in the URL ends up in logs and error messages; it has its own variable.
        raise UsageError("jenkins.url_has_userinfo", url=_without_userinfo(url))
    conn = Connection(url=url.rstrip("/") + "/", user=values["JENKINS_USER"], token=values["JENKINS_API_TOKEN"])
    return conn, []


CREDENTIALS_FILE_LIMIT = 64 * 1024  # three variables; anything this size is not a credentials file


def _read_file(path: Path) -> dict[str, str]:
    try:  # the mode checked is the file read (files.py: fstat of the open descriptor), not a path looked at before
        text = read_bounded(path, CREDENTIALS_FILE_LIMIT, private=True).decode("utf-8")
    except Unreadable as exc:
        if exc.why == "missing":
            raise UsageError("jenkins.credentials_file_missing", path=str(path)) from None
        if exc.why == "mode":
            raise UsageError("jenkins.credentials_file_mode", path=str(path), mode=exc.detail) from None
        raise UsageError("jenkins.credentials_file_unreadable", path=str(path), error=exc.reason) from None
    except UnicodeDecodeError:
        raise UsageError("jenkins.credentials_file_unreadable", path=str(path), error="not UTF-8") from None
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _loopback(host: str) -> bool:
    if host == "localhost":  # RFC 6761: always the loopback
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _valid_port(parts) -> bool:  # noqa: ANN001 - a urllib SplitResult
    try:
        return parts.port is None or parts.port > 0
    except ValueError:
        return False


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()
