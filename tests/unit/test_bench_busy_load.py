"""The bench's busy (closed-loop) keep-alive class against a tiny local server that closes a kept-alive connection
the way an old nginx worker does at a reload: the request that met the close is one failure ("closed"), never
resent, and the next request goes on a new connection. No Docker."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from zdt.load import Generator, LoadClass  # noqa: E402

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-App-Color: blue\r\n\r\nok"


async def _until(condition, timeout: float) -> None:
    """Poll `condition` (every 10 ms) until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)  # poll interval of the bounded wait above


async def _run() -> tuple[list[tuple], int, float]:
    received = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        served = 0
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            received += 1
            if served == 3:  # the 4th request on a connection meets a close instead of an answer
                break
            served += 1
            writer.write(ANSWER)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gen = Generator(port, [LoadClass("busy", 200, keepalive="busy", connections=1)])
    started = asyncio.get_running_loop().time()
    task = asyncio.create_task(gen.run(30))
    await _until(lambda: received >= 12, 10)  # three connections' worth: each ends with a close
    gen.stopping.set()
    elapsed = asyncio.get_running_loop().time() - started
    sys.stdin.closed.set()  # EOF on the generator's stdin: how the bench's parent process ends a run
    await asyncio.wait_for(task, 10)
    server.close()
    return gen.records, received, elapsed


class _QuietStdin:
    """The generator reads "stop" from stdin in a thread; here nothing comes until the test has stopped the
    generator itself (then EOF), at most 10 s."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def readline(self) -> str:
        self.closed.wait(10)
        return ""


def test_busy_connection_counts_a_closed_request_once_and_reconnects(monkeypatch):
    stdin = _QuietStdin()
    monkeypatch.setattr(sys, "stdin", stdin)
    try:
        records, received, elapsed = asyncio.run(_run())
    finally:
        stdin.closed.set()
    outcomes = [r[3] for r in records]
    assert outcomes[:5] == [200, 200, 200, "closed", 200]  # the next request: on a new connection, answered
    assert received == len(records)  # every request sent once: none resent after its close
    assert 10 <= len(records) <= 200 * elapsed + 2  # at most 200/s while it ran (+ the last in flight)
