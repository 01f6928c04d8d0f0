from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_lab.experiments import plots

matplotlib.use("Agg")


@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [10, 10, 10, 10],
            "score_mean": [0.6, 0.9, 0.88, 0.5],
            "score_ci_lo": [0.5, 0.8, 0.8, 0.4],
            "score_ci_hi": [0.7, 0.95, 0.94, 0.6],
            "cost_usd_per_item": [0.0001, 0.02, 0.004, 0.001],
            "cost_inr_per_item": [0.0088, 1.76, 0.352, 0.088],
        },
        index=pd.Index(["small", "large", "cascade", "dominated"], name="strategy"),
    )


@pytest.fixture
def items() -> pd.DataFrame:
    rows = [
        {"strategy": s, "item_id": f"q{i}", "repeat": 0, "category": c, "score": sc, "latency_s": lat}
        for s, base in [("small", 0.1), ("large", 1.0)]
        for i, (c, sc, lat) in enumerate(
            [("math", 1.0, 0.1), ("math", 0.0, 0.2), ("trivia", 1.0, 0.3), ("trivia", np.nan, 0.9), (None, 1.0, 0.5)]
        )
        for sc, lat in [(sc if s == "small" else 1.0, base + lat)]
    ]
    return pd.DataFrame(rows)


# -- pareto_front ----------------------------------------------------------------------------------------------


def _brute_force_front(points: list[tuple[float, float]]) -> list[bool]:
    def known(p: tuple[float, float]) -> bool:
        return not (math.isnan(p[0]) or math.isnan(p[1]))

    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])

    return [known(p) and not any(known(q) and dominates(q, p) for q in points) for p in points]


_value = st.sampled_from([0.0, 0.5, 1.0, 2.0, math.nan]) | st.floats(0, 10, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_value, _value), max_size=12))
def test_pareto_front_matches_brute_force(points):
    df = pd.DataFrame(points, columns=["cost", "score"], dtype=float)
    assert plots.pareto_front(df, "cost", "score").tolist() == _brute_force_front(points)


def test_pareto_front_is_aligned_with_the_frame_index():
    df = pd.DataFrame({"c": [3.0, 1.0, 2.0], "s": [0.9, 0.5, 0.4]}, index=["x", "y", "z"])
    mask = plots.pareto_front(df, "c", "s")
    assert mask.to_dict() == {"x": True, "y": True, "z": False}
    assert df[mask].index.tolist() == ["x", "y"]


def test_pareto_front_names_a_missing_column():
    with pytest.raises(KeyError, match="score"):
        plots.pareto_front(pd.DataFrame({"cost": [1.0]}), "cost", "score")


# -- frontier --------------------------------------------------------------------------------------------------


def test_frontier_labels_every_strategy_and_draws_the_front_by_cost(summary):
    fig = plots.frontier(summary)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["small", "large", "cascade", "dominated"]
    (front_line,) = [line for line in ax.get_lines() if line.get_label() == "Pareto frontier"]
    assert list(front_line.get_xdata()) == [0.0001, 0.004, 0.02]  # "dominated" (0.001, 0.5) is left out
    assert list(front_line.get_ydata()) == [0.6, 0.88, 0.9]
    assert ax.get_xscale() == "log"  # costs span a factor of 200
    assert ax.get_xlabel() == "cost per item (USD)"


def test_frontier_error_bars_span_the_confidence_interval(summary):
    ax = plots.frontier(summary).axes[0]
    (container,) = ax.containers
    segments = container.lines[2][0].get_segments()
    assert np.allclose([(seg[0][1], seg[1][1]) for seg in segments], summary[["score_ci_lo", "score_ci_hi"]])


def test_frontier_uses_the_requested_currency_and_a_linear_axis_for_narrow_ranges(summary):
    narrow = summary.assign(cost_inr_per_item=[1.0, 2.0, 3.0, 4.0]).reset_index()  # strategy as a column
    ax = plots.frontier(narrow, currency="inr").axes[0]
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "cost per item (INR)"
    assert sorted(ax.containers[0].lines[0].get_xdata()) == [1.0, 2.0, 3.0, 4.0]


