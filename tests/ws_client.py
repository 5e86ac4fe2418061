"""A WebSocket client small enough to read (RFC 6455: the handshake, unmasked server frames, a masked close), so the
tests and the bench need no WebSocket library: what it got, from whom, and the close code that ended it."""

from __future__ import annotations

import base64
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
NO_CODE = 1005  # RFC 6455: a close frame without a status code; 1006: the connection dropped without one


@dataclass
class Socket:
    """One WebSocket on `url` (http://host:port/path), read in a thread until it ends."""

    url: str
    messages: list[str] = field(default_factory=list)
    close_code: int | None = None  # the server's close frame; 1006 when the connection dropped without one
    status: str = ""
    ended: float = 0.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self._sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                           .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._read, daemon=True)
        if " 101 " in self.status + " ":
            self._thread.start()

    @property
    def open(self) -> bool:
        return self._thread.is_alive()

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _read(self) -> None:
        try:
            while True:
                first, second = self._exact(2)
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._exact(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._exact(8))[0]
                payload = self._exact(length)
                if opcode == TEXT:
                    self.messages.append(payload.decode())
                elif opcode == PING:
                    self._send(PONG, payload)
                elif opcode == CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else NO_CODE
                    self._send(CLOSE, payload[:2])
                    return
        except OSError:
            if self.close_code is None:
                self.close_code = 1006
        finally:
            self.ended = time.monotonic()
            self._sock.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self._sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
        except OSError:
            pass

    def close(self) -> None:
        """The client's own close (1000); the reader ends on the server's answer."""
        self._send(CLOSE, struct.pack("!H", 1000))
        self._thread.join(5)
        self._sock.close()

    def join(self, timeout: float) -> "Socket":
        self._thread.join(timeout)
        return self

    @property
    def last(self) -> list[str]:
        """The last tick's words: tick <n> <version> <color>."""
        return self.messages[-1].split() if self.messages else []
