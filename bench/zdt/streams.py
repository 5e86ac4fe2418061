"""Long answers and open connections, as a browser holds them: the real backend's SSE streams and WebSockets.

    python -m zdt.streams SPEC.json OUT.json     # stops on "stop" (or EOF) on stdin, or after spec max_seconds

Same protocol as zdt.load (runner.LoadProcess starts either). The spec's "streams" and "websockets":
  - streams: an SSE stream of `seconds` (`/chat?s=…&every=…`) started every 1/`rate` s whatever happens (open loop),
    alternating the `methods` (GET, POST with a prompt body). Each is recorded when it ends: whole (its
    `event: done` arrived, then the end of the chunked body) or cut (EOF, reset, timeout before `done`), with every
    release and color its tokens named;
  - websockets: `count` WebSockets on `/ws?every=…` held open; one that closes is recorded (the close code the
    server sent, or 1006 when the connection ended without a close frame) and opened again at once. With a
    `lifetime` (s) the client closes each one itself after it (code 1000, staggered by slot) and opens the next, as
    pages come and go: new sockets then land on whichever color serves, and meet that color's replacement.
At the stop no stream is started any more, the streams in flight run to their end (bounded), and the client closes
its WebSockets itself (code 1000, recorded as closed by the client).

Raw HTTP/1.1 and WebSocket frames on asyncio streams, like zdt.load: no request is sent twice, and nothing
between the bench and nginx reconnects or retries on its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import sys
import time

from zdt.load import HOST, Failed, paced, read_head, run_client, until_stopped

# Record fields, in order (kept as lists: one line of JSON per stream would be as large as the data).
STREAM_FIELDS = ("kind", "start", "end", "status", "tokens", "done", "releases", "error")
SOCKET_FIELDS = ("slot", "start", "end", "ticks", "code", "by", "releases", "error")


class Client:
    def __init__(self, port: int, spec: dict) -> None:
        self.port = port
        self.stream_spec = spec.get("streams") or {}
        self.socket_spec = spec.get("websockets") or {}
        self.streams: list[list] = []
        self.sockets: list[list] = []
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()

    async def run(self, max_seconds: float) -> None:
        workers = [asyncio.create_task(self.hold(slot)) for slot in range(self.socket_spec.get("count", 0))]
        if self.stream_spec.get("rate"):
            workers.append(asyncio.create_task(self.schedule()))
        await until_stopped(self.stopping, max_seconds)
        await asyncio.gather(*workers)
        if self.tasks:  # the streams in flight end by themselves, within their length and its timeout
            await asyncio.wait(self.tasks, timeout=self.stream_spec.get("seconds", 0) + 40)

    # --- SSE ---------------------------------------------------------------------------------------------------
    async def schedule(self) -> None:
        methods = self.stream_spec.get("methods", ["GET"])
        async for k, _ in paced(self.stream_spec["rate"], self.stopping):
            task = asyncio.create_task(self.stream(methods[k % len(methods)]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def stream(self, method: str) -> None:
        seconds, every = self.stream_spec["seconds"], self.stream_spec.get("every", 0.5)
        t0 = time.monotonic()
        got = {"status": None, "tokens": 0, "done": False, "releases": set()}
        error = None
        try:
            await asyncio.wait_for(self.sse(method, f"/chat?s={seconds:g}&every={every:g}", got), seconds + 30)
        except Failed as failed:
            error = failed.kind
        except asyncio.TimeoutError:
            error = "timeout"
        except ConnectionResetError:
            error = "reset"
        except OSError:
            error = "closed"
        self.streams.append([method, t0, time.monotonic(), got["status"], got["tokens"], got["done"],
                             sorted(got["releases"]), error])

    async def sse(self, method: str, path: str, got: dict) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            raise Failed("connect") from None
        try:
            body = b"a prompt" if method == "POST" else b""
            head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\nConnection: close\r\n"
            if body:
                head += f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            writer.write((head + "\r\n").encode() + body)
            status, headers = await read_head(reader)
            got["status"] = status
            if status != 200:
                raise Failed("non2xx")
            if headers.get("transfer-encoding", "").lower() != "chunked":
                raise Failed("protocol")
            pending = ""
            while True:
                try:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    chunk = await reader.readexactly(size + 2)
                except asyncio.IncompleteReadError:
                    raise Failed("closed") from None
                except ValueError:
                    raise Failed("protocol") from None
                if size == 0:
                    if not got["done"]:
                        raise Failed("ended-without-done")
                    return
                pending += chunk[:-2].decode()
                while "\n\n" in pending:
                    event, pending = pending.split("\n\n", 1)
                    take_event(event, got)
        finally:
            writer.close()

    # --- WebSockets --------------------------------------------------------------------------------------------
    async def hold(self, slot: int) -> None:
        """Keep one WebSocket open for the whole run: record each connection, open the next at once."""
        while not self.stopping.is_set():
            record = await self.socket(slot)
            self.sockets.append(record)
            if record[4] is None and not self.stopping.is_set():
                await self.pause(0.2)  # it did not open: do not spin on a refused connect

    async def pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def socket(self, slot: int) -> list:
        t0 = time.monotonic()
        ticks, releases, code, by, error, opened = 0, set(), None, None, None, False
        every = self.socket_spec.get("every", 1)
        lifetime = self.socket_spec.get("lifetime", 0)
        # the first connection of each slot lives a share of a lifetime, so that the slots do not close together
        first = not any(r[0] == slot for r in self.sockets)
        ends = t0 + lifetime * ((slot + 1) / self.socket_spec["count"] if first else 1) if lifetime else 0.0
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, self.port), 5)
        except (OSError, asyncio.TimeoutError):
            return [slot, t0, time.monotonic(), 0, None, None, [], "connect"]
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write((f"GET /ws?every={every:g} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                         .encode())
            status, _ = await asyncio.wait_for(read_head(reader), 5)
            if status != 101:
                raise Failed(f"http-{status}")
            opened = True
            stop = asyncio.ensure_future(self.stopping.wait())
            try:
                while True:
                    frame = asyncio.ensure_future(read_frame(reader))
                    left = ends - time.monotonic() if ends else every + 10
                    await asyncio.wait({frame, stop}, timeout=max(0.0, min(left, every + 10)),
                                       return_when=asyncio.FIRST_COMPLETED)
                    if not frame.done():
                        frame.cancel()
                        if stop.done() or (ends and time.monotonic() >= ends):  # the client leaves the page
                            writer.write(client_frame(0x8, struct.pack("!H", 1000)))
                            code, by = 1000, "client"
                        else:
                            code, by, error = 1006, "silent", "timeout"
                        break
                    opcode, payload = frame.result()
                    if opcode == 0x1:
                        ticks += 1
                        _, _, version, color = payload.decode().split(" ", 3)
                        releases.add(f"{version} {color}")
                    elif opcode == 0x9:
                        writer.write(client_frame(0xA, payload))
                    elif opcode == 0x8:
                        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                        by = "server"
                        writer.write(client_frame(0x8, payload[:2]))
                        break
            finally:
                stop.cancel()
        except Failed as failed:
            error = failed.kind
        except (asyncio.IncompleteReadError, ConnectionResetError, OSError, asyncio.TimeoutError):
            if opened:
                code, by = 1006, "eof"  # ended without a close frame: what a browser reports as 1006
            else:
                error = "handshake"  # never opened: a failed connect, not a socket cut
        finally:
            writer.close()
        return [slot, t0, time.monotonic(), ticks, code, by, sorted(releases), error]


def take_event(event: str, got: dict) -> None:
    """One SSE event (`id:`/`event:`/`data:` lines): a token, or `done`."""
    kind, data = "message", None
    for line in event.split("\n"):
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
    if data is None:
        return
    got["releases"].add(f"{data['version']} {data['color']}")
    if kind == "done":
        got["done"] = True
    else:
        got["tokens"] += 1


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One server frame (unmasked, unfragmented: the backend's ticks are small text frames)."""
    b0, b1 = await reader.readexactly(2)
    size = b1 & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b""
    payload = await reader.readexactly(size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return b0 & 0x0F, payload


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client's frame: final, masked (RFC 6455 5.3), short payload."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def main(argv: list[str]) -> int:
    return run_client(argv, lambda spec: Client(spec["port"], spec),
                      lambda c: {"stream_fields": STREAM_FIELDS, "socket_fields": SOCKET_FIELDS, "streams": c.streams,
                                 "sockets": c.sockets,
                                 "spec": {"streams": c.stream_spec, "websockets": c.socket_spec}},
                      lambda c: f"streams: {len(c.streams)} streams, {len(c.sockets)} WebSocket connections")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