def test_frontier_names_strategies_with_unknown_cost_instead_of_drawing_them(summary):
    summary.loc["cascade", "cost_usd_per_item"] = np.nan
    summary.loc["dominated", "cost_usd_per_item"] = np.inf
    ax = plots.frontier(summary).axes[0]
    assert [t.get_text() for t in ax.texts] == ["small", "large"]
    assert "unknown cost or score: cascade, dominated" in ax.get_title()


def test_frontier_draws_into_a_given_axes(summary):
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plots.frontier(summary, ax=right) is fig
    assert len(right.texts) == 4 and not left.texts


def test_frontier_rejects_unknown_currency_and_missing_columns(summary):
    with pytest.raises(ValueError, match="EUR"):
        plots.frontier(summary, currency="EUR")
    with pytest.raises(KeyError, match="score_ci_hi"):
        plots.frontier(summary.drop(columns="score_ci_hi"))


# -- latency, by_category, sweep -------------------------------------------------------------------------------


def test_latency_has_one_box_per_strategy_and_marks_p95(items):
    ax = plots.latency(items).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["small", "large"]
    horizontal = [
        (round(float(np.mean(line.get_xdata())), 6), round(float(line.get_ydata()[0]), 6))
        for line in ax.get_lines()
        if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
    ]
    assert (1.0, 0.4) in horizontal and (2.0, 1.3) in horizontal  # the median lines of the two boxes
    (markers,) = ax.collections
    expected = [np.quantile(items.loc[items.strategy == s, "latency_s"], 0.95) for s in ["small", "large"]]
    assert markers.get_offsets()[:, 1].tolist() == pytest.approx(expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p95"]


def test_by_category_groups_bars_per_strategy_and_leaves_missing_scores_out(items):
    ax = plots.by_category(items).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["math", "trivia", "(none)"]
    assert len(ax.containers) == 2
    small, large = ([bar.get_height() for bar in c] for c in ax.containers)
    assert small == pytest.approx([0.5, 1.0, 1.0])  # the NaN trivia score is left out, not counted as 0
    assert large == pytest.approx([1.0, 1.0, 1.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]


def _curve(costs: list[float], quality: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"threshold": [0.9, 0.1, 0.5], "cost": costs, "quality": quality, "strong_share": [0.9, 0.0, 0.5]}
    )


def test_sweep_draws_one_line_per_curve_sorted_by_threshold():
    curves = {
        "confidence": _curve([3.0, 1.0, 2.0], [0.9, 0.6, 0.8]),
        "length": _curve([4.0, 1.5, 2.5], [0.8, 0.5, 0.7]),
    }
    ax = plots.sweep(curves).axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["confidence", "length"]
    assert list(lines[0].get_xdata()) == [1.0, 2.0, 3.0]
    assert [t.get_text() for t in ax.texts][:2] == ["t=0.1, strong 0%", "t=0.9, strong 90%"]


def test_sweep_accepts_one_frame_with_a_curve_column_or_a_single_curve():
    long = pd.concat([_curve([3.0, 1.0, 2.0], [0.9, 0.6, 0.8]).assign(curve=name) for name in ["a", "b"]])
    assert [line.get_label() for line in plots.sweep(long).axes[0].get_lines()] == ["a", "b"]
    single = plots.sweep(_curve([3.0, 1.0, 2.0], [0.9, 0.6, 0.8]).drop(columns="strong_share")).axes[0]
    assert [line.get_label() for line in single.get_lines()] == ["sweep"]
    assert [t.get_text() for t in single.texts] == ["t=0.1", "t=0.9"]


def test_plots_name_missing_columns(items):
    with pytest.raises(KeyError, match="latency_s"):
        plots.latency(items.drop(columns="latency_s"))
    with pytest.raises(KeyError, match="category"):
        plots.by_category(items.drop(columns="category"))
    with pytest.raises(KeyError, match="quality"):
        plots.sweep({"x": pd.DataFrame({"threshold": [0.1], "cost": [1.0]})})


def test_figures_display_as_png_in_a_fresh_ipython_shell(summary):
    from IPython.core.interactiveshell import InteractiveShell

    from orchestra_lab._notebook import show_figures_inline

    shell = InteractiveShell.instance()
    try:
        show_figures_inline()
        fig = plots.frontier(summary)
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"].startswith(b"\x89PNG")
    finally:
        InteractiveShell.clear_instance()
