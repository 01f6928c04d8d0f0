"""Replay recorded outcomes as a model: run any strategy over answers recorded once (RouterBench, an earlier run).

A :class:`ReplayModel` answers a request by its ``item_id`` with what the model answered when it was recorded:
the recorded text, the cost the provider billed then, the recorded latency (0 when none was recorded) and the
recorded score in ``response.meta["recorded_score"]``. Its rows say ``provider="replay"`` and
``source="replay"``, so a log can never pass replayed answers off as live ones. No network, no waiting.

>>> from orchestra_lab import Request
>>> from orchestra_lab.experiments.replay import RecordedOutcomes
>>> outcomes = RecordedOutcomes.from_arrays(["q1"], ["gpt-4"], scores=[[1.0]], costs=[[0.03]], responses=[["B"]])
>>> r = ReplayModel(outcomes, "gpt-4").complete(Request.of("Which one?", item_id="q1"))
>>> r.text, r.cost_usd, r.source, r.meta["recorded_score"]
('B', 0.03, 'replay', 1.0)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from ..errors import BadResponseError
from ..types import Request, Response, Usage
from .base import Model

__all__ = ["ReplayModel", "replay_models"]

if TYPE_CHECKING:
    import numpy as np

    from ..experiments.replay import RecordedOutcomes


class _Answer(NamedTuple):
    text: str
    cost_usd: float | None
    latency_s: float
    usage: Usage
    score: float | None


class ReplayModel(Model):
    """One model of a :class:`~orchestra_lab.experiments.replay.RecordedOutcomes`, replayed by item id.

    Every recorded cell with a response can be replayed (a missing *score* is replayed with
    ``meta["recorded_score"] = None``). A request without an ``item_id``, for an item not recorded, or for a cell
    with no recorded response fails with :class:`~orchestra_lab.errors.BadResponseError` naming the model and
    item. Lookups are one dict access: answers are prepared when the model is made.
    ``name`` defaults to ``"replay/<model_name>"``; ``served_model`` is the recorded model's name.
    """

    provider = "replay"
    source = "replay"

    def __init__(self, outcomes: RecordedOutcomes, model_name: str, *, name: str | None = None) -> None:
        self.outcomes = outcomes
        self.model_name = model_name
        self.name = name or f"replay/{model_name}"
        self._answers = _answers(outcomes, model_name)

    async def _acomplete(self, request: Request) -> Response:
        answer = self._answers.get(request.item_id)  # type: ignore[arg-type]
        if answer is None:
            raise BadResponseError(self._why_missing(request.item_id), provider=self.provider, model=self.name)
        return Response(
            answer.text,
            requested_model=self.name,
            served_model=self.model_name,
            provider=self.provider,
            source=self.source,
            usage=answer.usage,
            cost_usd=answer.cost_usd,
            latency_s=answer.latency_s,
            meta={"recorded_score": answer.score},
        )

    def _why_missing(self, item_id: str | None) -> str:
        where = f"replay of {self.model_name!r} ({self.outcomes.name})"
        if item_id is None:
            return f"{where}: the request has no item_id, so there is no recorded answer to replay"
        if self.outcomes.row(item_id) is None:
            return f"{where}: item {item_id!r} was not recorded"
        return f"{where}: no recorded response for item {item_id!r}"


def _answers(outcomes: RecordedOutcomes, model_name: str) -> dict[str, _Answer]:
    j = outcomes.column(model_name)
    latencies, input_tokens, output_tokens = (
        None if array is None else array[:, j]
        for array in (outcomes.latencies, outcomes.input_tokens, outcomes.output_tokens)
    )
    answers = {}
    for i, item_id in enumerate(outcomes.item_ids):
        text = outcomes.responses[i, j]
        if text is None:
            continue
        latency = _cell(latencies, i)
        answers[item_id] = _Answer(
            text=str(text),
            cost_usd=_cell(outcomes.costs[:, j], i),
            latency_s=0.0 if latency is None else latency,
            usage=Usage(_count(input_tokens, i), _count(output_tokens, i)),
            score=_cell(outcomes.scores[:, j], i),
        )
    return answers


def _cell(column: np.ndarray | None, i: int) -> float | None:
    """The recorded number, ``None`` when the column or the cell is missing (NaN)."""
    if column is None or math.isnan(column[i]):
        return None
    return float(column[i])


def _count(column: np.ndarray | None, i: int) -> int | None:
    value = _cell(column, i)
    return None if value is None else int(value)


def replay_models(outcomes: RecordedOutcomes) -> dict[str, ReplayModel]:
    """A :class:`ReplayModel` for every model of ``outcomes``, keyed by the recorded model name.

    >>> from orchestra_lab.experiments.replay import RecordedOutcomes
    >>> o = RecordedOutcomes.from_arrays(["q"], ["small", "large"], scores=[[0, 1]], costs=[[1, 9]])
    >>> sorted(m.name for m in replay_models(o).values())
    ['replay/large', 'replay/small']
    """
    return {model: ReplayModel(outcomes, model) for model in outcomes.models}
