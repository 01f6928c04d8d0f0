"""Whole-answer scorers: the exact text, the same answer after normalizing, the same number.

All three compare through the package's one answer normalizer (:mod:`orchestra_lab._answers`): numbers as
numbers (sign, decimals, thousands separators, fractions, currency, ``%``), text as normalized text.

>>> from orchestra_lab.experiments.dataset import Item
>>> item = Item("q", "10% of ₹12,340?", 1234)
>>> [s.score("₹1,234.00", item) for s in (ExactMatch(), NormalizedExactMatch(), Numeric())]
[0.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

from ..._answers import Number, answer_number, answers_match, numbers_equal
from ...types import render_answer
from ..dataset import Item
from .base import BaseScorer, alternatives

__all__ = ["ExactMatch", "NormalizedExactMatch", "Numeric"]


class ExactMatch(BaseScorer):
    """1 when the output, stripped of surrounding whitespace, equals the expected value's text.

    >>> ExactMatch().score(" Paris\\n", Item("q", "Capital of France?", "Paris"))
    1.0
    """

    def __init__(self, *, name: str = "exact") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(output.strip() == render_answer(e).strip() for e in alternatives(item.expected)))


class NormalizedExactMatch(BaseScorer):
    """1 when output and expected are the same answer: equal numbers when both are numbers (``"42.0"`` is 42,
    ``"4.2"`` is not), else equal text after normalizing case, whitespace, punctuation and Unicode (NFKC).

    >>> s = NormalizedExactMatch()
    >>> s.score("Order status.", Item("q", "...", "order_status")), s.score("1,00,000", Item("q", "...", 100000))
    (1.0, 1.0)
    """

    def __init__(self, *, name: str = "normalized_exact") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(answers_match(output, render_answer(e)) for e in alternatives(item.expected)))


class Numeric(BaseScorer):
    """1 when the output's answer number is within tolerance of the expected number.

    The answer number is the first number after the last "answer is" / "Answer:" / "####", else the last number.
    Understands "1,234", "1,23,456", "₹1,234.50", "42.0", "3/4", "-7", "1e3" and "12.5%" (which matches 12.5 or
    0.125).

    >>> s = Numeric()
    >>> [s.score(out, Item("q", "...", 0.75)) for out in ("3/4", "Answer: 0.75 (not 0.7)", "75%", "0.7")]
    [1.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, *, abs_tol: float = 1e-6, rel_tol: float = 1e-6, name: str = "numeric") -> None:
        super().__init__()
        self.abs_tol = abs_tol
        self.rel_tol = rel_tol
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        wanted = expected_number(item.expected)
        if wanted is None:
            return self._unscorable(item, f"expected value {item.expected!r} is not a number")
        got = answer_number(output)
        if got is None:
            return 0.0
        return float(numbers_equal(got, wanted, rel_tol=self.rel_tol, abs_tol=self.abs_tol))


def expected_number(expected: Any) -> Number | None:
    """The expected value as a number: a number as is, text by its answer number; ``None`` when it is none."""
    if isinstance(expected, bool):
        return None
    if isinstance(expected, (int, float)):
        return None if math.isnan(expected) else Number(float(expected))
    return answer_number(str(expected))
