"""nginx's own access log as request outcomes per upstream server: what the monitor judges real traffic by.

The line format is the text of the `log_format` nginx writes with (config `nginx.log_format`); it is compiled to
a regex, so any format works as long as it has `$status`, `$request_time` and `$upstream_addr` (and `$request`,
which lets the monitor leave its own probes out). A request belongs to a color when that color's `ip:port` is in
`$upstream_addr`. When nginx tried several servers (`"10.0.0.2:8000, 10.0.0.3:8000"`), each attempt has its own
outcome: `$upstream_status` gives it when the format has it; without it, an attempt that was passed on to the next
server counts as failed (nginx passes on only after an error or timeout).

Two sources, both read incrementally (never the whole log per poll): a file inside the nginx container
(`tail -c +OFFSET`, through parts/engine/execs.py), or the container's own output (`docker logs --since`), where the
official image sends access.log.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

from bluegreen.config.log_format import DOCKER_LOGS, OFF

__all__ = ["LogSource", "FileLog", "DockerLogs", "LogUnavailable", "open_source", "timestamp"]

# --- sources -------------------------------------------------------------------------------------------------
class LogSource(Protocol):
    description: str

    def backlog(self) -> list[str]:
        """The most recent lines already written (the baseline), and from here on `poll` gives only new ones."""

    def poll(self) -> list[str]:
        """Complete lines written since the previous call."""


class _Reader(Protocol):  # what the sources need from containers.Docker
    def read_from(self, container: str, path: str, offset: int, limit: int) -> tuple[int, bytes] | None: ...

    def log_lines(self, container: str, *, since: float | None, tail: int) -> list[tuple[str, str]]: ...


class LogUnavailable(Exception):
    """The configured log cannot be read (no such file, not a regular file, logging driver without reads)."""


class FileLog:
    """A log file inside the nginx container, read from a byte offset; a shrunk file (rotated) restarts at 0."""

    BACKLOG_BYTES = 1 << 20  # ~5000 lines of the default format: enough for a baseline
    POLL_BYTES = 8 << 20  # a bigger burst is read over the next polls, nothing is skipped

    def __init__(self, docker: _Reader, container: str, path: str) -> None:
        self.docker, self.container, self.path = docker, container, path
        self.description = f"{container}:{path}"
        self.offset = -1
        self._partial = b""

    def backlog(self) -> list[str]:
        start, lines = self._read(-1, self.BACKLOG_BYTES)
        return lines[1:] if start > 0 else lines  # the tail began mid-line: drop that piece

    def poll(self) -> list[str]:
        return self._read(self.offset, self.POLL_BYTES)[1]

    def _read(self, offset: int, limit: int) -> tuple[int, list[str]]:
        got = self.docker.read_from(self.container, self.path, offset, limit)
        if got is None:
            raise LogUnavailable(f"{self.path} is not a regular file in {self.container}")
        start, data = got
        if start != offset:  # the first read, or the file was rotated/truncated: start afresh
            self._partial = b""
        self.offset = start + len(data)
        # A line still being written waits for the next read.
        complete, newline, self._partial = (self._partial + data).rpartition(b"\n")
        text = complete.decode("utf-8", "replace") if newline else ""
        return start, [line for line in text.split("\n") if line]


class DockerLogs:
    """The nginx container's stdout (`docker logs`), where the official image writes access.log."""

    BACKLOG_LINES = 5000
    POLL_LINES = 20000  # newest lines per poll; with `since`, only what came after the last one seen

    def __init__(self, docker: _Reader, container: str) -> None:
        self.docker, self.container = docker, container
        self.description = f"docker logs {container}"
        self.last: tuple[int, int] | None = None  # (epoch seconds, nanoseconds) of the newest line seen

    def backlog(self) -> list[str]:
        started = time.time()
        lines = self._take(self.docker.log_lines(self.container, since=None, tail=self.BACKLOG_LINES))
        if self.last is None:  # nothing logged yet: from now on (the engine's clock is this host's)
            self.last = (int(started), int(started % 1 * 1e9))
        return lines

    def poll(self) -> list[str]:
        assert self.last is not None, "backlog() first"
        since = self.last[0] + self.last[1] / 1e9
        return self._take(self.docker.log_lines(self.container, since=since, tail=self.POLL_LINES))

    def _take(self, entries: list[tuple[str, str]]) -> list[str]:
        lines = []
        for stamp, line in entries:
            at = timestamp(stamp)
            if at is None or (self.last is not None and at <= self.last):
                continue  # `since` is inclusive and coarser than the stamps: skip what was already read
            self.last = at
            lines.append(line)
        return lines


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def timestamp(stamp: str) -> tuple[int, int] | None:
    """Docker's RFC 3339 nano stamp ("…T12:00:00.1234Z": trailing zeros trimmed) as (seconds, nanoseconds)."""
    from datetime import datetime, timezone

    match = _STAMP.match(stamp)
    if not match:
        return None
    seconds = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return int(seconds), int((match.group(2) or "0").ljust(9, "0"))


def open_source(docker: _Reader, container: str, access_log: str) -> LogSource | None:
    """The configured source (`nginx.access_log`), or None when it is `off`."""
    if access_log == OFF:
        return None
    if access_log == DOCKER_LOGS:
        return DockerLogs(docker, container)
    return FileLog(docker, container, access_log)
