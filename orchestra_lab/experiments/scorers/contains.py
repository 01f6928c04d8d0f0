"""Scorers that search the output: for the expected answer (:class:`Contains`) or a pattern (:class:`RegexMatch`).

>>> from orchestra_lab.experiments.dataset import Item
>>> Contains().score("It comes to Rs 1,23,456 in all.", Item("q", "...", 123456))
1.0
"""

from __future__ import annotations

import re

from ..._answers import normalize_text, numbers_equal, numbers_in, parse_number
from ...types import render_answer
from ..dataset import Item
from .base import BaseScorer, alternatives

__all__ = ["Contains", "RegexMatch"]


class Contains(BaseScorer):
    """1 when the expected answer appears in the output: a number as an equal number anywhere in it (``"4.2"``
    does not contain 42), text as whole words after normalizing (default) -- or, with ``normalize=False``, the
    expected text verbatim.

    >>> Contains().score("I think the intent is Refund.", Item("q", "...", "refund"))
    1.0
    """

    def __init__(self, *, normalize: bool = True, name: str = "contains") -> None:
        super().__init__()
        self.normalize = normalize
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(self._contains(output, render_answer(e)) for e in alternatives(item.expected)))

    def _contains(self, output: str, expected: str) -> bool:
        if not self.normalize:
            return expected in output
        number = parse_number(expected)
        if number is not None:
            return any(numbers_equal(found, number) for found in numbers_in(output))
        return f" {normalize_text(expected)} " in f" {normalize_text(output)} "


class RegexMatch(BaseScorer):
    """1 when ``pattern`` is found in the output (case-sensitive unless ``flags`` say otherwise); without a
    pattern, each item's expected value is the pattern.

    >>> RegexMatch(r"\\bintent:\\s*refund\\b", flags=re.IGNORECASE).score("Intent: REFUND", Item("q", "..."))
    1.0
    """

    def __init__(self, pattern: str | None = None, *, flags: re.RegexFlag | int = 0, name: str = "regex") -> None:
        super().__init__()
        self.pattern = pattern
        self.flags = flags
        self.name = name
        self._compiled = re.compile(pattern, flags) if pattern is not None else None

    def _score(self, output: str, item: Item) -> float:
        compiled = self._compiled
        if compiled is None:
            if item.expected is None:
                return self._unscorable(item, "no pattern given and the item has no expected value")
            try:
                compiled = re.compile(str(item.expected), self.flags)
            except re.error as err:
                return self._unscorable(item, f"expected value {item.expected!r} is not a valid regex: {err}")
        return float(compiled.search(output) is not None)
