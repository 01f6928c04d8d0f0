"""Chains: templates, placeholder checks, validators, failures naming the step, derived requests."""

from __future__ import annotations

import json

import pytest

from orchestra_lab import CallLog, FunctionModel, Request, Response
from orchestra_lab.errors import ServerError, StrategyError
from orchestra_lab.strategies import Chain, IsJSON, Step


def recorder(name: str, answer: str, seen: list[Request], latency: float = 0.1) -> FunctionModel:
    def fn(request: Request) -> Response:
        seen.append(request)
        return Response(answer, requested_model=name, served_model=name, latency_s=latency, cost_usd=0.002)

    return FunctionModel(fn, name=name)


def test_steps_see_input_and_earlier_outputs_and_keep_item() -> None:
    seen: list[Request] = []
    chain = Chain(
        [
            Step("draft", recorder("m1", "D", seen), "Q: {input}"),
            Step("critique", recorder("m2", "C", seen), "Q: {input} D: {draft}"),
            Step("refine", recorder("m3", "R", seen, latency=0.3), "{draft}|{critique}"),
        ]
    )
    item = Request.of("why?", system="be brief", item_id="i1", metadata={"expected": "R"})
    with CallLog() as log:
        r = chain.complete(item)
    assert [s.prompt for s in seen] == ["Q: why?", "Q: why? D: D", "D|C"]
    assert all(s.item_id == "i1" and s.metadata == {"expected": "R"} and s.system == "be brief" for s in seen)
    assert (r.text, r.served_model, r.requested_model) == ("R", "m3", "chain")
    assert r.latency_s == pytest.approx(0.5) and r.cost_usd == pytest.approx(0.006)
    assert r.meta["steps"] == {"draft": "D", "critique": "C", "refine": "R"}
    row = log.to_frame().query("kind == 'strategy'").iloc[0]
    assert row.decision == "completed 3 steps" and row.reason == "draft (m1) -> critique (m2) -> refine (m3)"


def test_failed_step_ends_the_chain_naming_the_step() -> None:
    def boom(prompt: str) -> str:
        raise ServerError("down", status=500, latency_s=0.2)

    seen: list[Request] = []
    chain = Chain(
        [
            Step("extract", recorder("m1", "x", seen)),
            Step("validate", FunctionModel(boom, name="v")),
            Step("repair", recorder("m3", "y", seen), "{validate}"),
        ]
    )
    with CallLog() as log, pytest.raises(StrategyError, match="step 'validate' \\(v\\) failed") as info:
        chain("q")
    row = log.to_frame().query("kind == 'strategy'").iloc[0]
    assert (row.status, row.decision) == ("error", "failed at validate") and "step 'validate'" in row.error
    assert row.latency_s == pytest.approx(0.3) and len(seen) == 1 and isinstance(info.value.causes[0], ServerError)


def test_step_validator_rejection_names_the_step() -> None:
    seen: list[Request] = []
    chain = Chain(
        [
            Step("extract", recorder("m1", "not json", seen), validator=IsJSON()),
            Step("use", recorder("m2", "ok", seen), "{extract}"),
        ]
    )
    with pytest.raises(StrategyError, match="step 'extract' \\(m1\\) output rejected: not valid JSON"):
        chain("q")
    repair = Chain(
        [
            Step("extract", recorder("m1", '{"a": 1}', seen), validator=IsJSON()),
            Step("use", FunctionModel(lambda p: str(json.loads(p)["a"]), name="m2"), "{extract}"),
        ]
    )
    assert repair("q").text == "1"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "empty"),
        ([Step("a", FunctionModel(str, name="f"), "{b}")], r"placeholder \{b\} is not 'input' or an earlier step"),
        ([Step("a", FunctionModel(str, name="f"), "{}")], "positional placeholder"),
        ([Step("a", FunctionModel(str, name="f")), Step("a", FunctionModel(str, name="g"))], "duplicate step"),
        ([Step("input", FunctionModel(str, name="f"))], "identifier other than 'input'"),
        ([Step("a", FunctionModel(str, name="f"), "{a}")], r"placeholder \{a\}"),
        ([Step("a", FunctionModel(str, name="f"), "{input")], "not a valid format string"),
    ],
)
def test_invalid_chains(steps: list[Step], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Chain(steps)
