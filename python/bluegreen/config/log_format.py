"""The access log's line format (config `nginx.log_format`) and one parsed line: pure text, no outside thing.

The schema checks a configured format with it (it must have `$status`, `$request_time`, `$upstream_addr`);
parts/access_log.py reads nginx's log with it for the monitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The format the monitor reads when nginx.log_format is not given (parts/access_log.py parses it).
DEFAULT_FORMAT = ('time=$time_iso8601 msec=$msec status=$status rt=$request_time upstream="$upstream_addr" '
                  'ustatus="$upstream_status" request="$request"')
GATEWAY_TIMEOUT = 504
REQUIRED = ("status", "request_time", "upstream_addr")
DOCKER_LOGS = "docker-logs"
OFF = "off"

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# nginx joins servers of one group with ", " and groups of an internal redirect with " : ".
_SEPARATOR = re.compile(r"\s*,\s*|\s+:\s+")


class BadFormat(ValueError):
    """The log_format text lacks a variable the monitor needs (its names are the message)."""


@dataclass(frozen=True)
class Attempt:
    addr: str  # "10.0.0.2:8000"
    failed: bool  # this server's answer was a 5xx other than 504, or nginx passed the request on after it


@dataclass(frozen=True)
class Request:
    status: int
    seconds: float  # $request_time
    attempts: tuple[Attempt, ...]
    path: str | None = None  # from $request, without the query

    def outcome_at(self, addr: str) -> Attempt | None:
        """The outcome of this request at `addr`, or None when that server was not tried."""
        for attempt in reversed(self.attempts):
            if attempt.addr == addr:
                return attempt
        return None


class LogFormat:
    """A compiled log_format: `parse(line)` gives a Request, or None for lines of another format."""

    def __init__(self, text: str) -> None:
        missing = [v for v in REQUIRED if f"${v}" not in text and f"${{{v}}}" not in text]
        if missing:
            raise BadFormat(", ".join("$" + v for v in missing))
        pattern, seen, last = [], set(), 0
        for match in _VARIABLE.finditer(text):
            pattern.append(re.escape(text[last:match.start()]))
            name = match.group(1) or match.group(2)
            pattern.append("(.*?)" if name in seen else f"(?P<{name}>.*?)")
            seen.add(name)
            last = match.end()
        pattern.append(re.escape(text[last:]))
        self.text = text
        self.has_request = "request" in seen
        self._regex = re.compile("^" + "".join(pattern) + "$")
        self._upstream_status = "upstream_status" in seen

    def parse(self, line: str) -> Request | None:
        match = self._regex.match(line.rstrip("\r\n"))
        if not match:
            return None
        fields = match.groupdict()
        try:
            status, seconds = int(fields["status"]), float(fields["request_time"])
        except ValueError:
            return None
        addrs = _values(fields["upstream_addr"])
        statuses = _values(fields["upstream_status"]) if self._upstream_status else []
        attempts = []
        for i, addr in enumerate(addrs):
            if len(statuses) == len(addrs):
                failed = not statuses[i].isdigit() or _failure(int(statuses[i]))
            else:  # no per-server status: the last server gave the answer, earlier ones passed it on
                failed = _failure(status) if i == len(addrs) - 1 else True
            attempts.append(Attempt(addr, failed))
        return Request(status, seconds, tuple(attempts), _path(fields.get("request")))


def _failure(status: int) -> bool:
    """A 5xx is a failure, except 504: nginx gave up waiting (`proxy_read_timeout`), or the app's own gateway did.
    Slow is not failed (docs/real-backend.md): an LLM call past the timeout says nothing of the release, and a
    release that hangs fails the monitor's probes, whose own timeout is a failure."""
    return status >= 500 and status != GATEWAY_TIMEOUT


def _values(field: str) -> list[str]:
    return [v for v in _SEPARATOR.split(field.strip()) if v and v != "-"]


def _path(request: str | None) -> str | None:
    parts = (request or "").split()
    return parts[1].split("?", 1)[0] if len(parts) >= 2 else None
