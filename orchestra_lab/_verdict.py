"""Reading a number in [0, 1] out of a model's free text: a judge's score (LLM-as-judge scorers, judging strategies)
and a model's stated confidence (the cascade's :class:`~orchestra_lab.strategies.SelfConfidence`).

One reading rule for both: ``a/b`` and "a out of b" give a/b, ``80%`` gives 0.8, and a value outside [0, 1] after
scaling is an error (``None`` with the reason), never clamped.

>>> parse_verdict("Mostly right, one slip.\\nScore: 4/5")
(0.8, None)
>>> parse_verdict("I cannot grade this.")
(None, 'no score in the verdict')
>>> parse_confidence("Paris. Confidence: 9/10")
(0.9, None)
"""

from __future__ import annotations

import re

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
