"""Cascade: stage thresholds, each acceptance scorer, failures, latency and the recorded acceptance scores."""

from __future__ import annotations

import pytest
from _ask import ask

from orchestra_lab import CallLog, FunctionModel, Request, Response, SimulatedModel
from orchestra_lab._sync import run_sync
from orchestra_lab.errors import ServerError, StrategyError
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.strategies import (
    Agreement,
    Cascade,
    IsJSON,
    JudgeApproval,
    PassesValidators,
    SelfConfidence,
    Stage,
)

ITEM = Item("q1", "What is 17 + 25?", expected=42, difficulty=0.3)


def fixed(text: str, name: str, confidence: object = None, latency: float = 0.1) -> FunctionModel:
    meta = {} if confidence is None else {"confidence": confidence}
    return FunctionModel(
        lambda p: Response(text, requested_model=name, served_model=name, latency_s=latency, cost_usd=0.001, meta=meta),
        name=name,
    )


def down(name: str) -> FunctionModel:
    def fn(prompt: str) -> str:
        raise ServerError("down", status=503, latency_s=0.5)

    return FunctionModel(fn, name=name)


def strategy_row(log: CallLog):
    return log.to_frame().query("kind == 'strategy'").iloc[-1]


def test_stops_at_first_confident_stage() -> None:
    cascade = Cascade([(fixed("41", "cheap", 0.4), 0.7), (fixed("42", "mid", 0.9), 0.8), fixed("43", "big")])
    with CallLog() as log:
        r = ask(cascade, ITEM)
    assert (r.text, r.served_model) == ("42", "mid")
    row = strategy_row(log)
    assert row.decision == "stage 2"
    assert "stage 1 cheap: score 0.400 < 0.7" in row.reason and "stage 2 mid: score 0.900 >= 0.8" in row.reason
    assert [(a["stage"], a["score"], a["accepted"]) for a in r.meta["acceptance"]] == [(1, 0.4, False), (2, 0.9, True)]
    assert r.latency_s == pytest.approx(0.2)


def test_last_stage_is_always_accepted_without_scoring() -> None:
    r = Cascade([(fixed("1", "a", 0.1), 0.9), fixed("2", "b", 0.0)])("q")
    assert r.text == "2" and r.meta["acceptance"][-1] == {
        "stage": 2,
        "model": "b",
        "threshold": None,
        "score": None,
        "accepted": True,
        "reason": "last stage",
    }


def test_self_confidence_from_text_and_missing() -> None:
    scorer = SelfConfidence()
    assert Cascade([(fixed("42 (confidence: 85%)", "a"), 0.8), fixed("x", "b")], scorer=scorer)("q").text.startswith(
        "42"
    )
    with CallLog() as log:
        assert Cascade([(fixed("42", "a"), 0.1), fixed("x", "b")], scorer=scorer)("q").text == "x"
    assert "no confidence stated: 0" in strategy_row(log).reason


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Paris. Confidence: 9/10", 0.9),
        ("Paris.\nConfidence: 4 out of 5", 0.8),
        ("Paris (confidence: 90%)", 0.9),
        ("Paris. Confidence: 90", 0.9),  # a bare number above 1 is a percentage
        ("Paris. **Confidence:** 0.7", 0.7),
        ("Paris. My confidence is 1", 1.0),
    ],
)
def test_self_confidence_reads_the_common_forms(text: str, value: float) -> None:
    acceptance = run_sync(SelfConfidence().score(Request.of("q"), Response(text, requested_model="m")))
    assert acceptance.score == pytest.approx(value)


@pytest.mark.parametrize(
    ("stated", "text"),
    [
        (35, "41"),
        (-3, "41"),
        (True, "41"),
        (1.5, "41"),
        (float("nan"), "41"),
        ("150%", "41"),
        ("very sure", "41"),
        (None, "41. Confidence: 150%"),
        (None, "41. Confidence: 7/5"),
        (None, "41. Confidence: -3"),
    ],
)
def test_a_confidence_out_of_range_or_not_a_number_is_never_accepted(stated: object, text: str) -> None:
    for threshold in (0.9, 0.0):
        with CallLog() as log:
            r = Cascade([(fixed(text, "a", stated), threshold), fixed("42", "b")], scorer=SelfConfidence())("q")
        assert r.served_model == "b"
        assert "stage 1 a: unreadable confidence" in strategy_row(log).reason
        assert r.meta["acceptance"][0]["accepted"] is False


def test_a_confidence_stated_as_text_in_metadata_is_read_like_the_answer_text() -> None:
    assert Cascade([(fixed("41", "a", "90%"), 0.8), fixed("42", "b")])("q").served_model == "a"


def test_validator_scorer() -> None:
    cascade = Cascade([(fixed("not json", "a"), 0.5), fixed('{"ok": true}', "b")], scorer=PassesValidators(IsJSON()))
    with CallLog() as log:
        assert cascade("q").served_model == "b"
    assert "score 0.000 < 0.5 (not valid JSON)" in strategy_row(log).reason


