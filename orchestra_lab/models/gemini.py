"""Google's Gemini API (``POST /models/{model}:generateContent``), the key sent in a header, never in the URL.

>>> from orchestra_lab.models.gemini import Gemini
>>> m = Gemini("gemini-2.5-flash")
>>> m.name, m.api_key_env
('gemini/gemini-2.5-flash', 'GEMINI_API_KEY')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .._secrets import Secret
from ..pricing import Price
from ..types import Request
from ._http import Answer, HttpCall, HttpModel, MalformedAnswer, checked_timeout, dig, token_count, translate_params

_PARAM_NAMES: dict[str, str | None] = {"max_tokens": "maxOutputTokens", "top_p": "topP", "stop": "stopSequences"}
_ROLES = {"user": "user", "assistant": "model"}


class Gemini(HttpModel):
    """A Gemini model over ``generateContent``.

    The key comes from ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``. System messages become ``systemInstruction``;
    generation params (and any extra ones, e.g. ``responseMimeType``) go in ``generationConfig``. Output tokens
    include thinking tokens, which are billed as output.

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
    ) -> None:
        self.model = model.removeprefix("models/")
        self.api_key_env = api_key_env
        self.base_url = base_url.rstrip("/")
        self.name = name or f"gemini/{self.model}"
        self.price = price
        self.timeout_s = checked_timeout(timeout_s)
        self.headers = headers

    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        headers = {"x-goog-api-key": key.reveal()} if key is not None else {}
        body: dict[str, Any] = {
            "contents": [
                {"role": _ROLES[m.role], "parts": [{"text": m.content}]} for m in request.messages if m.role != "system"
            ]
        }
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config = translate_params(request.params(), _PARAM_NAMES)
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

    def _usage(self, body: dict[str, Any]) -> tuple[int | None, int | None]:
        output = token_count(dig(body, "usageMetadata", "candidatesTokenCount"))
        thoughts = token_count(dig(body, "usageMetadata", "thoughtsTokenCount")) or 0
        return (
            token_count(dig(body, "usageMetadata", "promptTokenCount")),
            None if output is None else output + thoughts,
        )
