"""Results broken down by a dataset field (issue #14.10): summary(by=...), the HTML report and exports, on the
shipped intents dataset (category = language; metadata["language"] the same)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestra_lab import SimulatedModel, load_dataset
from orchestra_lab.experiments.exports import html_report
from orchestra_lab.experiments.results import SUMMARY_COLUMNS, Results
from orchestra_lab.experiments.run import Experiment

SYSTEM = (
    "Classify the intent of the customer's message. Reply with exactly one label from: refund, order_status, "
    "cancel, payment_issue, account_access, delivery_change, product_question, complaint."
)


@pytest.fixture(scope="module")
def intents():
    return load_dataset("intents")


@pytest.fixture(scope="module")
def run(intents, tmp_path_factory) -> tuple[Results, object]:
    run_dir = tmp_path_factory.mktemp("by") / "run"
    strategies = {"small": SimulatedModel.profile("sim/small"), "large": SimulatedModel.profile("sim/large")}
    results = Experiment(intents, strategies, system=SYSTEM, run_dir=run_dir, progress=False).run()
    return results, run_dir


def by_hand(results: Results, field_of_item: dict[str, str]) -> pd.DataFrame:
    """score mean, n and ₹ total per (strategy, value), computed straight from the item rows."""
    items = results.items.assign(value=results.items["item_id"].map(field_of_item))
    return items.groupby(["strategy", "value"]).agg(
        n=("score", "size"), score_mean=("score", "mean"), cost_inr_total=("cost_inr", "sum")
    )


def test_summary_by_category_has_a_row_per_strategy_and_language_with_the_same_columns(run, intents):
    results, _ = run
    summary = results.summary(by="category")
    assert list(summary.index.names) == ["strategy", "category"]
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert set(summary.index) == {(s, c) for s in ("small", "large") for c in ("en", "hi", "hinglish")}
    expected = by_hand(results, {str(item.id): item.category for item in intents})
    for (strategy, category), row in summary.iterrows():
        want = expected.loc[(strategy, category)]
        assert row["n"] == want["n"]
        assert row["score_mean"] == pytest.approx(want["score_mean"])
        assert row["cost_inr_total"] == pytest.approx(want["cost_inr_total"])
    assert summary.loc[("small", "en"), "n"] == 72 and summary.loc[("small", "hi"), "n"] == 64


def test_each_group_has_its_own_confidence_interval(run):
    summary = run[0].summary(by="category")
    assert (summary["score_ci_lo"] <= summary["score_mean"]).all()
    assert (summary["score_mean"] <= summary["score_ci_hi"]).all()
    widths = summary["score_ci_hi"] - summary["score_ci_lo"]
    overall = run[0].summary()
    overall_width = overall["score_ci_hi"] - overall["score_ci_lo"]
    assert widths.min() > 0
    # a third of the items each: every group's interval is wider than its strategy's overall interval
    assert (widths.groupby(level="strategy").min() > overall_width).all()


def test_summary_by_a_metadata_field_reads_it_from_the_dataset(run, intents):
    results, _ = run
    by_language = results.summary(by="language")
    assert list(by_language.index.names) == ["strategy", "language"]
    # in intents the category is the language: the same groups, the same numbers
    pd.testing.assert_frame_equal(by_language, results.summary(by="category").rename_axis(["strategy", "language"]))


def test_a_loaded_run_needs_the_dataset_for_metadata_fields_but_not_for_item_columns(run, intents):
    _, run_dir = run
    loaded = Results.load(run_dir)
    assert len(loaded.summary(by="category")) == 6
    with pytest.raises(KeyError, match=r"language.*dataset="):
        loaded.summary(by="language")
    with_data = Results.load(run_dir, dataset=intents)
    assert len(with_data.summary(by="language")) == 6


def test_an_unknown_field_is_a_clear_error(run):
    with pytest.raises(KeyError, match="no_such_field"):
        run[0].summary(by="no_such_field")


def test_a_field_holding_lists_is_refused_with_a_clear_error(run):
    with pytest.raises(TypeError, match=r"by='choices'.*lists, not one label per item"):
        run[0].summary(by="choices")


def test_items_without_the_field_form_their_own_group():
    items = pd.DataFrame({"strategy": "a", "item_id": ["q1", "q2", "q3"], "score": [1, 0, 1],
                          "category": ["x", None, "x"]})  # fmt: skip
    summary = Results(items).summary(by="category")
    assert summary["n"].tolist() == [2, 1]
    assert summary.index[0] == ("a", "x") and pd.isna(summary.index[1][1])


def test_the_html_report_breaks_the_summary_down_by_the_field(run, tmp_path):
    results, _ = run
    page = html_report(results, by="language", currency="INR")
    assert "Summary by language" in page and "Accuracy per language" in page
    section = page.split("Summary by language", 1)[1].split("</table>", 1)[0]
    assert section.count("<tr>") == 1 + 6  # header + strategy x language
    assert "hinglish" in section and "₹ per 1,000 items" in section
    plain = html_report(results)
    assert "Summary by" not in plain
    written = results.export(tmp_path / "report.html", by="language")
    assert "Summary by language" in written.read_text(encoding="utf-8")


def test_a_flat_export_writes_one_row_per_strategy_and_value(run, tmp_path):
    out = run[0].export(tmp_path / "by.csv", by="category")
    frame = pd.read_csv(out)
    assert list(frame.columns[:2]) == ["strategy", "category"] and len(frame) == 6
    assert np.isfinite(frame["score_mean"]).all()
