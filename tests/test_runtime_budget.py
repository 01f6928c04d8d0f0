"""Budget: the spend cap is never exceeded, sequentially or concurrently; refusals are logged rows of cost 0."""

from __future__ import annotations

import asyncio
import contextlib
import math

import pytest

from orchestra_lab import (
    BudgetExceededError,
    CallLog,
    FunctionModel,
    LatencyProfile,
    Model,
    Request,
    Response,
    SimulatedModel,
)
from orchestra_lab.pricing import usd_inr
from orchestra_lab.runtime import Budget, Cached, ResponseCache, guarded, worst_case_cost


def items(n: int) -> list[Request]:
    return [
        Request.of(f"Question {i}: what is {i} + {i}?", item_id=f"q{i}", metadata={"expected": 2 * i}, max_tokens=150)
        for i in range(n)
    ]


def run_all(model: Model, requests: list[Request]) -> None:
    for request in requests:
        with contextlib.suppress(BudgetExceededError):
            model.complete(request)


def check_log_against_budget(log: CallLog, budget: Budget, calls: int) -> None:
    frame = log.to_frame()
    ok, refused = frame[frame["status"] == "ok"], frame[frame["error_type"] == "budget"]
    assert len(ok) + len(refused) == calls
    assert len(refused) == budget.refused > 0
    assert (refused["cost_usd"] == 0.0).all() and (refused["status"] == "error").all()
    assert ok["cost_usd"].sum() == pytest.approx(budget.spent_usd)
    assert budget.spent_usd <= budget.cap_usd and budget.reserved_usd == 0.0


def test_sequential_run_stops_at_the_cap():
    medium = SimulatedModel.profile("sim/medium")
    with CallLog() as full_run:
        run_all(medium, items(200))
    full_cost = full_run.to_frame()["cost_usd"].sum()
    budget = Budget(max_usd=full_cost / 3)
    with CallLog() as log, budget:
        run_all(medium, items(200))
    check_log_against_budget(log, budget, 200)
    assert budget.spent_usd > budget.cap_usd * 0.9  # the cap was used, not wasted


def test_concurrent_run_never_exceeds_the_cap():
    # realtime: the simulated model sleeps its latency, so the 200 calls really overlap
    tiny = SimulatedModel.profile("sim/tiny", realtime=True, latency=LatencyProfile(0.01, 0.0001))
    budget = Budget(max_usd=0.0005)

    async def everything() -> list[object]:
        return await asyncio.gather(*(tiny.acomplete(r) for r in items(200)), return_exceptions=True)

    with CallLog() as log, budget:
        results = asyncio.run(everything())
    assert {type(r).__name__ for r in results} == {"Response", "BudgetExceededError"}
    check_log_against_budget(log, budget, 200)


def test_concurrent_waves_reuse_the_budget_released_by_settled_calls():
    costs = iter([0.001] * 1000)

    async def answer(request: Request) -> Response:
        await asyncio.sleep(0.001)
        return Response("ok", requested_model="flat", cost_usd=next(costs))

    model = FunctionModel(answer, name="flat", cost_per_call=0.001)
    budget = Budget(max_usd=0.0105)

    async def waves() -> None:
        for _ in range(4):
            await asyncio.gather(*(model.acomplete(f"q{i}") for i in range(5)), return_exceptions=True)

    with CallLog() as log, budget:
        asyncio.run(waves())
    assert budget.calls == 10 and budget.refused == 10
    assert budget.spent_usd == pytest.approx(0.010) and budget.spent_usd <= 0.0105
    check_log_against_budget(log, budget, 20)


def test_inr_cap_is_converted_at_the_current_rate():
    medium = SimulatedModel.profile("sim/medium")
    budget = Budget(max_inr=0.5)
    with CallLog(), budget:
        run_all(medium, items(100))
    assert budget.cap_usd == pytest.approx(0.5 / usd_inr())
    assert budget.spent <= 0.5 and budget.spent == pytest.approx(budget.spent_usd * usd_inr())
    assert budget.remaining == pytest.approx(0.5 - budget.spent) and budget.refused > 0
    assert "₹0.5" in repr(budget)


class Unpriced(Model):
    provider = "mystery"
    source = "live"

    def __init__(self) -> None:
        self.name = "mystery-model-9000"

    async def _acomplete(self, request: Request) -> Response:
        return Response("?", requested_model=self.name, provider=self.provider, cost_usd=math.nan)


def test_unknown_price_is_refused_unless_allowed():
    with CallLog() as log, Budget(max_usd=1.0), pytest.raises(BudgetExceededError, match="no price known"):
        Unpriced()("q")
    assert log.rows()[0]["error_type"] == "budget"
    lenient = Budget(max_usd=1.0, allow_unknown=True)
    with CallLog(), lenient:
        assert Unpriced()("q").text == "?"
    assert lenient.spent_usd == 0.0 and lenient.calls == 1


def test_guarded_and_with_are_the_same_and_budgets_stack():
    small = SimulatedModel.profile("sim/small")
    outer, inner = Budget(max_usd=1.0), Budget(max_usd=0.0)
    with CallLog(), guarded(outer), inner, pytest.raises(BudgetExceededError):
        small("q", max_tokens=10)
    assert inner.refused == 1 and outer.reserved_usd == 0.0 and outer.spent_usd == 0.0
    with CallLog():
        small("q", max_tokens=10)  # outside the blocks: no guard
    assert outer.calls == 1 and inner.calls == 0


def test_a_broken_call_keeps_its_worst_case_and_releases_the_reservation():
    def broken(prompt: str) -> str:
        raise ValueError("bug in user code")

    budget = Budget(max_usd=1.0)
    with CallLog(), budget, pytest.raises(ValueError):
        FunctionModel(broken, name="broken", cost_per_call=0.25)("q")
    assert budget.reserved_usd == 0.0 and budget.spent_usd == 0.25


def test_cache_hits_spend_nothing(tmp_path):
    cached = Cached(SimulatedModel.profile("sim/small"), ResponseCache(tmp_path))
    budget = Budget(max_usd=1.0)
    with CallLog(), budget:
        first = cached("q", max_tokens=50)
        spent = budget.spent_usd
        cached("q", max_tokens=50)
    assert spent == pytest.approx(first.cost_usd) and budget.spent_usd == spent and budget.calls == 1


def test_worst_case_bounds_the_actual_cost():
    for name in ("sim/tiny", "sim/medium", "sim/frontier"):
        model = SimulatedModel.profile(name)
        for request in items(30):
            assert model.complete(request).cost_usd <= worst_case_cost(model, request)


def test_cap_must_be_given_once():
    with pytest.raises(ValueError, match="exactly one"):
        Budget()
    with pytest.raises(ValueError, match="exactly one"):
        Budget(max_usd=1.0, max_inr=80.0)
    with pytest.raises(ValueError, match="non-negative"):
        Budget(max_usd=-1.0)
