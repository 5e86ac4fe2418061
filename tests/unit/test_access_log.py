"""nginx access-log lines → request outcomes per upstream server, and the incremental sources (no Docker)."""

from __future__ import annotations

import pytest

from bluegreen.config.log_format import DEFAULT_FORMAT, BadFormat, LogFormat
from bluegreen.parts.access_log import DockerLogs, FileLog, timestamp

LINE = ('time=2026-11-26T21:00:00+00:00 msec=1795726800.123 status={status} rt={rt} upstream="{up}" '
        'ustatus="{us}" request="GET /api/items?page=2 HTTP/1.1"')
GREEN, BLUE = "172.18.0.3:8000", "172.18.0.2:8000"


def line(status=200, rt="0.004", up=GREEN, us="200") -> str:
    return LINE.format(status=status, rt=rt, up=up, us=us)


def test_default_format_line_is_read():
    """The test image's line gives status, request_time, the server tried and the path without its query."""
    req = LogFormat(DEFAULT_FORMAT).parse(line())
    assert (req.status, req.seconds, req.path) == (200, 0.004, "/api/items")
    assert req.outcome_at(GREEN).failed is False and req.outcome_at(BLUE) is None


def test_a_5xx_is_a_failure_of_the_server_that_answered():
    """A 500 from the app counts against that server."""
    assert LogFormat(DEFAULT_FORMAT).parse(line(status=500, us="500")).outcome_at(GREEN).failed


@pytest.mark.parametrize("fmt, text", [
    (DEFAULT_FORMAT, line(status=504, rt="60.001", us="504")),
    ('$status $request_time "$upstream_addr" "$request"', f'504 60.001 "{GREEN}" "GET / HTTP/1.1"'),
])
def test_a_504_is_slow_not_failed(fmt, text):
    """nginx gave up waiting (proxy_read_timeout): a slow answer, not the release's failure (an LLM call past the
    timeout); its time still counts for latency."""
    req = LogFormat(fmt).parse(text)
    assert req.outcome_at(GREEN).failed is False and req.seconds == 60.001


def test_each_server_tried_has_its_own_outcome():
    """nginx tried green (502), then blue (200): green failed, blue did not, though the client got 200."""
    req = LogFormat(DEFAULT_FORMAT).parse(line(up=f"{GREEN}, {BLUE}", us="502, 200"))
    assert req.outcome_at(GREEN).failed and not req.outcome_at(BLUE).failed


def test_without_upstream_status_a_server_that_passed_on_failed():
    """With only $status, every server before the last one passed the request on (error or timeout)."""
    fmt = LogFormat('$status $request_time "$upstream_addr" "$request"')
    req = fmt.parse(f'200 0.010 "{GREEN}, {BLUE}" "GET / HTTP/1.1"')
    assert req.outcome_at(GREEN).failed and not req.outcome_at(BLUE).failed


def test_internal_redirect_groups_and_no_upstream():
    """" : " separates groups of an internal redirect; "-" (nginx answered itself) names no server."""
    fmt = LogFormat(DEFAULT_FORMAT)
    assert fmt.parse(line(up=f"{GREEN} : {BLUE}", us="404 : 200")).outcome_at(BLUE).failed is False
    assert fmt.parse(line(status=404, up="-", us="-")).attempts == ()


