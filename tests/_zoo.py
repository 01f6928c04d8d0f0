"""A zoo of strategies over the shipped datasets, for the answer-key tests (tests/test_answer_key.py).

Every strategy kind that asks a model something (routers, an LLM router, cascades with every acceptance scorer,
ensembles with every aggregator, a chain, a fallback) is built from ``make(profile)``, so the same zoo runs with
simulated models (to check scores did not move) or with spies (to check no model sees the answer key).
"""

from __future__ import annotations

from collections.abc import Callable

from orchestra_lab.models.base import Model
from orchestra_lab.models.simulated import Faults
from orchestra_lab.strategies import (
    Agreement,
    BestOfN,
    Cascade,
    Chain,
    ClassifierRouter,
    Ensemble,
    Fallback,
    JudgeApproval,
    Keywords,
    LLMRouter,
    MixtureOfAgents,
    Route,
    RuleRouter,
    SelfConfidence,
    Stage,
    Step,
    ThresholdRouter,
)

DATASETS = ("arithmetic", "intents", "extraction")
SAMPLE = 30


def zoo(make: Callable[..., Model]) -> dict[str, Model]:
    """The strategies, built from models ``make(profile, **simulated_overrides)``."""
    tiny, small, medium, large = (make(p) for p in ("sim/tiny", "sim/small", "sim/medium", "sim/large"))
    routes = [Route("easy", small, "short questions"), Route("hard", large, "long or tricky questions")]
    return {
        "small": small,
        "rule": RuleRouter([(Keywords("order", "total", "sum"), large)], default=small),
        "classifier": ClassifierRouter(lambda p: "hard" if len(p) > 60 else "easy", routes, default=small),
        "threshold": ThresholdRouter(lambda r: len(r.prompt) / 100, strong=large, weak=small, threshold=0.6),
        "llm-router": LLMRouter(tiny, routes, default=small),
        "cascade-confidence": Cascade([(small, 0.7), large], scorer=SelfConfidence()),
        "cascade-judge": Cascade([Stage(small, 0.5, JudgeApproval(medium)), large]),
        "cascade-agreement": Cascade([Stage(small, 1.0, Agreement(medium)), large]),
        "vote": Ensemble([tiny, small, medium]),
        "best-of-3": Ensemble([tiny, small, medium], BestOfN(large)),
        "moa": Ensemble([small, medium], MixtureOfAgents(large, layers=[[medium]])),
        "self-consistency": Ensemble.self_consistency(small, n=3, aggregator=BestOfN(medium)),
        "chain": Chain([Step("draft", small, "Answer: {input}"), Step("refine", large, "{input} Draft: {draft}")]),
        "fallback": Fallback([make("sim/small", faults=Faults(server_error=0.5)), large]),
    }
