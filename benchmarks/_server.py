"""A fast OpenAI-compatible chat completions server for the live-overhead and streaming benchmarks (uvicorn +
starlette).

Every ``POST /v1/chat/completions`` gets the same precomputed answer -- or, when the body asks for
``"stream": true``, a server-sent-event stream of :data:`STREAM_TOKENS` one-token chunks and a usage chunk,
written :data:`STREAM_BATCH` events at a time. ``GET /stats`` tells how many completions were served.

Pacing is chosen by the client, per request, with two headers (so one server serves paced and unpaced streams,
and a client library that can add headers but not query parameters can ask for it too):

- ``X-Bench-Think-Ms``: milliseconds from the request to the first write (the "provider's" time to first token);
- ``X-Bench-Token-Ms``: milliseconds per token after that; each write carries :data:`STREAM_BATCH` events, so
  writes go out ``token_ms * STREAM_BATCH`` apart, on a schedule counted from the request (no drift).

Without them (or with both 0) there is no think time: the writes go out back to back with a yield to the event
loop in between (so concurrent streams interleave and each starts at once, as a real server's do). A value that is
not a finite number >= 0 gets a 400. See :class:`Pacing`.

Bounded: it stops itself after ``--lifetime`` seconds, or as soon as the process that started it is gone. It binds
127.0.0.1 on a free port and prints ``PORT <n>`` when it is ready.

    python benchmarks/_server.py --lifetime 120
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

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


THINK_HEADER = "x-bench-think-ms"
TOKEN_HEADER = "x-bench-token-ms"


@dataclass(frozen=True)
class Pacing:
    """How a streamed answer is paced: ``think_ms`` before the first write, then ``token_ms`` per token.

    >>> pacing = Pacing(think_ms=20, token_ms=10)
    >>> pacing.headers()
    {'x-bench-think-ms': '20', 'x-bench-token-ms': '10'}
    >>> Pacing.from_headers(pacing.headers()) == pacing, Pacing().headers(), Pacing.from_headers({}).paced
    (True, {}, False)
    >>> [round(s, 3) for s in pacing.write_offsets()[:3]], round(pacing.duration_s, 3)
    ([0.02, 0.12, 0.22], 2.02)
    """

    think_ms: float = 0.0
    token_ms: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("think_ms", self.think_ms), ("token_ms", self.token_ms)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: {value!r} is not a finite number of milliseconds >= 0")

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Pacing:
        """The pacing a request asks for (none without the headers); ValueError for a bad value."""
        return cls(float(headers.get(THINK_HEADER, 0)), float(headers.get(TOKEN_HEADER, 0)))

    @property
    def paced(self) -> bool:
        return self.think_ms > 0 or self.token_ms > 0

    def headers(self) -> dict[str, str]:
        """The request headers that ask for this pacing (none for no pacing)."""
        if not self.paced:
            return {}
        return {THINK_HEADER: f"{self.think_ms:g}", TOKEN_HEADER: f"{self.token_ms:g}"}

    def write_offsets(self) -> list[float]:
        """Seconds from the request to each of :data:`STREAM_WRITES`."""
        gap_s = self.token_ms * STREAM_BATCH / 1e3
        return [self.think_ms / 1e3 + k * gap_s for k in range(len(STREAM_WRITES))]

    @property
    def duration_s(self) -> float:
        """Seconds from the request to the last write."""
        return self.write_offsets()[-1]


async def _stream_body() -> AsyncIterator[bytes]:
    for write in STREAM_WRITES:
        yield write
        await asyncio.sleep(0)  # let the other streams write too


async def _paced_body(pacing: Pacing, start: float) -> AsyncIterator[bytes]:
    """The writes on ``pacing``'s schedule, counted from ``start`` (the event loop's clock at the request)."""
    loop = asyncio.get_running_loop()
    for write, offset in zip(STREAM_WRITES, pacing.write_offsets(), strict=True):
        await asyncio.sleep(start + offset - loop.time())  # behind schedule: a plain yield
        yield write


def make_app() -> Starlette:
    served = 0

    async def chat(request: Request) -> Response:
        nonlocal served
        body = await request.body()
        served += 1
        if b'"stream":true' in body.replace(b" ", b""):
            try:
                pacing = Pacing.from_headers(request.headers)
            except ValueError as e:
                return JSONResponse({"error": {"message": str(e)}}, status_code=400)
            stream = _paced_body(pacing, asyncio.get_running_loop().time()) if pacing.paced else _stream_body()
            return StreamingResponse(stream, media_type="text/event-stream")
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
    # Keep-alive longer than any phase: a pooled connection left idle while the other variants run must not be
    # closed under a client that then reuses it (uvicorn's default closes it after 5 s).
    config = uvicorn.Config(
        make_app(), log_level="warning", access_log=False, lifespan="off", backlog=1024, timeout_keep_alive=900
    )
    server = uvicorn.Server(config)
    threading.Thread(target=stop_when_done, args=(server, args.lifetime, os.getppid()), daemon=True).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
