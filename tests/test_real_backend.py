"""The real Python backend (bluegreen-test/backend: uvicorn + Starlette) behind nginx 1.30, in both switch modes:
server-sent event streams opened on green before a rollback to blue and a deploy that replaces green end on their
own release with every token: the deploy drains green (asks it to stop, counts its requests in flight, waits; in
reload mode first for nginx's old workers' connections to green). A stream that outlives `drain_timeout` is cut
where it stands, counted in the deploy's output and report: the client sees a broken stream (no `done` event),
never one finished by another release. A stream on the *active* color holds no deploy to the idle one (issue 22,
docs/real-backend.md).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site
from stack import Stack

STREAM_S = 8.0
EVERY_S = 0.25
TOKENS = int(STREAM_S / EVERY_S)  # tokens a whole stream carries (uvicorn's sleep makes it this or one less)


@dataclass
class Stream:
    """One SSE client on the public entry: what it got, from whom, and how it ended."""

    url: str
    method: str = "GET"
    status: int | None = None
    events: list[dict] = field(default_factory=list)
    done: dict | None = None
    error: str | None = None
    seconds: float = 0.0
    ended: float = 0.0  # time.monotonic() when it ended

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Stream":
        self._thread.start()
        return self

    def _run(self) -> None:
        began = time.monotonic()
        event = "message"
        try:
            with httpx.stream(self.method, self.url, timeout=httpx.Timeout(5, read=STREAM_S + 30),
                              content=b"a prompt" if self.method == "POST" else None) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[len("event: "):]
                    elif line.startswith("data: "):
                        data = json.loads(line[len("data: "):])
                        if event == "done":
                            self.done = data
                        else:
                            self.events.append(data)
                        event = "message"
        except httpx.HTTPError as exc:
            self.error = type(exc).__name__
        self.ended = time.monotonic()
        self.seconds = self.ended - began

    def join(self) -> "Stream":
        self._thread.join(STREAM_S + 40)
        assert not self._thread.is_alive(), f"{self.method} stream still running"
        return self

    @property
    def releases(self) -> set[tuple[str, str]]:
        return {(e["version"], e["color"]) for e in self.events}

    def __str__(self) -> str:
        return (f"{self.method} status={self.status} tokens={len(self.events)} done={self.done is not None} "
                f"releases={sorted(self.releases)} error={self.error} {self.seconds:.1f}s")


MODES = ("reload", "shared-dict")


def _site(stack: Stack, tmp_path) -> Site:
    """The backend in the stack's switch mode, v1 then v2 deployed: green v2 serves, blue v1 is kept."""
    nginx = {"switch": stack.switch}
    service = {"image": "bluegreen-test/backend:${APP_TAG}"}
    if stack.switch == "shared-dict":
        service["preview"] = {"listen": "8081", "url": stack.preview_url}
    site = Site(stack, tmp_path, nginx=nginx, service=service)
    for release in ("v1", "v2"):
        result = site.deploy(release)
        assert result.returncode == 0, result.stdout + result.stderr
    return site


@contextlib.contextmanager
def _started(switch: str, docker_client, images, nginx_njs_image, tmp_path_factory) -> Iterator[Stack]:
    """nginx 1.30 (+ njs), with an admin directory for shared-dict; removed afterwards, even on failure."""
    admin = None
    if switch == "shared-dict":
        admin = tmp_path_factory.mktemp("admin")
        admin.chmod(0o700)
    s = Stack(docker_client, images, nginx_image=nginx_njs_image, admin_dir=str(admin) if admin else None)
    s.switch = switch
    try:
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture(params=MODES)
def backend_stack(request, docker_client, images, nginx_njs_image, tmp_path_factory) -> Stack:
    """A fresh stack per test (tests/test_long_connections.py)."""
    with _started(request.param, docker_client, images, nginx_njs_image, tmp_path_factory) as s:
        yield s


@pytest.fixture(scope="module", params=MODES)
def backend_site(request, docker_client, images, nginx_njs_image, tmp_path_factory) -> Site:
    """One stack and site per mode for this file's scenarios: none needs a fresh one. Each starts from where the
    one before left the site (`_green_serves`: a rollback at most) with its own timeouts (`_timeouts`)."""
    with _started(request.param, docker_client, images, nginx_njs_image, tmp_path_factory) as s:
        yield _site(s, tmp_path_factory.mktemp("site"))


