"""Anthropic's Messages API (``POST /v1/messages``).

>>> from orchestra_lab.models.anthropic import Anthropic
>>> m = Anthropic("claude-haiku-4-5")
>>> m.name, m.api_key_env, m.max_tokens
('anthropic/claude-haiku-4-5', 'ANTHROPIC_API_KEY', 1024)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .._capabilities import supported_request
from .._secrets import Secret
from ..pricing import Price
from ..types import Request, Usage
from ._http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Answer,
    Delta,
    HttpCall,
    HttpModel,
    MalformedAnswer,
    StreamState,
    checked_timeout,
    dig,
    stream_error,
    token_count,
    translate_params,
)

__all__ = ["Anthropic"]

_HOUR_WRITE_MULTIPLIER = 2.0  # 1-hour cache writes bill 2x the input price on every Claude model (pricing page)
# Request params renamed to the Messages API's fields; seed is not supported there and is left out.
_PARAM_NAMES: dict[str, str | None] = {"stop": "stop_sequences", "seed": None}


class Anthropic(HttpModel):
    """A Claude model over the Messages API.

    System messages go to the top-level ``system`` field; ``max_tokens`` (required by the API) is the request's,
    else the constructor's default. The answer is the concatenation of the response's text blocks.
    Generation params not in :class:`~orchestra_lab.types.Request` (``top_k``...) go in as they are, except
    sampling params the model rejects. Usage: ``input_tokens`` is the total input -- Anthropic's ``input_tokens``
    plus cache reads and cache writes, each billed at its own rate.

    >>> from orchestra_lab import Anthropic
    >>> sonnet = Anthropic("claude-sonnet-4-5", max_tokens=256)
    >>> sonnet  # doctest: +ELLIPSIS
    Anthropic(model='claude-sonnet-4-5', api_key_env='ANTHROPIC_API_KEY', ...)
    >>> sonnet.name, sonnet.max_tokens
    ('anthropic/claude-sonnet-4-5', 256)
    """

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        *,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        base_url: str = "https://api.anthropic.com",
        name: str | None = None,
        price: Price | None = None,
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        max_tokens: int = 1024,
        api_version: str = "2023-06-01",
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        streaming: bool = False,
        stall_timeout_s: float | None = None,
    ) -> None:
        self.model = model
        self.api_key_env = api_key_env
        self.base_url = base_url.rstrip("/")
        self.name = name or f"anthropic/{model}"
        self.price = price
        self.timeout_s = checked_timeout(timeout_s)
        self.headers = headers
        self.max_tokens = max_tokens
        self.api_version = api_version
        self._connect(client, transport, max_response_bytes, streaming, stall_timeout_s)

    def _supported(self, request: Request) -> Request:
        return supported_request(self.provider, self.model, request, api_version=self.api_version)

    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        headers: dict[str, str | Secret] = {"anthropic-version": self.api_version}
        if key is not None:
            headers["x-api-key"] = key
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [m.as_dict() for m in request.messages if m.role != "system"],
        }
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        if system:
            body["system"] = system
        body |= translate_params(request.params(), _PARAM_NAMES)
        return HttpCall(f"{self.base_url}/v1/messages", headers, body)

    def _answer(self, body: dict[str, Any]) -> Answer:
        texts = [block["text"] for block in body["content"] if block.get("type") == "text"]
        stop_reason = body.get("stop_reason")
        if not texts:
            raise MalformedAnswer(f"the answer has no text block, stop_reason={stop_reason!r}")
        served = body.get("model")
        return Answer("".join(texts), served if isinstance(served, str) else None, stop_reason)

    def _usage(self, body: dict[str, Any]) -> Usage:
        return messages_usage(body)

    def _stream_call(self, request: Request, key: Secret | None) -> HttpCall:
        call = self._http_call(request, key)
        return HttpCall(call.url, call.headers, call.body | {"stream": True})

    def _stream_deltas(self, event: str, data: dict[str, Any], state: StreamState) -> list[Delta]:
        """Messages events: ``message_start`` (model, input usage), ``content_block_delta`` (``text_delta``: answer,
        ``thinking_delta``: thinking), ``message_delta`` (stop reason, output usage), ``message_stop``, ``ping``,
        ``error``."""
        kind = data.get("type", event)
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [("answer", delta["text"])]
            if delta.get("type") == "thinking_delta" and delta.get("thinking"):
                return [("thinking", delta["thinking"])]
        elif kind == "message_start":
            message = data.get("message") or {}
            if isinstance(message.get("model"), str):
                state.served_model = message["model"]
            state.usage_body = {"usage": dict(message.get("usage") or {})}
        elif kind == "message_delta":
            state.finish_reason = dig(data, "delta", "stop_reason") or state.finish_reason
            usage = state.usage_body.setdefault("usage", {})
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            state.complete = True
        elif kind == "error":
            who = f"{self.provider} {self.model}"
            raise stream_error(who, data.get("error"), {"provider": self.provider, "model": self.model})
        return []

    def _surcharge_usd(self, body: dict[str, Any]) -> float:
        """1-hour cache writes cost 2x input, not the 5-minute rate (1.25x) they were counted at in the usage."""
        hour_writes = token_count(dig(body, "usage", "cache_creation", "ephemeral_1h_input_tokens")) or 0
        price = self._effective_price()
        if not hour_writes or price is None:
            return 0.0
        five_minute_rate = price.input_per_1m if price.cache_write_per_1m is None else price.cache_write_per_1m
        return hour_writes * (_HOUR_WRITE_MULTIPLIER * price.input_per_1m - five_minute_rate) / 1e6


def messages_usage(body: dict[str, Any]) -> Usage:
    """Usage of a Messages API answer; Anthropic's ``input_tokens`` leaves out cache reads and writes: we add them.

    >>> u = messages_usage({"usage": {"input_tokens": 12, "cache_read_input_tokens": 9000, "output_tokens": 50}})
    >>> u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens
    (9012, 9000, 0, 50)
    """
    usage = body.get("usage")
    uncached = token_count(dig(usage, "input_tokens"))
    read = token_count(dig(usage, "cache_read_input_tokens"))
    written = token_count(dig(usage, "cache_creation_input_tokens"))
    cache_reported = read is not None or written is not None
    return Usage(
        None if uncached is None else uncached + (read or 0) + (written or 0),
        token_count(dig(usage, "output_tokens")),
        cached_input_tokens=(read or 0) if cache_reported else None,
        cache_write_tokens=(written or 0) if cache_reported else None,
    )
