"""Fallback: order, triggers, validators, circuit breakers, failure reporting, latency and cost."""

from __future__ import annotations

import pytest
from _ask import ask

from orchestra_lab import CallLog, FunctionModel, SimulatedModel
from orchestra_lab.errors import AuthError, CircuitOpenError, ServerError, StrategyError
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.strategies import Fallback, IsJSON, NoRefusal

ITEM = Item("q1", "What is 2 + 2?", expected=4, difficulty=0.1)


def failing(error: Exception, name: str = "broken") -> FunctionModel:
    def fn(prompt: str) -> str:
        raise error

    return FunctionModel(fn, name=name)


def test_moves_past_a_failure_and_logs_each_attempt() -> None:
    down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
    large = SimulatedModel.profile("sim/large")
    with CallLog() as log:
        r = ask(Fallback([down, large]), ITEM)
    frame = log.to_frame()
    top = frame[frame.kind == "strategy"].iloc[0]
    assert (r.text, r.requested_model, r.served_model) == ("4", "fallback", "sim/large")
    assert (top.requested_model, top.served_model, top.provider, top.source) == (
        "fallback",
        "sim/large",
        "strategy",
        "strategy",
    )
    assert top.decision == "sim/large" and "#1 sim/small failed (server" in top.reason
    children = frame[frame.parent_id == r.call_id]
    assert children.name.tolist() == ["sim/small", "sim/large"]
    assert children.status.tolist() == ["error", "ok"]
    assert r.latency_s == pytest.approx(children.latency_s.sum())


def test_validator_rejection_moves_on_and_the_attempt_row_stays_ok() -> None:
    prose = FunctionModel(lambda p: "Sure! here it is", name="prose")
    jsonish = FunctionModel(lambda p: '{"a": 1}', name="jsonish")
    with CallLog() as log:
        r = Fallback([prose, jsonish], validators=[IsJSON()]).complete("give json")
    frame = log.to_frame()
    assert r.text == '{"a": 1}'
    assert frame[frame.name == "prose"].status.tolist() == ["ok"]
    assert "#1 prose rejected (not valid JSON)" in frame[frame.kind == "strategy"].reason.iloc[0]


def test_callable_validator_and_refusals() -> None:
    refuser = FunctionModel(lambda p: "I can't help with that.", name="refuser")
    short = FunctionModel(lambda p: "ok", name="short")
    fine = FunctionModel(lambda p: "a long enough answer", name="fine")
    fb = Fallback([refuser, short, fine], validators=[NoRefusal(), lambda text: len(text) > 5])
    assert fb("q").served_model == "fine"


def test_all_failing_raises_strategy_error_with_causes() -> None:
    a = failing(ServerError("boom", status=503), "a")
    b = FunctionModel(lambda p: "", name="b")
    with CallLog() as log, pytest.raises(StrategyError) as info:
        Fallback([a, b], validators=[lambda t: bool(t.strip())], name="fb").complete("q")
    assert "fb: every model failed" in str(info.value)
    assert isinstance(info.value.causes[0], ServerError) and len(info.value.causes) == 2
    top = log.to_frame().query("kind == 'strategy'").iloc[0]
    assert (top.status, top.error_type, top.requested_model) == ("error", "strategy", "fb")


def test_only_chosen_errors_trigger_but_circuit_open_always_does() -> None:
    auth = failing(AuthError("bad key", status=401), "auth")
    open_circuit = failing(CircuitOpenError("open"), "tripped")
    backup = FunctionModel(lambda p: "fine", name="backup")
    fb = Fallback([open_circuit, auth, backup], on_errors=(ServerError,))
    with pytest.raises(StrategyError, match="not a fallback trigger") as info:
        fb("q")
    assert info.value.status == 401 and not info.value.retryable
    assert Fallback([auth, backup], on_errors=(ServerError,), on_status=(401,))("q").text == "fine"


def test_billed_failure_cost_is_in_the_strategy_row() -> None:
    malformed = SimulatedModel.profile("sim/medium").with_faults(malformed=1.0)
    with CallLog() as log:
        r = ask(Fallback([malformed, SimulatedModel.profile("sim/small")]), ITEM)
    frame = log.to_frame()
    leaves = frame[frame.kind == "model"]
    assert leaves[leaves.status == "error"].cost_usd.iloc[0] > 0
    assert r.cost_usd == pytest.approx(leaves.cost_usd.sum())
    assert frame[frame.kind == "strategy"].cost_usd.iloc[0] == pytest.approx(leaves.cost_usd.sum())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"models": []}, "empty"), ({"models": ["gpt"]}, r"models\[0\]")],
)
def test_invalid_config(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Fallback(**kwargs)
