"""Google's Gemini API (``POST /models/{model}:generateContent``), the key sent in a header, never in the URL.

>>> from orchestra_lab.models.gemini import Gemini
>>> m = Gemini("gemini-2.5-flash")
>>> m.name, m.api_key_env
('gemini/gemini-2.5-flash', 'GEMINI_API_KEY')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

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

__all__ = ["Gemini"]

_PARAM_NAMES: dict[str, str | None] = {"max_tokens": "maxOutputTokens", "top_p": "topP", "stop": "stopSequences"}
# Request fields that live at the top level of generateContent, not in generationConfig (both JSON spellings).
_TOP_LEVEL = frozenset(
    {"safetySettings", "tools", "toolConfig", "cachedContent", "systemInstruction", "labels"}
    | {"safety_settings", "tool_config", "cached_content", "system_instruction"}
)
_ROLES = {"user": "user", "assistant": "model"}


class Gemini(HttpModel):
    """A Gemini model over ``generateContent``.

    The key comes from ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``. System messages become ``systemInstruction``;
    request-level fields (``safetySettings``, ``tools``, ``toolConfig``, ``cachedContent``, ``labels``...) go at
    the top level, other generation params (e.g. ``responseMimeType``) in ``generationConfig``. Output tokens
    include thinking tokens (billed as output; also in ``reasoning_tokens``); input tokens include cached ones.

    >>> from orchestra_lab import Gemini
    >>> flash = Gemini("models/gemini-2.5-flash")
    >>> flash  # doctest: +ELLIPSIS
    Gemini(model='gemini-2.5-flash', api_key_env='GEMINI_API_KEY', ...)
    >>> flash.name
    'gemini/gemini-2.5-flash'
    """

    provider = "gemini"
    fallback_key_envs: ClassVar[Mapping[str, tuple[str, ...]]] = {"GEMINI_API_KEY": ("GOOGLE_API_KEY",)}

    def __init__(
        self,
        model: str,
        *,
        api_key_env: str | None = "GEMINI_API_KEY",
        base_url: str = "https://generativelanguage.googleapis.com/v1beta",
        name: str | None = None,
        price: Price | None = None,
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        streaming: bool = False,
        stall_timeout_s: float | None = None,
    ) -> None:
        self.model = model.removeprefix("models/")
        self.api_key_env = api_key_env
        self.base_url = base_url.rstrip("/")
        self.name = name or f"gemini/{self.model}"
        self.price = price
        self.timeout_s = checked_timeout(timeout_s)
        self.headers = headers
        self._connect(client, transport, max_response_bytes, streaming, stall_timeout_s)

    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        headers: dict[str, str | Secret] = {"x-goog-api-key": key} if key is not None else {}
        body: dict[str, Any] = {
            "contents": [
                {"role": _ROLES[m.role], "parts": [{"text": m.content}]} for m in request.messages if m.role != "system"
            ]
        }
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        params = translate_params(request.params(), _PARAM_NAMES)
        body |= {name: value for name, value in params.items() if name in _TOP_LEVEL}
        config = {name: value for name, value in params.items() if name not in _TOP_LEVEL}
        if config:
            body["generationConfig"] = config
        return HttpCall(f"{self.base_url}/models/{self.model}:generateContent", headers, body)

    def _answer(self, body: dict[str, Any]) -> Answer:
        candidates = body.get("candidates")
        if not candidates:
            block_reason = dig(body, "promptFeedback", "blockReason")
            raise MalformedAnswer(
                f"no candidates, the prompt was blocked: {block_reason}" if block_reason else "no candidates"
            )
        candidate = candidates[0]
        finish_reason = candidate.get("finishReason")
        parts = dig(candidate, "content", "parts") or []
        texts = [part["text"] for part in parts if "text" in part and not part.get("thought")]
        if not texts:
            raise MalformedAnswer(f"the candidate has no text, finishReason={finish_reason!r}")
        served = body.get("modelVersion")
        return Answer("".join(texts), served if isinstance(served, str) else None, finish_reason)

    def _usage(self, body: dict[str, Any]) -> Usage:
        return gemini_usage(body)

    def _stream_call(self, request: Request, key: Secret | None) -> HttpCall:
        call = self._http_call(request, key)
        url = call.url.removesuffix(":generateContent") + ":streamGenerateContent?alt=sse"
        return HttpCall(url, call.headers, call.body)

    def _stream_deltas(self, event: str, data: dict[str, Any], state: StreamState) -> list[Delta]:
        """Each event is a partial ``generateContent`` answer: text parts (``thought`` ones are thinking), the
        latest ``usageMetadata``, a ``finishReason`` at the end; ``{"error": ...}`` fails."""
        if "error" in data:
            raise stream_error(
                f"{self.provider} {self.model}", data["error"], {"provider": self.provider, "model": self.model}
            )
        if isinstance(data.get("modelVersion"), str):
            state.served_model = data["modelVersion"]
        if data.get("usageMetadata"):
            state.usage_body = {"usageMetadata": data["usageMetadata"]}
        candidate = dig(data, "candidates", 0)
        if not isinstance(candidate, dict):
            return []
        if candidate.get("finishReason"):
            state.finish_reason = candidate["finishReason"]
            state.complete = True
        parts = dig(candidate, "content", "parts") or []
        return [
            ("thinking" if part.get("thought") else "answer", part["text"])
            for part in parts
            if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
        ]


def gemini_usage(body: dict[str, Any]) -> Usage:
    """Usage of a generateContent answer: thinking tokens are output (even with no answer tokens), tool-use prompt
    tokens are input, cached tokens are part of the prompt.

    >>> u = gemini_usage({"usageMetadata": {"promptTokenCount": 700, "thoughtsTokenCount": 8191}})
    >>> u.input_tokens, u.output_tokens, u.reasoning_tokens
    (700, 8191, 8191)
    """
    meta = body.get("usageMetadata")
    prompt = token_count(dig(meta, "promptTokenCount"))
    tool_prompt = token_count(dig(meta, "toolUsePromptTokenCount"))
    answer = token_count(dig(meta, "candidatesTokenCount"))
    thoughts = token_count(dig(meta, "thoughtsTokenCount"))
    return Usage(
        None if prompt is None and tool_prompt is None else (prompt or 0) + (tool_prompt or 0),
        None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0),
        cached_input_tokens=token_count(dig(meta, "cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )
