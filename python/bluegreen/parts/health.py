"""The only module that speaks HTTP (httpx): health probes with deadlines, and the admin socket of
`switch: shared-dict` (a unix socket nginx listens on, in a host directory only the tool can enter).

A redirect is a failure: a health endpoint that answers 301 (force-SSL, a login page) is not healthy, and the
operator gets the Location as a hint instead of an opaque timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import httpx

from bluegreen.clock import REAL, Clock
from bluegreen.config.settings import Health

# Identify the color that answered, when the app says so (the test app and the demo do).
COLOR_HEADER = "X-App-Color"


@dataclass(frozen=True)
class Probe:
    ok: bool
    status: int | None = None
    detail: str = ""  # "HTTP 503", "redirect → /login", "connection refused", "timeout"
    color: str | None = None


@dataclass(frozen=True)
class Progress:
    elapsed: float
    deadline: float
    successes: int
    last: Probe


def make_client(timeout: float, transport: httpx.BaseTransport | None = None, *, tls: bool = False) -> httpx.Client:
    # No keep-alive: each probe opens a new connection, as nginx does towards an upstream by default.
    # Plain-http probes skip building a TLS context (~50 ms of a one-second rollback); https keeps verification.
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, verify=tls,
                        limits=httpx.Limits(max_keepalive_connections=0), trust_env=False)


def probe(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Probe:
    try:
        response = client.get(url, headers=headers)
    except httpx.TimeoutException:
        return Probe(False, detail="timeout")
    except httpx.ConnectError as exc:
        return Probe(False, detail=f"connect error: {_short(exc)}")
    except httpx.HTTPError as exc:
        return Probe(False, detail=f"{type(exc).__name__}: {_short(exc)}")
    color = response.headers.get(COLOR_HEADER)
    if response.is_redirect:
        where = response.headers.get("location", "?")
        return Probe(False, response.status_code, f"HTTP {response.status_code} redirect → {where}", color)
    if not response.is_success:
        return Probe(False, response.status_code, f"HTTP {response.status_code}", color)
    return Probe(True, response.status_code, f"HTTP {response.status_code}", color)


def wait_until_healthy(url: str, health: Health, *, still_running: Callable[[], bool],
                       on_progress: Callable[[Progress], None] = lambda p: None,
                       transport: httpx.BaseTransport | None = None, clock: Clock = REAL) -> Progress:
    """Poll `url` until `health.successes` consecutive 2xx, or the deadline; returns the last progress.

    Stops early when the container is no longer running: waiting out the deadline on a dead process helps nobody.
    """
    deadline = clock.deadline(health.timeout)
    successes = 0
    with make_client(health.request_timeout, transport, tls=url.startswith("https:")) as client:
        while True:
            last = probe(client, url)
            successes = successes + 1 if last.ok else 0
            progress = Progress(deadline.elapsed, health.timeout, successes, last)
            on_progress(progress)
            if successes >= health.successes or deadline.expired or not still_running():
                return progress
            deadline.pause(health.interval)


@dataclass(frozen=True)
class Gate:
    """The end of a health gate over several instances: who passed, and the last probe of each."""

    passed: tuple[str, ...]
    dead: tuple[str, ...]  # stopped running while it was probed
    last: dict[str, Probe]
    progress: Progress  # the last progress line (successes: the least advanced instance's)


def wait_until_all_healthy(names: Sequence[str], probe_round: Callable[[list[str]], Mapping[str, Probe]],
                           health: Health, *, needed: int, still_running: Callable[[], set[str]],
                           on_progress: Callable[[Progress, int], None] = lambda p, n: None,
                           clock: Clock = REAL) -> Gate:
    """Probe every instance each round until each has `health.successes` consecutive 2xx (an instance that got
    there is not probed again), the deadline passes, or fewer than `needed` can still get there (the others
    stopped running). `probe_round(names)` probes those instances once; `on_progress(progress, passed)`."""
    deadline = clock.deadline(health.timeout)
    streak = {name: 0 for name in names}
    last: dict[str, Probe] = {}
    dead: set[str] = set()
    while True:
        pending = [n for n in names if streak[n] < health.successes and n not in dead]
        for name, result in probe_round(pending).items():
            streak[name] = streak[name] + 1 if result.ok else 0
            last[name] = result
        passed = tuple(n for n in names if streak[n] >= health.successes)
        waiting = [n for n in names if n not in passed]
        shown = last.get(waiting[0]) if waiting else last.get(names[-1])
        progress = Progress(deadline.elapsed, health.timeout, min(streak[n] for n in waiting or names),
                            shown or Probe(False, detail="not probed"))
        on_progress(progress, len(passed))
        if not waiting or deadline.expired:
            return Gate(passed, tuple(sorted(dead)), last, progress)
        dead = set(names) - still_running()
        for name in dead:
            streak[name] = 0  # a stopped instance is not healthy, whatever it answered before
        if len(names) - len(dead) < needed:
            return Gate(tuple(n for n in passed if n not in dead), tuple(sorted(dead)), last, progress)
        deadline.pause(health.interval)


def probe_all(urls: Sequence[str], health: Health, *, transport: httpx.BaseTransport | None = None) -> list[Probe]:
    """One probe of each URL (instances reached from this host), one client for the round."""
    if not urls:
        return []
    with make_client(health.request_timeout, transport, tls=urls[0].startswith("https:")) as client:
        return [probe(client, url) for url in urls]


def is_healthy(url: str, health: Health, *, transport: httpx.BaseTransport | None = None) -> Probe:
    """One probe, for rollback targets and verification."""
    with make_client(health.request_timeout, transport, tls=url.startswith("https:")) as client:
        return probe(client, url)


def verify_color(url: str, health: Health, expect_color: str, *, attempts: int = 3,
                 transport: httpx.BaseTransport | None = None) -> Probe:
    """Probe the public entry; when the app names its color, it must be the expected one.

    A few attempts absorb the instant when old workers still finish: every request must succeed, and the last
    one must come from the new color when the app reports colors.
    """
    last = Probe(False, detail="not probed")
    with make_client(health.request_timeout, transport, tls=url.startswith("https:")) as client:
        for _ in range(attempts):
            last = probe(client, url)
            if not last.ok:
                return last
        if last.color is not None and last.color != expect_color:
            return Probe(False, last.status, f"answered by {last.color}, expected {expect_color}", last.color)
    return last


def probe_color(client: httpx.Client, url: str, expect_color: str) -> Probe:
    """One probe through nginx for the monitor: when the app names its color, another color answering is a
    failure too (nginx fell back to the backup because the active one stopped answering)."""
    last = probe(client, url)
    if last.ok and last.color is not None and last.color != expect_color:
        return Probe(False, last.status, f"answered by {last.color}, expected {expect_color}", last.color)
    return last


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
