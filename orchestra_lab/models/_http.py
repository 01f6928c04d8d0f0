"""What the HTTP providers share: the httpx clients, the POST, error mapping, usage and cost.

Failures become typed errors (:mod:`orchestra_lab.errors`, mapped in :mod:`._failures`): 401/403 -> AuthError,
429 -> RateLimitError (with the provider's wait hint) or QuotaExceededError, 408 and timeouts -> CallTimeoutError,
5xx and broken connections -> ServerError, other 4xx -> BadRequestError, an unreadable or oversized body ->
BadResponseError. Messages carry at most a short, redacted snippet of the body and never a header.

The key travels as a :class:`~orchestra_lab._secrets.Secret` (masked in every repr, so in traceback locals too)
until httpx builds the request.

>>> body_snippet('{"error": {"message": "Invalid   model"}}')
'Invalid model'
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextlib
import json
import math
import os
import re
import time
import weakref
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx

from .. import errors
from .._capabilities import supported_request
from .._secrets import Secret, missing_key_message, redact, resolve_key, reveal_headers
from ..pricing import Price, cost_usd, price_of
from ..streaming import Emit
from ..types import ChunkKind, Request, Response, StreamChunk, Usage, estimate_tokens
from ._failures import classify, wait_hint
from .base import Model

SNIPPET_CHARS = 200
DEFAULT_MAX_RESPONSE_BYTES = 8_000_000
Headers = Mapping[str, "str | Secret"]

# -- one client per event loop (and per injected transport) ----------------------------------------------------


@dataclass(slots=True)
class _LoopClient:
    client: httpx.AsyncClient
    closer: AsyncGenerator[
        None, None
    ]  # held so the loop's shutdown_asyncgens() can close the client (see _close_at_exit)


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[httpx.AsyncBaseTransport | None, _LoopClient]] = (
    weakref.WeakKeyDictionary()
)


async def http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The httpx client of the running event loop for ``transport`` (None: the network), made on first use.

    A client never crosses loops; ``asyncio.run`` closes it when its loop ends (a loop closed without
    ``shutdown_asyncgens()`` keeps it).
    """
    loop = asyncio.get_running_loop()
    clients = _CLIENTS.setdefault(loop, {})
    entry = clients.get(transport)
    if entry is None or entry.client.is_closed:
        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20), transport=transport
        )
        closer = _close_at_exit(loop, transport, client)
        await closer.__anext__()  # registers the generator with the loop's asyncgen hooks
        entry = _LoopClient(client, closer)
        clients[transport] = entry
    return entry.client


async def _close_at_exit(
    loop: asyncio.AbstractEventLoop, transport: httpx.AsyncBaseTransport | None, client: httpx.AsyncClient
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        clients = _CLIENTS.get(loop, {})
        entry = clients.get(transport)
        if entry is not None and entry.client is client:
            del clients[transport]
        await client.aclose()


@atexit.register
def _close_clients() -> None:
    """Close the clients of loops still open at exit (the sync API's private loop, a notebook's loop)."""
    for loop, clients in list(_CLIENTS.items()):
        for entry in list(clients.values()):
            if not loop.is_closed() and not loop.is_running():
                with contextlib.suppress(RuntimeError):  # a loop in a state we cannot run it in: leave it to the OS
                    loop.run_until_complete(entry.closer.aclose())


# -- the POST --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A successful (2xx) provider answer: HTTP status, the parsed JSON object and the wall-clock latency."""

    status: int
    body: dict[str, Any]
    latency_s: float


@dataclass(frozen=True, slots=True)
class _RawReply:
    """An answer read in full (within the size cap): status, reason, headers and body bytes (not in the repr: a
    careless server may echo the key, and traceback locals show reprs)."""

    status: int
    reason: str
    headers: httpx.Headers = field(repr=False)
    content: bytes = field(repr=False)
    encoding: str = "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")


class _TooLarge(Exception):
    """The body went past the size cap."""


