"""Peers on a unix socket that misbehave on purpose, for the quick path's exchanges (parts/admin_socket.py): one
that trickles its answer, one that relays to nginx's real admin socket but loses answers. Each connection is
served by its own thread; `close()` stops accepting and waits for them."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable

Handler = Callable[[socket.socket, bytes], None]  # (the client's connection, its whole request)


def read_request(conn: socket.socket) -> bytes:
    """An HTTP/1.0 request as the quick path sends it: head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def exchange(path: str, request: bytes, timeout: float = 10) -> bytes:
    """`request` on the unix socket at `path`, everything it answers until it closes."""
    with socket.socket(socket.AF_UNIX) as upstream:
        upstream.settimeout(timeout)
        upstream.connect(path)
        upstream.sendall(request)
        chunks = []
        while chunk := upstream.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class UnixPeer:
    """A unix socket at `path` whose every connection `handler` serves (after its request was read)."""

    def __init__(self, path: str, handler: Handler) -> None:
        self.path, self.handler = path, handler
        self.requests: list[bytes] = []
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(path)
        self._server.listen(8)
        self._server.settimeout(0.1)  # accept polls, so that close() is seen
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = read_request(conn)
                self.requests.append(request)
                self.handler(conn, request)
            except OSError:
                pass  # the client gave up (its deadline): what the test looks at

    def close(self) -> None:
        self._closed.set()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=15)
        self._server.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "UnixPeer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def trickle(answer: bytes, interval: float) -> Handler:
    """A handler that sends `answer` one byte every `interval` seconds, then closes."""

    def handle(conn: socket.socket, request: bytes) -> None:
        for i in range(len(answer)):
            conn.sendall(answer[i:i + 1])
            time.sleep(interval)  # the trickle itself: what the client's deadline must cut

    return handle
