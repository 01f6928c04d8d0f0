"""Server-sent events over httpx: POST, then hand each event's JSON to a callback, with a total and a stall timeout.

Failures are typed like :func:`~orchestra_lab.models._http.post_json`'s: an error status before the stream starts
is the same error (a 429 is a RateLimitError...), silence longer than ``stall_timeout_s`` is a
:class:`~orchestra_lab.streaming.StreamStalledError`, the whole call past ``timeout_s`` a CallTimeoutError, a broken
connection a ServerError and an event that is not a JSON object a BadResponseError.

>>> events = []
>>> parser = EventParser(lambda name, data: events.append((name, data)))
>>> for line in ["event: ping", 'data: {"a": 1}', "", ": a comment", "data: [DONE]", ""]:
...     parser.line(line)
>>> events, parser.done
([('ping', {'a': 1})], True)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import errors
from .._secrets import reveal_headers
from ..streaming import StreamStalledError
from ._http import Headers, _origin, _RawReply, _status_error, body_snippet, http_client

OnEvent = Callable[[str, dict[str, Any]], None]


class EventParser:
    """Turns SSE lines into ``on_event(name, json_object)`` calls; ``data: [DONE]`` sets :attr:`done`."""

    __slots__ = ("data", "done", "events", "name", "on_event")

    def __init__(self, on_event: OnEvent) -> None:
        self.on_event = on_event
        self.name = ""
        self.data: list[str] = []
        self.done = False
        self.events = 0

    def line(self, line: str) -> None:
        if not line:
            self.dispatch()
        elif line.startswith("data:"):
            self.data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif line.startswith("event:"):
            self.name = line[6:].strip()

    def dispatch(self) -> None:
        if not self.data:
            self.name = ""
            return
        text, name = "\n".join(self.data), self.name or "message"
        self.data, self.name = [], ""
        if text == "[DONE]":
            self.done = True
            return
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            raise _Malformed(text)
        self.events += 1
        self.on_event(name, payload)


class _Malformed(Exception):
    """An event whose data is not a JSON object."""


async def stream_events(
    url: str,
    body: Mapping[str, Any],
    on_event: OnEvent,
    *,
    headers: Headers,
    timeout_s: float,
    stall_timeout_s: float,
    provider: str,
    model: str,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_response_bytes: int,
) -> EventParser:
    """POST ``body`` and pass every event of the SSE answer to ``on_event``; returns the parser (its ``done``)."""
    client = client or await http_client(transport)
    who, common = f"{provider} {model}", {"provider": provider, "model": model}
    started = time.perf_counter()
    parser = EventParser(on_event)

    def failure(cls: type[errors.ModelError], what: str) -> errors.ModelError:
        return cls(f"{who}: {what}", latency_s=time.perf_counter() - started, **common)

    timeout = httpx.Timeout(timeout_s, read=min(stall_timeout_s, timeout_s))
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream(
                "POST", url, json=dict(body), headers=reveal_headers(headers), timeout=timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    raw = await _error_body(response, max_response_bytes)
                    raise _status_error(raw, who, time.perf_counter() - started, common)
                size = 0
                async for line in response.aiter_lines():
                    size += len(line) + 1
                    if size > max_response_bytes:
                        raise failure(
                            errors.BadResponseError, f"the stream passed max_response_bytes={max_response_bytes:,}"
                        )
                    parser.line(line)
                parser.dispatch()
    except httpx.ReadTimeout:
        raise failure(
            StreamStalledError, f"the stream stalled: no bytes for {stall_timeout_s:g} s after {parser.events} events"
        ) from None
    except (httpx.TimeoutException, TimeoutError):
        raise failure(errors.CallTimeoutError, f"no complete answer within {timeout_s:g} s") from None
    except _Malformed as bad:
        raise failure(errors.BadResponseError, f"malformed stream event: {body_snippet(str(bad))}") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
        raise failure(errors.BadRequestError, f"cannot send to {url!r} ({err}); check base_url") from None
    except httpx.TransportError as err:
        raise failure(
            errors.ServerError,
            f"the stream from {_origin(url)} broke after {parser.events} events ({type(err).__name__}: {err})",
        ) from None
    return parser


async def _error_body(response: httpx.Response, max_bytes: int) -> _RawReply:
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) > max_bytes:
            break
    return _RawReply(
        response.status_code, response.reason_phrase, response.headers, bytes(content[:max_bytes]), "utf-8"
    )
