"""SQuAD-style token F1 between the output and the expected answer.

>>> from orchestra_lab.experiments.dataset import Item
>>> round(TokenF1().score("It was 1,000 rupees", Item("q", "...", "1000 rupees")), 3)
0.667
"""

from __future__ import annotations

from collections import Counter

from ..._answers import normalize_text
from ...types import render_answer
from ..dataset import Item
from .base import BaseScorer, alternatives

__all__ = ["TokenF1"]

_ARTICLES = {"a", "an", "the"}


class TokenF1(BaseScorer):
    """Token F1: normalized text (case, punctuation, numbers by value), articles (a, an, the) removed, overlap of
    word tokens.

    >>> round(TokenF1().score("the Eiffel Tower in Paris", Item("q", "...", "Eiffel Tower")), 3)
    0.667
    """

    def __init__(self, *, name: str = "token_f1") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return max(_token_f1(output, render_answer(e)) for e in alternatives(item.expected))


def _token_f1(output: str, expected: str) -> float:
    got = [t for t in normalize_text(output).split() if t not in _ARTICLES]
    want = [t for t in normalize_text(expected).split() if t not in _ARTICLES]
    if not got or not want:
        return float(got == want)
    overlap = sum((Counter(got) & Counter(want)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(want)
    return 2 * precision * recall / (precision + recall)