def test_judge_scorer_parses_and_an_unreadable_verdict_is_never_accepted() -> None:
    judge_ok = FunctionModel(lambda p: "Score: 0.9", name="judge")
    with CallLog() as log:
        r = Cascade([(fixed("42", "a", latency=0.1), 0.8), fixed("x", "b")], scorer=JudgeApproval(judge_ok))("q")
    assert r.served_model == "a"
    frame = log.to_frame()
    assert frame[frame.parent_id == r.call_id].name.tolist() == ["a", "judge"]
    assert r.latency_s == pytest.approx(frame[frame.parent_id == r.call_id].latency_s.sum())
    with CallLog() as log:
        r = Cascade([(fixed("42", "a"), 0.0), fixed("x", "b")], scorer=JudgeApproval(fixed("dunno", "j")))("q")
    assert r.served_model == "b" and "judge reply 'dunno' is no 0-1 score: not accepted" in strategy_row(log).reason


def test_simulated_judge_sees_a_verdict_not_the_item_answer() -> None:
    seen: list[Request] = []

    def judge(request: Request) -> str:
        seen.append(request)
        return "1"

    ask(
        Cascade([(fixed("41", "a"), 0.5), fixed("42", "b")], scorer=JudgeApproval(FunctionModel(judge, name="j"))), ITEM
    )
    assert seen[0].metadata == {"judge_task": "verdict", "answer": "41"}
    assert seen[0].item_id == "q1" and "41" in seen[0].prompt


def test_agreement_calls_both_concurrently() -> None:
    a, twin, other = fixed("42.0", "a", latency=0.3), fixed(" 42 ", "twin", latency=0.5), fixed("41", "other")
    with CallLog() as log:
        r = Cascade([Stage(a, 0.5, Agreement(twin)), fixed("x", "last")])("q")
    assert r.served_model == "a" and r.latency_s == pytest.approx(0.5)
    assert "agrees with twin" in strategy_row(log).reason
    r = Cascade([Stage(a, 0.5, Agreement(other)), fixed("x", "last", latency=1.0)])("q")
    assert r.served_model == "last" and r.latency_s == pytest.approx(0.3 + 1.0)


def test_failed_stage_passes_on_and_latency_includes_it() -> None:
    r = Cascade([(down("d"), 0.5), fixed("42", "b", latency=0.2)])("q")
    assert r.served_model == "b" and r.latency_s == pytest.approx(0.7)
    with CallLog() as log, pytest.raises(StrategyError, match="every stage failed") as info:
        Cascade([(down("d1"), 0.5), down("d2")])("q")
    assert len(info.value.causes) == 2 and strategy_row(log).status == "error"
    assert strategy_row(log).latency_s == pytest.approx(1.0)


def test_simulated_cascade_saves_cost_on_easy_items() -> None:
    small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    cascade = Cascade([(small, 0.6), large], scorer=SelfConfidence())
    easy = [Item(f"e{i}", f"q{i}", expected=i, difficulty=0.05) for i in range(10)]
    hard = [Item(f"h{i}", f"q{i}", expected=i, difficulty=0.95) for i in range(10)]
    assert sum(ask(cascade, item).served_model == "sim/small" for item in easy) >= 8
    assert sum(ask(cascade, item).served_model == "sim/large" for item in hard) >= 8


def test_with_thresholds_and_config_errors() -> None:
    a, b = fixed("1", "a", 0.5), fixed("2", "b")
    cascade = Cascade([(a, 0.9), b])
    assert cascade("q").served_model == "b" and cascade.with_thresholds(0.4)("q").served_model == "a"
    with pytest.raises(ValueError, match="at least two stages"):
        Cascade([a])
    with pytest.raises(ValueError, match=r"stages\[0\].threshold: 1.5 is outside"):
        Cascade([(a, 1.5), b])
    with pytest.raises(ValueError, match="threshold is required"):
        Cascade([a, b])
    with pytest.raises(ValueError, match="give 1 thresholds"):
        cascade.with_thresholds(0.1, 0.2)


def test_judge_prompt_slots_are_filled_once_so_a_question_cannot_inject_the_answer():
    from orchestra_lab import FunctionModel, Request, Response
    from orchestra_lab.strategies import JudgeApproval

    seen: list[str] = []

    def judge(prompt: str) -> str:
        seen.append(prompt)
        return "0.9"

    scorer = JudgeApproval(FunctionModel(judge, name="judge"))
    request = Request.of("Repeat after me: {answer}")
    from orchestra_lab._sync import run_sync

    run_sync(scorer.score(request, Response("42", requested_model="m")))
    assert "Repeat after me: {answer}" in seen[0]  # the user's braces are kept, not replaced by the answer


def test_acceptance_tests_have_their_own_names_and_the_old_ones_warn() -> None:
    import orchestra_lab as ol
    from orchestra_lab import strategies
    from orchestra_lab.strategies import AcceptanceTest, JudgeApproval

    assert all(issubclass(t, AcceptanceTest) for t in (SelfConfidence, JudgeApproval, Agreement, PassesValidators))
    assert (ol.AcceptanceTest, ol.JudgeApproval) == (AcceptanceTest, JudgeApproval)
    for old, new in (("AcceptanceScorer", AcceptanceTest), ("JudgeScore", JudgeApproval)):
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: use {new.__name__}"):
            assert getattr(strategies, old) is new
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated"):
            assert getattr(strategies.cascade, old) is new
    with pytest.raises(AttributeError):
        strategies.NoSuchTest  # noqa: B018
