"""The engine's client and what every part of it shares: the one place an engine error becomes bluegreen's."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import docker
from docker.errors import APIError, DockerException, NotFound

from bluegreen.errors import Unreachable

T = TypeVar("T")
R = TypeVar("R")
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


@contextmanager
def inside(container: str) -> Iterator[None]:
    """A command or a read in `container` (nginx): a container that is gone, stopped or between two tries of its
    restart policy is nginx not running (exit 6, and the look's wait after a reboot); any other engine error is
    unreachable."""
    try:
        yield
    except NotFound:
        raise Unreachable("nginx.not_running", name=container) from None
    except APIError as exc:
        if _not_running(exc):
            raise Unreachable("nginx.not_running", name=container) from None
        raise unreachable(exc) from None
    except DockerException as exc:
        raise unreachable(exc) from None


def unreachable(exc: DockerException) -> Unreachable:
    """The one translation of an engine that does not answer (or answers with an error no caller expects): one
    line, the engine's own words, never a traceback."""
    return Unreachable("docker.unreachable", error=_one_line(exc))


def each(call: Callable[[T], R], items: list[T]) -> list[R]:
    """`call` on every item; in parallel when there are several (each may wait out a stop grace)."""
    if len(items) < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), 8)) as pool:
        return list(pool.map(call, items))


def _not_running(exc: APIError) -> bool:
    """The engine refused because the container does not run — stopped, or between two tries of its restart
    policy ("is restarting, wait until the container is running": after a reboot, parts/readiness.py)."""
    return "is not running" in str(exc) or "is restarting" in str(exc)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(text).split())[:300]


def _rfc3339(stamp: str) -> float | None:
    """The engine's RFC 3339 (nano) time, e.g. 2026-12-01T03:11:34.123456789+09:00, as epoch seconds."""
    match = _RFC3339.fullmatch(stamp)
    if not match:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + int((match.group(2) or "0").ljust(9, "0")) / 1e9


class _Base:
    """The client of one engine, for one network; every part of Docker below speaks through it."""

    def __init__(self, network: str, client: docker.DockerClient | None = None) -> None:
        self.network = network
        try:
            self._client = client or docker.from_env(timeout=60)
            self._client.ping()
        except DockerException as exc:
            raise unreachable(exc) from None
