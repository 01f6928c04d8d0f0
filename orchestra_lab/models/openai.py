"""OpenAI chat completions -- and every server that speaks them: Groq, Together, OpenRouter, Ollama, vLLM,
llama.cpp and LM Studio, through presets.

The key is read from the environment variable named by ``api_key_env`` (or Colab secrets) when a call is made;
local servers need none and cost nothing.

>>> from orchestra_lab.models.openai import OpenAICompatible
>>> m = OpenAICompatible.groq("llama-3.1-8b-instant")
>>> m.name, m.base_url, m.api_key_env
('groq/llama-3.1-8b-instant', 'https://api.groq.com/openai/v1', 'GROQ_API_KEY')
>>> "api_key_env='GROQ_API_KEY'" in repr(m)
True
>>> OpenAICompatible.ollama("llama3.2").price.input_per_1m
0.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._secrets import Secret
from ..pricing import Price
from ..types import Request, Usage
from ._http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Answer,
    Delta,
    EventReader,
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
from ._sse import TextSlot

__all__ = ["OPENAI_URL", "PRESETS", "OpenAICompatible", "Preset"]

OPENAI_URL = "https://api.openai.com/v1"
LOCAL_PRICE = Price(0.0, 0.0, "local server", "")


@dataclass(frozen=True, slots=True)
class Preset:
    """Where an OpenAI-compatible service lives, which env var holds its key and how it names ``max_tokens``."""

    base_url: str
    api_key_env: str | None
    max_tokens_field: str = "max_tokens"
    price: Price | None = None


PRESETS: dict[str, Preset] = {
    "openai": Preset(OPENAI_URL, "OPENAI_API_KEY", "max_completion_tokens"),
    "groq": Preset("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together": Preset("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "openrouter": Preset("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "ollama": Preset("http://localhost:11434/v1", None, price=LOCAL_PRICE),
    "vllm": Preset("http://localhost:8000/v1", None, price=LOCAL_PRICE),
    "llamacpp": Preset("http://localhost:8080/v1", None, price=LOCAL_PRICE),
    "lmstudio": Preset("http://localhost:1234/v1", None, price=LOCAL_PRICE),
}


class OpenAICompatible(HttpModel):
    """A model behind an OpenAI-style ``POST {base_url}/chat/completions``.

    ``price`` overrides the price table for this model (local servers: 0). ``headers`` are added to every
    request (e.g. OpenRouter's ``HTTP-Referer``); never put a key there, name its variable in ``api_key_env``.
    ``max_tokens_field`` is what the server calls the output cap (OpenAI: ``max_completion_tokens``).
    ``client``/``transport`` replace the network and ``max_response_bytes`` caps an answer (see
    :class:`~orchestra_lab.models._http.HttpModel`). Usage counts cached prompt tokens (billed at the cached rate)
    and reasoning tokens (billed as output). ``astream`` / ``stream`` read the answer as server-sent events
    (``stream_options.include_usage``: the final chunk's usage; a server that sends none gets estimated tokens);
    ``streaming=True`` makes ``complete`` stream too (the response gains ``ttft_s``); ``stall_timeout_s`` bounds the
    silence inside a stream (default: ``timeout_s``, which bounds the whole call). Generation params not in
    :class:`~orchestra_lab.types.Request` (``response_format``...) go in as they are, except sampling params the
    model rejects.

    >>> from orchestra_lab import OpenAICompatible
    >>> OpenAICompatible("gpt-4o-mini")  # doctest: +ELLIPSIS
    OpenAICompatible(model='gpt-4o-mini', base_url='https://api.openai.com/v1', api_key_env='OPENAI_API_KEY', ...)
    >>> OpenAICompatible("qwen2.5", base_url="http://localhost:8000/v1", api_key_env=None).name
    'localhost:8000/qwen2.5'
    """

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = OPENAI_URL,
        api_key_env: str | None = "OPENAI_API_KEY",
        name: str | None = None,
        price: Price | None = None,
        timeout_s: float = 60.0,
        headers: Mapping[str, str] | None = None,
        max_tokens_field: str = "max_completion_tokens",
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        streaming: bool = False,
        stall_timeout_s: float | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.name = name or f"{_service_label(self.base_url)}/{model}"
        self.price = price
        self.timeout_s = checked_timeout(timeout_s)
        self.headers = headers
        self.max_tokens_field = max_tokens_field
        self._connect(client, transport, max_response_bytes, streaming, stall_timeout_s)

    @classmethod
    def preset(cls, service: str, model: str, **overrides: Any) -> OpenAICompatible:
        """``model`` on a known service (see :data:`PRESETS`), named ``service/model``; any argument can be overridden.

        >>> OpenAICompatible.preset("vllm", "Qwen/Qwen2.5-7B-Instruct", base_url="http://gpu-box:8000/v1").name
        'vllm/Qwen/Qwen2.5-7B-Instruct'
        """
        try:
            p = PRESETS[service]
        except KeyError:
            raise ValueError(f"unknown service {service!r}; choose from {sorted(PRESETS)}") from None
        config = {
            "base_url": p.base_url,
            "api_key_env": p.api_key_env,
            "name": f"{service}/{model}",
            "price": p.price,
            "max_tokens_field": p.max_tokens_field,
        }
        return cls(model, **(config | overrides))

    @classmethod
    def openai(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """OpenAI (key in ``OPENAI_API_KEY``)."""
        return cls.preset("openai", model, **overrides)

    @classmethod
    def groq(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """Groq (key in ``GROQ_API_KEY``)."""
        return cls.preset("groq", model, **overrides)

    @classmethod
    def together(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """Together AI (key in ``TOGETHER_API_KEY``)."""
        return cls.preset("together", model, **overrides)

    @classmethod
    def openrouter(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """OpenRouter (key in ``OPENROUTER_API_KEY``); model ids look like ``openai/gpt-4o-mini``."""
        return cls.preset("openrouter", model, **overrides)

    @classmethod
    def ollama(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """A local Ollama server (no key, free)."""
        return cls.preset("ollama", model, **overrides)

    @classmethod
    def vllm(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """A local vLLM server (no key, free)."""
        return cls.preset("vllm", model, **overrides)

    @classmethod
    def llamacpp(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """A local llama.cpp server (no key, free)."""
        return cls.preset("llamacpp", model, **overrides)

    @classmethod
    def lmstudio(cls, model: str, **overrides: Any) -> OpenAICompatible:
        """A local LM Studio server (no key, free)."""
        return cls.preset("lmstudio", model, **overrides)

    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        headers: dict[str, str | Secret] = {"Authorization": key.prefixed("Bearer ")} if key is not None else {}
        body = {"model": self.model, "messages": [m.as_dict() for m in request.messages]}
        body |= translate_params(request.params(), {"max_tokens": self.max_tokens_field})
        return HttpCall(f"{self.base_url}/chat/completions", headers, body)

    def _answer(self, body: dict[str, Any]) -> Answer:
        choices = body.get("choices")
        if not choices:
            raise MalformedAnswer("the answer has no choices")
        choice = choices[0]
        content = choice["message"].get("content")
        finish_reason = choice.get("finish_reason")
        if not isinstance(content, str):
            refused = " (the model refused)" if choice["message"].get("refusal") else ""
            raise MalformedAnswer(f"the answer has no text, finish_reason={finish_reason!r}{refused}")
        served = body.get("model")
        return Answer(content, served if isinstance(served, str) else None, finish_reason)

    def _usage(self, body: dict[str, Any]) -> Usage:
        return chat_usage(body)

    def _stream_call(self, request: Request, key: Secret | None) -> HttpCall:
        call = self._http_call(request, key)
        body = call.body | {"stream": True, "stream_options": {"include_usage": True}}
        return HttpCall(call.url, call.headers, body)

    def _stream_deltas(self, event: str, data: dict[str, Any], state: StreamState) -> list[Delta]:
        """``choices[0].delta``: ``content`` is answer, ``reasoning_content`` / ``reasoning`` thinking; the last
        chunk carries ``usage``."""
        if "error" in data:
            raise stream_error(
                f"{self.provider} {self.model}", data["error"], {"provider": self.provider, "model": self.model}
            )
        served, usage, choices = data.get("model"), data.get("usage"), data.get("choices")
        if isinstance(served, str):
            state.served_model = served
        if usage:
            state.usage_body = {"usage": usage}
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            return []
        if choice.get("finish_reason"):
            state.finish_reason = choice["finish_reason"]
            state.complete = True
        delta = choice.get("delta")
        if not delta:
            return []
        content = delta.get("content")
        if "reasoning_content" not in delta and "reasoning" not in delta:  # the common event: answer text only
            return [("answer", content)] if isinstance(content, str) and content else []
        deltas: list[Delta] = []
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            deltas.append(("thinking", thinking))
        if isinstance(content, str) and content:
            deltas.append(("answer", content))
        return deltas

    def _stream_reader(self, state: StreamState) -> EventReader:
        return _ContentEvents(state)


_CONTENT = ("choices", 0, "delta", "content")


class _ContentEvents:
    """Reads the common stream event -- the JSON of an earlier answer-text event but for ``choices[0].delta.content``
    -- without parsing it. It learns from an event that says nothing else :meth:`OpenAICompatible._stream_deltas`
    acts on (no error, usage, finish reason or reasoning) but the serving model, which :meth:`read` sets as it does.
    A stream whose every event differs in more than the text (an obfuscation field) stops it learning after
    :data:`LEARN_ATTEMPTS` tries.

    >>> import json
    >>> state = StreamState()
    >>> events = _ContentEvents(state)
    >>> text = '{"model":"m-1","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}'
    >>> events.read("message", text) is None  # nothing learned yet: parse it
    True
    >>> events.learn("message", text, json.loads(text))
    >>> events.read("message", text.replace('"Hi"', '" there"')), state.served_model
    (' there', 'm-1')
    >>> events.read("message", text.replace('null}', '"stop"}')) is None
    True
    """

    LEARN_ATTEMPTS = 3
    __slots__ = ("attempts", "served", "slot", "state")

    def __init__(self, state: StreamState) -> None:
        self.state = state
        self.slot: TextSlot | None = None
        self.served: str | None = None
        self.attempts = self.LEARN_ATTEMPTS

    def read(self, event: str, text: str) -> str | None:
        slot = self.slot
        answer = None if slot is None else slot.read(text)
        if answer is not None and self.served is not None:
            self.state.served_model = self.served
        return answer

    def learn(self, event: str, text: str, data: dict[str, Any]) -> None:
        if self.attempts and _only_answer_text(data):
            self.attempts -= 1
            slot = TextSlot.learn(text, data, _CONTENT)
            if slot is not None:
                served = data.get("model")
                self.slot, self.served = slot, served if isinstance(served, str) else None


def _only_answer_text(data: dict[str, Any]) -> bool:
    """Whether ``_stream_deltas`` takes nothing from ``data`` but answer text (non-empty) and the serving model."""
    if "error" in data or data.get("usage"):
        return False
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict) or choice.get("finish_reason"):
        return False
    delta = choice.get("delta")
    return (
        isinstance(delta, dict)
        and "reasoning_content" not in delta
        and "reasoning" not in delta
        and isinstance(delta.get("content"), str)
        and bool(delta["content"])
    )


def chat_usage(body: dict[str, Any]) -> Usage:
    """Usage of an OpenAI-style answer: cached prompt tokens and reasoning tokens are parts of the totals.

    >>> u = chat_usage({"usage": {"prompt_tokens": 2006, "completion_tokens": 300,
    ...     "prompt_tokens_details": {"cached_tokens": 1920}, "completion_tokens_details": {"reasoning_tokens": 256}}})
    >>> u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens
    (2006, 1920, 300, 256)
    """
    usage = body.get("usage")
    return Usage(
        token_count(dig(usage, "prompt_tokens")),
        token_count(dig(usage, "completion_tokens")),
        cached_input_tokens=token_count(dig(usage, "prompt_tokens_details", "cached_tokens")),
        reasoning_tokens=token_count(dig(usage, "completion_tokens_details", "reasoning_tokens")),
    )


def _service_label(base_url: str) -> str:
    """``openai`` for OpenAI itself, else the server's host (``localhost:8000``)."""
    return "openai" if base_url == OPENAI_URL else (urlsplit(base_url).netloc or base_url)
