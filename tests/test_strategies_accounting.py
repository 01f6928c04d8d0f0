"""Accounting across nested strategies: costs and tokens add up once, latency composes, the log is a tree."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _ask import ask

from orchestra_lab import CallLog, SimulatedModel
from orchestra_lab.calllog.tree import CallNode, call_tree
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.strategies import Cascade, Ensemble, Fallback, Metadata, RuleRouter, SelfConfidence

ITEMS = [Item(f"i{i}", f"q{i}", expected=i, difficulty=i / 12, metadata={"level": i / 12}) for i in range(12)]


def sim(profile: str, seed: int = 0, **faults: float) -> SimulatedModel:
    return SimulatedModel.profile(profile, seed=seed).with_faults(**faults)


def check_sums(node: CallNode) -> None:
    """Every strategy row's cost and tokens equal the sum over its direct children (hence over its leaves)."""
    for child in node.children:
        check_sums(child)
    if node.row["kind"] != "strategy":
        return
    assert node.row["cost_usd"] == pytest.approx(sum(c.row["cost_usd"] for c in node.children), rel=1e-9, abs=1e-15)
    for column in ("input_tokens", "output_tokens"):
        assert tokens(node.row[column]) == sum(tokens(c.row[column]) for c in node.children)


def tokens(value: object) -> int:
    """A token count from a row (missing counts as 0: an unbilled failure reports none)."""
    return 0 if value is None or pd.isna(value) else int(value)


def test_billed_failures_count_and_nothing_counts_twice() -> None:
    malformed = sim("sim/small", malformed=0.6)
    strategy = Fallback([Cascade([(malformed, 0.9), sim("sim/medium", server_error=0.5)]), sim("sim/large")])
    with CallLog() as log:
        responses = [ask(strategy, item) for item in ITEMS]
    frame = log.to_frame()
    leaves = frame[frame.kind == "model"]
    assert (leaves.status == "error").any() and (leaves[leaves.error_type == "bad_response"].cost_usd > 0).all()
    top = frame[frame.parent_id.isna()]
    assert len(top) == len(ITEMS)
    assert top.cost_usd.sum() == pytest.approx(leaves.cost_usd.sum())
    for response in responses:
        tree = call_tree(frame, response.call_id)
        check_sums(tree)
        leaf_cost = sum(n.row["cost_usd"] for n in tree.leaves())
        assert response.cost_usd == pytest.approx(leaf_cost)
        assert tokens(response.usage.input_tokens) == sum(tokens(n.row["input_tokens"]) for n in tree.leaves())


def test_latency_composition_sequential_and_concurrent() -> None:
    members = [sim("sim/small"), sim("sim/medium"), sim("sim/large", rate_limit=0.5)]
    ensemble = Ensemble(members)
    cascade = Cascade([(sim("sim/tiny", timeout=0.3), 0.95), ensemble], scorer=SelfConfidence())
    with CallLog() as log:
        responses = [ask(cascade, item) for item in ITEMS]
    frame = log.to_frame()
    for response in responses:
        tree = call_tree(frame, response.call_id)
        stages = [c.row["latency_s"] for c in tree.children]
        assert tree.row["latency_s"] == pytest.approx(sum(stages))
        for node in tree.walk():
            if node.row["name"] == "ensemble":
                assert node.row["latency_s"] == pytest.approx(max(c.row["latency_s"] for c in node.children))


def test_deep_nesting_fallback_over_router_over_ensembles() -> None:
    easy = Ensemble([sim("sim/tiny"), sim("sim/small"), sim("sim/small", seed=1)], name="easy-ensemble")
    hard = Ensemble([sim("sim/large", rate_limit=1.0), sim("sim/large", seed=1, rate_limit=1.0)], name="hard-ensemble")
    router = RuleRouter([(Metadata("level", lambda d: d > 0.5), hard)], default=easy, name="router")
    strategy = Fallback([router, sim("sim/frontier")], name="top")
    with CallLog() as log:
        easy_r = ask(strategy, ITEMS[1])
        hard_r = ask(strategy, ITEMS[10])
    frame = log.to_frame()
    easy_tree = call_tree(frame, easy_r.call_id)
    assert str(easy_tree).splitlines()[:2] == [
        "top [strategy] ok -> router",
        "└── router [strategy] ok -> easy-ensemble",
    ]
    assert [n.row["name"] for n in easy_tree.children[0].children[0].children] == ["sim/tiny", "sim/small", "sim/small"]
    hard_tree = call_tree(frame, hard_r.call_id)
    assert [c.row["name"] for c in hard_tree.children] == ["router", "sim/frontier"]
    assert hard_tree.children[0].row["status"] == "error" and hard_r.served_model == "sim/frontier"
    assert hard_r.latency_s == pytest.approx(sum(c.row["latency_s"] for c in hard_tree.children))
    ids = [n.call_id for n in easy_tree.walk()] + [n.call_id for n in hard_tree.walk()]
    assert sorted(ids) == sorted(frame.call_id.tolist())
    check_sums(easy_tree)
    check_sums(hard_tree)
    assert "router" in repr(strategy) and "easy-ensemble" in repr(strategy)


def test_call_tree_accepts_rows_and_rejects_unknown_root() -> None:
    with CallLog() as log:
        r = Fallback([sim("sim/small")]).complete("q")
    node = call_tree(log.rows(), r.call_id)
    assert node.to_dict()["children"][0]["name"] == "sim/small"
    assert math.isclose(node.row["cost_usd"], node.children[0].row["cost_usd"])
    with pytest.raises(KeyError, match="no call 'nope'"):
        call_tree(log.to_frame(), "nope")
