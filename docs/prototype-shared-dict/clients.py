"""Load clients for the prototype: wrk (keep-alive, C) and a raw-socket keep-alive client that
never retries, so every connection nginx closes under it shows up as a failed request.
"""
from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

REQUEST = b"GET / HTTP/1.1\r\nHost: bluegreen\r\nUser-Agent: bgp-raw\r\n\r\n"


@dataclass
class LoadResult:
    client: str
    requests: int = 0
    errors: int = 0
    detail: dict = field(default_factory=dict)
    colors: dict = field(default_factory=dict)
    timeline: list = field(default_factory=list)  # (monotonic time, color) per answer, raw client only


# ---------------------------------------------------------------- wrk
def run_wrk(port: int, connections: int, seconds: int) -> LoadResult:
    """wrk -t2 -cN: every error class wrk counts, plus non-2xx/3xx, is a failed request."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    detail = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non_2xx_3xx": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        detail.update(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        detail["non_2xx_3xx"] = int(m.group(1))
    return LoadResult(f"wrk -c{connections}", requests, sum(detail.values()), detail)


# ---------------------------------------------------------------- raw keep-alive client
class RawConnection:
    """One keep-alive connection; request() sends one GET and reads one response."""

    def __init__(self, port: int, timeout: float = 5) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    connects = 0  # per instance: how often this connection had to be (re)opened

    def connect(self) -> None:
        self.close()
        self.connects += 1
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        if self.sock:
            self.sock.close()
        self.sock = None

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by nginx")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed mid-body")
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def request(self) -> tuple[int, str, bool]:
        """(status, X-App-Color, connection kept). Raises on reset/EOF/timeout: no retry."""
        if self.sock is None:
            self.connect()
        self.sock.sendall(REQUEST)
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        self._read_exact(int(headers.get("content-length", "0")))
        keep = headers.get("connection", "").lower() != "close"
        if not keep:  # e.g. keepalive_requests reached: a clean close, not an error
            self.close()
        return status, headers.get("x-app-color", "?"), keep


def run_raw(port: int, connections: int, seconds: float, think: float = 0.0) -> LoadResult:
    """N threads, one keep-alive connection each, back to back (think=0) or paced."""
    lock = threading.Lock()
    result = LoadResult(f"raw -c{connections}" + (f" think={think * 1000:g}ms" if think else ""))
    result.detail = {"eof": 0, "reset": 0, "timeout": 0, "other": 0, "non_200": 0}
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = RawConnection(port)
        local = {"n": 0, "colors": {}, "errors": {}, "timeline": []}
        while time.monotonic() < deadline:
            try:
                status, color, _ = conn.request()
                local["timeline"].append((time.monotonic(), color))
                local["n"] += 1
                local["colors"][color] = local["colors"].get(color, 0) + 1
                if status != 200:
                    local["errors"]["non_200"] = local["errors"].get("non_200", 0) + 1
            except (EOFError, ConnectionResetError, BrokenPipeError, socket.timeout, OSError) as exc:
                kind = ("eof" if isinstance(exc, EOFError) else
                        "reset" if isinstance(exc, (ConnectionResetError, BrokenPipeError)) else
                        "timeout" if isinstance(exc, socket.timeout) else "other")
                local["n"] += 1
                local["errors"][kind] = local["errors"].get(kind, 0) + 1
                conn.close()
            if think:
                time.sleep(think)
        conn.close()
        with lock:
            result.detail_connects = getattr(result, "detail_connects", 0) + conn.connects
            result.requests += local["n"]
            for k, v in local["errors"].items():
                result.detail[k] += v
            for k, v in local["colors"].items():
                result.colors[k] = result.colors.get(k, 0) + v
            result.timeline.extend(local["timeline"])

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.errors = sum(result.detail.values())
    return result
