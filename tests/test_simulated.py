"""Simulated models: deterministic, skill-ordered, correlated, faults at the set rates, no sleeping."""

from __future__ import annotations

import asyncio
import time

import pytest
from _ask import aask, ask

from orchestra_lab import CallLog, Faults, Request, SimulatedModel, profiles
from orchestra_lab.errors import BadResponseError, CallTimeoutError, RateLimitError, ServerError
from orchestra_lab.experiments.dataset import Item


def _items(n: int, difficulty: float | None = None) -> list[Item]:
    return [
        Item(f"i{i}", f"q{i}", expected=i * 3, difficulty=(i % 10) / 10 if difficulty is None else difficulty)
        for i in range(n)
    ]


def _run(model: SimulatedModel, items: list[Item]) -> list:
    async def go() -> list:
        return await asyncio.gather(*(aask(model, item) for item in items), return_exceptions=True)

    with CallLog():
        return asyncio.run(go())


def test_same_seed_same_outputs_and_other_seed_differs():
    reqs = _items(300)
    a = [(r.text, r.latency_s, r.usage) for r in _run(SimulatedModel.profile("sim/medium", seed=7), reqs)]
    b = [(r.text, r.latency_s, r.usage) for r in _run(SimulatedModel.profile("sim/medium", seed=7), reqs)]
    c = [(r.text, r.latency_s, r.usage) for r in _run(SimulatedModel.profile("sim/medium", seed=8), reqs)]
    assert a == b
    assert a != c


def test_stronger_profile_is_more_accurate_and_right_on_a_superset_more_often_than_not():
    reqs = _items(1000)
    right = {}
    for name in profiles():
        right[name] = {
            r.id for r, resp in zip(reqs, _run(SimulatedModel.profile(name), reqs)) if resp.text == str(r.expected)
        }
    accuracies = [len(right[name]) for name in profiles()]
    assert accuracies == sorted(accuracies) and len(set(accuracies)) == len(accuracies), accuracies
    # correlated correctness: most of what the small model gets right, the large one gets right too
    small, large = right["sim/small"], right["sim/large"]
    assert len(small & large) / len(small) > 0.85
    # and far more than independence would give
    assert len(small & large) / len(small) > len(large) / 1000 + 0.05


def test_accuracy_follows_the_stated_probability():
    model = SimulatedModel.profile("sim/small")
    reqs = _items(4000, difficulty=0.5)
    hits = sum(resp.text == str(r.expected) for r, resp in zip(reqs, _run(model, reqs)))
    assert abs(hits / 4000 - model.p_correct(0.5)) < 0.03


def test_wrong_answers_are_of_the_same_kind():
    model = SimulatedModel.profile("sim/tiny")
    cases = [
        ({"expected": 120}, lambda t: t.lstrip("-").isdigit() and t != "120"),
        ({"expected": "B"}, lambda t: t in {"A", "C", "D"}),
        (
            {"expected": "refund", "metadata": {"choices": ["refund", "cancel", "order_status"]}},
            lambda t: t in {"cancel", "order_status"},
        ),
        (
            {"expected": {"city": "Pune", "amount": 250}},
            lambda t: t.startswith("{") and t != '{"amount": 250, "city": "Pune"}',
        ),
    ]
    for meta, ok in cases:
        for i in range(20):
            resp = ask(model, Item(f"w{i}", "q", difficulty=1.0, **meta))
            if resp.meta["simulated_correct"]:
                continue
            assert ok(resp.text), (meta, resp.text)


def test_faults_occur_at_the_set_rates():
    faults = dict(rate_limit=0.10, server_error=0.05, timeout=0.05, malformed=0.05)
    model = SimulatedModel.profile("sim/small").with_faults(**faults)
    n = 4000
    results = _run(model, _items(n))
    counts = {
        kind: sum(isinstance(r, kind) for r in results)
        for kind in (RateLimitError, ServerError, CallTimeoutError, BadResponseError)
    }
    for kind, rate in zip(counts, faults.values()):
        assert abs(counts[kind] / n - rate) < 0.02, (kind, counts[kind] / n)  # tolerance: 2 points over 4,000 calls
    assert all(r.retry_after == 1.0 for r in results if isinstance(r, RateLimitError))
    malformed = [r for r in results if isinstance(r, BadResponseError)]
    assert all(r.cost_usd > 0 for r in malformed)  # billed: the model produced tokens


def test_invalid_fault_rates_are_rejected():
    with pytest.raises(ValueError, match="rate_limit"):
        Faults(rate_limit=1.5)
    with pytest.raises(ValueError, match="add up"):
        Faults(rate_limit=0.6, timeout=0.6)


def test_latency_follows_profile_without_sleeping():
    model = SimulatedModel.profile("sim/large")
    reqs = _items(1000)
    t0 = time.process_time()  # CPU time: not inflated by other processes on a shared machine
    results = _run(model, reqs)
    elapsed = time.process_time() - t0
    assert elapsed < 1.0, f"1,000 simulated calls took {elapsed:.2f}s of CPU"
    assert sum(r.latency_s for r in results) > 100 * elapsed  # the reported latency was computed, not slept
    for resp in results:
        expected = model.latency.ttft_s + model.latency.per_token_s * resp.usage.output_tokens
        ratio = resp.latency_s / expected
        assert 0.3 < ratio < 3.5  # log-normal spread 0.25: beyond 5 sigma otherwise
    mean = sum(r.latency_s for r in results) / len(results)
    assert 0.8 < mean / (model.latency.ttft_s + model.latency.per_token_s * model.output_tokens) < 1.25


def test_realtime_option_sleeps():
    model = SimulatedModel.profile("sim/tiny", realtime=True)
    t0 = time.perf_counter()
    resp = model.complete("hi")
    assert time.perf_counter() - t0 >= resp.latency_s * 0.9


def test_simulated_rows_are_labelled_and_names_must_say_sim():
    with CallLog() as log:
        SimulatedModel.profile("sim/small")("hello")
    row = log.rows()[0]
    assert (row["source"], row["provider"], row["name"]) == ("simulated", "simulated", "sim/small")
    with pytest.raises(ValueError, match="sim/"):
        SimulatedModel(
            "gpt-4o", **{k: v for k, v in SimulatedModel.profile("sim/small").get_config().items() if k != "name"}
        )
    with pytest.raises(ValueError, match="unknown simulated profile"):
        SimulatedModel.profile("sim/huge")


def test_retry_attempts_draw_new_faults():
    model = SimulatedModel.profile("sim/small").with_faults(server_error=0.5)
    from orchestra_lab.calllog.context import attempt

    outcomes = set()
    for n in range(1, 9):
        with attempt(n):
            try:
                model.complete(Request.of("q", item_id="same"))
                outcomes.add("ok")
            except ServerError:
                outcomes.add("error")
    assert outcomes == {"ok", "error"}
