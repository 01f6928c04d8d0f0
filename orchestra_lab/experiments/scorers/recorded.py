"""Scoring replayed answers with the score recorded for them (see :mod:`orchestra_lab.experiments.replay`).

>>> from orchestra_lab import ReplayModel, Request
>>> from orchestra_lab.experiments.dataset import Item
>>> from orchestra_lab.experiments.replay import RecordedOutcomes
>>> o = RecordedOutcomes.from_arrays(["q"], ["a", "b"], scores=[[1, float("nan")]], costs=[[1, 1]],
...                                  responses=[["C", "C"]])
>>> replayed = ReplayModel(o, "b").complete(Request.of("?", item_id="q"))
>>> RecordedScore(o).score_response(replayed, Item("q", "?"))  # b's own score is blank: not a's 1.0
nan
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..._sync import run_sync
from ...types import Response
from ..dataset import Item
from .base import BaseScorer

if TYPE_CHECKING:
    from ..replay import RecordedOutcomes

__all__ = ["RecordedScore"]


class RecordedScore(BaseScorer):
    """Scores a replayed answer with the score recorded for it: that of the model that served it on that item.

    Use it with ``Experiment(outcomes.to_dataset(), replay_models(outcomes), scorer=RecordedScore(outcomes))``.
    An experiment hands it the whole response (it is a
    :class:`~orchestra_lab.experiments.scorers.base.ResponseScorer`): the response's ``served_model`` and the
    item id find the recorded cell, and its text must be that cell's recorded answer -- strategies pass the
    serving child's model and text on, so a router's answer scores as its chosen model's. A blank recorded score
    stays missing (NaN, left out of the mean), exactly as in :func:`~orchestra_lab.experiments.replay.baselines`.

    Given only a text (``score(output, item)``, or a response no recorded model served), the answer is looked up
    by its text among the item's recorded answers: it scores when every model that gave that text has the same,
    non-blank score, and is unscorable (NaN, the reason in ``errors``) otherwise -- also for text no model recorded
    (an ensemble's synthesis, a chain's rewrite). :attr:`ambiguous` counts (item, text) pairs whose models were
    scored differently or left blank.

    >>> from orchestra_lab.experiments.dataset import Item
    >>> from orchestra_lab.experiments.replay import RecordedOutcomes
    >>> o = RecordedOutcomes.from_arrays(["q"], ["a", "b"], scores=[[1, 0]], costs=[[1, 1]], responses=[["B", "C"]])
    >>> RecordedScore(o).score("C", Item("q", "?"))
    0.0
    """

    name = "recorded"

    def __init__(self, outcomes: RecordedOutcomes) -> None:
        super().__init__()
        self.outcomes = outcomes
        by_text: dict[tuple[str, str], list[float]] = {}
        item_ids = outcomes.item_ids
        for row, col in zip(*np.nonzero(pd.notna(outcomes.responses))):
            key = (item_ids[row], str(outcomes.responses[row, col]))
            by_text.setdefault(key, []).append(float(outcomes.scores[row, col]))
        self._by_text = by_text
        self.ambiguous = sum(not _one_known_score(scores) for scores in by_text.values() if len(scores) > 1)

    async def ascore_response(self, response: Response, item: Item) -> float:
        """The recorded score of the model that served ``response`` on ``item`` (NaN when it is blank)."""
        cell = self._cell(response, item)
        if cell is None:
            return await self.ascore(response.text, item)
        score = float(self.outcomes.scores[cell])
        return self._unscorable(item, "its recorded score is blank") if math.isnan(score) else score

    def score_response(self, response: Response, item: Item) -> float:
        """Synchronous :meth:`ascore_response`."""
        return run_sync(self.ascore_response(response, item))

    def _cell(self, response: Response, item: Item) -> tuple[int, int] | None:
        """The recorded (row, column) this response replays, ``None`` if it replays none."""
        row = self.outcomes.row(str(item.id))
        model = response.served_model
        if row is None or model is None or model not in self.outcomes.models:
            return None
        col = self.outcomes.column(model)
        recorded = self.outcomes.responses[row, col]
        return (row, col) if recorded is not None and str(recorded) == response.text else None

    def _score(self, output: str, item: Item) -> float:
        scores = self._by_text.get((str(item.id), output))
        if scores is None:
            return self._unscorable(item, "no model recorded this answer for this item")
        if not _one_known_score(scores):
            shown = ", ".join(sorted({"blank" if math.isnan(s) else f"{s:g}" for s in scores}))
            return self._unscorable(item, f"the models that recorded this answer scored {shown}")
        return scores[0]


def _one_known_score(scores: list[float]) -> bool:
    return not any(math.isnan(s) for s in scores) and len(set(scores)) == 1
