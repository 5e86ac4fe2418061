"""nginx's admin socket (`switch: shared-dict`): one HTTP request on a unix socket, carrying bluegreen's key (nginx
answers 403 without it: admin_key.py; the caller checks the socket first: admin_dir.unfit).

    GET /color        → what nginx serves: {"color", "source", "file_color", "workers", "disk"}
    PUT /color <c>    → serve <c> from the next request on
    GET /probe/<c>    → color <c>'s health path, proxied by nginx to that color alone (no backup, no retry)

and, for `switch: reload`'s quick path, the same one-request exchange with an instance's health path over TCP.

One HTTP/1.0 request per connection, written and read here rather than with httpx or http.client: the rollback's
quick path (quick/rollback.py) moves traffic through this module before anything heavy is imported, and
importing httpx costs ~0.1 s on 2 cores, http.client (with ssl and email) ~0.06 s — against 0.3 s for the whole
switch. The peer is bluegreen's own njs handler (or, for a probe, nginx relaying the app's status): an HTTP/1.0
request makes nginx answer with the whole body and close, so a status line and a body are all there is to read.
"""

from __future__ import annotations

import json
import socket
import time

from bluegreen.parts.admin_key import HEADER

MAX_ANSWER = 64 << 10  # the color answer is ~150 bytes; a probe's body is the app's, read no further than this


class AdminUnreachable(Exception):
    """The admin socket does not answer as it should (its message says how)."""


class AdminRefused(AdminUnreachable):
    """nginx answered 403: the key was missing or not the one its file names."""


def request(socket_path: str | tuple[str, int], method: str, path: str = "/color", body: str | None = None, *,
            timeout: float = 2.0, limit: int = MAX_ANSWER, key: str | None = None) -> tuple[int, bytes]:
    """One request, answered and closed by the peer: (status, body). `socket_path`: a unix socket, or (host, port)
    for the reload switch's quick probe of a container over the Docker network (probe_address). `timeout` bounds
    the whole exchange — connect, send, every read — not each step: a peer that trickles its answer a byte at a
    time cannot hold the quick path longer. An answer longer than `limit` is cut there. `key`: sent in the admin
    socket's header (admin_key.HEADER)."""
    payload = (body or "").encode("utf-8")
    host = "bluegreen" if isinstance(socket_path, str) else f"{socket_path[0]}:{socket_path[1]}"
    guard = f"{HEADER}: {key}\r\n" if key else ""
    head = f"{method} {path} HTTP/1.0\r\nHost: {host}\r\n{guard}Content-Length: {len(payload)}\r\n\r\n"
    family = socket.AF_UNIX if isinstance(socket_path, str) else socket.AF_INET
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.settimeout(_left(deadline))  # sendall: one bound for all of it
            sock.sendall(head.encode("ascii") + payload)
            answer = _read_all(sock, deadline, limit)
    except OSError as exc:
        raise AdminUnreachable(f"{type(exc).__name__}: {_short(exc)}") from None
    status_line, _, rest = answer.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise AdminUnreachable(f"not an HTTP answer: {status_line[:60]!r}")
    return int(parts[1]), rest.partition(b"\r\n\r\n")[2]


def _left(deadline: float) -> float:
    """What remains of the exchange's time; TimeoutError when nothing does (a zero timeout would not block)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _read_all(sock: socket.socket, deadline: float, limit: int) -> bytes:
    chunks, size = [], 0
    while size <= limit:
        sock.settimeout(_left(deadline))
        chunk = sock.recv(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def call(socket_path: str, method: str, body: str | None = None, *, timeout: float = 2.0,
         key: str | None = None) -> dict:
    """GET (what nginx serves) or PUT <color> (serve it) on /color: the answer's JSON object."""
    status, data = request(socket_path, method, "/color", body, timeout=timeout, key=key)
    if status == 403:
        raise AdminRefused("HTTP 403: nginx refused the key")
    try:
        answer = json.loads(data)
    except ValueError:
        raise AdminUnreachable(f"HTTP {status}, not JSON") from None
    if status != 200 or not isinstance(answer, dict):
        raise AdminUnreachable(f"HTTP {status}: {str(answer)[:120]}")
    return answer


def probe(socket_path: str, color: str, *, timeout: float, key: str | None = None) -> tuple[bool, str]:
    """The color's health check over the path nginx itself uses to reach it: (2xx, what it answered)."""
    try:
        status, _ = request(socket_path, "GET", f"/probe/{color}", timeout=timeout, key=key)
    except AdminUnreachable as exc:
        return False, str(exc)
    return 200 <= status < 300, f"HTTP {status}"


def probe_address(address: str, path: str, *, timeout: float) -> tuple[bool, str]:
    """An instance's health check at `address` ("ip:port", over the Docker network from this host, as the full
    path's gate probes it): (2xx, what it answered)."""
    host, _, port = address.rpartition(":")
    try:
        status, _ = request((host, int(port)), "GET", path, timeout=timeout)
    except (AdminUnreachable, ValueError) as exc:
        return False, str(exc)
    return 200 <= status < 300, f"HTTP {status}"


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
