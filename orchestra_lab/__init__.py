"""orchestra_lab: compare ways of combining AI models -- routing, fallback, cascades, ensembles, chains --
on cost, latency and quality, with every call logged.

The core (types, models, call log) loads eagerly; strategies, runtime wrappers and experiments load on first use,
so ``import orchestra_lab`` stays about as fast as ``import pandas, httpx``.

>>> import orchestra_lab as ol
>>> ol.SimulatedModel.profile("sim/small")("What is 2 + 2?").source
'simulated'
"""

from __future__ import annotations

import importlib
from typing import Any

from . import errors
from ._answer_key import answer_key
from .calllog import CallLog, default_log, describe_schema
from .errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    BudgetExceededError,
    CallTimeoutError,
    CircuitOpenError,
    ModelError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    StrategyError,
)
from .models import (
    Anthropic,
    Faults,
    FunctionModel,
    Gemini,
    LatencyProfile,
    Model,
    OpenAICompatible,
    ReplayModel,
    SimulatedModel,
    profiles,
)
from .pricing import Price, set_price, set_usd_inr
from .streaming import ResponseStream
from .types import Message, Request, Response, StreamChunk, Usage

__version__ = "0.1.0"

_LAZY = {
    # strategies
    "Fallback": "strategies",
    "Cascade": "strategies",
    "Ensemble": "strategies",
    "MajorityVote": "strategies",
    "WeightedVote": "strategies",
    "BestOfN": "strategies",
    "MixtureOfAgents": "strategies",
    "Chain": "strategies",
    "Step": "strategies",
    "Stage": "strategies",
    "Route": "strategies",
    "SelfConfidence": "strategies",
    "AcceptanceTest": "strategies",
    "JudgeApproval": "strategies",
    "RuleRouter": "strategies",
    "ClassifierRouter": "strategies",
    "SemanticRouter": "strategies",
    "LLMRouter": "strategies",
    "ThresholdRouter": "strategies",
    "LearnedRouter": "strategies",
    "load_router": "strategies",
    # runtime
    "Budget": "runtime",
    "Cached": "runtime",
    "ResponseCache": "runtime",
    "CircuitBreaker": "runtime",
    "RateLimited": "runtime",
    "Retrying": "runtime",
    "Timed": "runtime",
    # experiments
    "Dataset": "experiments",
    "Item": "experiments",
    "load_dataset": "experiments",
    "list_datasets": "experiments",
    "as_scorer": "experiments",
    "LLMJudge": "experiments",
    "Experiment": "experiments",
    "Results": "experiments",
    "RecordedOutcomes": "experiments",
    "RecordedScore": "experiments",
    "replay_models": "experiments",
    "models_by_cost": "experiments",
    "export": "experiments",
    "train_router": "experiments",
    # notebook display (imports IPython and ipywidgets on first use)
    "show_stream": "ui",
    "evaluate_router": "experiments",
    "runs": "experiments",
    "load_run": "experiments",
    "compare_runs": "experiments",
    "aggregate_runs": "_compare_runs",
    "query": "experiments",
}

__all__ = [
    "AcceptanceTest",
    "Anthropic",
    "AuthError",
    "BadRequestError",
    "BadResponseError",
    "BestOfN",
    "Budget",
    "BudgetExceededError",
    "Cached",
    "CallLog",
    "CallTimeoutError",
    "Cascade",
    "Chain",
    "CircuitBreaker",
    "CircuitOpenError",
    "ClassifierRouter",
    "Dataset",
    "Ensemble",
    "Experiment",
    "Fallback",
    "Faults",
    "FunctionModel",
    "Gemini",
    "Item",
    "JudgeApproval",
    "LLMJudge",
    "LLMRouter",
    "LatencyProfile",
    "LearnedRouter",
    "MajorityVote",
    "Message",
    "MixtureOfAgents",
    "Model",
    "ModelError",
    "OpenAICompatible",
    "Price",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimited",
    "RecordedOutcomes",
    "RecordedScore",
    "ReplayModel",
    "Request",
    "Response",
    "ResponseCache",
    "ResponseStream",
    "Results",
    "Retrying",
    "Route",
    "RuleRouter",
    "SelfConfidence",
    "SemanticRouter",
    "ServerError",
    "SimulatedModel",
    "Stage",
    "Step",
    "StrategyError",
    "StreamChunk",
    "ThresholdRouter",
    "Timed",
    "Usage",
    "WeightedVote",
    "__version__",
    "aggregate_runs",
    "answer_key",
    "as_scorer",
    "compare_runs",
    "default_log",
    "describe_schema",
    "evaluate_router",
    "export",
    "list_datasets",
    "load_dataset",
    "load_router",
    "load_run",
    "models_by_cost",
    "profiles",
    "query",
    "replay_models",
    "runs",
    "set_price",
    "set_usd_inr",
    "show_stream",
    "train_router",
]


def __getattr__(name: str) -> Any:
    if name == "TimeoutError":  # deprecated: it shadowed the builtin
        return getattr(errors, name)
    if name not in _LAZY:
        raise AttributeError(f"module 'orchestra_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
