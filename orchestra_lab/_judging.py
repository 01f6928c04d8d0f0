"""Everything about asking a model to judge, in one place: the LLM-as-judge rubric, and reading its free text --
a score in [0, 1] (judge scorers, judging strategies), a stated confidence (the cascade's
:class:`~orchestra_lab.strategies.SelfConfidence`) and a pick among numbered candidates (best-of-N).

One reading rule for scores and confidences: ``a/b`` and "a out of b" give a/b, ``80%`` gives 0.8, and a value
outside [0, 1] after scaling is an error (``None`` with the reason), never clamped. A pick is read from its
strongest marker ("Best: [n]" > "[n]" > "answer: n" > a bare number); several candidates at that level are an
ambiguous verdict, never a guess. What a judge request carries besides its prompt (the task, never the truth) is
made by :mod:`orchestra_lab._answer_key`.

>>> parse_verdict("Mostly right, one slip.\\nScore: 4/5")
(0.8, None)
>>> parse_verdict("I cannot grade this.")
(None, 'no score in the verdict')
>>> parse_confidence("Paris. Confidence: 9/10")
(0.9, None)
>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
((2, None), (None, 'names no candidate'))
"""

from __future__ import annotations

import re
from typing import Any

from ._template import fill

_NUMBER = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
_SCORE = rf"(?P<a>{_NUMBER})\s*(?:(?:/|out\s+of)\s*(?P<b>{_NUMBER}))?\s*(?P<pct>%)?"
_KEYED = re.compile(rf"\b(?:score|rating|grade)\b\s*(?:[:=]|is|of)?\s*{_SCORE}", re.IGNORECASE)
_CONFIDENCE = re.compile(rf"\bconfidence(?:\s+level)?\b\s*(?:[:=]|is|of)?\s*{_SCORE}", re.IGNORECASE)
_ANY = re.compile(_SCORE, re.IGNORECASE)


def parse_verdict(text: str, scale: float | None = 5) -> tuple[float | None, str | None]:
    """(score in [0, 1], None), or (None, why not). The last "Score: ..." wins; without one, the last number.

    ``a/b`` and "a out of b" give a/b, ``80%`` gives 0.8; a bare integer (or a number above 1) is read out of
    ``scale``; any other bare number must already be in [0, 1].

    >>> [parse_verdict(t)[0] for t in ("Score: 8/10", "0.8", "rating: 3", "**Score:** 90%", "2 out of 4")]
    [0.8, 0.8, 0.6, 0.9, 0.5]
    >>> parse_verdict("Score: 7", scale=None)
    (None, 'bare score 7 is not in [0, 1] and no scale was given')
    """
    cleaned = text.replace("*", "")
    match = _last(_KEYED, cleaned) or _last(_ANY, cleaned)
    if match is None:
        return None, "no score in the verdict"
    return _read(match, scale, integers_on_scale=True)


def parse_confidence(text: str, *, keyed: bool = True) -> tuple[float | None, str | None]:
    """(confidence in [0, 1], None); (None, None) when none is stated; (None, why) when it is unreadable.

    Reads "Confidence: 9/10", "4 out of 5", "90%", "0.9" or "90" (a bare number above 1 is a percentage, so 1 is
    certainty and 90 is 0.9).

    ``keyed`` (an answer's text): only a number after the word "confidence" counts, the last one wins; otherwise
    (a confidence given on its own, e.g. in metadata) the text's last number.

    >>> [parse_confidence(t)[0] for t in ("Confidence: 4 out of 5", "confidence 90%", "Confidence: 90", "1")]
    [0.8, 0.9, 0.9, None]
    >>> parse_confidence("Paris. Confidence: 150%")
    (None, 'score 150% is out of range')
    >>> parse_confidence("0.75", keyed=False)
    (0.75, None)
    """
    cleaned = text.replace("*", "")
    match = _last(_CONFIDENCE if keyed else _ANY, cleaned)
    if match is None:
        return None, None
    return _read(match, 100, integers_on_scale=False)


def _read(match: re.Match[str], scale: float | None, *, integers_on_scale: bool) -> tuple[float | None, str | None]:
    """The matched number as a value in [0, 1] (see the module's reading rule), or (None, why not)."""
    a = float(match["a"])
    if match["b"] is not None:
        b = float(match["b"])
        if b <= 0 or not 0 <= a <= b:
            return None, f"score {match['a']}/{match['b']} is out of range"
        return a / b, None
    if match["pct"]:
        return (a / 100, None) if 0 <= a <= 100 else (None, f"score {match['a']}% is out of range")
    if scale is not None and (a > 1 or (integers_on_scale and a.is_integer())):
        return (a / scale, None) if 0 <= a <= scale else (None, f"score {match['a']} is not between 0 and {scale:g}")
    if 0 <= a <= 1:
        return a, None
    if scale is None:
        return None, f"bare score {match['a']} is not in [0, 1] and no scale was given"
    return None, f"score {match['a']} is not between 0 and {scale:g}"


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


# -- picks among numbered candidates ----------------------------------------------------------------------
_PICK_NUMBER = r"\[?\s*#?(\d+)\s*\]?(?![\d.]\d)"
# Markers of the judge's pick, strongest first: the "Best: [n]" the prompt asks for, a bracketed candidate number,
# "answer: n" / "candidate: n", then any whole number (a simulated judge replies with the bare choice).
_PICK_MARKERS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\bbest(?:\s+(?:answer|candidate|one|response))?\s*(?:[:=]|\bis\b)\s*{_PICK_NUMBER}", re.IGNORECASE),
    re.compile(r"\[\s*(\d+)\s*\]"),
    re.compile(rf"\b(?:answer|candidate|choice|pick)\s*(?:[:=]|\bis\b)\s*{_PICK_NUMBER}", re.IGNORECASE),
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


# -- the LLM-as-judge rubric ----------------------------------------------------------------------------------
DEFAULT_RUBRIC = """You are grading an answer to a question against a reference answer.

Question:
{input}

Reference answer:
{expected}

Answer to grade:
{output}

Judge whether the answer is correct and complete compared with the reference; ignore style and length.
Reply with one or two sentences of reasoning, then a last line exactly of the form "Score: N/5",
where N is 0 (wrong) to 5 (fully correct)."""

PLACEHOLDERS = ("input", "output", "expected")


def render_rubric(rubric: str, *, input: str, output: str, expected: Any) -> str:
    """Fill ``{input}``, ``{output}`` and ``{expected}``; other braces (e.g. JSON in the rubric) are left alone.

    >>> render_rubric("Q: {input} A: {output} {not_a_slot}", input="2+2", output="4", expected=None)
    'Q: 2+2 A: 4 {not_a_slot}'
    """
    values = {"input": input, "output": output, "expected": "(none given)" if expected is None else str(expected)}
    return fill(rubric, **values)
