"""Where the Jenkins URL, user and API token come from: the environment, or a file only its owner can read.

The file holds the same names as the environment, one `NAME=value` a line (# comments allowed); values in the
file win over the environment. A file that group or others may read or write is refused before it is read:
an API token there is as good as leaked.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from bluegreen.errors import UsageError

NAMES = ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN")


@dataclass(frozen=True)
class Connection:
    url: str
    user: str
    token: str = field(repr=False)

    @property
    def plain_http_remote(self) -> bool:
        """http:// to another machine: the token would cross the network unencrypted."""
        parts = urlsplit(self.url)
        return parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1")


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
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UsageError("jenkins.credentials_file_missing", path=str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError("jenkins.credentials_file_mode", path=str(path), mode=oct(stat.S_IMODE(mode)))
    if not stat.S_ISREG(mode):  # a FIFO would block the run forever, a device never ends
        raise UsageError("jenkins.credentials_file_unreadable", path=str(path), error="not a regular file")
    try:
        with path.open("rb") as handle:
            text = handle.read(CREDENTIALS_FILE_LIMIT + 1).decode("utf-8")
        if len(text) > CREDENTIALS_FILE_LIMIT:
            raise UsageError("jenkins.credentials_file_unreadable", path=str(path), error="larger than 64 KiB")
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or type(exc).__name__)
        raise UsageError("jenkins.credentials_file_unreadable", path=str(path), error=reason) from None
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


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