async def post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Headers,
    timeout_s: float,
    provider: str,
    model: str,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> HttpReply:
    """POST ``body`` as JSON and return the parsed JSON answer; any failure raises a typed ModelError.

    ``timeout_s`` bounds the whole call (connect, send, wait, read). ``client`` is used as given, else the loop's
    client for ``transport``. A body larger than ``max_response_bytes`` is not read past the cap.
    """
    client = client or await http_client(transport)
    who = f"{provider} {model}"
    started = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - started

    common = {"provider": provider, "model": model}
    try:
        raw = await asyncio.wait_for(_exchange(client, url, body, headers, timeout_s, max_response_bytes), timeout_s)
    except (httpx.TimeoutException, asyncio.TimeoutError):
        raise errors.CallTimeoutError(
            f"{who}: no answer within {timeout_s:g} s", latency_s=elapsed(), **common
        ) from None
    except _TooLarge:
        raise errors.BadResponseError(
            f"{who}: the answer is larger than max_response_bytes={max_response_bytes:,}; not read further",
            latency_s=elapsed(),
            **common,
        ) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
        raise errors.BadRequestError(
            f"{who}: cannot send to {url!r} ({err}); check base_url", latency_s=elapsed(), **common
        ) from None
    except httpx.TransportError as err:
        raise errors.ServerError(
            f"{who}: connection to {_origin(url)} failed ({type(err).__name__}: {err})", latency_s=elapsed(), **common
        ) from None
    latency = elapsed()
    if not 200 <= raw.status < 300:
        raise _status_error(raw, who, latency, common)
    return HttpReply(raw.status, _json_object(raw, who, latency, common), latency)


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any],
    headers: Headers,
    timeout_s: float,
    max_bytes: int,
) -> _RawReply:
    """Send the request (the key revealed only here, inside httpx's call) and read the body up to ``max_bytes``."""
    async with client.stream(
        "POST", url, json=dict(body), headers=reveal_headers(headers), timeout=timeout_s
    ) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _TooLarge
        content = bytearray()
        async for chunk in response.aiter_bytes():  # decoded (gzip...): the cap bounds what we hold
            content += chunk
            if len(content) > max_bytes:
                raise _TooLarge
        return _RawReply(
            response.status_code, response.reason_phrase, response.headers, bytes(content), response.encoding or "utf-8"
        )


def checked_timeout(timeout_s: float) -> float:
    """``timeout_s`` if it is a positive number of seconds, else a ValueError naming it."""
    if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
        raise ValueError(f"timeout_s: {timeout_s!r} is not a positive number of seconds")
    return timeout_s


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _status_error(raw: _RawReply, who: str, latency: float, common: dict[str, str]) -> errors.ModelError:
    status = raw.status
    body = _json_or_none(raw.content)
    message = f"{who}: HTTP {status} {raw.reason}".rstrip() + f": {body_snippet(raw.text)}"
    cls = classify(status, body)
    if cls is errors.QuotaExceededError:
        message += " -- out of quota or credit: check the account's billing and plan limits (not retried)"
    if issubclass(cls, errors.RateLimitError):
        return cls(message, retry_after=wait_hint(raw.headers, body), status=status, latency_s=latency, **common)
    return cls(message, status=status, latency_s=latency, **common)


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        return None


