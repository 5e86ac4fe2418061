"""The open-loop load generator. Runs as its own process so that the orchestrator's Docker calls never delay it:

    python -m zdt.load SPEC.json OUT.json     # stops on "stop" (or EOF) on stdin, or after spec max_seconds

Every class sends at a constant rate whatever the answers (open loop: a slow or failed request never delays the
next one), and every request is recorded: start (CLOCK_MONOTONIC, shared by all processes), latency, outcome
(the HTTP status, or the error kind: connect, reset (RST), closed (EOF before a complete answer), timeout,
protocol), and the X-App-Color and X-App-Version that answered.

HTTP/1.1 is spoken directly on asyncio streams rather than through httpx: httpcore silently drops a pooled
connection it finds closed and may open another, which is the behaviour under test for keep-alive, and a raw
client costs far less CPU per request on a 2-core machine. No request is ever sent twice: each one is written
once, on one connection, and whatever happens after that (an EOF, a reset) is its recorded outcome.

Keep-alive classes keep `connections` persistent connections and use them in turn (oldest idle first), so each
one sits idle between requests the way a client pool's connections do. Two behaviours:
  - `raw`:  reuses a connection without looking at it (a plain socket client);
  - `pool`: before reusing, drops a connection whose EOF already arrived (what urllib3 and httpcore do before
    sending); this is not a retry, since nothing was sent on it. Once sent, a request is never resent.
A connection that failed or that the server closed is replaced in the background, so the pool keeps its size.

A third keep-alive class, `busy`, is closed-loop like wrk: `connections` persistent connections, each sending its
next request as soon as the previous answer arrived (never idle, so a reload's close always races a request on
it). It has no schedule: `rate` is 0 (as fast as the answers come) or a ceiling for the whole class. A request
that failed is not resent; the next one goes on a new connection. It runs in its own process (the bench starts
one per kind of load, runner.LoadProcess) so that its busy loop never delays the open-loop schedule.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

# nginx's published address: this machine's loopback, or the manager's address on the three-node Swarm
# (bench/three_nodes.py sets it for the generator processes it starts)
HOST = os.environ.get("BENCH_LOAD_HOST", "127.0.0.1")


@dataclass(frozen=True)
class LoadClass:
    name: str
    rate: float  # requests per second
    path: str = "/"
    method: str = "GET"
    body_bytes: int = 0
    keepalive: str = "none"  # none (new connection per request) | raw | pool | busy (closed loop)
    connections: int = 0  # keep-alive classes: the pool size
    timeout: float = 5.0

    def request(self) -> bytes:
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: bluegreen-bench\r\n"
        if self.body_bytes:
            head += f"Content-Type: application/octet-stream\r\nContent-Length: {self.body_bytes}\r\n"
        if self.keepalive == "none":
            head += "Connection: close\r\n"
        return (head + "\r\n").encode() + b"x" * self.body_bytes


class Failed(Exception):
    """A request that got no HTTP answer; `kind` is how it failed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


