"""Helpers for strategies that ask a model to judge: reading a pick out of free text.

What a judge request carries besides its prompt (the task: the answer or the candidates judged, never the truth)
is made by :func:`orchestra_lab._answer_key.verdict_task` and :func:`~orchestra_lab._answer_key.pick_task`.

>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
((2, None), (None, 'names no candidate'))
"""

from __future__ import annotations

import re

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