def _json_object(raw: _RawReply, who: str, latency: float, common: dict[str, str]) -> dict[str, Any]:
    status = raw.status
    try:
        data = json.loads(raw.content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        kind = raw.headers.get("content-type", "no content type").split(";")[0]
        raise errors.BadResponseError(
            f"{who}: HTTP {status} with a body that is not JSON ({kind}): {body_snippet(raw.text)}",
            status=status,
            latency_s=latency,
            **common,
        ) from None
    if not isinstance(data, dict):
        raise errors.BadResponseError(
            f"{who}: HTTP {status} with a JSON {type(data).__name__}, expected an object",
            status=status,
            latency_s=latency,
            **common,
        )
    return data


_TAG = re.compile(r"<[^>]*>")


def body_snippet(text: str) -> str:
    """A short, single-line, redacted excerpt of a response body: the JSON error message when there is one.

    >>> body_snippet('{"error": {"message": "Invalid   model"}}')
    'Invalid model'
    >>> body_snippet("<html><title>502 Bad Gateway</title></html>")
    '502 Bad Gateway'
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    message = dig(data, "error", "message") or dig(data, "message")
    if isinstance(message, str):
        text = message
    elif text.lstrip().startswith("<"):
        text = _TAG.sub(" ", text)
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def dig(data: Any, *path: str | int) -> Any:
    """``data[p0][p1]...``, or None when any step is missing or of the wrong type.

    >>> dig({"a": [{"b": 1}]}, "a", 0, "b"), dig({"a": []}, "a", 0, "b")
    (1, None)
    """
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def token_count(value: Any) -> int | None:
    """A provider-reported token count, or None when it is not a non-negative integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def translate_params(params: Mapping[str, Any], names: Mapping[str, str | None]) -> dict[str, Any]:
    """Rename standard generation params to a provider's field names (a None name drops the param).

    >>> translate_params({"max_tokens": 5, "seed": 1, "top_k": 3}, {"max_tokens": "maxOutputTokens", "seed": None})
    {'maxOutputTokens': 5, 'top_k': 3}
    """
    renamed: dict[str, Any] = {}
    for key, value in params.items():
        name = names.get(key, key)
        if name is not None:
            renamed[name] = value
    return renamed


# -- the shared provider model ---------------------------------------------------------------------------------


class MalformedAnswer(Exception):
    """A provider's JSON lacks what we need (no choices, a blocked prompt...); becomes a BadResponseError."""


@dataclass(frozen=True, slots=True)
class HttpCall:
    """What to send: the URL, the provider's own headers (auth, version; the key as a Secret) and the JSON body."""

    url: str
    headers: dict[str, str | Secret]
    body: dict[str, Any]


@dataclass(slots=True)
class StreamState:
    """What a provider's stream has said besides text deltas: usage (in the provider's JSON shape, read by its
    ``_usage``), the serving model, why it stopped, and whether it said it was complete."""

    usage_body: dict[str, Any] = field(default_factory=dict)
    served_model: str | None = None
    finish_reason: str | None = None
    complete: bool = False


Delta = tuple[ChunkKind, str]


class EventReader(Protocol):
    """Reads a provider's common stream event straight from its text, without parsing its JSON (built on
    :class:`~orchestra_lab.models._sse.TextSlot`): the same chunks and state as ``_stream_deltas`` would give."""

    def read(self, event: str, text: str) -> str | None:
        """The answer text of an event it can read (what else the event says applied to the state as
        ``_stream_deltas`` would), or None: parse the event."""

    def learn(self, event: str, text: str, data: dict[str, Any]) -> None:
        """See an event parsed and taken by ``_stream_deltas``: it may teach the reader the stream's common shape."""


def stream_error(who: str, error: Any, common: Mapping[str, str]) -> errors.ModelError:
    """The typed error for an ``error`` event inside a stream (a rate limit, an overloaded or failing server...).

    >>> type(stream_error("x", {"type": "overloaded_error", "message": "Overloaded"}, {})).__name__
    'ServerError'
    """
    kind = str(dig(error, "type") or dig(error, "status") or dig(error, "code") or "")
    message = f"{who}: error event in the stream: {body_snippet(json.dumps(error, default=str))}"
    lowered = kind.lower()
    if "rate" in lowered or lowered in ("429", "resource_exhausted"):
        return errors.RateLimitError(message, **common)
    if lowered[:1] == "5" or any(
        w in lowered for w in ("overloaded", "server", "api_error", "internal", "unavailable")
    ):
        return errors.ServerError(message, **common)
    return errors.BadResponseError(message, **common)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a provider answered: the text, the model that served it and why generation stopped."""

    text: str
    served_model: str | None
    finish_reason: str | None = None


class HttpModel(Model):
    """Base of the HTTP providers: key lookup at call time, the POST, usage (reported or estimated) and cost.

    Subclasses set ``provider`` and implement :meth:`_http_call`, :meth:`_answer` and :meth:`_usage`; their
    constructors store ``model``, ``base_url``, ``api_key_env``, ``name``, ``price``, ``timeout_s``, ``headers``,
    ``client``, ``transport`` and ``max_response_bytes`` (only the *name* of the key's environment variable is
    kept, so ``repr`` never shows a key). The key is read from the environment or Colab secrets at the first call,
    then kept by the model (a changed environment variable is picked up). Params the model does not accept
    (see :mod:`orchestra_lab._capabilities`) are left out of the request, with a one-time warning.

    ``client=`` (an ``httpx.AsyncClient``) or ``transport=`` (e.g. ``httpx.MockTransport``) replace the network,
    the httpx way; by default each event loop has one shared client.
    """

    source = "live"
    model: str
    base_url: str
    api_key_env: str | None
    price: Price | None
    timeout_s: float
    headers: Mapping[str, str] | None
    client: httpx.AsyncClient | None = None
    transport: httpx.AsyncBaseTransport | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    streaming: bool = False
    stall_timeout_s: float | None = None
    fallback_key_envs: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    _resolved_key: tuple[tuple[str, ...], Secret] | None = None  # (the variables it was looked up in, the key)

    @property
    def requested_model(self) -> str:
        return self.model

    def _connect(
        self,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        max_response_bytes: int,
        streaming: bool = False,
        stall_timeout_s: float | None = None,
    ) -> None:
        """Store how to reach the server and whether ``complete`` streams (constructors call this)."""
        if not (isinstance(max_response_bytes, int) and max_response_bytes > 0):
            raise ValueError(f"max_response_bytes: {max_response_bytes!r} is not a positive number of bytes")
        self.client = client
        self.transport = transport
        self.max_response_bytes = max_response_bytes
        self.streaming = streaming
        self.stall_timeout_s = None if stall_timeout_s is None else checked_timeout(stall_timeout_s)

    @abc.abstractmethod
    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        """Build the provider request."""

    @abc.abstractmethod
    def _answer(self, body: dict[str, Any]) -> Answer:
        """Read the answer; raise MalformedAnswer (or let KeyError/IndexError/TypeError out) when it is missing."""

    @abc.abstractmethod
    def _usage(self, body: dict[str, Any]) -> Usage:
        """Provider-reported usage; None for any count it did not report."""

    def _supported(self, request: Request) -> Request:
        """``request`` without the params this model rejects."""
        return supported_request(self.provider, self.model, request)

    def _key_envs(self) -> tuple[str, ...]:
        if not self.api_key_env:
            return ()
        return (self.api_key_env, *self.fallback_key_envs.get(self.api_key_env, ()))

    def _api_key(self) -> Secret | None:
        """The key, looked up at the first call that finds it, then kept until its environment variable changes.

        Reading ``os.environ`` is cheap; Colab secrets (a blocking call) are read once. A miss is looked up again.
        """
        envs = self._key_envs()
        if not envs:
            return None
        kept = self._resolved_key
        if kept is not None and kept[0] == envs:
            in_environment = next((os.environ[env] for env in envs if os.environ.get(env)), None)
            if in_environment is None or in_environment == kept[1].reveal():
                return kept[1]
        for env in envs:
            key = resolve_key(env)
            if key is not None:
                self._resolved_key = (envs, key)
                return key
        raise errors.AuthError(
            f"{self.name}: no API key: {missing_key_message(envs)}",
            provider=self.provider,
            model=self.model,
        )

    def _cost(self, usage: Usage, body: dict[str, Any]) -> float:
        cache = {"cached_input_tokens": usage.cached_input_tokens, "cache_write_tokens": usage.cache_write_tokens}
        if self.price is not None:
            listed = self.price.cost(usage.input_tokens, usage.output_tokens, **cache)
        else:
            listed = cost_usd(self.model, usage.input_tokens, usage.output_tokens, **cache)
        return listed + self._surcharge_usd(body)

    def _surcharge_usd(self, body: dict[str, Any]) -> float:
        """What the answer costs beyond its usage at list rates (e.g. Anthropic's 1-hour cache writes)."""
        return 0.0

    def _effective_price(self) -> Price | None:
        """The model's price: its own, else the price table's (None when unknown)."""
        return self.price if self.price is not None else price_of(self.model)

    @abc.abstractmethod
    def _stream_call(self, request: Request, key: Secret | None) -> HttpCall:
        """Build the provider request for a streamed answer (server-sent events)."""

    @abc.abstractmethod
    def _stream_deltas(self, event: str, data: dict[str, Any], state: StreamState) -> list[Delta]:
        """Read one stream event: the text deltas it carries; usage and the rest go to ``state``. An error event
        raises its typed error (:func:`stream_error`)."""

    def _stream_reader(self, state: StreamState) -> EventReader | None:
        """A reader of this provider's common stream event from its text, for one stream; None (the default): every
        event's JSON is parsed."""
        return None

    def _estimated_cost(self, usage: Usage) -> float | None:
        cost = self._cost(usage, {})
        return None if math.isnan(cost) else cost

    async def _astream(self, request: Request, emit: Emit) -> Response:
        """Stream the answer over server-sent events (``stall_timeout_s``: the longest silence, default the total
        ``timeout_s``); the response's ``latency_s`` is the whole stream, ``ttft_s`` its first answer token."""
        from ._sse import stream_events

        call = self._stream_call(self._supported(request), self._api_key())
        state = StreamState()
        chunks = _ChunkAssembler(emit)
        stream_deltas = self._stream_deltas
        reader = self._stream_reader(state)
        read = None if reader is None else reader.read

        def on_event(event: str, data: dict[str, Any], text: str) -> bool:
            """Take the event's deltas; True when it carried the first answer text (to be handed over now)."""
            deltas = stream_deltas(event, data, state)
            handed = chunks.add(deltas) if deltas else False
            if reader is not None and not handed:  # the first answer text waits for no learning
                reader.learn(event, text, data)
            return handed

        def on_text(event: str, text: str) -> bool | None:
            """Take an event the reader reads without its JSON parsed (None: it cannot)."""
            answer = read(event, text)
            if answer is None:
                return None
            return chunks.answer(answer) if answer else False

        try:
            parser = await stream_events(
                call.url,
                call.body,
                on_event,
                chunks.flush,
                on_text=None if read is None else on_text,
                headers=call.headers | dict(self.headers or {}),
                timeout_s=self.timeout_s,
                stall_timeout_s=self.stall_timeout_s or self.timeout_s,
                provider=self.provider,
                model=self.model,
                client=self.client,
                transport=self.transport,
                max_response_bytes=self.max_response_bytes,
            )
        except errors.ModelError as err:
            reported = self._usage(state.usage_body)
            if err.usage is None and reported != Usage():
                err.usage = reported
            raise
        finally:
            chunks.flush()  # what a read cut short by an error or a cancel carried still reaches the call's row
        latency = time.perf_counter() - chunks.started
        text = chunks.text
        reported = self._usage(state.usage_body)
        common = {"provider": self.provider, "model": self.model, "status": 200, "latency_s": latency}
        if not (state.complete or parser.done):
            raise errors.ServerError(
                f"{self.provider} {self.model}: the stream ended before the answer was complete",
                usage=reported if reported != Usage() else None,
                **common,  # type: ignore[arg-type]
            )
        usage = _usage_or_estimate(reported, request, text, thinking_chars=chunks.thinking_chars)
        if not text:
            raise errors.BadResponseError(
                f"{self.provider} {self.model}: the stream carried no answer text, "
                f"finish_reason={state.finish_reason!r}",
                usage=usage,
                cost_usd=self._cost(usage, state.usage_body),
                **common,  # type: ignore[arg-type]
            )
        return Response(
            text,
            requested_model=self.model,
            served_model=state.served_model or self.model,
            provider=self.provider,
            source=self.source,
            usage=usage,
            cost_usd=self._cost(usage, state.usage_body),
            latency_s=latency,
            meta={"http_status": 200, "finish_reason": state.finish_reason},
            ttft_s=chunks.ttft_s,
        )

    async def _acomplete(self, request: Request) -> Response:
        if self.streaming:
            return await self._astream(request, _ignore)
        call = self._http_call(self._supported(request), self._api_key())
        reply = await post_json(
            call.url,
            call.body,
            headers=call.headers | dict(self.headers or {}),
            timeout_s=self.timeout_s,
            provider=self.provider,
            model=self.model,
            client=self.client,
            transport=self.transport,
            max_response_bytes=self.max_response_bytes,
        )
        reported = self._usage(reply.body)
        try:
            answer = self._answer(reply.body)
        except (MalformedAnswer, KeyError, IndexError, TypeError, AttributeError) as err:
            raise self._malformed(reply, err, reported) from None
        usage = _usage_or_estimate(reported, request, answer.text)
        return Response(
            answer.text,
            requested_model=self.model,
            served_model=answer.served_model or self.model,
            provider=self.provider,
            source=self.source,
            usage=usage,
            cost_usd=self._cost(usage, reply.body),
            latency_s=reply.latency_s,
            raw=reply.body,
            meta={"http_status": reply.status, "finish_reason": answer.finish_reason},
        )

    def _malformed(self, reply: HttpReply, err: Exception, reported: Usage) -> errors.BadResponseError:
        what = (
            str(err) if isinstance(err, MalformedAnswer) else f"unexpected response shape ({type(err).__name__}: {err})"
        )
        usage = reported if (reported.input_tokens, reported.output_tokens) != (None, None) else None
        return errors.BadResponseError(
            f"{self.provider} {self.model}: HTTP {reply.status}: {what}",
            provider=self.provider,
            model=self.model,
            status=reply.status,
            latency_s=reply.latency_s,
            usage=usage,
            cost_usd=None if usage is None else self._cost(usage, reply.body),  # billed though unusable
        )


class _ChunkAssembler:
    """Turns a stream's deltas into chunks for ``emit``: the first answer text at once (TTFT), then the answer
    deltas of each network read joined into one chunk at :meth:`flush` (fewer objects and wake-ups per token);
    thinking deltas go out on their own, in order.

    >>> seen = []
    >>> chunks = _ChunkAssembler(seen.append)
    >>> chunks.add([("answer", "Hel")]), chunks.add([("answer", "lo")]), chunks.add([("answer", " you")])
    (True, False, False)
    >>> chunks.flush()
    >>> [c.text for c in seen], chunks.text
    (['Hel', 'lo you'], 'Hello you')
    """

    __slots__ = ("emit", "pending", "pieces", "started", "thinking_chars", "ttft_s")

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.started = time.perf_counter()
        self.pieces: list[str] = []  # the answer text delivered so far
        self.pending: list[str] = []  # answer deltas of the current read, not yet emitted
        self.thinking_chars = 0
        self.ttft_s: float | None = None

    def add(self, deltas: list[Delta]) -> bool:
        """Take one event's deltas; true when they carried the first answer text (emitted at once)."""
        first = False
        for kind, text in deltas:
            if kind == "answer":
                first = self.answer(text) or first
            else:
                self.flush()
                self.thinking_chars += len(text)
                self.emit(StreamChunk(text, kind, time.perf_counter() - self.started))
        return first

    def answer(self, text: str) -> bool:
        """Take one answer delta; true when it is the first answer text (emitted at once)."""
        if self.ttft_s is not None:
            self.pending.append(text)
            return False
        self.ttft_s = time.perf_counter() - self.started
        self.pieces.append(text)
        self.emit(StreamChunk(text, "answer", self.ttft_s))
        return True

    def flush(self) -> None:
        """Emit the answer deltas taken since the last chunk as one chunk."""
        pending = self.pending
        if pending:
            text = pending[0] if len(pending) == 1 else "".join(pending)
            pending.clear()
            self.pieces.append(text)
            self.emit(StreamChunk(text, "answer", time.perf_counter() - self.started))

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _ignore(chunk: StreamChunk) -> None:
    """Where the chunks of ``complete()`` on a model configured with ``streaming=True`` go."""


def _usage_or_estimate(reported: Usage, request: Request, text: str, *, thinking_chars: int = 0) -> Usage:
    """The reported usage; counts the provider left out are estimated (thinking text counted as output and
    reasoning tokens) and the usage flagged ``estimated``."""
    if reported.input_tokens is not None and reported.output_tokens is not None:
        return reported
    input_tokens = reported.input_tokens
    if input_tokens is None:
        input_tokens = sum(estimate_tokens(m.content) for m in request.messages)
    thinking = (thinking_chars + 3) // 4
    output_tokens = reported.output_tokens
    if output_tokens is None:
        output_tokens = estimate_tokens(text) + thinking
    reasoning = reported.reasoning_tokens if reported.reasoning_tokens is not None else (thinking or None)
    return replace(
        reported, input_tokens=input_tokens, output_tokens=output_tokens, estimated=True, reasoning_tokens=reasoning
    )
