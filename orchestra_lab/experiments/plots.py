"""Plots of experiment results: cost vs quality (with the Pareto frontier), latency, accuracy per category and
threshold sweeps.

Every function takes DataFrames (the runner's ``items`` and ``summary`` frames, or sweep curves), draws with
matplotlib's object-oriented API and returns the :class:`~matplotlib.figure.Figure` -- nothing is shown, so the
functions work headless (Agg) and in notebooks alike, where the returned figure displays itself. Pass ``ax=`` to
draw into an axes of your own figure.

>>> import pandas as pd
>>> summary = pd.DataFrame({"strategy": ["small", "large", "cascade"], "score_mean": [0.6, 0.9, 0.88],
...                         "score_ci_lo": [0.5, 0.8, 0.8], "score_ci_hi": [0.7, 0.95, 0.94],
...                         "cost_usd_per_item": [0.001, 0.02, 0.004]})
>>> pareto_front(summary, "cost_usd_per_item", "score_mean").tolist()
[True, True, True]
>>> fig = frontier(summary)
>>> [t.get_text() for t in fig.axes[0].texts]
['small', 'large', 'cascade']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["COLUMNS", "Columns", "by_category", "frontier", "latency", "pareto_front", "sweep"]


@dataclass(frozen=True)
class Columns:
    """Names of the columns the plots and exports read, kept in one place.

    ``items`` has one row per strategy x item x repeat, ``summary`` one row per strategy (strategy as a column or
    as the index), sweep curves one row per threshold.
    """

    strategy: str = "strategy"
    category: str = "category"
    item_id: str = "item_id"
    repeat: str = "repeat"
    score: str = "score"
    latency: str = "latency_s"
    score_mean: str = "score_mean"
    score_ci_lo: str = "score_ci_lo"
    score_ci_hi: str = "score_ci_hi"
    cost_per_item: str = "cost_{currency}_per_item"  # currency: "usd" or "inr"
    curve: str = "curve"
    threshold: str = "threshold"
    cost: str = "cost"
    quality: str = "quality"
    strong_share: str = "strong_share"

    def cost_per_item_in(self, currency: str) -> str:
        """The summary column holding the cost per item in ``currency`` ("USD" or "INR")."""
        if currency.upper() not in _CURRENCIES:
            raise ValueError(f"currency={currency!r}: expected one of {', '.join(_CURRENCIES)}")
        return self.cost_per_item.format(currency=currency.lower())


COLUMNS = Columns()
_CURRENCIES = ("USD", "INR")
_WIDE_RANGE = 100.0  # a cost axis spanning more than this factor is drawn on a log scale
_FIGSIZE = (7.0, 4.5)
_LATENCY_AXES = ("latency_p50", "latency_p95", "latency_p99", "ttft_p50", "ttft_p95")  # summary columns, less "_s"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def pareto_front(df: pd.DataFrame, cost_col: str, score_col: str) -> pd.Series:
    """Boolean mask (aligned with ``df``) of the rows no other row dominates.

    A row is dominated when another has cost <= and score >= with at least one strict; rows with a missing cost
    or score are neither on the front nor dominate anything. Equal rows are all on the front.

    >>> df = pd.DataFrame({"cost": [1, 2, 2, 3], "score": [0.5, 0.9, 0.4, 0.9]})
    >>> pareto_front(df, "cost", "score").tolist()
    [True, True, False, False]
    """
    _require(df, [cost_col, score_col], "pareto_front")
    cost = pd.to_numeric(df[cost_col], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(df[score_col], errors="coerce").to_numpy(dtype=float)
    known = ~(np.isnan(cost) | np.isnan(score))
    # dominates[i, j]: row i dominates row j
    no_worse = (cost[:, None] <= cost[None, :]) & (score[:, None] >= score[None, :])
    better = (cost[:, None] < cost[None, :]) | (score[:, None] > score[None, :])
    dominates = no_worse & better & known[:, None]
    return pd.Series(known & ~dominates.any(axis=0), index=df.index, name="pareto")


def frontier(
    summary: pd.DataFrame,
    currency: str = "USD",
    ax: Axes | None = None,
    *,
    legend: bool = False,
    latency: str | None = None,
) -> Figure:
    """Cost per item vs mean score (with CI error bars), one point per strategy, Pareto frontier drawn.

    ``latency`` puts a latency percentile of the summary on the x axis instead of the cost: ``"latency_p50"``,
    ``"latency_p95"``, ``"latency_p99"``, or the time to the first answer token, ``"ttft_p50"`` / ``"ttft_p95"``
    (what a chat user waits for; see :class:`~orchestra_lab.experiments.run.Experiment` ``stream=True``).
    Points are labelled next to them, or -- with ``legend=True``, for many or long names such as a sweep's
    (strategy, setting) pairs -- each gets its own marker and a legend entry. The x axis is logarithmic when
    values span more than a factor of 100. Strategies whose x value or score is unknown (missing or infinite) are
    named in the title instead of being drawn.

    >>> summary = pd.DataFrame({"score_mean": [0.6, 0.9], "score_ci_lo": [0.5, 0.8], "score_ci_hi": [0.7, 0.95],
    ...                         "ttft_p50_s": [0.2, 0.5]}, index=pd.Index(["small", "large"], name="strategy"))
    >>> frontier(summary, latency="ttft_p50").axes[0].get_xlabel()
    'TTFT p50 (s)'
    """
    x_col, x_label, x_name = _x_axis(currency, latency)
    frame = _with_strategy_column(summary)
    _require(frame, [COLUMNS.score_mean, COLUMNS.score_ci_lo, COLUMNS.score_ci_hi, x_col], "frontier")
    fig, ax = _figure_and_axes(ax)
    known = np.isfinite(frame[x_col].astype(float)) & np.isfinite(frame[COLUMNS.score_mean].astype(float))
    shown = frame[known]
    x, mean = shown[x_col].astype(float), shown[COLUMNS.score_mean].astype(float)
    below = (mean - shown[COLUMNS.score_ci_lo].astype(float)).clip(lower=0).fillna(0)
    above = (shown[COLUMNS.score_ci_hi].astype(float) - mean).clip(lower=0).fillna(0)
    if legend:
        for i, (name, px, py, lo, hi) in enumerate(zip(shown[COLUMNS.strategy], x, mean, below, above, strict=True)):
            marker = _MARKERS[i // 10 % len(_MARKERS)]  # 10 colours per marker shape
            ax.errorbar([px], [py], yerr=[[lo], [hi]], fmt=marker, capsize=3, label=str(name))
    else:
        ax.errorbar(x, mean, yerr=[below, above], fmt="o", capsize=3, label="strategy (mean, CI)")
        for name, px, py in zip(shown[COLUMNS.strategy], x, mean, strict=True):
            ax.annotate(str(name), (px, py), xytext=(5, 5), textcoords="offset points", fontsize=9)
    front = shown[pareto_front(shown, x_col, COLUMNS.score_mean)].sort_values([x_col, COLUMNS.score_mean])
    ax.plot(front[x_col], front[COLUMNS.score_mean], "--", color="tab:red", label="Pareto frontier")
    _scale_cost_axis(ax, x)
    ax.set_xlabel(x_label)
    ax.set_ylabel("mean score")
    missing = frame.loc[~known, COLUMNS.strategy].astype(str).tolist()
    unknown = f"\n(not shown, unknown {x_name} or score: {', '.join(missing)})" if missing else ""
    ax.set_title(f"{x_name[0].upper()}{x_name[1:]} vs quality{unknown}")
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    else:
        ax.legend(loc="best", fontsize=8)
    ax.margins(x=0.12, y=0.08)
    ax.grid(True, alpha=0.3)
    return fig


def latency(items: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Latency distribution per strategy as box plots, with each strategy's p95 marked."""
    _require(items, [COLUMNS.strategy, COLUMNS.latency], "latency")
    fig, ax = _figure_and_axes(ax)
    by_strategy = {
        name: group.dropna().to_numpy(dtype=float)
        for name, group in _groups(items[COLUMNS.latency].astype(float), items[COLUMNS.strategy])
    }
    names = [name for name, values in by_strategy.items() if values.size]
    positions = np.arange(1, len(names) + 1)
    if names:
        ax.boxplot([by_strategy[n] for n in names], positions=positions, widths=0.6)
        p95 = [float(np.quantile(by_strategy[n], 0.95)) for n in names]
        ax.scatter(positions, p95, marker="v", color="tab:red", zorder=3, label="p95")
        ax.legend(loc="upper right", fontsize=8)
    _category_ticks(ax, positions, names)
    ax.set_ylabel("latency (s)")
    ax.set_title("Latency per strategy")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def by_category(items: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Accuracy (mean score) per category, one bar per strategy in each category group.

    Missing (NaN: unscorable) scores are left out, as in the summary's ``score_mean`` (a failed call is scored 0
    by the runner); items without a category are grouped as "(none)".
    """
    _require(items, [COLUMNS.strategy, COLUMNS.category, COLUMNS.score], "by_category")
    fig, ax = _figure_and_axes(ax)
    frame = pd.DataFrame(
        {
            "strategy": items[COLUMNS.strategy].astype(object),
            "category": items[COLUMNS.category].astype(object).where(items[COLUMNS.category].notna(), "(none)"),
            "score": pd.to_numeric(items[COLUMNS.score], errors="coerce"),
        }
    )
    strategies = list(dict.fromkeys(frame["strategy"]))
    categories = [str(c) for c in dict.fromkeys(frame["category"])]
    frame["category"] = frame["category"].astype(str)
    accuracy = frame.groupby(["strategy", "category"], sort=False)["score"].mean()
    width = 0.8 / max(len(strategies), 1)
    x = np.arange(len(categories))
    for i, name in enumerate(strategies):
        heights = [accuracy.get((name, c), np.nan) for c in categories]
        ax.bar(x + (i - (len(strategies) - 1) / 2) * width, heights, width, label=str(name))
    _category_ticks(ax, x, categories)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (mean score)")
    ax.set_title("Accuracy per category")
    if strategies:
        ax.legend(fontsize=8, ncols=min(len(strategies), 4), loc="upper center", bbox_to_anchor=(0.5, -0.15))
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def sweep(curves: Mapping[str, pd.DataFrame] | pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Threshold-sweep curves: cost vs quality, one line per curve, ends labelled with their threshold.

    ``curves`` is ``{name: frame}``, or one frame with a ``curve`` column naming each row's curve, or one frame
    holding a single curve. Each frame has ``threshold``, ``cost`` and ``quality`` (and optionally
    ``strong_share``, the share of items sent to the strong model, shown in the end labels).
    """
    named = _named_curves(curves)
    fig, ax = _figure_and_axes(ax)
    all_costs = []
    for name, curve in named.items():
        _require(curve, [COLUMNS.threshold, COLUMNS.cost, COLUMNS.quality], f"sweep curve {name!r}")
        curve = curve.sort_values(COLUMNS.threshold)
        (line,) = ax.plot(curve[COLUMNS.cost], curve[COLUMNS.quality], "o-", markersize=3, label=name)
        ends = curve.iloc[[0, -1]].drop_duplicates() if len(curve) else curve
        for _, row in ends.iterrows():
            ax.annotate(
                _threshold_label(row),
                (row[COLUMNS.cost], row[COLUMNS.quality]),
                xytext=(4, -10),
                textcoords="offset points",
                fontsize=7,
                color=line.get_color(),
            )
        all_costs.append(curve[COLUMNS.cost].astype(float))
    _scale_cost_axis(ax, pd.concat(all_costs) if all_costs else pd.Series(dtype=float))
    ax.set_xlabel("cost per item")
    ax.set_ylabel("quality")
    ax.set_title("Threshold sweep")
    if named:
        ax.legend(fontsize=8)
    ax.margins(x=0.15, y=0.08)
    ax.grid(True, alpha=0.3)
    return fig


