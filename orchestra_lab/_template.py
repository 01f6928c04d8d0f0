"""Prompt templates with ``{name}`` slots, used by judges, routers and aggregators.

Slots are filled in one pass, so text put in a slot (a user's question containing ``{answer}``) is never filled
again; braces that are not slots (JSON in a rubric) are left alone.

>>> fill("Q: {question} A: {answer} {not_a_slot}", question="say {answer}", answer="4")
'Q: say {answer} A: 4 {not_a_slot}'
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced by its value, in one pass."""
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, values)) + r")\}")
    return pattern.sub(lambda match: values[match.group(1)], template)


def require_slots(template: str, names: Iterable[str], where: str) -> str:
    """``template`` if it has every ``{name}`` slot, else a ValueError naming ``where`` and the missing slot.

    >>> require_slots("Rate {answer}", ["question", "answer"], "JudgeApproval.prompt")
    Traceback (most recent call last):
    ...
    ValueError: JudgeApproval.prompt: the template has no {question} placeholder
    """
    for name in names:
        if "{" + name + "}" not in template:
            raise ValueError(f"{where}: the template has no {{{name}}} placeholder")
    return template
