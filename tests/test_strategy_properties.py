"""Property tests over random strategy trees (depth <= 3) of simulated leaves with random faults.

For every call: each leaf call is logged exactly once, parent ids form one tree rooted at the top call, cost and
tokens add up at every strategy node, and latency composes (sequential strategies sum, ensembles take the max).
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra_lab import CallLog, Request, SimulatedModel
from orchestra_lab.calllog.context import current_span
from orchestra_lab.calllog.tree import CallNode, call_tree
from orchestra_lab.errors import ModelError
from orchestra_lab.models.base import Model
from orchestra_lab.strategies import (
    Cascade,
    Chain,
    Ensemble,
    Fallback,
    Metadata,
    PassesValidators,
    RuleRouter,
    SelfConfidence,
    Step,
    ThresholdRouter,
)

LEAF_CALLS: list[str] = []


class CountingSim(SimulatedModel):
    """A simulated model that notes the call id of every call it serves (or fails)."""

    async def _acomplete(self, request: Request):  # type: ignore[no-untyped-def]
        span = current_span()
        assert span is not None
        LEAF_CALLS.append(span.call_id)
        return await super()._acomplete(request)


FAULTS = st.fixed_dictionaries(
    {},
    optional={
        "rate_limit": st.sampled_from([0.3, 1.0]),
        "server_error": st.sampled_from([0.0, 0.3]),
        "malformed": st.sampled_from([0.0, 0.3]),
    },
)
NAMES = iter(range(10**9))


def named(kind: str) -> str:
    """Unique strategy names, so a row finds its node in the tree that was built."""
    return f"{kind}-{next(NAMES)}"


SEQUENTIAL = (Fallback, Cascade, Chain, RuleRouter, ThresholdRouter)


@st.composite
def leaves(draw: st.DrawFn) -> Model:
    profile = draw(st.sampled_from(["sim/tiny", "sim/small", "sim/medium", "sim/large"]))
    faults = draw(FAULTS)
    total = sum(faults.values())
    faults = {k: v / total for k, v in faults.items()} if total > 1 else faults
    return CountingSim.profile(profile, seed=draw(st.integers(0, 3))).with_faults(**faults)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Model:
    if depth == 3 or (depth > 0 and draw(st.booleans())):
        return draw(leaves())
    kind = draw(st.sampled_from(["fallback", "cascade", "ensemble", "router", "chain"]))
    children = [draw(trees(depth + 1)) for _ in range(draw(st.integers(2, 3)))]
    if kind == "fallback":
        return Fallback(children, name=named("fallback"))
    if kind == "cascade":
        scorer = draw(st.sampled_from([SelfConfidence(), PassesValidators(lambda t: not t.endswith("1"))]))
        thresholds = draw(st.lists(st.floats(0, 1), min_size=len(children) - 1, max_size=len(children) - 1))
        return Cascade([*zip(children, thresholds), children[-1]], scorer=scorer, name=named("cascade"))
    if kind == "ensemble":
        return Ensemble(children, name=named("ensemble"))
    if kind == "router" and draw(st.booleans()):
        return ThresholdRouter(
            lambda r: r.metadata["difficulty"], strong=children[0], weak=children[1], name=named("threshold")
        )
    if kind == "router":
        rules = [(Metadata("difficulty", lambda d: d > 0.5), children[0])]
        return RuleRouter(rules, default=children[1], name=named("rules"))
    steps = [Step(f"s{i}", m, "{input}" + (f" / {{s{i - 1}}}" if i else "")) for i, m in enumerate(children)]
    return Chain(steps, name=named("chain"))


def number(value: object) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def check_node(node: CallNode, model: Model) -> None:
    if not node.children:
        assert node.row["kind"] == "model" and isinstance(model, CountingSim)
        return
    assert node.row["kind"] == "strategy"
    latencies = [c.row["latency_s"] for c in node.children]
    expected = max(latencies) if isinstance(model, Ensemble) else sum(latencies)
    assert isinstance(model, (Ensemble, *SEQUENTIAL))
    assert node.row["latency_s"] == pytest.approx(expected)
    assert node.row["cost_usd"] == pytest.approx(sum(c.row["cost_usd"] for c in node.children), abs=1e-15)
    for column in ("input_tokens", "output_tokens"):
        assert number(node.row[column]) == sum(number(c.row[column]) for c in node.children)
    by_name = {m.name: m for m in model.children()}
    for child in node.children:
        check_node(child, by_name[child.row["name"]])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), difficulty=st.floats(0, 1), expected=st.integers(0, 99))
def test_random_trees_log_one_consistent_tree(tree: Model, difficulty: float, expected: int) -> None:
    LEAF_CALLS.clear()
    item = Request.of(
        f"What is {expected}?", item_id=f"i{expected}", metadata={"expected": expected, "difficulty": difficulty}
    )
    with CallLog() as log, contextlib.suppress(ModelError):
        tree.complete(item)
    frame = log.to_frame()
    roots = frame[frame.parent_id.isna()]
    assert len(roots) == 1 and frame.call_id.is_unique
    root = call_tree(frame, roots.call_id.iloc[0])
    assert sorted(n.call_id for n in root.walk()) == sorted(frame.call_id)
    assert sorted(n.call_id for n in root.leaves()) == sorted(LEAF_CALLS)
    if isinstance(tree, CountingSim):
        return
    check_node(root, tree)
