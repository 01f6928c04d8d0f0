"""Ensembles: votes with normalization and tie-break, weights, self-consistency, best-of-n, mixture-of-agents."""

from __future__ import annotations

import pytest
from _ask import ask

from orchestra_lab import CallLog, FunctionModel, Request, Response, SimulatedModel
from orchestra_lab._judging import parse_pick
from orchestra_lab.errors import RateLimitError, StrategyError
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.strategies import (
    BestOfN,
    Ensemble,
    MajorityVote,
    MixtureOfAgents,
    WeightedVote,
    normalize_answer,
)
from orchestra_lab.strategies.ensemble import BEST_OF_PROMPT


def fixed(text: str, name: str, latency: float = 0.1) -> FunctionModel:
    return FunctionModel(
        lambda p: Response(text, requested_model=name, served_model=name, latency_s=latency, cost_usd=0.001), name=name
    )


def down(name: str, latency: float = 0.05) -> FunctionModel:
    def fn(prompt: str) -> str:
        raise RateLimitError("slow down", status=429, latency_s=latency)

    return FunctionModel(fn, name=name)


def strategy_row(log: CallLog):
    return log.to_frame().query("kind == 'strategy'").iloc[-1]


@pytest.mark.parametrize(
    ("answers", "normal"),
    [
        (["42.0", "42", " 42 ", "1,000"], ["42", "42", "42", "1000"]),
        (["(B)", "B.", "answer: b", "The answer is B"], ["B"] * 4),
        (['{"b": 1, "a": 2}', "Paris.", "  New   York "], ['{"a":2,"b":1}', "paris", "new york"]),
    ],
)
def test_normalize_answer(answers: list[str], normal: list[str]) -> None:
    assert [normalize_answer(a) for a in answers] == normal


def test_majority_vote_normalizes_and_returns_the_first_matching_answer() -> None:
    members = [fixed("41", "a"), fixed("42.0", "b"), fixed("42", "c", latency=0.4)]
    with CallLog() as log:
        r = Ensemble(members, MajorityVote()).complete("q")
    assert (r.text, r.served_model) == ("42.0", "b")
    row = strategy_row(log)
    assert row.decision == "42" and "'42': 2" in row.reason
    assert r.latency_s == pytest.approx(0.4)
    assert r.meta["votes"] == {"41": 1.0, "42": 2.0}


def test_tie_goes_to_the_earliest_member_and_says_so() -> None:
    members = [fixed("B", "a"), fixed("C", "b"), fixed("c", "c"), fixed("(b)", "d")]
    with CallLog() as log:
        r = Ensemble(members).complete("q")
    assert r.served_model == "a"
    assert "tie between 2 answers broken by the earliest member (#1)" in strategy_row(log).reason


def test_failed_member_is_excluded_and_logged() -> None:
    members = [down("x", latency=0.9), fixed("7", "a"), fixed("8", "b"), fixed("8", "c")]
    with CallLog() as log:
        r = Ensemble(members).complete("q")
    assert r.text == "8" and r.latency_s == pytest.approx(0.9)
    assert "member #1 x failed (rate_limit: slow down)" in strategy_row(log).reason
    with pytest.raises(StrategyError, match="every member failed") as info:
        Ensemble([down("x"), down("y")])("q")
    assert info.value.retryable and len(info.value.causes) == 2


def test_weighted_vote_by_position_and_name() -> None:
    members = [fixed("A", "a"), fixed("B", "b"), fixed("B", "c")]
    assert Ensemble(members, WeightedVote([3, 1, 1]))("q").text == "A"
    assert Ensemble(members, WeightedVote({"a": 1, "b": 1, "c": 0.5}))("q").text == "B"
    with pytest.raises(ValueError, match="2 weights for 3 members"):
        Ensemble(members, WeightedVote([1, 2]))
    with pytest.raises(ValueError, match=r"no weight for member\(s\) \['c'\]"):
        Ensemble(members, WeightedVote({"a": 1, "b": 1}))
    with pytest.raises(ValueError, match="non-negative"):
        WeightedVote([1, -1])


def test_weighted_vote_sees_float_sums_that_tie_as_a_tie() -> None:
    members = [fixed("B", "a"), fixed("A", "b"), fixed("A", "c")]  # 0.3 vs 0.1 + 0.2 = 0.30000000000000004
    with CallLog() as log:
        r = Ensemble(members, WeightedVote([0.3, 0.1, 0.2])).complete("q")
    assert r.text == "B" and r.served_model == "a"  # the documented tie rule: the earliest member
    assert "tie between 2 answers broken by the earliest member (#1)" in strategy_row(log).reason
    assert Ensemble(members, WeightedVote([0.3, 0.1, 0.2000001]))("q").text == "A"  # a real difference still wins


def test_self_consistency_samples_with_distinct_seeds() -> None:
    seen: list[tuple[int | None, float | None]] = []

    def sample(request: Request) -> str:
        seen.append((request.seed, request.temperature))
        return "yes" if request.seed != 2 else "no"

    sc = Ensemble.self_consistency(FunctionModel(sample, name="m"), n=4, temperature=0.8, seed=1)
    assert sc("q").text == "yes"
    assert sorted(seen) == [(1, 0.8), (2, 0.8), (3, 0.8), (4, 0.8)]
    assert sc.name == "self-consistency-4"


def test_self_consistency_beats_a_single_sample_on_medium_items() -> None:
    medium = SimulatedModel.profile("sim/medium")
    sc = Ensemble.self_consistency(medium, n=7)
    items = [Item(f"m{i}", f"q{i}", expected=100 + i, difficulty=0.6) for i in range(40)]
    single = sum(ask(medium, item).text == str(100 + i) for i, item in enumerate(items))
    voted = sum(ask(sc, item).text == str(100 + i) for i, item in enumerate(items))
    assert voted >= single


