"""Helpers for strategies that ask a model to judge: reading a score or a pick out of free text, and the
simulation metadata a judge request carries.

A judge request carries, as ``metadata``, only what a simulated judge needs to be right at its skill rate: the
allowed answers (``choices``), the verdict a perfect judge would give (``expected``, derived from the item's
expected answer when the item has one) and the item's ``difficulty``. Real providers never send metadata.

>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
(2, None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._answers import answers_match
from ..types import render_answer

_INTEGER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")


def parse_pick(text: str, count: int) -> int | None:
    """The first whole number in ``text`` that is a candidate number 1..count; ``None`` if none is."""
    for match in _INTEGER.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= count:
            return number
    return None


def is_expected(answer: str, item: Mapping[str, Any]) -> bool | None:
    """Whether ``answer`` matches the item's expected answer after normalization (``None`` if there is none)."""
    expected = item.get("expected")
    if expected is None:
        return None
    return answers_match(answer, render_answer(expected))


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
