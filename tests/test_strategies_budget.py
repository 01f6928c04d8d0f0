"""A call refused by the spend cap stops a strategy: never a failed member, a fallback trigger or a failed stage."""

from __future__ import annotations

import pytest

from orchestra_lab import CallLog, Request, SimulatedModel, answer_key
from orchestra_lab.errors import BudgetExceededError
from orchestra_lab.models.base import Model
from orchestra_lab.runtime import Budget
from orchestra_lab.runtime.budget import worst_case_cost
from orchestra_lab.strategies import BestOfN, Cascade, Ensemble, Fallback, Stage

ITEM = Request.of("What is 3 + 4?", item_id="q1", max_tokens=50)


@pytest.fixture(autouse=True)
def _item_key():
    with answer_key("q1", expected=7, difficulty=0.5):
        yield


TINY = SimulatedModel.profile("sim/tiny")
LARGE = SimulatedModel.profile("sim/large")


def worst(model: Model) -> float:
    cost = worst_case_cost(model, ITEM)
    assert cost is not None
    return cost


def run_capped(strategy: Model, cap_usd: float) -> list[tuple[str, str, str | None]]:
    """Call ``strategy`` under a cap, expect the refusal to come out, return the (kind, name, error_type) rows."""
    with CallLog() as log, Budget(max_usd=cap_usd), pytest.raises(BudgetExceededError):
        strategy.complete(ITEM)
    frame = log.to_frame()
    return [(r.kind, r.name, None if r.status == "ok" else r.error_type) for r in frame.itertuples()]


def test_an_ensemble_does_not_vote_without_a_refused_member() -> None:
    medium = SimulatedModel.profile("sim/medium")
    vote = Ensemble.self_consistency(medium, n=3)
    rows = run_capped(vote, 2.5 * worst(medium))  # room for two members, not three
    assert sorted(e or "ok" for kind, _, e in rows if kind == "model") == ["budget", "ok", "ok"]
    assert [(kind, e) for kind, _, e in rows if kind == "strategy"] == [("strategy", "budget")]


def test_an_ensemble_stops_when_its_judge_is_refused() -> None:
    best = Ensemble([TINY, TINY], BestOfN(LARGE))
    rows = run_capped(best, 2.5 * worst(TINY))  # both members fit, the large judge does not
    assert [e for _, name, e in rows if name == "sim/large"] == ["budget"]
    assert [e for kind, _, e in rows if kind == "strategy"] == ["budget"]


def test_a_refusal_is_no_fallback_trigger() -> None:
    rows = run_capped(Fallback([LARGE, TINY]), 1.5 * worst(TINY))  # the large model is refused, tiny would fit
    assert rows == [("model", "sim/large", "budget"), ("strategy", "fallback", "budget")]


def test_a_refused_stage_does_not_pass_to_the_next() -> None:
    cascade = Cascade([Stage(LARGE, threshold=0.5), TINY])
    rows = run_capped(cascade, 1.5 * worst(TINY))
    assert [name for kind, name, _ in rows if kind == "model"] == ["sim/large"]
    assert rows[0][2] == "budget" and rows[-1][2] == "budget"
