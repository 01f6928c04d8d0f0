"""Answer normalization, so votes and agreement compare meaning rather than formatting.

>>> [normalize_answer(a) for a in ["42.0", " 42 ", "1,000", "(B)", "B.", "answer: b", "Paris."]]
['42', '42', '1000', 'B', 'B', 'B', 'paris']
"""

from __future__ import annotations

import json
import re

_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)?\s*", re.IGNORECASE)
_LETTER = re.compile(r"^\(?([A-Ea-e])\s*[).:]?$")
_NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def normalize_answer(text: str) -> str:
    """A canonical form of an answer: numbers (``"42.0"`` == ``"42"``), choice letters (``"(b)"`` == ``"B"``),
    JSON objects (key order), else case-folded text with whitespace collapsed and trailing punctuation dropped."""
    stripped = text.strip()
    canonical_json = _canonical_json(stripped)
    if canonical_json is not None:
        return canonical_json
    core = _PREFIX.sub("", stripped).strip().rstrip(".!").strip()
    letter = _LETTER.match(core)
    if letter:
        return letter.group(1).upper()
    if _NUMBER.match(core):
        return _canonical_number(core)
    return " ".join(core.casefold().split())


def _canonical_number(text: str) -> str:
    value = float(text.replace(",", ""))
    return str(int(value)) if value.is_integer() else repr(value)


def _canonical_json(text: str) -> str | None:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except json.JSONDecodeError:
        return None
