"""Helpers for strategies that ask a model to judge: reading a score or a pick out of free text, and the
simulation metadata a judge request carries.

A judge request carries, as ``metadata``, only what a simulated judge needs to be right at its skill rate: the
allowed answers (``choices``), the verdict a perfect judge would give (``expected``, derived from the item's
expected answer when the item has one) and the item's ``difficulty``. Real providers never send metadata.

>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
((2, None), (None, 'names no candidate'))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import render_answer
from ._normalize import normalize_answer

_NUMBER = r"\[?\s*#?(\d+)\s*\]?(?![\d.]\d)"
# Markers of the judge's pick, strongest first: the "Best: [n]" the prompt asks for, a bracketed candidate number,
# "answer: n" / "candidate: n", then any whole number (a simulated judge replies with the bare choice).
_PICK_MARKERS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\bbest(?:\s+(?:answer|candidate|one|response))?\s*(?:[:=]|\bis\b)\s*{_NUMBER}", re.IGNORECASE),
    re.compile(r"\[\s*(\d+)\s*\]"),
    re.compile(rf"\b(?:answer|candidate|choice|pick)\s*(?:[:=]|\bis\b)\s*{_NUMBER}", re.IGNORECASE),
    re.compile(r"(?<![\d.])(\d+)(?![\d.]*\d)"),
)


def parse_pick(text: str, count: int) -> tuple[int | None, str | None]:
    """(the candidate number 1..count the judge picked, None), or (None, why not).

    The strongest marker found decides: "Best: [n]", then "[n]", then "answer: n", then a bare number. Several
    different candidates at that level are an ambiguous verdict, never a guess.

    >>> parse_pick("Of the 3 candidates, the best is [2].", 3), parse_pick("2", 3)
    ((2, None), (2, None))
    >>> parse_pick("Answer 1 is wrong; 2 is best.", 3)
    (None, 'names several candidates (1, 2), none marked best: ambiguous')
    """
    cleaned = text.replace("*", "")
    for marker in _PICK_MARKERS:
        named = sorted({int(n) for n in marker.findall(cleaned)} & set(range(1, count + 1)))
        if len(named) == 1:
            return named[0], None
        if named:
            return None, f"names several candidates ({', '.join(map(str, named))}), none marked best: ambiguous"
    return None, "names no candidate"


def is_expected(answer: str, item: Mapping[str, Any]) -> bool | None:
    """Whether ``answer`` matches the item's expected answer after normalization (``None`` if there is none)."""
    expected = item.get("expected")
    if expected is None:
        return None
    return normalize_answer(answer) == normalize_answer(render_answer(expected))


def _difficulty(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"difficulty": item["difficulty"]} if item.get("difficulty") is not None else {}


def verdict_metadata(item: Mapping[str, Any], answer: str) -> dict[str, Any]:
    """Metadata for a judge rating ``answer`` 0 or 1."""
    correct = is_expected(answer, item)
    expected = {} if correct is None else {"expected": "1" if correct else "0"}
    return {"choices": ["0", "1"]} | expected | _difficulty(item)


def pick_metadata(item: Mapping[str, Any], answers: Sequence[str]) -> dict[str, Any]:
    """Metadata for a judge picking the best of ``answers`` by number (1-based)."""
    right = [i for i, a in enumerate(answers, 1) if is_expected(a, item)]
    expected = {"expected": str(right[0])} if right else {}
    return {"choices": [str(i) for i in range(1, len(answers) + 1)]} | expected | _difficulty(item)
