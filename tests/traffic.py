"""Steady background traffic that records every request, to prove "no failed request".

Each request uses a NEW connection (no keep-alive): what an nginx reload does to
idle keep-alive connections is a client-side race (docs/facts.md 2), not a
deploy failure, and must not be counted as one here.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Hit:
    """One request: when it started (s since the loop began) and what came back."""

    t: float
    status: int | None  # None when the request failed before a response
    error: str | None  # exception class name, e.g. "ConnectError", "ReadTimeout"
    version: str | None  # X-App-Version
    color: str | None  # X-App-Color

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class LoopResult:
    hits: list[Hit] = field(default_factory=list)

    @property
    def failures(self) -> list[Hit]:
        return [h for h in self.hits if not h.ok]

    @property
    def counts(self) -> collections.Counter:
        """Requests per outcome: status codes as ints, errors by exception name."""
        return collections.Counter(h.status if h.status is not None else h.error for h in self.hits)

    @property
    def versions(self) -> collections.Counter:
        return collections.Counter(h.version for h in self.hits if h.ok)

    def transitions(self) -> list[str | None]:
        """Versions of successful responses in order, consecutive repeats collapsed."""
        seen: list[str | None] = []
        for h in self.hits:
            if h.ok and (not seen or seen[-1] != h.version):
                seen.append(h.version)
        return seen

    def summary(self) -> str:
        return f"{len(self.hits)} requests, outcomes {dict(self.counts)}, versions {dict(self.versions)}"


class RequestLoop:
    """GET `url` every `interval` seconds on a new connection, in a thread.

    Stops on stop() or after `max_duration` seconds, whichever comes first.
    """

    def __init__(self, url: str, *, interval: float = 0.02, max_duration: float = 120,
                 timeout: float = 5) -> None:
        self.url = url
        self.interval = interval
        self.max_duration = max_duration
        self.timeout = timeout
        self._hits: list[Hit] = []
        self.started = time.monotonic()  # reset when the thread starts; Hit.t counts from it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"request-loop {url}", daemon=True)

    def start(self) -> "RequestLoop":
        self._thread.start()
        return self

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._hits)

    def snapshot(self) -> LoopResult:
        with self._lock:
            return LoopResult(list(self._hits))

    def now(self) -> float:
        """The loop's clock (the one Hit.t uses)."""
        return time.monotonic() - self.started

    def stop(self) -> LoopResult:
        self._stop.set()
        self._thread.join(self.timeout + 5)
        return self.snapshot()

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        headers = {"Connection": "close"}
        start = self.started = time.monotonic()
        next_at = start
        with httpx.Client(limits=limits, headers=headers, timeout=self.timeout) as client:
            while not self._stop.is_set():
                now = time.monotonic()
                if now - start >= self.max_duration:
                    break
                self._record(client, now - start)
                # Steady pace; after a slow request, carry on without a catch-up burst.
                next_at = max(next_at + self.interval, time.monotonic())
                self._stop.wait(next_at - time.monotonic())

    def _record(self, client: httpx.Client, t: float) -> None:
        try:
            r = client.get(self.url)
            hit = Hit(t, r.status_code, None, r.headers.get("X-App-Version"), r.headers.get("X-App-Color"))
        except httpx.HTTPError as exc:
            hit = Hit(t, None, type(exc).__name__, None, None)
        with self._lock:
            self._hits.append(hit)
