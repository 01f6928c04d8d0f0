"""A fake LLM provider for tests: a real HTTP server on 127.0.0.1 speaking OpenAI, Anthropic and Gemini.

Requests are routed by path: ``.../chat/completions`` (OpenAI), ``.../embeddings`` (OpenAI embeddings: letter
counts as vectors), ``.../messages`` (Anthropic) and
``.../models/{model}:generateContent`` (Gemini). What each request gets is a *behaviour*, taken in order from a
script, else drawn with the configured rates (seeded), else the default (``"ok"``):

- ``"ok"``: a well-formed answer. Its text is computed from the last user message: ``"What is 17 + 25?"`` ->
  ``"42"`` (one binary operation on two numbers), anything else -> ``"echo: <prompt>"``. The served model is the
  requested one plus ``served_suffix``; usage is ``usage`` (input, output) tokens.
- ``"slow"`` / ``"hang"``: the ok answer after ``slow_s`` / ``hang_s`` seconds (a hang outlasts a short client
  timeout; ``stop()`` cuts it short).
- ``"no-usage"``: the ok answer without usage. ``"empty"``: no answer (OpenAI: empty ``choices``; Anthropic: no
  content; Gemini: no candidates, prompt blocked for ``SAFETY``).
- ``"truncated"``: the ok JSON cut in half. ``"non-json"``: plain text. ``"html"``: an HTML sign-in page (all 200).
- any 3-digit status (``"401"``, ``"429"``, ``"500"``, ``"529"``...): that error in the provider's JSON error
  shape; ``401`` echoes the key it was sent (as a careless server would), ``429`` carries ``Retry-After:
  <retry_after>``, ``502`` is an nginx-style HTML page. ``"429-bare"`` has no Retry-After, ``"429-date"`` an
  HTTP-date 2 s ahead, ``"429-ms"`` ``retry-after-ms: 1500``.
- ``"429-quota"``: out of quota, not worth retrying (OpenAI ``insufficient_quota``; Gemini ``RESOURCE_EXHAUSTED``
  with a per-day ``QuotaFailure``); ``"429-retryinfo"``: a per-minute limit whose body says ``RetryInfo.retryDelay
  "13s"`` (Gemini) with OpenAI-style ``x-ratelimit-reset-*`` headers (``6m0s`` for tokens, exhausted; ``1s``).
- usage shapes (``cached_tokens`` and ``thinking_tokens`` set their sizes): ``"cached"``: ``cached_tokens`` more
  prompt tokens, read from the prompt cache; ``"cache-write"``: as many written to it (Anthropic; the others
  report plain input); ``"thinking-only"``: the output cap was spent thinking, ``thinking_tokens`` of it and no
  answer (OpenAI: empty content, ``finish_reason="length"``).
- ``"reset"``: the connection is closed (with a TCP reset) without any response.
- Streams: a request asking for one (``"stream": true``; Gemini ``:streamGenerateContent?alt=sse``) gets its ok
  answer as server-sent events in the provider's dialect, one event per word (OpenAI chunks with a final usage
  chunk and ``[DONE]``; Anthropic ``message_start`` / ``ping`` / ``content_block_delta`` / ``message_delta`` /
  ``message_stop``; Gemini partial answers, usage on the last). Stream faults: ``"no-usage"`` (no usage sent),
  ``"sse-thinking"`` (thinking deltas first), ``"sse-disconnect"`` (a TCP reset after ``stream_after`` deltas),
  ``"sse-malformed"`` (an event whose data is not JSON after ``stream_after`` deltas), ``"sse-error"`` (the
  dialect's error event after them), ``"sse-stall"`` (silence for ``hang_s`` after them). Status
  behaviours (``"429"``...) answer before any stream starts.
- a :class:`Reply`: exactly that status, body and headers.

It counts requests (``requests``, per behaviour in ``counts``) and records each one (``received``: path,
lower-cased headers, JSON body, behaviour) so tests can check what was sent. A request the client abandoned
mid-send (its body shorter than its Content-Length) is neither counted nor answered, as a real server would.

>>> from orchestra_lab.models.openai import OpenAICompatible
>>> with FakeProviderServer() as server:
...     _ = server.script(["429", "ok"])
...     model = OpenAICompatible.vllm("some-model", base_url=server.openai_url)
...     try:
...         model("What is 6 * 7?")
...     except Exception as err:
...         first = type(err).__name__
...     second = model("What is 6 * 7?").text
>>> first, second, server.requests, server.counts["429"]
('RateLimitError', '42', 2, 1)
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NAMED = (
    "ok",
    "slow",
    "hang",
    "no-usage",
    "empty",
    "truncated",
    "non-json",
    "html",
    "reset",
    "429-bare",
    "429-date",
    "429-ms",
    "429-quota",
    "429-retryinfo",
    "cached",
    "cache-write",
    "thinking-only",
    "sse-thinking",
    "sse-disconnect",
    "sse-malformed",
    "sse-error",
    "sse-stall",
)
_STATUS = re.compile(r"^[1-5]\d\d$")
_CALC = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/])\s*(-?\d+(?:\.\d+)?)")
_GEMINI_PATH = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class Reply:
    """A literal answer: ``status``, ``body`` (a dict is sent as JSON, str/bytes as they are) and ``headers``."""

    status: int
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    name: str = "reply"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Behaviour = str | Reply


@dataclass(frozen=True)
class Received:
    """One request the server got: path, headers (lower-cased names), JSON body (None if not JSON), behaviour."""

    path: str
    headers: dict[str, str]
    body: Any
    behaviour: str


class FakeProviderServer:
    """A scriptable fake OpenAI / Anthropic / Gemini server on an ephemeral port (see the module docstring).

    Use ``with FakeProviderServer() as s:`` or ``s = FakeProviderServer().start()`` ... ``s.stop()``.
    """

    def __init__(
        self,
        *,
        usage: tuple[int, int] = (100, 20),
        served_suffix: str = "-fake-001",
        slow_s: float = 0.05,
        hang_s: float = 2.0,
        retry_after: str = "1",
        cached_tokens: int = 9_000,
        thinking_tokens: int = 8_191,
        stream_after: int = 2,
    ) -> None:
        self.usage = usage
        self.cached_tokens = cached_tokens
        self.thinking_tokens = thinking_tokens
        self.stream_after = stream_after
        self.served_suffix = served_suffix
        self.slow_s = slow_s
        self.hang_s = hang_s
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> FakeProviderServer:
        """Start serving in a background thread; returns the server."""
        self._stopping.clear()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut hanging answers short and close every open connection."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic ``base_url``."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running: call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """The ``base_url`` for :class:`OpenAICompatible`."""
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        """The ``base_url`` for :class:`Anthropic`."""
        return self.url

    @property
    def gemini_url(self) -> str:
        """The ``base_url`` for :class:`Gemini`."""
        return self.url + "/v1beta"

    # -- behaviour -----------------------------------------------------------------------------------------------
    def script(self, behaviours: Iterable[Behaviour]) -> FakeProviderServer:
        """Queue behaviours for the next requests, in order (after any still queued)."""
        items = [_checked(b) for b in behaviours]
        with self._lock:
            self._queue.extend(items)
        return self

    def set_default(self, behaviour: Behaviour) -> FakeProviderServer:
        """What requests get once the script is used up and no rate fires (initially ``"ok"``)."""
        with self._lock:
            self._default = _checked(behaviour)
        return self

    def set_rates(self, rates: Mapping[str, float], *, seed: int = 0) -> FakeProviderServer:
        """Unscripted requests fail with these per-request probabilities, drawn from ``random.Random(seed)``.

        The draws are in arrival order, so the same seed gives the same sequence for requests sent one at a time.

        >>> FakeProviderServer().set_rates({"429": 0.2, "503": 0.1}, seed=1).rates
        {'429': 0.2, '503': 0.1}
        """
        for name, rate in rates.items():
            _checked(name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {name!r}: {rate!r} is not between 0 and 1")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"rates add up to {sum(rates.values()):.3f}, more than 1")
        with self._lock:
            self.rates = dict(rates)
            self._rng = random.Random(seed)
        return self

    def reset(self) -> None:
        """Forget the script, rates, counts and recorded requests; the default goes back to ``"ok"``."""
        with self._lock:
            self._queue: deque[Behaviour] = deque()
            self._default: Behaviour = "ok"
            self.rates: dict[str, float] = {}
            self._rng = random.Random(0)
            self._received: list[Received] = []
            self._counts: Counter[str] = Counter()

    @property
    def requests(self) -> int:
        """How many requests arrived."""
        return len(self._received)

    @property
    def counts(self) -> Counter[str]:
        """Requests per behaviour (a copy)."""
        with self._lock:
            return Counter(self._counts)

    @property
    def received(self) -> list[Received]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    @property
    def last(self) -> Received:
        """The latest request."""
        with self._lock:
            return self._received[-1]

    # -- serving -------------------------------------------------------------------------------------------------
    def _next_behaviour(self) -> Behaviour:
        if self._queue:
            return self._queue.popleft()
        u = self._rng.random() if self.rates else 1.0
        for name, rate in self.rates.items():
            if u < rate:
                return name
            u -= rate
        return self._default

    def _serve(self, handler: _Handler, raw: bytes) -> None:
        dialect, model = _route(handler.path)
        body = _json_or_none(raw)
        with self._lock:
            behaviour = self._next_behaviour() if dialect else Reply(404, {"error": {"message": "no such route"}})
            label = behaviour if isinstance(behaviour, str) else behaviour.name
            self._counts[label] += 1
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self._received.append(Received(handler.path, headers, body, label))
        if behaviour == "reset":
            _reset(handler)
            return
        if isinstance(behaviour, str) and behaviour in ("slow", "hang"):
            cut_short = self._stopping.wait(self.slow_s if behaviour == "slow" else self.hang_s)
            if cut_short:
                _reset(handler)
                return
        assert dialect is not None or isinstance(behaviour, Reply)
        if _wants_stream(handler.path, body) and isinstance(behaviour, str) and not _STATUS.match(behaviour):
            self._stream(handler, behaviour, dialect, model or _requested_model(body), body)
            return
        reply = behaviour if isinstance(behaviour, Reply) else self._reply(behaviour, dialect, model, body, headers)
        _send(handler, reply)

    def _reply(self, behaviour: str, dialect: str, model: str, body: Any, headers: dict[str, str]) -> Reply:
        if _STATUS.match(behaviour):
            return _error_reply(int(behaviour), dialect, headers, self.retry_after)
        if behaviour.startswith("429-"):
            return _rate_limit_variant(behaviour, dialect)
        if behaviour == "non-json":
            return Reply(200, "upstream says: all good", {"Content-Type": "text/plain"})
        if behaviour == "html":
            page = "<html><head><title>Sign in to the network</title></head><body><h1>Sign in</h1></body></html>"
            return Reply(200, page, {"Content-Type": "text/html"})
        if dialect == "embeddings":
            return Reply(200, _embeddings_ok(body), {"Content-Type": "application/json"})
        model = model or _requested_model(body)
        served = model + self.served_suffix
        text = answer_for(_last_user_text(dialect, body))
        if behaviour in _USAGE_SHAPES:
            extra = self.thinking_tokens if behaviour == "thinking-only" else self.cached_tokens
            return Reply(200, _USAGE_SHAPES[behaviour][dialect](served, text, self.usage, extra))
        usage = None if behaviour == "no-usage" else self.usage
        ok = _OK_SHAPES[dialect](served, "" if behaviour == "empty" else text, usage, behaviour == "empty")
        if behaviour == "truncated":
            payload = json.dumps(ok).encode()
            return Reply(200, payload[: len(payload) // 2], {"Content-Type": "application/json"})
        return Reply(200, ok, {"Content-Type": "application/json"})

    def _stream(self, handler: _Handler, behaviour: str, dialect: str, model: str, body: Any) -> None:
        served = model + self.served_suffix
        words = re.findall(r"\S+\s*", answer_for(_last_user_text(dialect, body)))
        thinking = ["Let me think. ", "Done thinking. "] if behaviour == "sse-thinking" else []
        usage = None if behaviour == "no-usage" else self.usage
        events = _SSE_SHAPES[dialect](served, words, thinking, usage)
        fault = behaviour if behaviour.startswith("sse-") and behaviour != "sse-thinking" else None
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for i, event in enumerate(events):
                if fault is not None and i == self.stream_after + _SSE_PREAMBLE[dialect]:
                    if fault == "sse-disconnect":
                        _reset(handler)
                        return
                    if fault == "sse-stall" and self._stopping.wait(self.hang_s):
                        _reset(handler)
                        return
                    if fault == "sse-malformed":
                        _chunk(handler, "data: {not json\n\n")
                    if fault == "sse-error":
                        _chunk(handler, _SSE_ERRORS[dialect])
                        break
                _chunk(handler, event)
            _chunk(handler, "")
        except OSError:  # the client stopped reading
            handler.close_connection = True


def _wants_stream(path: str, body: Any) -> bool:
    return ":streamGenerateContent" in path or (isinstance(body, dict) and body.get("stream") is True)


def _chunk(handler: _Handler, text: str) -> None:
    """One HTTP chunk (an empty text ends the body)."""
    data = text.encode()
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


def _sse(data: Any, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"


def _openai_sse(served: str, words: list[str], thinking: list[str], usage: tuple[int, int] | None) -> list[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _sse({"model": served, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"reasoning_content": t}) for t in thinking] + [chunk({"content": w}) for w in words]
    events.append(chunk({}, "stop"))
    if usage is not None:
        events.append(_sse({"model": served, "choices": [], "usage": _openai_usage(usage)}))
    return [*events, "data: [DONE]\n\n"]


def _openai_usage(usage: tuple[int, int]) -> dict[str, int]:
    return {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}


def _anthropic_sse(served: str, words: list[str], thinking: list[str], usage: tuple[int, int] | None) -> list[str]:
    start_usage = {"input_tokens": usage[0], "output_tokens": 1} if usage else {}
    events = [
        _sse({"type": "message_start", "message": {"model": served, "usage": start_usage}}, "message_start"),
        _sse({"type": "ping"}, "ping"),
    ]
    events += [
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}},
            "content_block_delta",
        )
        for t in thinking
    ]
    events += [
        _sse(
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": w}},
            "content_block_delta",
        )
        for w in words
    ]
    end_usage = {"output_tokens": usage[1]} if usage else {}
    events.append(
        _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": end_usage}, "message_delta")
    )
    return [*events, _sse({"type": "message_stop"}, "message_stop")]


def _gemini_sse(served: str, words: list[str], thinking: list[str], usage: tuple[int, int] | None) -> list[str]:
    def part(text: str, thought: bool = False) -> str:
        piece: dict[str, Any] = {"text": text} | ({"thought": True} if thought else {})
        return _sse({"candidates": [{"content": {"parts": [piece], "role": "model"}}], "modelVersion": served})

    events = [part(t, True) for t in thinking] + [part(w) for w in words]
    last: dict[str, Any] = {
        "candidates": [{"content": {"parts": [], "role": "model"}, "finishReason": "STOP"}],
        "modelVersion": served,
    }
    if usage is not None:
        last["usageMetadata"] = {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1]}
    return [*events, _sse(last)]


_SSE_PREAMBLE = {"openai": 1, "anthropic": 2, "gemini": 0}  # events before the first delta (role, start, ping)
_SSE_SHAPES = {"openai": _openai_sse, "anthropic": _anthropic_sse, "gemini": _gemini_sse}
_SSE_ERRORS = {
    "openai": _sse(
        {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}
    ),
    "anthropic": _sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"),
    "gemini": _sse({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
}


def answer_for(prompt: str) -> str:
    """The fake's deterministic answer: a tiny calculator, else an echo.

    >>> answer_for("What is 17 + 25?"), answer_for("7/2"), answer_for("hi")
    ('42', '3.5', 'echo: hi')
    """
    match = _CALC.search(prompt)
    if not match:
        return f"echo: {prompt}"
    a, op, b = float(match.group(1)), match.group(2), float(match.group(3))
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else float("nan")}[op]
    return str(int(value)) if value == int(value) else f"{value:g}"


def _requested_model(body: Any) -> str:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else "unknown-model"


# -- provider shapes -------------------------------------------------------------------------------------------


def _openai_ok(served: str, text: str, usage: tuple[int, int] | None, empty: bool) -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    body: dict[str, Any] = {"id": "chatcmpl-fake", "object": "chat.completion", "model": served}
    body["choices"] = [] if empty else [choice]
    if usage:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
    return body


def _anthropic_ok(served: str, text: str, usage: tuple[int, int] | None, empty: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "msg_fake", "type": "message", "role": "assistant", "model": served}
    body["content"] = [] if empty else [{"type": "text", "text": text}]
    body["stop_reason"] = "refusal" if empty else "end_turn"
    if usage:
        body["usage"] = {"input_tokens": usage[0], "output_tokens": usage[1]}
    return body


def _gemini_ok(served: str, text: str, usage: tuple[int, int] | None, empty: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"modelVersion": served}
    if empty:
        body["promptFeedback"] = {"blockReason": "SAFETY"}
    else:
        body["candidates"] = [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}]
    if usage:
        body["usageMetadata"] = {
            "promptTokenCount": usage[0],
            "candidatesTokenCount": 0 if empty else usage[1],
            "totalTokenCount": sum(usage),
        }
    return body


_OK_SHAPES = {"openai": _openai_ok, "anthropic": _anthropic_ok, "gemini": _gemini_ok}
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}


def _openai_cached(served: str, text: str, usage: tuple[int, int], cached: int) -> dict[str, Any]:
    body = _openai_ok(served, text, (usage[0] + cached, usage[1]), False)
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
    return body


def _anthropic_cache(field: str) -> Any:
    def shape(served: str, text: str, usage: tuple[int, int], tokens: int) -> dict[str, Any]:
        body = _anthropic_ok(served, text, usage, False)
        body["usage"] |= {"cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, field: tokens}
        return body

    return shape


def _gemini_cached(served: str, text: str, usage: tuple[int, int], cached: int) -> dict[str, Any]:
    body = _gemini_ok(served, text, (usage[0] + cached, usage[1]), False)
    body["usageMetadata"]["cachedContentTokenCount"] = cached
    return body


def _plain_bigger_prompt(dialect: str) -> Any:
    return lambda served, text, usage, extra: _OK_SHAPES[dialect](served, text, (usage[0] + extra, usage[1]), False)


def _openai_thinking(served: str, text: str, usage: tuple[int, int], thinking: int) -> dict[str, Any]:
    body = _openai_ok(served, "", (usage[0], thinking), False)
    body["choices"][0]["finish_reason"] = "length"
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": thinking}
    return body


def _anthropic_thinking(served: str, text: str, usage: tuple[int, int], thinking: int) -> dict[str, Any]:
    body = _anthropic_ok(served, "", (usage[0], thinking), False)
    body["content"] = [{"type": "thinking", "thinking": "Let me see...", "signature": "sig"}]
    body["stop_reason"] = "max_tokens"
    return body


def _gemini_thinking(served: str, text: str, usage: tuple[int, int], thinking: int) -> dict[str, Any]:
    meta = {"promptTokenCount": usage[0], "thoughtsTokenCount": thinking, "totalTokenCount": usage[0] + thinking}
    candidate = {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}
    return {"modelVersion": served, "candidates": [candidate], "usageMetadata": meta}


_USAGE_SHAPES = {
    "cached": {
        "openai": _openai_cached,
        "anthropic": _anthropic_cache("cache_read_input_tokens"),
        "gemini": _gemini_cached,
    },
    "cache-write": {
        "openai": _plain_bigger_prompt("openai"),
        "anthropic": _anthropic_cache("cache_creation_input_tokens"),
        "gemini": _plain_bigger_prompt("gemini"),
    },
    "thinking-only": {"openai": _openai_thinking, "anthropic": _anthropic_thinking, "gemini": _gemini_thinking},
}


def _embeddings_ok(body: Any) -> dict[str, Any]:
    """Deterministic 4-dimensional vectors (letter counts of a, e, i, o), returned in reverse order by index.

    Usage: one token per text and per space-separated word in it.
    """
    texts = body.get("input", []) if isinstance(body, dict) else []
    texts = [texts] if isinstance(texts, str) else list(texts)
    data = [{"index": i, "embedding": [float(str(t).count(c)) for c in "aeio"]} for i, t in enumerate(texts)]
    tokens = sum(len(str(t).split()) for t in texts)
    return {
        "object": "list",
        "data": data[::-1],
        "model": _requested_model(body),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _error_reply(status: int, dialect: str, headers: Mapping[str, str], retry_after: str) -> Reply:
    if status == 502:
        page = (
            "<html><head><title>502 Bad Gateway</title></head>"
            "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
        )
        return Reply(502, page, {"Content-Type": "text/html"})
    message = f"fake error {status}"
    if status == 401:
        message = f"Incorrect API key provided: {_presented_key(headers)}"
    if dialect == "anthropic":
        kind = "overloaded_error" if status == 529 else "api_error"
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    elif dialect == "gemini":
        body = {"error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "INTERNAL")}}
    else:
        body = {"error": {"message": message, "type": "fake_error", "code": str(status)}}
    extra = {"Retry-After": retry_after} if status == 429 else {}
    return Reply(status, body, {"Content-Type": "application/json", **extra})


_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def _quota_body(dialect: str, quota_id: str) -> dict[str, Any]:
    """A 429 body: OpenAI's out-of-credit error, or Gemini's RESOURCE_EXHAUSTED naming the quota hit."""
    if dialect != "gemini":
        message = "You exceeded your current quota, please check your plan and billing details."
        error = {"message": message, "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}
        return {"error": error}
    violation = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                 "quotaId": quota_id, "quotaValue": "50"}  # fmt: skip
    details = [{"@type": _QUOTA_FAILURE, "violations": [violation]}, {"@type": _RETRY_INFO, "retryDelay": "13s"}]
    message = "You exceeded your current quota, please check your plan and billing details."
    return {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED", "details": details}}


def _rate_limit_variant(behaviour: str, dialect: str) -> Reply:
    base = _error_reply(429, dialect, {}, "")
    headers = {"Content-Type": "application/json"}
    if behaviour == "429-quota":
        return Reply(429, _quota_body(dialect, "GenerateRequestsPerDayPerProjectPerModel-FreeTier"), headers, behaviour)
    if behaviour == "429-retryinfo":
        per_minute = _quota_body("gemini", "GenerateRequestsPerMinutePerProjectPerModel")
        body = per_minute if dialect == "gemini" else base.body
        ratelimit = {"x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
                     "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}  # fmt: skip
        return Reply(429, body, headers | ({} if dialect == "gemini" else ratelimit), behaviour)
    if behaviour == "429-date":
        headers["Retry-After"] = email.utils.formatdate(time.time() + 2, usegmt=True)
    elif behaviour == "429-ms":
        headers["retry-after-ms"] = "1500"
    return Reply(429, base.body, headers, name=behaviour)


def _presented_key(headers: Mapping[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth.removeprefix("Bearer ") or headers.get("x-api-key") or headers.get("x-goog-api-key") or "(none)"


def _route(path: str) -> tuple[str | None, str]:
    path = path.split("?", 1)[0]
    if path.endswith("/chat/completions"):
        return "openai", ""
    if path.endswith("/messages"):
        return "anthropic", ""
    if path.endswith("/embeddings"):
        return "embeddings", ""
    match = _GEMINI_PATH.search(path)
    if match:
        return "gemini", match.group(1)
    return None, ""


def _last_user_text(dialect: str, body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    if dialect == "gemini":
        turns = [c for c in body.get("contents", []) if c.get("role") == "user"]
        return "".join(p.get("text", "") for p in turns[-1].get("parts", [])) if turns else ""
    turns = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not turns:
        return ""
    content = turns[-1].get("content", "")
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _checked(behaviour: Behaviour) -> Behaviour:
    if isinstance(behaviour, Reply) or behaviour in NAMED or _STATUS.match(str(behaviour)):
        return behaviour
    raise ValueError(
        f"unknown fake-server behaviour {behaviour!r}: use a Reply, an HTTP status like '503' or one of {NAMED}"
    )


# -- the HTTP plumbing -----------------------------------------------------------------------------------------


def _send(handler: _Handler, reply: Reply) -> None:
    payload = reply.payload()
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()
    except OSError:  # the client gave up (timeout) and closed the connection
        handler.close_connection = True


def _reset(handler: _Handler) -> None:
    """Drop the connection with a TCP reset, sending nothing."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers; every reply has a Content-Length
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay between head and body

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if len(raw) < length:  # the client died mid-request (e.g. killed): a real server would not process it
            self.close_connection = True
            return
        self.server.fake._serve(self, raw)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of concurrent connects (then a 1 s SYN retry)

    def __init__(self, fake: FakeProviderServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients hanging up is part of the game
        pass
