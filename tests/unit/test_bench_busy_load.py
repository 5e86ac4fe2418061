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


async def _run() -> tuple[list[tuple], int]:
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
    task = asyncio.create_task(gen.run(30))
    await asyncio.sleep(0.3)  # a test's own stop time, not a synchronisation: the generator runs until told
    gen.stopping.set()
    sys.stdin.closed.set()  # EOF on the generator's stdin: how the bench's parent process ends a run
    await asyncio.wait_for(task, 10)
    server.close()
    return gen.records, received


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
        records, received = asyncio.run(_run())
    finally:
        stdin.closed.set()
    outcomes = [r[3] for r in records]
    assert outcomes[:5] == [200, 200, 200, "closed", 200]  # the next request: on a new connection, answered
    assert received == len(records)  # every request sent once: none resent after its close
    assert 10 <= len(records) <= 62  # at most 200/s for 0.3 s (+ the last in flight); a failure pauses 50 ms
