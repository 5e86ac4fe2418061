"""bluegreen-test/backend: a small Starlette app served by uvicorn, shaped like the service bluegreen is built for
(a Python backend whose answers stream for a long time). Routes and variables: tests/images/README.md.

Shutdown is uvicorn's own: on SIGTERM it stops accepting, lets every response in progress finish (an SSE stream
runs to its end) and closes WebSockets at once with 1012; APP_GRACEFUL_TIMEOUT bounds the wait.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

VERSION = os.environ.get("APP_VERSION", "dev")
COLOR = os.environ.get("BLUEGREEN_COLOR", "none")
HEALTH = os.environ.get("APP_HEALTH", "ok")
STARTED = time.monotonic()
# Requests in progress now (slow answers, streams, WebSockets); GET /inflight reports it.
in_flight = 0


def _headers() -> dict[str, str]:
    # X-Accel-Buffering: nginx passes each event on at once instead of buffering the answer.
    return {"X-App-Version": VERSION, "X-App-Color": COLOR, "X-Accel-Buffering": "no",
            "Cache-Control": "no-cache"}


def _seconds(request: Request, name: str, default: float) -> float:
    try:
        value = float(request.query_params.get(name, default))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ValueError(f"{name} must be a number of seconds from 0 to 3600")
    return value


def _answer(text: str, status: int = 200) -> Response:
    return PlainTextResponse(text, status_code=status, headers=_headers())


async def root(request: Request) -> Response:
    return _answer(f"version={VERSION} color={COLOR}\n")


async def health(request: Request) -> Response:
    return _answer("ok\n") if HEALTH == "ok" else _answer("failing\n", 503)


async def slow(request: Request) -> Response:
    try:
        seconds = _seconds(request, "s", 1)
    except ValueError as exc:
        return _answer(f"{exc}\n", 400)
    global in_flight
    in_flight += 1
    try:
        await asyncio.sleep(seconds)
    finally:
        in_flight -= 1
    return _answer(f"slept {seconds:g}\n")


async def chat(request: Request) -> Response:
    """Tokens as server-sent events for `s` seconds, one every `every` s, then `event: done`. Every event names the
    release and color that sent it, so a client sees a stream that changed hands."""
    try:
        seconds, every = _seconds(request, "s", 5), _seconds(request, "every", 0.25)
    except ValueError as exc:
        return _answer(f"{exc}\n", 400)
    if request.method == "POST":
        await request.body()  # the prompt: read, not used
    every = max(every, 0.01)

    async def events():
        global in_flight
        in_flight += 1
        sent, start = 0, time.monotonic()
        try:
            while time.monotonic() - start < seconds:
                payload = {"n": sent, "version": VERSION, "color": COLOR}
                yield f"id: {sent}\ndata: {json.dumps(payload)}\n\n"
                sent += 1
                await asyncio.sleep(every)
            done = {"tokens": sent, "version": VERSION, "color": COLOR}
            yield f"event: done\ndata: {json.dumps(done)}\n\n"
        finally:
            in_flight -= 1

    return StreamingResponse(events(), media_type="text/event-stream", headers=_headers())


async def inflight(request: Request) -> Response:
    return _answer(f"{in_flight}\n")


async def ticks(websocket: WebSocket) -> None:
    """`tick <n> <version> <color>` every `every` s until the client closes."""
    global in_flight
    try:
        every = max(float(websocket.query_params.get("every", 1)), 0.01)
    except ValueError:
        every = 1.0
    await websocket.accept()
    in_flight += 1
    try:
        n = 0
        while True:
            await websocket.send_text(f"tick {n} {VERSION} {COLOR}")
            n += 1
            await asyncio.sleep(every)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client left (or uvicorn closed the socket at shutdown)
    finally:
        in_flight -= 1


app = Starlette(routes=[
    Route("/", root),
    Route("/health", health),
    Route("/health/simple", health),
    Route("/slow", slow),
    Route("/chat", chat, methods=["GET", "POST"]),
    Route("/inflight", inflight),
    WebSocketRoute("/ws", ticks),
])


def main() -> None:
    port = int(os.environ.get("APP_PORT", "8000"))
    graceful = os.environ.get("APP_GRACEFUL_TIMEOUT")
    print(f"backend {VERSION} listening on :{port}", flush=True)
    uvicorn.run(app, host="0.0.0.0", port=port, http="h11", ws="wsproto", lifespan="off",
                log_level="warning", timeout_graceful_shutdown=float(graceful) if graceful else None)


if __name__ == "__main__":
    main()
