"""Timeouts: wall clock for live models, computed time for simulated ones, strategies bounded as a whole."""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestra_lab import CallLog, CallTimeoutError, FunctionModel, Model, Request, Response, SimulatedModel
from orchestra_lab.runtime import Budget, Retrying, Timed


def sleeper(seconds: float, log: list[str] | None = None) -> FunctionModel:
    async def answer(prompt: str) -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if log is not None:
                log.append("cancelled")
            raise
        return "done"

    return FunctionModel(answer, name="sleeper", cost_per_call=0.01)


class InSequence(Model):
    """A minimal strategy: asks each child in turn, latency adds up."""

    kind = "strategy"
    provider = source = "strategy"

    def __init__(self, models: list[Model]) -> None:
        self.name, self.models = "in-sequence", models

    def children(self) -> list[Model]:
        return list(self.models)

    async def _acomplete(self, request: Request) -> Response:
        answers = [await m.acomplete(request) for m in self.models]
        return Response(answers[-1].text, requested_model=self.name, latency_s=sum(a.latency_s or 0 for a in answers))


def test_a_slow_live_call_is_cancelled_and_logged_as_a_timeout():
    events: list[str] = []
    model = Timed(sleeper(5.0, events), timeout_s=0.05)
    started = time.perf_counter()
    with CallLog() as log, pytest.raises(CallTimeoutError) as caught:
        model("q")
    assert time.perf_counter() - started < 1.0
    assert caught.value.latency_s == 0.05 and caught.value.retryable
    assert events == ["cancelled"]
    (row,) = log.rows()
    assert (row["name"], row["status"], row["error_type"]) == ("sleeper", "error", "timeout")
    assert row["latency_s"] == pytest.approx(0.05, abs=0.04)


def test_a_fast_call_passes_through_untouched():
    with CallLog() as log:
        response = Timed(sleeper(0.0), timeout_s=1.0)("q")
    assert response.text == "done" and len(log) == 1 and log.rows()[0]["status"] == "ok"


def test_simulated_models_time_out_in_computed_time():
    frontier = SimulatedModel.profile("sim/frontier")
    with CallLog() as log, pytest.raises(CallTimeoutError) as caught:
        Timed(frontier, timeout_s=0.5)("Write an essay")
    assert caught.value.latency_s == 0.5
    (row,) = log.rows()
    assert (row["status"], row["error_type"], row["latency_s"], row["cost_usd"]) == ("error", "timeout", 0.5, 0.0)
    assert Timed(frontier, timeout_s=60.0)("Write an essay").latency_s > 0.5


def test_a_strategy_is_bounded_as_a_whole():
    tiny = SimulatedModel.profile("sim/tiny")
    one = tiny("q").latency_s
    with CallLog() as log, pytest.raises(CallTimeoutError):
        Timed(InSequence([tiny, tiny, tiny]), timeout_s=one * 2.5)("q")
    rows = log.rows()
    strategy = next(r for r in rows if r["kind"] == "strategy")
    assert strategy["error_type"] == "timeout" and strategy["latency_s"] == pytest.approx(one * 2.5)
    assert [r["status"] for r in rows if r["kind"] == "model"] == ["ok"] * 3  # each step alone was in time


def test_retries_inside_a_timeout_are_bounded_by_it_in_computed_time():
    flaky = SimulatedModel.profile("sim/tiny").with_faults(server_error=0.9)
    model = Timed(Retrying(flaky, max_attempts=20, base_delay_s=1.0, jitter=0), timeout_s=1.0)
    with CallLog() as log, pytest.raises(CallTimeoutError) as raised:
        model("q")
    # the second attempt would start after the 1 s wait, at the deadline: it is not made, and no row is made up
    assert [r["status"] for r in log.rows()] == ["error"] and raised.value.latency_s == 1.0


def test_timeout_releases_a_budget_reservation():
    budget = Budget(max_usd=1.0)
    with CallLog(), budget, pytest.raises(CallTimeoutError):
        Timed(sleeper(5.0), timeout_s=0.02)("q")
    assert budget.reserved_usd == 0.0
    assert budget.spent_usd == pytest.approx(0.01)  # a cancelled call's cost is unknown: its worst case is kept


def test_cancelling_the_caller_cancels_the_inner_call():
    events: list[str] = []
    model = Timed(sleeper(5.0, events), timeout_s=10.0)

    async def main() -> None:
        task = asyncio.ensure_future(model.acomplete("q"))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.01)

    with CallLog() as log:
        asyncio.run(main())
    assert events == ["cancelled"] and log.rows()[0]["status"] == "cancelled"


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="timeout_s"):
        Timed(sleeper(0.0), timeout_s=0)


def test_a_simulated_failure_slower_than_the_timeout_is_logged_as_the_timeout():
    from orchestra_lab import CallLog, Request, SimulatedModel
    from orchestra_lab.errors import CallTimeoutError as CallTimeout
    from orchestra_lab.runtime import Timed

    hangs = SimulatedModel.profile("sim/small").with_faults(timeout=1.0, timeout_s=30.0)  # fails after 30 s
    with CallLog() as log, pytest.raises(CallTimeout) as info:
        Timed(hangs, timeout_s=5.0)(Request.of("q", item_id="1"))
    assert info.value.latency_s == 5.0
    [row] = log.rows()
    assert (row["error_type"], row["latency_s"]) == ("timeout", 5.0)  # the row agrees with what the caller saw
