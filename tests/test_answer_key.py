"""The answer key never travels with a request (#10.1), and simulated results did not move."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _zoo import DATASETS, SAMPLE, zoo

from orchestra_lab import Experiment, FunctionModel, Request, Response, SimulatedModel, load_dataset
from orchestra_lab.experiments import LLMJudge
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.models.base import Model
from orchestra_lab.strategies import Strategy
from orchestra_lab.types import render_answer

BASELINE = Path(__file__).parent / "data" / "answer_key_baseline.json"


def _leaves(value: Any, seen: set[int]) -> Iterator[Any]:
    """Every value reachable from ``value``: containers, dataclass fields and object attributes, recursively."""
    if id(value) in seen:
        return
    seen.add(id(value))
    yield value
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return
    if isinstance(value, dict) or (hasattr(value, "items") and callable(value.items)):
        for k, v in value.items():
            yield from _leaves(k, seen)
            yield from _leaves(v, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _leaves(v, seen)
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _leaves(getattr(value, f.name), seen)
    for name in getattr(value, "__dict__", {}):
        yield from _leaves(getattr(value, name), seen)


def leaked(request: Request, item: Item) -> list[Any]:
    """Values reachable from ``request`` that give away ``item``'s expected answer (the user's input aside)."""
    found = []
    expected = render_answer(item.expected)
    whole = re.compile(rf"(?<![\w.]){re.escape(expected)}(?![\w.])")
    for leaf in _leaves(request, set()):
        if leaf is None or isinstance(leaf, bool):
            continue
        if isinstance(leaf, str):
            if whole.search(leaf.replace(item.input, "")) and not whole.search(item.input):
                found.append(leaf)
        elif leaf == item.expected or (isinstance(leaf, (dict, list, int, float)) and render_answer(leaf) == expected):
            found.append(leaf)
    for name in ("params", "metadata", "extra"):
        value = getattr(request, name)
        value = value() if callable(value) else value
        if name == "metadata" and {"expected", "difficulty", "difficulty_level", "choices"} & set(value):
            found.append(value)
    return found


class Spy(FunctionModel):
    """A model that records every request it is given and answers a fixed text that is never an expected answer."""

    def __init__(self, name: str, seen: list[Request]) -> None:
        super().__init__(lambda request: self._answer(request), name=name)
        self._seen = seen

    def _answer(self, request: Request) -> str:
        self._seen.append(request)
        return "0.9 spy-reply"


class SpyStrategy(Strategy):
    """A custom strategy that records what it is given, then asks its one child."""

    def __init__(self, child: Model, seen: list[Request], name: str = "spy-strategy") -> None:
        self.child = child
        self.name = name
        self._seen = seen

    def branches(self) -> list[tuple[str, Model]]:
        return [("child", self.child)]

    async def _acomplete(self, request: Request) -> Response:
        self._seen.append(request)
        return self._respond(await self.child.acomplete(request), decision="child", reason="spy")


@pytest.mark.parametrize("name", DATASETS)
def test_no_model_or_strategy_is_given_the_expected_answer(name, tmp_path):
    dataset = load_dataset(name).sample(SAMPLE, seed=1)
    seen: list[Request] = []
    strategies = zoo(lambda profile, **_: Spy(profile.replace("sim/", "spy-"), seen))
    strategies = {key: SpyStrategy(model, seen) for key, model in strategies.items()}
    Experiment(dataset, strategies, run_dir=tmp_path, progress=False).run()
    judge_tasks = {r.metadata.get("judge_task") for r in seen}
    assert len(seen) > len(dataset) * len(strategies) and {"verdict", "pick"} <= judge_tasks
    for request in seen:
        item = dataset.by_id(request.item_id)
        assert leaked(request, item) == [], (request, item.expected)


def test_the_spy_finds_a_key_in_a_request_that_carries_one():
    item = Item("q1", "What is 17 + 25?", expected=42, difficulty=0.1)
    assert leaked(Request.of(item.input, item_id="q1", metadata={"expected": 42}), item)
    assert leaked(Request.of("Candidates: [1] 42", item_id="q1"), item)
    assert leaked(item.to_request(), item) == []


def _fingerprint() -> dict[str, dict[str, Any]]:
    """Per dataset, scorer and strategy of the zoo run with simulated models: mean score, cost, outputs' digest."""
    import tempfile

    out = {}
    for name in DATASETS:
        data = load_dataset(name).sample(SAMPLE, seed=1)
        runs = (("default", None, zoo(SimulatedModel.profile)),)
        runs += (
            ("judge", LLMJudge(SimulatedModel.profile("sim/medium")), {"small": SimulatedModel.profile("sim/small")}),
        )
        for scorer_name, scorer, strategies in runs:
            results = Experiment(
                data, strategies, scorer, run_dir=tempfile.mkdtemp(), progress=False, concurrency=1
            ).run()
            items = results.items.sort_values(["strategy", "item_id"])
            for strategy, group in items.groupby("strategy"):
                rows = group[["item_id", "output", "score", "cost_usd"]].values.tolist()
                out[f"{name}/{scorer_name}/{strategy}"] = {
                    "score_mean": float(group["score"].mean()),
                    "cost_usd": float(group["cost_usd"].sum()),
                    "digest": hashlib.sha256(json.dumps(rows, default=repr).encode()).hexdigest()[:16],
                }
    return out


def test_simulated_results_are_the_same_as_before_the_key_left_the_request():
    """The baseline was measured with the key still in ``request.metadata`` (commit f39e2e3)."""
    assert _fingerprint() == json.loads(BASELINE.read_text())