# -- helpers ---------------------------------------------------------------------------------------------------


def _figure_and_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """Use the caller's axes, or make a figure not managed by pyplot (so notebooks show it once, when returned)."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    from .._notebook import show_figures_inline

    show_figures_inline()
    fig = Figure(figsize=_FIGSIZE, layout="constrained")
    return fig, fig.add_subplot()


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: missing column(s) {missing}; the frame has {list(frame.columns)}")


def _with_strategy_column(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with the strategy as a column (the runner may keep it as the index)."""
    if COLUMNS.strategy in summary.columns:
        return summary
    if summary.index.name == COLUMNS.strategy:
        return summary.reset_index()
    raise KeyError(f"summary: no {COLUMNS.strategy!r} column or index; the frame has {list(summary.columns)}")


def _groups(values: pd.Series, keys: pd.Series) -> list[tuple[str, pd.Series]]:
    """``values`` split by ``keys``, in order of first appearance."""
    return [(str(k), g) for k, g in values.groupby(keys.astype(object), sort=False)]


def _category_ticks(ax: Axes, positions: np.ndarray, labels: list[str]) -> None:
    """Tick labels under grouped data, slanted when there are many."""
    crowded = len(labels) > 4
    ax.set_xticks(positions, labels, rotation=30 if crowded else 0, ha="right" if crowded else "center")


