"""Helpers for strategies that ask a model to judge: reading a score or a pick out of free text, and the
simulation metadata a judge request carries.

A judge request carries, as ``metadata``, only what a simulated judge needs to be right at its skill rate: the
allowed answers (``choices``), the verdict a perfect judge would give (``expected``, derived from the item's
expected answer when the item has one) and the item's ``difficulty``. Real providers never send metadata.

>>> parse_score("Score: 0.8"), parse_score("80%"), parse_score("7/10"), parse_score("great"), parse_score("7")
(0.8, 0.8, 0.7, None, None)
>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
(2, None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._normalize import normalize_answer

_SCORE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(%|/\s*(\d+(?:\.\d+)?))?")
_INTEGER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")


def parse_score(text: str) -> float | None:
    """The first number in ``text`` as a score in [0, 1] (``80%`` and ``8/10`` understood); ``None`` if there is
    none or it falls outside [0, 1]."""
    match = _SCORE.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    if match.group(2) == "%":
        value /= 100
    elif match.group(3) is not None:
        denominator = float(match.group(3))
        value = value / denominator if denominator else float("nan")
    return value if 0.0 <= value <= 1.0 else None


def parse_pick(text: str, count: int) -> int | None:
    """The first whole number in ``text`` that is a candidate number 1..count; ``None`` if none is."""
    for match in _INTEGER.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= count:
            return number
    return None


def expected_text(value: Any) -> str:
    """An expected answer as text (JSON for objects and lists)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def is_expected(answer: str, item: Mapping[str, Any]) -> bool | None:
    """Whether ``answer`` matches the item's expected answer after normalization (``None`` if there is none)."""
    expected = item.get("expected")
    if expected is None:
        return None
    return normalize_answer(answer) == normalize_answer(expected_text(expected))


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
