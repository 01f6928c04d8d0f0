"""Scorers by name: :data:`SCORERS`, :func:`as_scorer` and the default scorer for a dataset's kind of answers.

>>> sorted(SCORERS)[:3]
['choice', 'contains', 'exact']
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..dataset import Item
from .base import BaseScorer, Scorer
from .choice import MultipleChoice
from .contains import Contains, RegexMatch
from .exact import ExactMatch, NormalizedExactMatch, Numeric
from .function import FunctionScorer
from .json_fields import JsonFields
from .token_f1 import TokenF1

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["SCORERS", "as_scorer", "default_scorer_for"]


SCORERS: dict[str, Callable[[], BaseScorer]] = {
    "exact": ExactMatch,
    "normalized_exact": NormalizedExactMatch,
    "label": lambda: NormalizedExactMatch(name="label"),
    "numeric": Numeric,
    "choice": MultipleChoice,
    "contains": Contains,
    "regex": RegexMatch,
    "json_fields": JsonFields,
    "token_f1": TokenF1,
}


def as_scorer(obj: Scorer | str | Callable[..., Any]) -> Scorer:
    """A scorer from a scorer, a name (see ``SCORERS``) or a callable ``(output, expected) -> bool | float``.

    >>> as_scorer("label")
    NormalizedExactMatch(name='label')
    """
    if isinstance(obj, Scorer):
        return obj
    if isinstance(obj, str):
        try:
            return SCORERS[obj]()
        except KeyError:
            hint = "; make a judge with LLMJudge(model)" if obj == "judge" else ""
            raise ValueError(f"unknown scorer {obj!r}; choose from {sorted(SCORERS)}{hint}") from None
    if callable(obj):
        return FunctionScorer(obj)
    raise TypeError(f"cannot make a scorer from {type(obj).__name__}: pass a Scorer, a name or a callable")


_KIND_SCORERS = {"number": "numeric", "json": "json_fields", "label": "label", "choice": "choice"}


def default_scorer_for(dataset: Dataset | Iterable[Item]) -> Scorer:
    """A sensible scorer for a dataset, from its items' ``metadata["answer_type"]`` or the type of ``expected``.

    >>> from orchestra_lab.experiments.dataset import load_dataset
    >>> [default_scorer_for(load_dataset(n)).name for n in ("arithmetic", "intents", "extraction")]
    ['numeric', 'label', 'json_fields']
    """
    kinds = Counter(answer_kind(item) for item in dataset)
    kind = kinds.most_common(1)[0][0] if kinds else "text"
    return as_scorer(_scorer_name_for(kind))


@functools.cache
def scorer_for_kind(kind: str) -> Scorer:
    """The default scorer for one answer kind, built once (simulated judges consult it on every item)."""
    return as_scorer(_scorer_name_for(kind))


def _scorer_name_for(kind: str) -> str:
    return _KIND_SCORERS.get(kind, "normalized_exact")


def answer_kind(item: Item) -> str:
    declared = item.metadata.get("answer_type")
    if isinstance(declared, str):
        return declared
    expected = item.expected
    if isinstance(expected, Mapping):
        return "json"
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return "number"
    if item.metadata.get("choices"):
        return "label"
    return "text"
