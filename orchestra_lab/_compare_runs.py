"""A sweep's runs compared: one row per (setting, strategy), repeats over seeds aggregated, failed runs listed.

A *setting* is a combination of the swept parameters other than ``seed``; the runs of one setting that differ only
in their seed are repeats. For each setting and strategy the table gives the number of runs, the mean over runs of
every numeric summary column and, for the headline columns (:data:`SPREAD_COLUMNS`, or every numeric column when
the summaries have none of them), the standard deviation over runs and a 95% Student-t interval of that mean.

>>> round(t_quantile(2), 3), round(t_quantile(1000), 3)
(4.303, 1.962)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .experiments import plots
from .experiments._report import html_table, png_bytes, render_page
from .experiments.exports import markdown_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEED_PARAMETER = "seed"
STRATEGY = "strategy"
SPREAD_COLUMNS = ("score_mean", "cost_inr_per_item", "cost_usd_per_item", "latency_p95_s")
# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
        2.042)  # fmt: skip
_Z95 = 1.959964


def t_quantile(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (table to 30, Fisher's expansion above)."""
    if df < 1:
        return math.nan
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class SweepComparison:
    """The compared table, every run's rows (``runs``), the failed runs with their error, and the setting columns."""

    table: pd.DataFrame
    runs: pd.DataFrame
    failed: pd.DataFrame
    settings: list[str]

    @classmethod
    def of(
        cls, rows: pd.DataFrame, parameters: Sequence[str], swept: Sequence[str], failed: pd.DataFrame
    ) -> SweepComparison:
        """Compare stacked run rows (a ``run`` column, the ``parameters`` columns, then each run's summary); the
        ``swept`` parameters (those whose value differs between runs, failed ones included) make the settings."""
        settings = [p for p in parameters if p in swept and p != SEED_PARAMETER]
        keys = settings + ([STRATEGY] if STRATEGY in rows.columns else [])
        numeric = [
            c
            for c in rows.columns
            if c not in (*parameters, "run") and pd.api.types.is_numeric_dtype(rows[c])
            and not pd.api.types.is_bool_dtype(rows[c])
        ]  # fmt: skip
        spread = [c for c in SPREAD_COLUMNS if c in numeric] or numeric
        return cls(_aggregate(rows, keys, numeric, spread), rows, failed, settings)

    def plot(self, currency: str = "USD") -> Figure:
        """Cost vs quality: one point per (strategy, setting) with its interval over runs, named in a legend."""
        return plots.frontier(self._points(currency), currency=currency, legend=True)

    def html(self, title: str) -> str:
        """A self-contained report page: the compared table, the failed runs and the cost-quality plot."""
        info = [("runs", str(self.runs["run"].nunique())), ("failed runs", str(len(self.failed)))]
        info += [("settings", ", ".join(self.settings) or "(one)"), ("repeats over", SEED_PARAMETER)]
        figures = []
        if {"score_mean", plots.COLUMNS.cost_per_item_in("USD")} <= set(self.table.columns):
            caption = "Cost vs quality per strategy and setting (bars: 95% interval over runs; one run: its own CI)"
            figures.append((caption, png_bytes(self.plot())))
        extra = [("Failed runs", html_table(self.failed))] if len(self.failed) else []
        return render_page(title, info, html_table(self.table), figures, extra)

    def markdown(self) -> str:
        """The compared table, then the failed runs, as Markdown."""
        text = markdown_table(self.table)
        if len(self.failed):
            text += f"\nFailed runs ({len(self.failed)}):\n\n" + markdown_table(self.failed)
        return text

    def _points(self, currency: str) -> pd.DataFrame:
        cost = plots.COLUMNS.cost_per_item_in(currency)
        table = self.table
        across = table["score_mean_ci_lo"].notna()  # more than one run
        low = table["score_mean_ci_lo"].where(across, table.get("score_ci_lo", table["score_mean"]))
        high = table["score_mean_ci_hi"].where(across, table.get("score_ci_hi", table["score_mean"]))
        return pd.DataFrame(
            {
                STRATEGY: [self._label(row) for _, row in table.iterrows()],
                "score_mean": table["score_mean"],
                "score_ci_lo": low,
                "score_ci_hi": high,
                cost: table[cost],
            }
        )

    def _label(self, row: pd.Series) -> str:
        setting = ", ".join(f"{name}={row[name]}" for name in self.settings)
        strategy = str(row[STRATEGY]) if STRATEGY in row else ""
        return " · ".join(part for part in (strategy, setting) if part) or "all runs"


def _aggregate(rows: pd.DataFrame, keys: list[str], numeric: list[str], spread: list[str]) -> pd.DataFrame:
    grouped = rows.groupby(keys if keys else (lambda _: 0), sort=False, dropna=False)
    table = pd.DataFrame({"runs": grouped["run"].nunique()})
    for column in numeric:
        table[column] = grouped[column].mean()
        if column in spread:
            sd, n = grouped[column].std(ddof=1), grouped[column].count()
            half = sd * n.map(lambda k: t_quantile(int(k) - 1)) / n.pow(0.5)
            table[f"{column}_sd"], table[f"{column}_ci_lo"], table[f"{column}_ci_hi"] = (
                sd,
                table[column] - half,
                table[column] + half,
            )
    return table.reset_index(drop=not keys)


def failed_runs(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Failed runs as a table: ``run``, its parameters, ``error_type`` and ``error``."""
    rows = [{"run": r["run"], **r["parameters"], "error_type": r["error_type"], "error": r["error"]} for r in records]
    return pd.DataFrame(rows, columns=None if rows else ["run", "error_type", "error"])


def aggregate_runs(runs: Sequence[Any], root: str | Path = "orchestra_runs") -> SweepComparison:
    """Repeated runs of one setup (e.g. over seeds) as one table: per strategy, the mean over runs of each summary
    column and, for the headline ones, the spread and a 95% interval over runs -- what ``orchestra-lab collect``
    makes of a sweep. ``runs``: run directories, run ids under ``root``, or loaded
    :class:`~orchestra_lab.experiments.results.Results`."""
    from .experiments.catalog import load_run, run_name
    from .experiments.results import Results

    frames = []
    for run in runs:
        results = run if isinstance(run, Results) else load_run(run, root)
        frames.append(results.summary().reset_index().assign(run=run_name(results)))
    rows = pd.concat(frames, ignore_index=True)
    return SweepComparison.of(rows[["run", *rows.columns.drop("run")]], [], [], failed_runs([]))
