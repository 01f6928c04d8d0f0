"""Experiments and analysis: datasets, scorers, runs, results, replay, plots and exports."""

from __future__ import annotations

from .catalog import RunComparison, compare_runs, load_run, runs
from .dataset import Dataset, DatasetError, Item, list_datasets, load_dataset
from .exports import Projection, export
from .replay import (
    Curve,
    RecordedOutcomes,
    aiq,
    apgr,
    baselines,
    cascade_sweep,
    cpt,
    models_by_cost,
    random_mix,
    replay_models,
    threshold_sweep,
)
from .results import Comparison, Results
from .router_training import RouterEvaluation, cross_validate, evaluate_router, lambda_sweep, train_router
from .run import Experiment
from .scorers import LLMJudge, RecordedScore, Scorer, as_scorer, default_scorer_for
from .sql import query

__all__ = [
    "Comparison",
    "Curve",
    "Dataset",
    "DatasetError",
    "Experiment",
    "Item",
    "LLMJudge",
    "Projection",
    "RecordedOutcomes",
    "RecordedScore",
    "Results",
    "RouterEvaluation",
    "RunComparison",
    "Scorer",
    "aiq",
    "apgr",
    "as_scorer",
    "baselines",
    "cascade_sweep",
    "compare_runs",
    "cpt",
    "cross_validate",
    "default_scorer_for",
    "evaluate_router",
    "export",
    "lambda_sweep",
    "list_datasets",
    "load_dataset",
    "load_run",
    "models_by_cost",
    "query",
    "random_mix",
    "replay_models",
    "runs",
    "threshold_sweep",
    "train_router",
]
