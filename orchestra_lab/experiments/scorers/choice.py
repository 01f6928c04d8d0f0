"""Multiple choice: the choice letter the output names is the expected one.

>>> from orchestra_lab.experiments.dataset import Item
>>> item = Item("q", "...", "Delhi", metadata={"choices": ["Pune", "Goa", "Delhi"]})
>>> MultipleChoice().score("The answer is (C).", item)
1.0
"""

from __future__ import annotations

import re

from ...types import render_answer
from ..dataset import Item
from .base import BaseScorer

__all__ = ["MultipleChoice"]


class MultipleChoice(BaseScorer):
    """1 when the choice letter in the output is the expected one.

    Reads "Answer: b", "the answer is (B)", "(B)", an output starting with "B." / "B)" / "B", or the only
    capital choice letter standing alone. The expected value is a letter, or one of ``metadata["choices"]``.

    >>> s = MultipleChoice()
    >>> [s.score(out, Item("q", "...", "B")) for out in ("(B)", "B. Paris", "Answer: b", "I'd say it is A")]
    [1.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, *, letters: str = "ABCDE", name: str = "choice") -> None:
        super().__init__()
        self.letters = letters.upper()
        self.name = name
        upper, lower = f"[{re.escape(self.letters)}]", f"[{re.escape(self.letters.lower())}]"
        # a lower-case letter counts only when it ends the sentence: "the answer is a bit unclear" names no choice
        letter = rf"\(?(?:({upper})\b|({lower})(?=[.)\]:,]|\s*$))"
        self._patterns = [
            re.compile(rf"(?i:answer)\s*(?:is|:)?\s*(?:(?i:option)\s*)?{letter}"),
            re.compile(rf"\(({upper})\)"),
            re.compile(rf"^\s*({upper})(?:[.):]|\s*$)"),
        ]
        self._standalone = re.compile(rf"\b({upper})\b")

    def _score(self, output: str, item: Item) -> float:
        wanted = self._expected_letter(item)
        if wanted is None:
            return self._unscorable(item, f"expected value {item.expected!r} is not one of the letters {self.letters}")
        return float(self._letter(output) == wanted)

    def _letter(self, text: str) -> str | None:
        for pattern in self._patterns:
            matches = list(pattern.finditer(text))
            if matches:
                last = matches[-1]
                return last.group(last.lastindex or 1).upper()
        alone = set(self._standalone.findall(text))
        return alone.pop() if len(alone) == 1 else None

    def _expected_letter(self, item: Item) -> str | None:
        expected = "" if item.expected is None else render_answer(item.expected)
        choices = [str(c) for c in item.metadata.get("choices") or []]
        if expected in choices and choices.index(expected) < len(self.letters):
            return self.letters[choices.index(expected)]
        letter = expected.strip(" ().").upper()
        return letter if len(letter) == 1 and letter in self.letters else None