def test_best_of_n_picks_the_judged_candidate_and_falls_back() -> None:
    members = [fixed("x", "a"), fixed("y", "b"), fixed("y", "c")]
    seen: list[Request] = []

    def judge(request: Request) -> str:
        seen.append(request)
        return "Candidate [1] is best"

    item = Item("i", "q", expected="y", difficulty=0.2)
    with CallLog() as log:
        r = ask(Ensemble(members, BestOfN(FunctionModel(judge, name="judge"))), item)
    assert r.served_model == "a" and strategy_row(log).decision == "candidate 1"
    assert seen[0].metadata == {"judge_task": "pick", "candidates": ["x", "y", "y"]}
    assert "[2] y" in seen[0].prompt
    with CallLog() as log:
        r = Ensemble(members, BestOfN(fixed("hmm", "j"))).complete("q")
    assert r.text == "y" and "names no candidate: majority vote fallback" in strategy_row(log).reason


@pytest.mark.parametrize(
    ("reply", "pick"),
    [
        ("2", 2),  # a simulated judge answers with the bare choice
        ("Of the 3 candidates, the best is [2].", 2),
        ("Best: [3]", 3),
        ("Candidates [1] and [3] repeat a slip. Best: [2]", 2),  # the asked-for marker outranks brackets
        ("**Best:** 1", 1),
        ("best answer: 2", 2),
        ("Answer: [1]", 1),
        ("Candidate [1] is best", 1),
        ("[2] is right (it says 42).", 2),  # 42 is no candidate number
    ],
)
def test_parse_pick_prefers_an_explicit_marker(reply: str, pick: int) -> None:
    assert parse_pick(reply, 3) == (pick, None)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("Answer 1 is wrong; 2 is best.", "several candidates (1, 2)"),
        ("Best: [1]. Best: [3].", "several candidates (1, 3)"),
        ("I like [1] and [2] equally.", "several candidates (1, 2)"),
        ("none of them", "names no candidate"),
        ("Best: [7]", "names no candidate"),
    ],
)
def test_parse_pick_calls_ambiguity_unparseable_instead_of_guessing(reply: str, problem: str) -> None:
    pick, why = parse_pick(reply, 3)
    assert pick is None and problem in why


def test_best_of_n_asks_for_a_marker_and_logs_an_ambiguous_verdict() -> None:
    assert "Best: [n]" in BEST_OF_PROMPT
    members = [fixed("x", "a"), fixed("y", "b"), fixed("y", "c")]
    with CallLog() as log:
        r = Ensemble(members, BestOfN(fixed("Answer 1 is wrong; 2 is best.", "j"))).complete("q")
    reason = strategy_row(log).reason
    assert r.text == "y" and "several candidates (1, 2)" in reason and "majority vote fallback" in reason


def test_a_simulated_judge_answering_a_bare_number_is_still_read_as_its_pick() -> None:
    judge = SimulatedModel.profile("sim/large")
    best = Ensemble([fixed("41", "a"), fixed("42", "b"), fixed("43", "c")], BestOfN(judge))
    with CallLog() as log:
        r = best.complete(Request.of("What is 6 * 7?", item_id="q", metadata={"expected": 42, "difficulty": 0.1}))
    judge_reply = log.to_frame().query("name == 'sim/large'").iloc[0]
    assert judge_reply.response_text in {"1", "2", "3"}
    assert strategy_row(log).decision == f"candidate {judge_reply.response_text}" and r.served_model in {"a", "b", "c"}


def test_mixture_of_agents_layers_and_latency() -> None:
    seen: list[str] = []

    def refiner(request: Request) -> Response:
        seen.append(request.system or "")
        return Response("refined", requested_model="r", served_model="r", latency_s=0.2, cost_usd=0.0)

    aggregator = fixed("final", "agg", latency=0.3)
    moa = Ensemble(
        [fixed("p1", "a", 0.1), fixed("p2", "b", 0.4)],
        MixtureOfAgents(aggregator, layers=[[FunctionModel(refiner, name="r")]]),
    )
    with CallLog() as log:
        r = moa.complete(Request.of("question", item_id="i"))
    assert (r.text, r.served_model) == ("final", "agg")
    assert "1. p1\n2. p2" in seen[0]
    assert r.latency_s == pytest.approx(0.4 + 0.2 + 0.3)
    frame = log.to_frame()
    assert sorted(frame[frame.parent_id == r.call_id].name.tolist()) == ["a", "agg", "b", "r"]
    with pytest.raises(StrategyError, match="aggregator dead failed"):
        Ensemble([fixed("p1", "a"), fixed("p2", "b")], MixtureOfAgents(down("dead")))("q")


def test_ensemble_config_errors_and_repr() -> None:
    with pytest.raises(ValueError, match="at least two members"):
        Ensemble([fixed("a", "a")])
    with pytest.raises(ValueError, match="member_params"):
        Ensemble([fixed("a", "a"), fixed("b", "b")], member_params=[{}])
    judge = SimulatedModel.profile("sim/large")
    text = repr(Ensemble([fixed("a", "a"), fixed("b", "b")], BestOfN(judge), name="e"))
    assert text.splitlines()[0] == "Ensemble(name='e', aggregator=BestOfN(judge='sim/large'))"
    assert text.splitlines()[-1] == "└── judge → SimulatedModel('sim/large')"
