"""Reading a score out of a judge model's free-text verdict (used by LLM-as-judge scorers and judging strategies).

>>> parse_verdict("Mostly right, one slip.\\nScore: 4/5")
(0.8, None)
>>> parse_verdict("I cannot grade this.")
(None, 'no score in the verdict')
"""

from __future__ import annotations

import re

_NUMBER = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
_SCORE = rf"(?P<a>{_NUMBER})\s*(?:(?:/|out\s+of)\s*(?P<b>{_NUMBER}))?\s*(?P<pct>%)?"
_KEYED = re.compile(rf"\b(?:score|rating|grade)\b\s*(?:[:=]|is|of)?\s*{_SCORE}", re.IGNORECASE)
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
    a = float(match["a"])
    if match["b"] is not None:
        b = float(match["b"])
        if b <= 0 or not 0 <= a <= b:
            return None, f"score {match['a']}/{match['b']} is out of range"
        return a / b, None
    if match["pct"]:
        return (a / 100, None) if 0 <= a <= 100 else (None, f"score {match['a']}% is out of range")
    if scale is not None and (a.is_integer() or a > 1):
        return (a / scale, None) if 0 <= a <= scale else (None, f"score {match['a']} is not between 0 and {scale:g}")
    if 0 <= a <= 1:
        return a, None
    return None, f"bare score {match['a']} is not in [0, 1] and no scale was given"


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None