def _timeouts(site: Site, *, drain_timeout: str, stop_timeout: str = "20s") -> None:
    """The scenario's bounds in bluegreen.yml (each run of the CLI reads them)."""
    site.config["services"]["backend"].update(drain_timeout=drain_timeout, stop_timeout=stop_timeout)
    site.write_config()


def _green_serves(site: Site) -> tuple[str, str]:
    """Green serves and blue is kept for a rollback, as after v1 then v2; from the end of another scenario, a
    rollback gets there. Returns the releases green and blue run."""
    code, doc = site.status()
    if code == 0 and doc["active"] == "blue":
        rollback = site.bg("rollback", "backend")
        assert rollback.returncode == 0, rollback.stdout + rollback.stderr
        code, doc = site.status()
    assert code == 0 and doc["active"] == "green", doc
    runs = {row["color"]: row["image"].rsplit(":", 1)[1] for row in doc["containers"] if row["exists"]}
    return runs["green"], runs["blue"]


def _another(*releases: str) -> str:
    """A release neither color runs: what a deploy brings is then told apart from both."""
    return next(r for r in ("v1", "v2", "v3") if r not in releases)


def _open_streams(site: Site) -> list[Stream]:
    url = f"{site.stack.public_url}/chat?s={STREAM_S:g}&every={EVERY_S:g}"
    streams = [Stream(url).start(), Stream(url).start(), Stream(url, method="POST").start()]
    wait_until(lambda: all(s.events for s in streams), 10, "every stream's first token")
    return streams


def in_flight(site: Site, color: str) -> int:
    """Requests in progress in the color's backend, as the app counts them (GET /inflight, from inside)."""
    code, out = site.stack.client.containers.get(site.container(color)).exec_run(
        ["wget", "-qO-", "http://127.0.0.1:8000/inflight"])
    return int(out) if code == 0 else -1


def _replace_their_color(site: Site, release: str, *options: str) -> tuple[subprocess.CompletedProcess, dict, float]:
    """With streams on green: a rollback (blue serves; the streams stay on green), then a deploy of `release`, which
    replaces green under them. Returns the deploy, its JSON report and when it returned (time.monotonic())."""
    rollback = site.bg("rollback", "backend")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    deploy = site.bg("deploy", "backend", "--json", *options, APP_TAG=release)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    return deploy, json.loads(deploy.stdout), time.monotonic()


def test_streams_end_on_their_release_through_a_switch_and_a_deploy(backend_site):
    """Streams on green (v2 after v1 then v2) through a rollback to blue and a deploy that replaces green
    (`drain_timeout: 20s`, `stop_timeout: 2s`: the drain, not the stop's grace, gives them their time): each ends
    with `done`, every token from green's release, and the deploy returned only after they ended. In shared-dict
    mode the drain counted them (3 in flight when green was asked to stop); in reload mode nginx's old workers
    carried them, and the deploy waited for their connections to green before asking it to stop (0 left then)."""
    site = backend_site
    _timeouts(site, drain_timeout="20s", stop_timeout="2s")
    theirs, blue = _green_serves(site)
    new = _another(theirs, blue)
    streams = _open_streams(site)
    began = time.monotonic()
    deploy, report, returned = _replace_their_color(site, new)
    assert "were cut" not in deploy.stderr and "killed" not in deploy.stderr, deploy.stderr  # nothing cut
    for stream in streams:
        stream.join()
        print(f"[{site.stack.switch}] {stream}")
        assert stream.status == 200 and stream.error is None, stream
        assert stream.releases == {(theirs, "green")}, stream
        assert stream.done is not None and stream.done["tokens"] == len(stream.events) >= TOKENS - 1, stream
    assert returned >= max(s.ended for s in streams), "the deploy returned before green's streams ended"
    assert httpx.get(site.stack.public_url + "/", timeout=5).headers["X-App-Version"] == new
    (drained,) = report["drain"]
    assert drained["color"] == "green" and drained["cut"] == 0 and not drained["timed_out"], drained
    # The wait shows progress: nginx's previous workers still carried the streams to green.
    assert f"requests to {site.container('green')} still proxied by nginx's previous workers" in deploy.stderr, \
        deploy.stderr
    print(f"[{site.stack.switch}] rollback + deploy took {returned - began:.1f}s; drain {drained}")


