"""Results: summary arithmetic checked by hand, frontier, paired comparison, cost projection, load and display."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_lab import FunctionModel, ServerError
from orchestra_lab.experiments import stats
from orchestra_lab.experiments.results import SUMMARY_COLUMNS, Results
from orchestra_lab.experiments.run import Experiment
from orchestra_lab.pricing import usd_inr
from orchestra_lab.strategies import Fallback

DATA = [{"id": f"q{i}", "input": f"{i} + 1", "expected": i + 1, "category": "add"} for i in range(4)]


def right_on(*item_numbers: int, fail_on: int | None = None, billed: float | None = None):
    """A model answer function: right on the given items, wrong on the others, ServerError on ``fail_on``."""

    def answer(prompt: str) -> str:
        number = int(prompt.split()[0])
        if number == fail_on:
            raise ServerError("down", status=503, cost_usd=billed)
        return str(number + 1) if number in item_numbers else "wrong"

    return answer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Results:
    """cheap: right on 2 of 4 at $0.001; strong: right on 3, fails the 4th (unbilled), $0.01; fallback: a billed
    $0.002 failure, then cheap -- 2 leaf calls and $0.003 an item."""
    strategies = {
        "cheap": FunctionModel(right_on(0, 1), name="cheap", cost_per_call=0.001),
        "strong": FunctionModel(right_on(0, 1, 2, fail_on=3), name="strong", cost_per_call=0.01),
        "fallback": Fallback(
            [
                FunctionModel(_always_fails(billed=0.002), name="broken"),
                FunctionModel(right_on(0, 1), name="cheap2", cost_per_call=0.001),
            ],
            name="fallback",
        ),
    }
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    return Experiment(DATA, strategies, "exact", run_dir=run_dir, progress=False, concurrency=2).run()


def _always_fails(billed: float):
    def answer(prompt: str) -> str:
        raise ServerError("always down", status=500, cost_usd=billed)

    return answer


def test_summary_matches_hand_computed_values(tiny):
    summary = tiny.summary()
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary.index.tolist() == ["strong", "cheap", "fallback"]  # best score, then cheapest
    expected = pd.DataFrame(
        {
            "n": [4, 4, 4],
            "score_mean": [0.75, 0.5, 0.5],
            "error_rate": [0.25, 0.0, 0.0],
            "cost_usd_total": [0.03, 0.004, 0.012],
            "cost_usd_per_item": [0.0075, 0.001, 0.003],
            "cost_usd_per_correct": [0.01, 0.002, 0.006],
            "calls_per_item": [1.0, 1.0, 2.0],
            "cache_hit_rate": [0.0, 0.0, 0.0],
        },
        index=pd.Index(["strong", "cheap", "fallback"], name="strategy"),
    )
    pd.testing.assert_frame_equal(summary[expected.columns], expected, check_exact=False, rtol=1e-9)
    rate = usd_inr()
    assert summary["cost_inr_total"].tolist() == pytest.approx([0.03 * rate, 0.004 * rate, 0.012 * rate])
    assert summary["cost_inr_per_correct"].tolist() == pytest.approx([0.01 * rate, 0.002 * rate, 0.006 * rate])


def test_summary_interval_is_the_seeded_bootstrap_of_the_scores(tiny):
    summary = tiny.summary()
    for name, group in tiny.items.groupby("strategy"):
        lo, hi = stats.bootstrap_ci(group.sort_values("item_id")["score"].to_numpy(), seed=0)  # one repeat: per item
        assert (summary.loc[name, "score_ci_lo"], summary.loc[name, "score_ci_hi"]) == (lo, hi)
        assert lo <= summary.loc[name, "score_mean"] <= hi


def with_repeats(results: Results, scores_by_repeat: list[list[float]]) -> Results:
    """``results`` with every row copied once per repeat, the scores of repeat ``r`` from ``scores_by_repeat[r]``."""
    copies = [results.items.assign(repeat=r, score=scores) for r, scores in enumerate(scores_by_repeat)]
    return Results(pd.concat(copies, ignore_index=True))


def test_repeats_are_averaged_per_item_before_the_bootstrap():
    scores = [1.0] * 12 + [0.0] * 8
    once = synthetic(strategy=["s"] * 20, score=scores)
    five_identical = with_repeats(once, [scores] * 5)
    columns = ["score_mean", "score_ci_lo", "score_ci_hi"]
    assert five_identical.summary()[columns].equals(once.summary()[columns])  # repeats add no independent items
    varied = with_repeats(once, [scores, [1.0] * 20, [0.0] * 20])
    item_means = [2 / 3] * 12 + [1 / 3] * 8  # i0..i19 sorted as strings: the cluster bootstrap draws items
    order = np.argsort([f"i{k}" for k in range(20)])
    row = varied.summary().loc["s"]
    assert (row["n"], row["score_mean"]) == (60, pytest.approx(32 / 60))
    assert (row["score_ci_lo"], row["score_ci_hi"]) == stats.bootstrap_ci(np.array(item_means)[order], seed=0)


def test_unequal_repeats_keep_the_mean_inside_its_interval():
    """A spend-cap stop leaves unequal repeats: 10 right repeats of one item, one wrong repeat of nine others."""
    items = ["a"] * 10 + [f"b{k}" for k in range(9)]
    results = synthetic(strategy=["s"] * 19, item_id=items, repeat=[*range(10), *[0] * 9], score=[1.0] * 10 + [0.0] * 9)
    row = results.summary().loc["s"]
    assert row["score_mean"] == pytest.approx(0.1)  # mean over items of per-item means, not 10/19 over rows
    assert row["score_ci_lo"] <= row["score_mean"] <= row["score_ci_hi"]


repeat_patterns = st.lists(
    st.lists(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1), st.just(math.nan)), min_size=1, max_size=6),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(repeat_patterns)
def test_every_interval_contains_its_point_estimate_whatever_the_repeats(scores_per_item):
    rows = [(f"i{k:02d}", r, s) for k, scores in enumerate(scores_per_item) for r, s in enumerate(scores)]
    item_id, repeat, score = map(list, zip(*rows))
    results = synthetic(strategy=["s"] * len(rows), item_id=item_id, repeat=repeat, score=score)
    row = results.summary(resamples=300).loc["s"]
    scored = ([s for s in scores if not math.isnan(s)] for scores in scores_per_item)
    per_item = [np.mean(finite) for finite in scored if finite]
    if not per_item:
        assert math.isnan(row["score_mean"]) and math.isnan(row["score_ci_lo"])
        return
    assert row["score_mean"] == pytest.approx(np.mean(per_item), rel=1e-12, abs=1e-15)
    assert row["score_ci_lo"] <= row["score_mean"] <= row["score_ci_hi"]


def test_compare_with_repeats_bootstraps_items_and_skips_mcnemar():
    a = [1.0] * 16 + [0.0] * 5
    b = [1.0] * 6 + [0.0] * 10 + [1.0] * 2 + [0.0] * 3
    once = synthetic(strategy=["big"] * 21 + ["small"] * 21, score=a + b, item_id=[f"i{k}" for k in range(21)] * 2)
    single = once.compare("big", "small")
    repeated = with_repeats(once, [a + b] * 3).compare("big", "small")
    assert repeated.difference == single.difference  # same items, same CI: 21 items, not 63 pairs
    assert repeated.difference.n == 21
    assert repeated.mcnemar is None and single.mcnemar is not None and single.note == ""
    assert "McNemar skipped: up to 3 repeats per item" in repr(repeated)


def test_summary_and_compare_do_not_depend_on_the_order_rows_finished():
    rng = np.random.default_rng(7)
    results = synthetic(
        strategy=["x"] * 30 + ["y"] * 30,
        item_id=[f"i{k}" for k in range(30)] * 2,
        score=rng.integers(0, 2, 60).astype(float),
        cost_usd=rng.random(60) / 1000,
        latency_s=rng.random(60),
    )
    shuffled = Results(results.items.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(shuffled.summary(), results.summary(), check_exact=True)
    assert shuffled.compare("x", "y").difference == results.compare("x", "y").difference


def test_headline_never_shows_an_unknown_cost_as_a_known_total():
    def headline(costs: list[float]) -> str:
        return repr(synthetic(strategy=["s"] * len(costs), score=1.0, cost_usd=costs)).splitlines()[0]

    assert headline([0.001, 0.002]).endswith("spend $0.0030 (₹%.2f)" % (0.003 * usd_inr()))
    partly = headline([0.001, np.nan, 0.002])
    assert "spend ≥ $0.0030 (" in partly and partly.endswith("(some prices unknown)")
    assert headline([np.nan, np.nan]).endswith("spend unknown")


def test_error_rows_hold_score_zero_and_the_failed_call(tiny):
    failed = tiny.items[(tiny.items["strategy"] == "strong") & (tiny.items["item_id"] == "q3")].iloc[0]
    assert failed[["status", "score", "error_type", "cost_usd"]].tolist() == ["error", 0.0, "server", 0.0]
    assert failed["call_id"] in set(tiny.calls["call_id"])


def test_load_gives_back_the_same_results(tiny):
    loaded = Results.load(tiny.run_dir)
    pd.testing.assert_frame_equal(loaded.items, tiny.items)
    pd.testing.assert_frame_equal(loaded.summary(), tiny.summary())
    assert len(loaded.calls) == len(tiny.calls)
    assert loaded.info["dataset_size"] == 4 and loaded.info["scorer"] == "exact"
    assert loaded.strategies == ["cheap", "strong", "fallback"]


def test_load_refuses_a_folder_without_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run\.json"):
        Results.load(tmp_path)


def synthetic(**columns) -> Results:
    n = len(next(iter(columns.values())))
    base = {"item_id": [f"i{k}" for k in range(n)], "repeat": 0, "status": "ok", "latency_s": 1.0, "calls": 1}
    return Results(pd.DataFrame(base | columns))


def test_latency_percentiles_and_unknown_costs():
    results = synthetic(
        strategy=["s"] * 100, score=1.0, latency_s=np.arange(1.0, 101.0), cost_usd=[np.nan] + [0.001] * 99
    )
    row = results.summary().loc["s"]
    assert (row["latency_p50_s"], row["latency_p95_s"], row["latency_p99_s"]) == pytest.approx((50.5, 95.05, 99.01))
    assert math.isnan(row["cost_usd_total"]) and math.isnan(row["cost_usd_per_item"])  # unknown stays unknown


def test_nothing_right_costs_infinitely_much_per_correct_answer():
    row = synthetic(strategy=["s"] * 3, score=0.0, cost_usd=0.01).summary().loc["s"]
    assert row["cost_usd_per_correct"] == math.inf and row["score_mean"] == 0.0


def test_frontier_keeps_only_undominated_strategies_cheapest_first():
    names = ["a", "b", "c", "d"]
    results = synthetic(
        strategy=[n for n in names for _ in range(10)],
        score=[1.0] * 5 + [0.0] * 5 + [1.0] * 4 + [0.0] * 6 + [1.0] * 9 + [0.0] + [1.0] * 8 + [0.0] * 2,
        cost_usd=[0.001] * 10 + [0.002] * 10 + [0.01] * 10 + [0.01] * 10,
    )
    frontier = results.frontier()
    assert frontier.index.tolist() == ["a", "c"]
    assert frontier["score_mean"].tolist() == [0.5, 0.9]


def test_compare_gives_paired_difference_and_exact_mcnemar_for_pass_fail_scores():
    a = [1] * 6 + [1] * 10 + [0] * 2 + [0] * 3
    b = [1] * 6 + [0] * 10 + [1] * 2 + [0] * 3
    results = synthetic(strategy=["big"] * 21 + ["small"] * 21, score=a + b, item_id=[f"i{k}" for k in range(21)] * 2)
    comparison = results.compare("big", "small")
    assert comparison.difference.n == 21
    assert comparison.difference.difference == pytest.approx(8 / 21)
    assert comparison.mcnemar.table.to_numpy().tolist() == [[6, 10], [2, 3]]
    assert comparison.mcnemar.p_value == pytest.approx(0.0386, abs=5e-5)
    assert "p = 0.03857" in repr(comparison) and "<table" in comparison._repr_html_()


def test_compare_pairs_by_item_and_repeat_and_skips_mcnemar_for_graded_scores():
    results = synthetic(
        strategy=["x", "x", "x", "y", "y"],
        item_id=["i1", "i2", "i3", "i2", "i1"],
        score=[0.5, 1.0, 1.0, 0.0, 0.25],
    )
    comparison = results.compare("x", "y")
    assert comparison.mcnemar is None
    assert comparison.difference.n == 2
    assert comparison.difference.difference == pytest.approx(((0.5 - 0.25) + (1.0 - 0.0)) / 2)
    with pytest.raises(KeyError, match="no strategy 'z'"):
        results.compare("x", "z")


def test_project_cost_scales_cost_per_item(tiny):
    usd = tiny.project_cost(requests_per_day=1000, currency="USD", days=30)
    assert usd.index.tolist() == ["cheap", "fallback", "strong"]
    assert usd.loc["cheap", "cost_usd_total"] == pytest.approx(30.0)
    assert usd.loc["strong", "cost_usd_per_day"] == pytest.approx(7.5)
    assert (usd["requests"] == 30_000).all()
    inr = tiny.project_cost(requests_per_day=1000)
    assert inr.loc["cheap", "cost_inr_total"] == pytest.approx(30.0 * usd_inr())
    with pytest.raises(ValueError, match="currency"):
        tiny.project_cost(10, currency="EUR")  # type: ignore[arg-type]


def test_displays_show_counts_and_highlight_the_best(tiny):
    text = repr(tiny)
    assert "4 items x 3 strategies x 1 repeats = 12 rows, 1 errors" in text
    assert text.index("strong") < text.index("cheap")
    page = tiny._repr_html_()
    assert "12 rows" in page and "<table" in page
    styles = page.split("</style>")[0]
    score_col = list(SUMMARY_COLUMNS).index("score_mean")
    highlighted = set(re.findall(r"row(\d+)_col(\d+)\b", styles))
    assert ("0", str(score_col)) in highlighted and ("1", str(score_col)) not in highlighted  # strong's score only
