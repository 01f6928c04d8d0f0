"""INR first, numbers by magnitude: the report's currency and monthly projection (GST, forex markup), the summary
display of Results (significant digits, no highlight of constant columns), LaTeX tables that fit a page."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from orchestra_lab.experiments._report import format_cell
from orchestra_lab.experiments.exports import GST_RATE, Projection, export, html_report, latex_table, table_of
from orchestra_lab.experiments.results import Results
from orchestra_lab.pricing import usd_inr

matplotlib.use("Agg")


def _results() -> Results:
    """Two strategies: 'tiny' costs $0.00002 a request and scores 0.5, 'dear' $0.02 and 1.0; latency constant."""
    rows = [
        {"strategy": name, "item_id": f"q{i}", "repeat": 0, "score": score, "status": "ok", "cost_usd": cost,
         "latency_s": 0.5, "calls": 1, "cache_hits": 0, "category": "add"}
        for name, cost, scores in [("tiny", 0.00002, [1, 0]), ("dear", 0.02, [1, 1])]
        for i, score in enumerate(scores)
    ]  # fmt: skip
    return Results(rows)


def test_export_in_inr_keeps_only_rupee_costs(tmp_path):
    table = pd.read_csv(export(_results(), tmp_path / "s.csv", currency="INR"))
    assert "cost_inr_per_item" in table.columns
    assert not [c for c in table.columns if "usd" in c]
    assert table.set_index("strategy").loc["dear", "cost_inr_per_item"] == pytest.approx(0.02 * usd_inr())
    assert "cost_usd_per_item" in table_of(_results()).columns  # no currency given: both, as before


def test_markdown_and_latex_in_inr_show_rupees_per_1000_requests(tmp_path):
    text = export(_results(), tmp_path / "s.md", currency="INR").read_text()
    assert "₹ per 1,000 items" in text and "$" not in text
    dear = 0.02 * usd_inr() * 1000
    assert format_cell(dear) in text


def test_html_report_in_inr_has_rupees_and_a_monthly_projection_with_stated_gst_and_markup():
    projection = Projection(requests_per_day=5000, days=30).with_gst().with_forex_markup(0.035)
    page = html_report(_results(), currency="INR", projection=projection)
    assert "₹" in page
    assert "5,000 requests/day × 30 days" in page and "18% GST" in page and "3.5% forex markup" in page
    month = 0.02 * usd_inr() * 5000 * 30 * 1.035 * (1 + GST_RATE)
    assert f'<td class="num">{format_cell(month)}</td>' in page
    plain = html_report(_results(), currency="INR")
    assert "1,000 requests/day × 30 days" in plain and "no GST" in plain and "no forex markup" in plain


def test_projection_settings_are_immutable_and_checked():
    base = Projection()
    assert base.with_gst().gst == GST_RATE and base.gst == 0.0
    with pytest.raises(ValueError, match="requests_per_day"):
        Projection(requests_per_day=0)
    with pytest.raises(ValueError, match="gst"):
        Projection(gst=-0.1)


def test_small_numbers_keep_significant_digits():
    assert format_cell(0.00002) == "0.00002"
    assert format_cell(0.0000352123) == "0.00003521"
    assert format_cell(0.123456) == "0.1235"
    assert format_cell(12345.6) == "12346"
    assert format_cell(float("inf")) == "inf"


def test_results_display_never_shows_a_zero_cost_as_best_and_skips_constant_columns():
    page = _results()._repr_html_()
    assert "0.0000<" not in page and ">0.0000 " not in page
    assert "0.00002" in page  # tiny's cost per item, significant digits
    styles = page.split("</style>")[0]
    columns = list(_results().summary().columns)
    highlighted = {int(col) for _, col in re.findall(r"row(\d+)_col(\d+)\b", styles)}
    assert columns.index("latency_p50_s") not in highlighted  # the same for both: nothing is best
    assert columns.index("cost_usd_per_item") in highlighted


def test_latex_table_is_a_captioned_labelled_table_with_a_column_subset():
    frame = table_of(_results())
    text = latex_table(frame, caption="Cost & quality", label="tab:summary",
                       columns=["strategy", "score_mean", "cost_inr_per_item"])  # fmt: skip
    assert text.startswith("\\begin{table}[htbp]\n\\centering\n\\caption{Cost \\& quality}\n\\label{tab:summary}\n")
    assert "\\begin{tabular}{lrr}" in text and text.rstrip().endswith("\\end{table}")
    assert "latency" not in text
    default = latex_table(frame)
    assert default.count(" & ") // len(frame.columns) < len(frame.columns)  # a default subset that fits a page
    with pytest.raises(KeyError, match="nope"):
        latex_table(frame, columns=["nope"])


def test_plots_in_rupees():
    fig = _results().plot_frontier(currency="INR")
    assert "₹" in fig.axes[0].get_xlabel() or "INR" in fig.axes[0].get_xlabel()
    assert np.isclose(max(fig.axes[0].lines[0].get_xdata()), 0.02 * usd_inr())
