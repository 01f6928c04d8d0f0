"""A fast OpenAI-compatible chat completions server for the live-overhead and streaming benchmarks (uvicorn +
starlette).

Zero think time: every ``POST /v1/chat/completions`` gets the same precomputed answer -- or, when the body asks
for ``"stream": true``, a server-sent-event stream of :data:`STREAM_TOKENS` one-token chunks and a usage chunk,
written :data:`STREAM_BATCH` events at a time with a yield to the event loop in between (so concurrent streams
interleave and each starts at once, as a real server's do). ``GET /stats`` tells how many completions were served.
Bounded: it stops itself after ``--lifetime`` seconds, or as soon as the process that started it is gone. It binds
127.0.0.1 on a free port and prints ``PORT <n>`` when it is ready.

    python benchmarks/_server.py --lifetime 120
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
).encode()


STREAM_TOKENS = 200
STREAM_TOKEN = " tok"
STREAM_BATCH = 10  # events per write


def _event(data: dict) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _stream_events() -> list[bytes]:
    """The SSE events of one streamed answer: role, the tokens, finish, usage, [DONE] (precomputed)."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "bench-model"}

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return _event(head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    usage = {"prompt_tokens": 12, "completion_tokens": STREAM_TOKENS, "total_tokens": 12 + STREAM_TOKENS}
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": STREAM_TOKEN}) for _ in range(STREAM_TOKENS)),
        chunk({}, "stop"),
        _event(head | {"choices": [], "usage": usage}),
        b"data: [DONE]\n\n",
    ]


_EVENTS = _stream_events()
STREAM_WRITES = [b"".join(_EVENTS[i : i + STREAM_BATCH]) for i in range(0, len(_EVENTS), STREAM_BATCH)]


async def _stream_body():  # type: ignore[no-untyped-def]
    for write in STREAM_WRITES:
        yield write
        await asyncio.sleep(0)  # let the other streams write too


def make_app() -> Starlette:
    served = 0

    async def chat(request: Request) -> Response:
        nonlocal served
        body = await request.body()
        served += 1
        if b'"stream":true' in body.replace(b" ", b""):
            return StreamingResponse(_stream_body(), media_type="text/event-stream")
        return Response(ANSWER, media_type="application/json")

    async def stats(request: Request) -> Response:
        return JSONResponse({"served": served})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/stats", stats)])


def stop_when_done(server: uvicorn.Server, lifetime_s: float, parent: int) -> None:
    """Ask the server to exit at the deadline or when the parent dies; kill the process if it lingers."""
    deadline = time.monotonic() + lifetime_s
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    server.should_exit = True
    time.sleep(5.0)
    os._exit(0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lifetime", type=float, default=300.0, help="seconds before the server stops itself")
    args = p.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY; without it every answer waits ~40 ms (Nagle vs delayed ACK),
    # because uvicorn writes the headers and the body separately.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections made before uvicorn starts wait in the backlog
    config = uvicorn.Config(make_app(), log_level="warning", access_log=False, lifespan="off", backlog=1024)
    server = uvicorn.Server(config)
    threading.Thread(target=stop_when_done, args=(server, args.lifetime, os.getppid()), daemon=True).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
