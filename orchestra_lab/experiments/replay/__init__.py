"""Record once, evaluate many: recorded outcomes, baselines, vectorized router sweeps and routing metrics.

A :class:`RecordedOutcomes` holds what each model answered on each item (score, response text, cost, optional
latency and tokens), e.g. a RouterBench table or one of our own runs. From it:

- :class:`~orchestra_lab.models.replay.ReplayModel` replays a model call by call, so any strategy runs on it;
- :func:`baselines` gives each single model and the oracle; :func:`random_mix` the random two-model mixes;
- :func:`threshold_sweep` and :func:`cascade_sweep` trace a router's cost-quality :class:`Curve` over thresholds,
  with numpy over all items at once (no model calls);
- :func:`aiq`, :func:`apgr` and :func:`cpt` summarise curves (RouterBench, RouteLLM);
- :class:`~orchestra_lab.experiments.scorers.RecordedScore` scores a replayed answer with its recorded score.

One module per concept: :mod:`~.outcomes` (the table, :func:`baselines`, :func:`models_by_cost`), :mod:`~.sweeps`
(:class:`Curve`, :func:`threshold_sweep`, :func:`cascade_sweep`, :func:`random_mix`) and :mod:`~.metrics`.

Missing scores (blank cells) are NaN. They are never counted as 0 for a single model: a model's quality is its
mean over the items it has a score for, and every table reports how many were missing. The oracle is the
exception, stated there: a missing score is "not correct".

>>> import numpy as np
>>> outcomes = RecordedOutcomes.from_arrays(
...     ["q1", "q2", "q3", "q4"], ["small", "large"],
...     scores=[[1, 1], [0, 1], [0, 0], [1, np.nan]], costs=[[1, 10], [1, 10], [1, 10], [1, 10]])
>>> baselines(outcomes)[["quality", "cost_usd", "missing_scores"]]  # doctest: +NORMALIZE_WHITESPACE
        quality  cost_usd  missing_scores
model
small  0.500000       4.0               0
large  0.666667      40.0               1
oracle 0.750000      13.0               1
>>> curve = threshold_sweep(outcomes, [0.1, 0.9, 0.5, 0.2], weak="small", strong="large", thresholds=[0.5])
>>> curve.quality.tolist(), curve.cost_usd.tolist(), curve.strong_share.tolist()
([0.75], [22.0], [0.5])
"""

from __future__ import annotations

from ...models.replay import ReplayModel, replay_models
from ..scorers.recorded import RecordedScore
from .metrics import aiq, apgr, cpt, non_decreasing_convex_hull
from .outcomes import RecordedOutcomes, baselines, models_by_cost
from .sweeps import Curve, cascade_sweep, random_mix, threshold_sweep

__all__ = [
    "Curve",
    "RecordedOutcomes",
    "RecordedScore",
    "ReplayModel",
    "aiq",
    "apgr",
    "baselines",
    "cascade_sweep",
    "cpt",
    "models_by_cost",
    "non_decreasing_convex_hull",
    "random_mix",
    "replay_models",
    "threshold_sweep",
]