def test_a_combined_style_format_works():
    """A user's own format (combined plus the needed fields) is compiled, quotes and all."""
    fmt = LogFormat('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                    '"$http_referer" "$http_user_agent" rt=$request_time ua="$upstream_addr"')
    req = fmt.parse(f'10.0.0.9 - - [26/Nov/2026:21:00:00 +0000] "POST /login HTTP/1.1" 503 12 "-" '
                    f'"curl/8.0 (x; y)" rt=0.250 ua="{GREEN}"')
    assert (req.status, req.seconds, req.path) == (503, 0.25, "/login") and req.outcome_at(GREEN).failed
    assert fmt.has_request


def test_lines_of_another_format_are_skipped():
    """Entry-point chatter and error lines on the same stream give None, not an exception."""
    fmt = LogFormat(DEFAULT_FORMAT)
    assert fmt.parse("/docker-entrypoint.sh: Configuration complete; ready for start up") is None
    assert fmt.parse(line(status="abc")) is None


@pytest.mark.parametrize("text, missing", [
    ('$remote_addr "$request" $status', "$request_time, $upstream_addr"),
    ("${status} ${request_time}", "$upstream_addr"),
])
def test_a_format_without_the_needed_variables_is_refused(text, missing):
    """$status, $request_time and $upstream_addr are required (named in the error)."""
    with pytest.raises(BadFormat) as err:
        LogFormat(text)
    assert str(err.value) == missing


class FakeFile:
    """read_from over an in-memory file, as containers.Docker.read_from behaves."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = data

    def read_from(self, container, path, offset, limit):
        size = len(self.data)
        start = max(0, size - limit) if offset < 0 else (0 if offset > size else offset)
        return start, self.data[start:start + limit]


def test_file_log_reads_only_what_was_appended():
    """The backlog is the tail (its first, cut line dropped); each poll gives only new complete lines."""
    f = FakeFile(b"aaaa\nbbbb\ncccc\n")
    log = FileLog(f, "nginx", "/var/log/nginx/access.log")
    log.BACKLOG_BYTES = 8
    assert log.backlog() == ["cccc"]
    assert log.poll() == []
    f.data += b"dddd\nee"
    assert log.poll() == ["dddd"]  # "ee" is still being written
    f.data += b"ee\n"
    assert log.poll() == ["eeee"]


def test_file_log_starts_over_after_rotation():
    """A file shorter than the offset was rotated or truncated: read it from its start."""
    f = FakeFile(b"old line\n" * 3)
    log = FileLog(f, "nginx", "/x.log")
    log.backlog()
    f.data = b"new\n"
    assert log.poll() == ["new"]


def test_file_log_that_is_not_a_file():
    """The official image's access.log is a symlink to stdout: a clear error, not an empty log."""
    from bluegreen.parts.access_log import LogUnavailable

    class NotAFile:
        def read_from(self, *args):
            return None

    with pytest.raises(LogUnavailable):
        FileLog(NotAFile(), "nginx", "/var/log/nginx/access.log").backlog()


class FakeLogs:
    def __init__(self, entries):
        self.entries, self.calls = entries, []

    def log_lines(self, container, *, since, tail):
        self.calls.append(since)
        return [e for e in self.entries if since is None or timestamp(e[0])[0] + timestamp(e[0])[1] / 1e9 >= since
                ][-tail:]


def test_docker_logs_gives_each_line_once():
    """`since` is inclusive: lines up to the newest one seen are skipped by their nanosecond stamps."""
    logs = FakeLogs([("2026-11-26T21:00:00.5Z", "a"), ("2026-11-26T21:00:00.50000001Z", "b")])
    source = DockerLogs(logs, "nginx")
    assert source.backlog() == ["a", "b"]
    assert source.poll() == []
    logs.entries.append(("2026-11-26T21:00:01Z", "c"))
    assert source.poll() == ["c"]


def test_docker_logs_of_a_silent_container_start_now():
    """Nothing logged yet: polls ask only for lines from now on."""
    import time

    logs = FakeLogs([])
    source = DockerLogs(logs, "nginx")
    before = time.time()
    assert source.backlog() == [] and source.poll() == []
    assert logs.calls[-1] >= before - 1


def test_docker_timestamps_with_trimmed_zeros_compare_right():
    """RFC 3339 nano stamps drop trailing zeros: .5 is later than .49999."""
    assert timestamp("2026-11-26T21:00:00.5Z") > timestamp("2026-11-26T21:00:00.49999Z")
    assert timestamp("2026-11-26T21:00:00Z")[1] == 0 and timestamp("garbage") is None
