"""Output validators: small objects that accept an answer or say why they reject it.

A validator is called with the answer text and returns ``None`` when it accepts, else the reason it rejects.
Any callable ``text -> bool`` (or ``-> str | None``) can be used too: :func:`as_validator` wraps it.

>>> IsJSON()('{"a": 1}') is None, IsJSON()("not json")
(True, 'not valid JSON')
>>> print(NoRefusal()("I'm sorry, but I can't help with that."))
refusal phrase: "i can't"
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "REFUSAL_PHRASES",
    "Check",
    "IsJSON",
    "Matches",
    "NoRefusal",
    "NotEmpty",
    "Validator",
    "as_validator",
    "first_rejection",
]


@runtime_checkable
class Validator(Protocol):
    def __call__(self, text: str) -> str | None: ...


class IsJSON:
    """Rejects text that does not parse as JSON (a fenced ```json block is unwrapped first)."""

    def __call__(self, text: str) -> str | None:
        body = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
        try:
            json.loads(body)
        except json.JSONDecodeError:
            return "not valid JSON"
        return None

    def __repr__(self) -> str:
        return "IsJSON()"


class NotEmpty:
    """Rejects empty or whitespace-only text."""

    def __call__(self, text: str) -> str | None:
        return None if text.strip() else "empty answer"

    def __repr__(self) -> str:
        return "NotEmpty()"


REFUSAL_PHRASES: tuple[str, ...] = (
    "i can't",
    "i cannot",
    "i'm unable",
    "i am unable",
    "i won't",
    "as an ai",
    "i'm not able",
    "i am not able",
)


class NoRefusal:
    """Rejects text containing a refusal phrase (case-insensitive; curly apostrophes count as straight)."""

    def __init__(self, phrases: Sequence[str] = REFUSAL_PHRASES) -> None:
        if not phrases:
            raise ValueError("NoRefusal.phrases: give at least one phrase")
        self.phrases = tuple(p.lower() for p in phrases)

    def __call__(self, text: str) -> str | None:
        lowered = text.lower().replace("\u2019", "'")
        hit = next((p for p in self.phrases if p in lowered), None)
        return None if hit is None else f'refusal phrase: "{hit}"'

    def __repr__(self) -> str:
        return "NoRefusal()" if self.phrases == REFUSAL_PHRASES else f"NoRefusal({list(self.phrases)!r})"


class Matches:
    """Accepts text in which ``pattern`` is found (``re.search``).

    >>> print(Matches("^[0-9]+$")("forty-two"))
    does not match '^[0-9]+$'
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        try:
            self.regex = re.compile(pattern, flags)
        except re.error as err:
            raise ValueError(f"Matches.pattern: {pattern!r} is not a valid regex ({err})") from None
        self.pattern = pattern

    def __call__(self, text: str) -> str | None:
        return None if self.regex.search(text) else f"does not match {self.pattern!r}"

    def __repr__(self) -> str:
        return f"Matches({self.pattern!r})"


class Check:
    """Any callable as a validator: ``fn(text)`` returning ``True``/``None`` accepts, ``False`` or a string rejects."""

    def __init__(self, fn: Callable[[str], bool | str | None], name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"Check needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, text: str) -> str | None:
        verdict = self.fn(text)
        if verdict is True or verdict is None:
            return None
        return verdict if isinstance(verdict, str) else f"{self.name} rejected it"

    def __repr__(self) -> str:
        return f"Check({self.name})"


def as_validator(value: Validator | Callable[[str], bool | str | None]) -> Validator:
    """A validator object from a validator or any callable (wrapped in :class:`Check`)."""
    if isinstance(value, (IsJSON, NotEmpty, NoRefusal, Matches, Check)):
        return value
    return Check(value)


def first_rejection(validators: Sequence[Validator], text: str) -> str | None:
    """The first validator's rejection reason (``None`` when all accept)."""
    for validator in validators:
        reason = validator(text)
        if reason is not None:
            return reason
    return None
