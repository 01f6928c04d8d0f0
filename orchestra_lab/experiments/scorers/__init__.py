"""Scorers: how good an output is for a dataset item, as a number from 0 to 1.

A scorer grades an answer after the call and may read the item's expected answer; it has a ``name`` and
``async ascore(output, item) -> float`` (``score`` is the sync form). A score is NaN when the answer cannot be
judged at all (see :mod:`~orchestra_lab.experiments.scorers.base`). One module per kind:

- :mod:`~.exact`: :class:`ExactMatch`, :class:`NormalizedExactMatch`, :class:`Numeric`
- :mod:`~.choice`: :class:`MultipleChoice`
- :mod:`~.contains`: :class:`Contains`, :class:`RegexMatch`
- :mod:`~.json_fields`: :class:`JsonFields`; :mod:`~.token_f1`: :class:`TokenF1`
- :mod:`~.judge`: :class:`LLMJudge`; :mod:`~.function`: :class:`FunctionScorer`
- :mod:`~.recorded`: :class:`RecordedScore`; :mod:`~.names`: :func:`as_scorer`, :func:`default_scorer_for`

Numbers compare as numbers and text as normalized text everywhere, through one normalizer
(:mod:`orchestra_lab._answers`).

>>> from orchestra_lab.experiments.dataset import Item
>>> item = Item("q1", "What is 10% of ₹12,340?", expected=1234)
>>> as_scorer("numeric").score("That is ₹1,234.00.", item)
1.0
>>> as_scorer(lambda output, expected: output.strip() == str(expected)).score("1234", item)
1.0
"""

from __future__ import annotations

from .base import BaseScorer, ResponseScorer, Scorer, score_response, unscorable_warnings
from .choice import MultipleChoice
from .contains import Contains, RegexMatch
from .exact import ExactMatch, NormalizedExactMatch, Numeric
from .function import FunctionScorer, ScoreResult
from .json_fields import JsonFields
from .judge import LLMJudge
from .names import SCORERS, as_scorer, default_scorer_for
from .recorded import RecordedScore
from .token_f1 import TokenF1

__all__ = [
    "SCORERS",
    "BaseScorer",
    "Contains",
    "ExactMatch",
    "FunctionScorer",
    "JsonFields",
    "LLMJudge",
    "MultipleChoice",
    "NormalizedExactMatch",
    "Numeric",
    "RecordedScore",
    "RegexMatch",
    "ResponseScorer",
    "ScoreResult",
    "Scorer",
    "TokenF1",
    "as_scorer",
    "default_scorer_for",
    "score_response",
    "unscorable_warnings",
]
