"""Route predicates: ``request -> bool`` tests a :class:`~orchestra_lab.strategies.routing.RuleRouter` matches on.

They read what a request carries -- its prompt, its length, its script and its non-truth metadata (category,
language...); a request never carries the item's answer key.

>>> Keywords("refund")(Request.of("Where is my REFUND?")), Script("Devanagari")(Request.of("hello"))
(True, False)
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..types import Request, estimate_tokens
from ._scripts import SCRIPTS, detect_script

__all__ = ["Keywords", "Metadata", "Predicate", "PromptLength", "PromptRegex", "Script"]


class Predicate(Protocol):
    """Anything that says whether a rule applies to a request."""

    def __call__(self, request: Request) -> bool: ...


class Keywords:
    """True when the prompt contains any of the words or phrases (whole words; case-insensitive by default)."""

    def __init__(self, *words: str, case_sensitive: bool = False) -> None:
        if not words:
            raise ValueError("Keywords: give at least one word")
        self.words = words
        self.case_sensitive = case_sensitive
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        self._regex = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", 0 if case_sensitive else re.IGNORECASE)

    def __call__(self, request: Request) -> bool:
        return self._regex.search(request.prompt) is not None

    def __repr__(self) -> str:
        return f"Keywords({', '.join(map(repr, self.words))}{', case_sensitive=True' if self.case_sensitive else ''})"


class PromptRegex:
    """True when ``pattern`` is found in the prompt (``re.search``; case-insensitive unless ``flags`` say otherwise).

    >>> PromptRegex("prove|derive")(Request.of("Prove that 2 is prime"))
    True
    """

    def __init__(self, pattern: str, flags: int = re.IGNORECASE) -> None:
        try:
            self._regex = re.compile(pattern, flags)
        except re.error as err:
            raise ValueError(f"PromptRegex.pattern: {pattern!r} is not a valid regex ({err})") from None
        self.pattern = pattern

    def __call__(self, request: Request) -> bool:
        return self._regex.search(request.prompt) is not None

    def __repr__(self) -> str:
        return f"PromptRegex({self.pattern!r})"


class PromptLength:
    """True when the prompt's estimated tokens are ``>= at_least`` and ``< below`` (either bound optional).

    >>> PromptLength(at_least=3)(Request.of("a long enough prompt"))
    True
    """

    def __init__(self, *, at_least: int | None = None, below: int | None = None) -> None:
        if at_least is None and below is None:
            raise ValueError("PromptLength: give at_least, below or both")
        if at_least is not None and below is not None and at_least >= below:
            raise ValueError(f"PromptLength: at_least={at_least} must be smaller than below={below}")
        self.at_least = at_least
        self.below = below

    def __call__(self, request: Request) -> bool:
        tokens = sum(estimate_tokens(m.content) for m in request.messages)
        return (self.at_least is None or tokens >= self.at_least) and (self.below is None or tokens < self.below)

    def __repr__(self) -> str:
        bounds = {"at_least": self.at_least, "below": self.below}
        return f"PromptLength({', '.join(f'{k}={v}' for k, v in bounds.items() if v is not None)})"


class Script:
    """True when the prompt is mostly written in one of ``scripts`` (by Unicode ranges; Hinglish is Latin)."""

    def __init__(self, *scripts: str) -> None:
        known = {s.lower(): s for s in SCRIPTS}
        unknown = [s for s in scripts if s.lower() not in known]
        if not scripts or unknown:
            raise ValueError(f"Script: unknown script(s) {unknown}; choose from {sorted(SCRIPTS)}")
        self.scripts = tuple(known[s.lower()] for s in scripts)

    def __call__(self, request: Request) -> bool:
        return detect_script(request.prompt) in self.scripts

    def __repr__(self) -> str:
        return f"Script({', '.join(map(repr, self.scripts))})"


class Metadata:
    """True when ``request.metadata[key]`` equals ``value`` -- or, if ``value`` is callable, ``value(v)`` is true.

    >>> Metadata("language", "hi")(Request.of("q", metadata={"language": "hi"}))
    True
    """

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value

    def __call__(self, request: Request) -> bool:
        if self.key not in request.metadata:
            return False
        actual = request.metadata[self.key]
        return bool(self.value(actual)) if callable(self.value) else actual == self.value

    def __repr__(self) -> str:
        value = getattr(self.value, "__name__", None) if callable(self.value) else None
        return f"Metadata({self.key!r}, {value or repr(self.value)})"