def _x_axis(currency: str, latency: str | None) -> tuple[str, str, str]:
    """The frontier's x axis: (summary column, axis label, short name) -- the cost per item or a latency percentile.

    >>> _x_axis("INR", None), _x_axis("USD", "ttft_p95")
    (('cost_inr_per_item', 'cost per item (INR)', 'cost'), ('ttft_p95_s', 'TTFT p95 (s)', 'TTFT p95'))
    """
    if latency is None:
        return COLUMNS.cost_per_item_in(currency), f"cost per item ({currency.upper()})", "cost"
    if latency not in _LATENCY_AXES:
        raise ValueError(f"latency={latency!r}: expected one of {', '.join(_LATENCY_AXES)}")
    measure, percentile = latency.split("_")
    short = f"{'TTFT' if measure == 'ttft' else 'latency'} {percentile}"
    return f"{latency}_s", f"{short} (s)", short


def _scale_cost_axis(ax: Axes, cost: pd.Series) -> None:
    positive = cost[cost > 0]
    if len(positive) == len(cost) and len(positive) > 1 and positive.max() / positive.min() > _WIDE_RANGE:
        ax.set_xscale("log")


def _named_curves(curves: Mapping[str, pd.DataFrame] | pd.DataFrame) -> dict[str, pd.DataFrame]:
    if isinstance(curves, pd.DataFrame):
        if COLUMNS.curve in curves.columns:
            return {str(name): group for name, group in curves.groupby(COLUMNS.curve, sort=False)}
        return {"sweep": curves}
    return {str(name): frame for name, frame in curves.items()}


def _threshold_label(row: pd.Series) -> str:
    label = f"t={row[COLUMNS.threshold]:g}"
    share = row.get(COLUMNS.strong_share)
    return label if share is None or pd.isna(share) else f"{label}, strong {share:.0%}"