def test_a_stream_longer_than_drain_timeout_is_cut_and_counted(backend_site):
    """The same rollback and deploy with `--drain-timeout 2s` (for this run; bluegreen.yml says 30s, and
    `stop_timeout: 20s` bounds nothing here):
    the deploy kills green with its streams 2 s into the drain. Each stream ends without `done` (an error for the
    client) after tokens from green's release only — nginx cannot re-send an answer that has begun. The deploy
    succeeds and says the cut with its number: 4 requests (3 streams, 1 slow GET), in its output and its JSON
    report. The GET still waiting for its answer is measured too (the issue saw nginx re-send it to the other
    color)."""
    site = backend_site
    _timeouts(site, drain_timeout="30s")
    theirs, blue = _green_serves(site)
    streams = _open_streams(site)
    waiting: dict = {}

    def slow_get() -> None:
        began = time.monotonic()
        try:
            response = httpx.get(f"{site.stack.public_url}/slow?s={STREAM_S:g}", timeout=STREAM_S + 30)
            waiting.update(status=response.status_code, version=response.headers.get("X-App-Version"),
                           color=response.headers.get("X-App-Color"))
        except httpx.HTTPError as exc:
            waiting.update(error=type(exc).__name__)
        waiting["seconds"] = round(time.monotonic() - began, 1)

    slow = threading.Thread(target=slow_get, daemon=True)
    slow.start()
    wait_until(lambda: in_flight(site, "green") == len(streams) + 1, 10, "the slow GET on green")
    began = time.monotonic()
    result, report, returned = _replace_their_color(site, _another(theirs, blue), "--drain-timeout", "2s")
    slow.join(STREAM_S + 40)
    for stream in streams:
        stream.join()
        print(f"[{site.stack.switch}] {stream}")
        assert stream.status == 200 and stream.releases == {(theirs, "green")}, stream
        assert stream.done is None and stream.error is not None, stream
        assert len(stream.events) < TOKENS - 1, stream
    (drained,) = report["drain"]
    assert drained["timed_out"] and drained["cut"] == len(streams) + 1, drained
    said = f"{len(streams) + 1} requests still in flight on {site.container('green')} were cut at the drain deadline"
    assert said in result.stderr, result.stderr
    assert returned - began < 2 * STREAM_S, "the drain's bound is drain_timeout, not the streams' length"
    print(f"[{site.stack.switch}] GET /slow?s={STREAM_S:g} opened on green {theirs}: {waiting}")
    # The site here keeps nginx's default `proxy_next_upstream error timeout`: nginx re-sends the cut GET to the other
    # color, which answers it in full, late (what `bluegreen doctor`'s retries check warns of). With the
    # recommended `proxy_next_upstream off` it gets 502 at the cut: tests/test_long_connections.py.
    assert waiting.get("status") == 200 and waiting.get("color") == "blue" and waiting["seconds"] > STREAM_S, waiting
    print(f"[{site.stack.switch}] rollback + deploy took {returned - began:.1f}s; drain {drained}")


def test_a_stream_on_the_active_color_holds_no_deploy(backend_site):
    """A long stream on green, the active color, while another release deploys to blue: the deploy does not wait
    for it — in reload mode the make-room reload leaves the stream on an old worker, and only that worker's
    connections to *blue* are waited for — and the stream goes on on green's release to its end."""
    site = backend_site
    _timeouts(site, drain_timeout="30s")
    theirs, blue = _green_serves(site)
    long_s = 12  # a deploy that waited for the stream would return after it ended; this one takes ~2.5 s
    stream = Stream(f"{site.stack.public_url}/chat?s={long_s}&every=0.5").start()
    wait_until(lambda: stream.events, 10, "the stream's first token")
    began = time.monotonic()
    deploy = site.deploy(_another(theirs, blue))
    took = time.monotonic() - began
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert took < long_s - 4, f"the deploy to blue waited {took:.1f}s for a stream on green"
    assert not stream.ended, "the stream ended before the deploy returned"
    stream._thread.join(long_s + 40)
    print(f"[{site.stack.switch}] deploy took {took:.1f}s; {stream}")
    assert stream.done is not None and stream.releases == {(theirs, "green")}, stream
