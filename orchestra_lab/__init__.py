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

from .calllog import CallLog, default_log, describe_schema
from .errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    BudgetExceededError,
    CircuitOpenError,
    ModelError,
    RateLimitError,
    ServerError,
    StrategyError,
    TimeoutError,
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
from .types import Message, Request, Response, Usage

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
    "export": "experiments",
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
    "MajorityVote",
    "Message",
    "MixtureOfAgents",
    "Model",
    "ModelError",
    "OpenAICompatible",
    "Price",
    "RateLimitError",
    "RateLimited",
    "RecordedOutcomes",
    "RecordedScore",
    "ReplayModel",
    "Request",
    "Response",
    "ResponseCache",
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
    "ThresholdRouter",
    "Timed",
    "TimeoutError",
    "Usage",
    "WeightedVote",
    "__version__",
    "as_scorer",
    "default_log",
    "describe_schema",
    "export",
    "list_datasets",
    "load_dataset",
    "profiles",
    "set_price",
    "set_usd_inr",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'orchestra_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
