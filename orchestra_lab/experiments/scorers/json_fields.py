"""JSON fields: the share of the expected object's fields that the JSON object in the output gets right.

>>> from orchestra_lab.experiments.dataset import Item
>>> JsonFields().score('{"amount": "₹1,900"}', Item("x", "...", expected={"amount": 1900}))
1.0
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..._answers import Number, answer_number, answers_match, normalize_text, numbers_equal
from ...types import render_answer
from ..dataset import Item
from .base import BaseScorer

__all__ = ["JsonFields"]


class JsonFields(BaseScorer):
    """Share of the expected object's fields that the JSON object in the output gets right.

    The object may sit in a ```json fence or in prose. Values are compared as answers (text by case,
    punctuation and whitespace; numbers by value, so "₹1,900" matches 1900; null matches a missing field).
    ``fields`` limits the comparison to some keys.

    >>> item = Item("x1", "...", expected={"name": "Meera Iyer", "amount": 1900, "city": "Pune"})
    >>> output = 'Here: ```json\\n{"name": "meera iyer", "amount": "1,900", "city": "Delhi"}\\n```'
    >>> JsonFields().score(output, item)
    0.6666666666666666
    """

    def __init__(self, fields: Iterable[str] | None = None, *, name: str = "json_fields") -> None:
        super().__init__()
        self.fields = None if fields is None else tuple(fields)
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        expected = item.expected
        if isinstance(expected, str):
            expected = _json_object(expected)
        if not isinstance(expected, Mapping):
            return self._unscorable(item, f"expected value {item.expected!r} is not a JSON object")
        keys = self.fields if self.fields is not None else tuple(expected)
        if not keys:
            return self._unscorable(item, "no fields to compare")
        got = _json_object(output)
        if got is None:
            return 0.0
        return sum(_values_match(expected.get(k), got.get(k)) for k in keys) / len(keys)


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` -- bare, inside a ```json fence, or surrounded by prose."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


_NULLS = {"", "null", "none", "n/a", "na", "nil"}


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and normalize_text(value) in _NULLS)


def _values_match(expected: Any, got: Any) -> bool:
    """The same value: numbers within 1e-6 (also "₹1,900" vs 1900), objects and lists field by field, else the
    same answer (:func:`~orchestra_lab._answers.answers_match`)."""
    if _is_null(expected) or _is_null(got):
        return _is_null(expected) and _is_null(got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return normalize_text(str(expected)) == normalize_text(str(got))
    if isinstance(expected, (int, float)):
        number = Number(float(got)) if isinstance(got, (int, float)) else answer_number(str(got))
        return number is not None and numbers_equal(number, Number(float(expected)), rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(expected, Mapping):
        return (
            isinstance(got, Mapping)
            and set(expected) == set(got)
            and all(_values_match(expected[k], got[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(got, list) and len(expected) == len(got) and all(map(_values_match, expected, got))
    return answers_match(render_answer(got), render_answer(expected))