@dataclass
class Answer:
    status: int
    color: str | None
    version: str | None
    keep: bool  # the server did not ask to close the connection


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """An answer's status line and headers (names in lower case)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise Failed("closed") from None
    except asyncio.LimitOverrunError:
        raise Failed("protocol") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise Failed("protocol") from None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    status, headers = await read_head(reader)
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await reader.readexactly(int(headers.get("content-length", "0")))
    except asyncio.IncompleteReadError:
        raise Failed("closed") from None
    except ValueError:
        raise Failed("protocol") from None
    keep = headers.get("connection", "").lower() != "close"
    return Answer(status, headers.get("x-app-color"), headers.get("x-app-version"), keep)


async def until_stopped(stopping: asyncio.Event, max_seconds: float) -> None:
    """Until "stop" (or EOF) on stdin, or max_seconds; then `stopping` is set."""
    stop_reader = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    try:
        await asyncio.wait_for(asyncio.shield(stop_reader), max_seconds)
    except asyncio.TimeoutError:
        pass
    stopping.set()


async def paced(rate: float, stopping: asyncio.Event) -> AsyncIterator[tuple[int, float]]:
    """The open-loop schedule: (k, when the k-th start is due), one every 1/rate s from now, whatever the starts
    before it do; a start that comes late is still yielded (its lateness is the caller's to record). Ends when
    `stopping` is set."""
    loop = asyncio.get_running_loop()
    start, k, period = loop.time(), 0, 1.0 / rate
    while not stopping.is_set():
        due = start + k * period
        delay = due - loop.time()
        if delay > 0:
            try:
                await asyncio.wait_for(stopping.wait(), delay)
                return
            except asyncio.TimeoutError:
                pass
        yield k, due
        k += 1


class Generator:
    def __init__(self, port: int, classes: list[LoadClass]) -> None:
        self.port, self.classes = port, classes
        self.records: list[tuple] = []  # (class index, start, latency, outcome, color, version)
        self.lag: list[float] = [0.0] * len(classes)  # worst lateness of a start against its schedule
        self.late: list[int] = [0] * len(classes)  # starts more than 50 ms late
        self.tasks: set[asyncio.Task] = set()
        self.pools = [collections.deque() for _ in classes]
        self.owned = [0] * len(classes)  # keep-alive connections open (idle or busy), per class
        self.stopping = asyncio.Event()

    async def run(self, max_seconds: float) -> None:
        for i, cls in enumerate(self.classes):
            for _ in range(cls.connections if cls.keepalive in ("raw", "pool") else 0):
                self.pools[i].append(await self.connect(cls))
                self.owned[i] += 1
        schedulers = [asyncio.create_task(self.busy(i, c, k) if c.keepalive == "busy" else self.schedule(i, c))
                      for i, c in enumerate(self.classes) for k in range(c.connections if c.keepalive == "busy" else 1)]
        await until_stopped(self.stopping, max_seconds)
        await asyncio.gather(*schedulers)
        if self.tasks:  # in-flight requests end by their own timeouts
            await asyncio.wait(self.tasks, timeout=max(c.timeout for c in self.classes) + 2)
        for pool in self.pools:
            for _, writer in pool:
                writer.close()

    async def schedule(self, index: int, cls: LoadClass) -> None:
        loop = asyncio.get_running_loop()
        async for _, due in paced(cls.rate, self.stopping):
            late = loop.time() - due
            if late > self.lag[index]:
                self.lag[index] = late
            if late > 0.05:
                self.late[index] += 1
            task = asyncio.create_task(self.one(index, cls))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def busy(self, index: int, cls: LoadClass, k: int) -> None:
        """One closed-loop connection of a busy class: the next request as soon as the previous answer is in."""
        loop = asyncio.get_running_loop()
        period = cls.connections / cls.rate if cls.rate else 0.0  # a ceiling per connection, when the class has one
        conn = None
        next_start = loop.time()
        while not self.stopping.is_set():
            if period:
                next_start += period
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = await self.connect(cls)
                reader, writer = conn
                answer = await asyncio.wait_for(self.send_once(reader, writer, cls), cls.timeout)
                outcome, color, version = answer.status, answer.color, answer.version
                if not answer.keep:  # the server said it closes: the next request opens a new connection
                    writer.close()
                    conn = None
            except (Failed, asyncio.TimeoutError) as exc:
                outcome, color, version = getattr(exc, "kind", "timeout"), None, None
                if conn is not None:
                    conn[1].close()
                    conn = None
            self.records.append((index, t0, time.monotonic() - t0, outcome, color, version))
            if not isinstance(outcome, int):
                # a failure: pause before the next try so that a refused connect does not spin the CPU
                await self.pause(0.05)
            elif period and next_start > loop.time():
                await self.pause(next_start - loop.time())
        if conn is not None:
            conn[1].close()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when the run is stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    @staticmethod
    async def send_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cls: LoadClass) -> Answer:
        """Write the request once and read its answer; a broken connection is the request's failure."""
        try:
            writer.write(cls.request())
            return await read_answer(reader)
        except ConnectionResetError:
            raise Failed("reset") from None
        except OSError:
            raise Failed("closed") from None

    async def connect(self, cls: LoadClass):
        try:
            return await asyncio.wait_for(asyncio.open_connection(HOST, self.port), cls.timeout)
        except asyncio.TimeoutError:
            raise Failed("timeout") from None
        except OSError:
            raise Failed("connect") from None

    def take(self, index: int, cls: LoadClass):
        """The oldest idle connection of a keep-alive class, or None (then the request opens one)."""
        pool = self.pools[index]
        while pool:
            reader, writer = pool.popleft()
            if cls.keepalive == "pool" and (reader.at_eof() or writer.is_closing() or reader.exception()):
                self.drop(index, cls, writer)  # nothing was sent on it: dropping it is not a retry
                continue
            return reader, writer
        return None

    def drop(self, index: int, cls: LoadClass, writer: asyncio.StreamWriter) -> None:
        """Close a keep-alive connection and open its replacement in the background."""
        writer.close()
        self.owned[index] -= 1
        if self.stopping.is_set() or self.owned[index] >= cls.connections:
            return

        async def replace() -> None:
            try:
                conn = await self.connect(cls)
            except Failed:
                return
            self.owned[index] += 1
            self.pools[index].append(conn)

        task = asyncio.create_task(replace())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def one(self, index: int, cls: LoadClass) -> None:
        t0 = time.monotonic()
        try:
            answer = await asyncio.wait_for(self.exchange(index, cls), cls.timeout)
            outcome, color, version = answer.status, answer.color, answer.version
        except Failed as failed:
            outcome, color, version = failed.kind, None, None
        except asyncio.TimeoutError:
            outcome, color, version = "timeout", None, None
        self.records.append((index, t0, time.monotonic() - t0, outcome, color, version))

    async def exchange(self, index: int, cls: LoadClass) -> Answer:
        keepalive = cls.keepalive != "none"
        conn = self.take(index, cls) if keepalive else None
        if conn is None:
            conn = await self.connect(cls)
            if keepalive:
                self.owned[index] += 1
        reader, writer = conn
        kept = False
        try:
            writer.write(cls.request())  # written once; never written again, whatever happens next
            answer = await read_answer(reader)
            kept = keepalive and answer.keep
            return answer
        except ConnectionResetError:
            raise Failed("reset") from None
        except OSError:  # EPIPE and the like: the peer was gone before the answer
            raise Failed("closed") from None
        finally:
            if kept and self.owned[index] > cls.connections:  # opened during a burst: back to the pool's size
                writer.close()
                self.owned[index] -= 1
            elif kept:
                self.pools[index].append(conn)
            elif keepalive:
                self.drop(index, cls, writer)
            else:
                writer.close()


def run_client(argv: list[str], make: Callable[[dict], Any], document: Callable[[Any], dict],
               said: Callable[[Any], str]) -> int:
    """A client process (this one, zdt.streams): SPEC.json in, its records' document to OUT.json."""
    spec = json.loads(open(argv[1], encoding="utf-8").read())
    client = make(spec)
    asyncio.run(client.run(spec["max_seconds"]))
    with open(argv[2], "w", encoding="utf-8") as out:
        json.dump(document(client), out, separators=(",", ":"))
    print(said(client), flush=True)
    return 0


def main(argv: list[str]) -> int:
    return run_client(argv, lambda spec: Generator(spec["port"], [LoadClass(**c) for c in spec["classes"]]),
                      lambda gen: {"classes": [c.__dict__ for c in gen.classes], "lag_max": gen.lag, "late": gen.late,
                                   "records": gen.records},
                      lambda gen: f"load: {len(gen.records)} requests")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
