"""Helpers for strategies that ask a model to judge: reading a pick out of free text.

What a judge request carries besides its prompt (the task: the answer or the candidates judged, never the truth)
is made by :func:`orchestra_lab._answer_key.verdict_task` and :func:`~orchestra_lab._answer_key.pick_task`.

>>> parse_pick("The best is [2].", 3), parse_pick("none of them", 3)
(2, None)
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")


def parse_pick(text: str, count: int) -> int | None:
    """The first whole number in ``text`` that is a candidate number 1..count; ``None`` if none is."""
    for match in _INTEGER.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= count:
            return number
    return None
