"""Wrappers in general: transparent in the log, look like their inner model, compose in the recommended order."""

from __future__ import annotations

import pytest

from orchestra_lab import CallLog, FunctionModel, Model, Request, Response, SimulatedModel
from orchestra_lab.runtime import (
    Cached,
    CircuitBreaker,
    RateLimited,
    ResponseCache,
    Retrying,
    Timed,
    Wrapper,
)


def full_stack(model: Model, cache: ResponseCache) -> Model:
    return Cached(
        Retrying(CircuitBreaker(RateLimited(Timed(model, timeout_s=30), concurrency=4)), max_attempts=5), cache
    )


def test_a_full_stack_looks_like_its_model_and_logs_one_row_per_call(tmp_path):
    small = SimulatedModel.profile("sim/small")
    stacked = full_stack(small, ResponseCache(tmp_path))
    looks = (stacked.name, stacked.requested_model, stacked.kind, stacked.provider, stacked.source)
    assert looks == ("sim/small", "sim/small", "model", "simulated", "simulated")
    with CallLog() as log:
        bare = small("What is 2 + 2?")
        wrapped = stacked("What is 2 + 2?")
    assert wrapped.text == bare.text and wrapped.cost_usd == bare.cost_usd
    assert [r["name"] for r in log.rows()] == ["sim/small", "sim/small"]


def test_children_and_repr_show_config_and_inner():
    small = SimulatedModel.profile("sim/small")
    retrying = Retrying(Timed(small, timeout_s=5), max_attempts=2)
    assert retrying.children() == [retrying.inner] and retrying.inner.children() == [small]
    text = repr(retrying)
    assert text.startswith("Retrying(max_attempts=2, ")
    assert "inner=Timed(timeout_s=5, inner=SimulatedModel(" in text


def test_a_wrapped_strategy_stays_a_strategy():
    class Echo(Model):
        kind = "strategy"
        provider = source = "strategy"

        def __init__(self) -> None:
            self.name = "echo-strategy"

        def children(self) -> list[Model]:
            return []

        async def _acomplete(self, request: Request) -> Response:
            return Response(request.prompt, requested_model=self.name, latency_s=0.0)

    wrapped = Timed(Echo(), timeout_s=1)
    with CallLog() as log:
        assert wrapped("hi").text == "hi"
    assert wrapped.kind == "strategy" and log.rows()[0]["kind"] == "strategy"


def test_inner_must_be_a_model():
    with pytest.raises(TypeError, match="inner must be a Model"):
        Retrying(lambda p: p)  # type: ignore[arg-type]
    assert isinstance(Timed(FunctionModel(str.upper), timeout_s=1), Wrapper)
