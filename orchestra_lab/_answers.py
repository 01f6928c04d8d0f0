"""The one answer normalizer: numbers compared as numbers, text as normalized text.

Scorers, ensemble votes, cascade agreement and simulated judges all compare answers through this module, so
they agree on what "the same answer" means.

- A **number** is read with its sign, decimals, thousands separators (``1,234,567`` and Indian ``12,34,567``),
  a simple fraction (``3/4``), an exponent (``1e3``) and a trailing ``%``. A whole answer is a number when,
  after an optional "the answer is" and a currency (``₹``, ``Rs``, ``INR``, ``$``, ``USD``, ``€``, ``£``), it is
  one number followed by at most one unit word (``42 apples``) and final punctuation.
- **Text** is NFKC-folded, case-folded, punctuation dropped (``_`` and dashes become spaces), whitespace
  collapsed; numbers inside text keep their value (``4.2`` stays ``4.2``, ``1,000`` becomes ``1000``).

>>> answers_match("₹1,00,000.", "100000"), answers_match("4.2", "42"), answers_match("-5", "5")
(True, False, False)
>>> answers_match("The answer is 42.0", "42"), answers_match("Order_Status.", "order status")
(True, True)
>>> [canonical_answer(a) for a in ("42.0", "(b)", "Rs 1,234", '{"b": 1, "a": 2}', "  New   York. ")]
['42', 'B', '1234', '{"a":2,"b":1}', 'new york']
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "Number",
    "answer_number",
    "answers_match",
    "canonical_answer",
    "normalize_text",
    "numbers_equal",
    "numbers_in",
    "parse_number",
]

# -- the number patterns (the only ones in the package) ------------------------------------------------------------
_CURRENCY = r"(?:₹|rs\.?|inr|us\$|\$|usd|€|eur|£|gbp)"
_GROUPED = r"\d{1,3}(?:,\d{3})+(?!\d)|\d{1,2}(?:,\d{2})+,\d{3}(?!\d)"  # 1,234,567 / 12,34,567 (Indian grouping)
_MAGNITUDE = rf"(?:{_GROUPED}|\d+)(?:\.\d+)?|(?<!\w)\.\d+"  # ... or 1234 / 1234.5 / .5
_NUMBER = re.compile(
    rf"(?:(?<![\w)])(?P<sign>[-−+])(?:\s*(?i:{_CURRENCY})\s*)?)?(?P<a>{_MAGNITUDE})"  # -7, -₹7, -Rs 7
    r"(?:\s*/\s*(?P<b>\d+)(?![\d.]))?(?:[eE](?P<exp>[-+]?\d{1,2})(?!\d))?(?:\s*(?P<pct>%))?"
)
_ANSWER_MARKER = re.compile(r"answer\s*(?:is|:|=)|####", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)?\s*", re.IGNORECASE)
_UNIT = r"[^\W\d_][\w/.]*"  # one word after the number: "42 apples", "5 km/h", "100 rupees"
_WHOLE_NUMBER = re.compile(
    rf"(?P<lead>[-−+])?\s*(?:{_CURRENCY}\s*)?(?:{_NUMBER.pattern})(?:\s*(?:{_CURRENCY}|{_UNIT}))?\s*[.!]?",
    re.IGNORECASE,
)
_LETTER = re.compile(r"\(?([A-Ea-e])\s*[).:]?")


class Number(NamedTuple):
    """A number read from text: its value, and whether it was written as a percentage (``12.5%``)."""

    value: float
    percent: bool = False

    def readings(self) -> tuple[float, ...]:
        """The values it may stand for: ``12.5%`` is 12.5 or 0.125."""
        return (self.value, self.value / 100) if self.percent else (self.value,)


def numbers_in(text: str) -> list[Number]:
    """Every number in ``text``, in order (``x/0`` is skipped).

    >>> [n.value for n in numbers_in("from 3-5 it is -7, or 1,23,456 or 3/4 or 1e3")]
    [3.0, 5.0, -7.0, 123456.0, 0.75, 1000.0]
    """
    return [number for match in _NUMBER.finditer(text) if (number := _number_of(match)) is not None]


def _number_of(match: re.Match[str]) -> Number | None:
    value = float(match["a"].replace(",", ""))
    if match["b"] is not None:
        if int(match["b"]) == 0:
            return None
        value /= int(match["b"])
    if match["exp"] is not None:
        value *= 10.0 ** int(match["exp"])
    if match["sign"] in ("-", "−"):
        value = -value
    return Number(value, bool(match["pct"]))


def parse_number(text: str) -> Number | None:
    """The number a whole answer is, or ``None`` when the answer is not just a number.

    >>> [parse_number(t) for t in ("-₹1,234.50", "Rs. 1,00,000", "12.5 %", "$3/4", "42 apples.", "answer: 7")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [Number(value=-1234.5, percent=False), Number(value=100000.0, percent=False),
     Number(value=12.5, percent=True), Number(value=0.75, percent=False), Number(value=42.0, percent=False),
     Number(value=7.0, percent=False)]
    >>> [parse_number(t) for t in ("4 2", "room 42", "1/0", "3-5", "")]
    [None, None, None, None, None]
    """
    core = _ANSWER_PREFIX.sub("", unicodedata.normalize("NFKC", text)).strip()
    whole = _WHOLE_NUMBER.fullmatch(core)
    if whole is None or (whole["lead"] and whole["sign"]):
        return None
    number = _number_of(whole)
    if number is None or whole["lead"] not in ("-", "−"):
        return number
    return Number(-number.value, number.percent)


def answer_number(text: str) -> Number | None:
    """The number an answer gives: the first after the last "answer is" / "Answer:" / "####", else the last one.

    >>> answer_number("17 + 25 = 42"), answer_number("Answer: 17 (after 3 steps)").value, answer_number("none")
    (Number(value=42.0, percent=False), 17.0, None)
    """
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        after = numbers_in(text[markers[-1].end() :])
        if after:
            return after[0]
    found = numbers_in(text)
    return found[-1] if found else None


def numbers_equal(a: Number, b: Number, *, rel_tol: float = 1e-12, abs_tol: float = 1e-12) -> bool:
    """Whether some reading of ``a`` is within tolerance of some reading of ``b``.

    >>> numbers_equal(Number(12.5, percent=True), Number(0.125)), numbers_equal(Number(42), Number(4.2))
    (True, False)
    """
    return any(math.isclose(x, y, rel_tol=rel_tol, abs_tol=abs_tol) for x in a.readings() for y in b.readings())


# -- text --------------------------------------------------------------------------------------------------------
_CONNECTORS = {"Pc", "Pd"}  # _ and dashes become spaces: "order_status" == "order status"


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation dropped (connectors become spaces), whitespace collapsed; numbers inside the
    text keep their value and are written canonically.

    >>> normalize_text("  Order_Status:  ₹1,00,000.00 -- or 4.2? ")
    'order status ₹100000 or 4.2'
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    parts, start = [], 0
    for match in _NUMBER.finditer(folded):
        number = _number_of(match)
        if number is None:
            continue
        parts += [_without_punctuation(folded[start : match.start()]), _canonical(number)]
        start = match.end()
    parts.append(_without_punctuation(folded[start:]))
    return " ".join(_join_apart(parts).split())


def _join_apart(parts: list[str]) -> str:
    """Concatenated, with a space where two digits would touch ("5, 6" must not become "56")."""
    text = ""
    for part in filter(None, parts):
        text += " " + part if text[-1:].isdigit() and part[0].isdigit() else part
    return text


def _without_punctuation(text: str) -> str:
    chars = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _CONNECTORS:
            chars.append(" ")
        elif not category.startswith("P"):
            chars.append(ch)
    return "".join(chars)


def _canonical(number: Number) -> str:
    value = number.value
    text = str(int(value)) if value.is_integer() else repr(value)
    return text + ("%" if number.percent else "")


# -- whole answers -----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)  # a pure function of the text: votes ask it for the same few answers again and again
def canonical_answer(text: str) -> str:
    """A canonical form of an answer, for grouping votes: a JSON value with sorted keys, a choice letter, a number
    (``"42.0"`` == ``"42"`` == ``"₹42"``), else :func:`normalize_text` without a leading "the answer is".

    >>> [canonical_answer(a) for a in ("answer: b", "The answer is B", "1,000", "Paris.", "-0.50")]
    ['B', 'B', '1000', 'paris', '-0.5']
    """
    stripped = text.strip()
    canonical_json = _canonical_json(stripped)
    if canonical_json is not None:
        return canonical_json
    core = _ANSWER_PREFIX.sub("", stripped).strip().rstrip(".!").strip()
    letter = _LETTER.fullmatch(core)
    if letter:
        return letter.group(1).upper()
    number = parse_number(core)
    return _canonical(number) if number is not None else normalize_text(core)


def answers_match(answer: str, expected: str) -> bool:
    """Whether two answers are the same: as numbers when both are numbers (``12.5%`` also matches ``0.125``),
    else by :func:`canonical_answer`.

    >>> answers_match("0.75", "3/4"), answers_match("1/2", "12"), answers_match("42.0", "42")
    (True, False, True)
    >>> answers_match("B.", "(b)"), answers_match("12.5%", "0.125")
    (True, True)
    """
    a, b = parse_number(answer), parse_number(expected)
    if a is not None and b is not None:
        return numbers_equal(a, b)
    return canonical_answer(answer) == canonical_answer(expected)


def _canonical_json(text: str) -> str | None:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except json.JSONDecodeError:
        return None
