"""The results of an experiment: one row per strategy x item x repeat, summarized and compared with numbers.

A run directory holds ``run.json`` (the run's config), the items (one row per finished strategy x item x repeat)
and the call log, each as Parquet segments plus a JSON-lines tail (``items.jsonl``, ``calls.jsonl``; see
:mod:`orchestra_lab.experiments._rundir`). :meth:`Results.load` reads one back, old JSONL-only directories too.

Repeats of an item are not independent samples, so the statistics resample items: each item's repeats are averaged
first, then the bootstrap draws items (a cluster bootstrap). With one repeat per item that is the plain bootstrap.

>>> import pandas as pd
>>> items = pd.DataFrame({"strategy": ["cheap"] * 4 + ["strong"] * 4, "item_id": ["a", "b", "c", "d"] * 2,
...                       "repeat": 0, "score": [1, 0, 1, 0, 1, 1, 1, 0], "status": "ok",
...                       "cost_usd": [0.001] * 4 + [0.01] * 4, "latency_s": 0.5, "calls": 1, "cache_hits": 0})
>>> results = Results(items)
>>> results.summary()[["n", "score_mean", "cost_usd_total", "cost_usd_per_correct"]]  # doctest: +NORMALIZE_WHITESPACE
          n  score_mean  cost_usd_total  cost_usd_per_correct
strategy
strong    4        0.75           0.040              0.013333
cheap     4        0.50           0.004              0.002000
>>> results.frontier().index.tolist()
['cheap', 'strong']
>>> results.compare("strong", "cheap").difference.difference
0.25
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..calllog import CallLog
from ..calllog.schema import COLUMNS as CALL_COLUMNS
from ..pricing import usd_to_inr
from . import stats
from ._report import format_cell
from ._rundir import ITEMS_FILE, RUN_FILE, read_config, read_item_rows, read_items

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = ["ITEMS_FILE", "ITEM_SCHEMA", "RUN_FILE", "SUMMARY_SCHEMA", "Comparison", "Results", "items_frame",
           "read_config", "read_item_rows"]  # fmt: skip

# name, meaning: the columns of Results.items (and the keys of each items.jsonl line)
ITEM_SCHEMA: tuple[tuple[str, str], ...] = (
    ("strategy", "key of the strategy in the experiment"),
    ("item_id", "dataset item id"),
    ("repeat", "repeat number, 0-based"),
    ("seed", "request seed of this repeat (empty when the experiment set no seeds)"),
    ("category", "item category"),
    ("difficulty", "item difficulty in [0, 1]"),
    ("input", "the item's input (the prompt)"),
    ("expected", "the item's expected answer"),
    ("output", "the strategy's answer text (empty on error)"),
    ("score", "scorer's score in [0, 1]; 0 when the strategy failed; NaN when unscorable or the scorer failed"),
    ("status", "ok, error (the strategy raised: score 0) or score_error (answered, but the scorer raised)"),
    ("error_type", "what failed: the call's error type (rate_limit, strategy, ...) or 'scorer'"),
    ("error", "error message (keys redacted)"),
    ("cost_usd", "cost of the strategy call tree in USD (failed but billed attempts included)"),
    ("cost_inr", "the same in INR at the rate at call time"),
    ("latency_s", "latency of the strategy call as composed by the strategy"),
    ("calls", "number of leaf calls in the call tree (model calls and cache hits, failed attempts included)"),
    ("cache_hits", "leaf calls answered from a cache"),
    ("call_id", "call id of the top-level (root) call in the call log"),
    ("finished_at", "when the row was written (UTC)"),
    (
        "ttft_s",
        "time to the first answer token of the strategy call, as composed by the strategy (see "
        "orchestra_lab.streaming); NaN unless it was streamed (Experiment(stream=True) or a model with streaming=True)",
    ),
)
ITEM_COLUMNS: tuple[str, ...] = tuple(name for name, _ in ITEM_SCHEMA)

# name, meaning: the columns of Results.summary() (one row per strategy, indexed by strategy; with by=FIELD one row
# per strategy and value of the field, indexed by both)
SUMMARY_SCHEMA: tuple[tuple[str, str], ...] = (
    ("n", "rows: items x repeats that finished"),
    ("score_mean", "mean over items of each item's mean score over its repeats (errors count 0; NaN scores left out)"),
    ("score_ci_lo", "lower end of the 95% bootstrap confidence interval of score_mean (resamples items)"),
    ("score_ci_hi", "upper end of that interval"),
    ("error_rate", "share of rows whose strategy call failed"),
    ("cost_usd_total", "total spend in USD (NaN when a price is unknown)"),
    ("cost_usd_per_item", "mean spend per row in USD"),
    ("cost_usd_per_correct", "total spend / total score: USD per correct answer (inf when nothing is right)"),
    ("cost_inr_total", "total spend in INR"),
    ("cost_inr_per_item", "mean spend per row in INR"),
    ("cost_inr_per_correct", "INR per correct answer"),
    ("latency_p50_s", "median latency in seconds"),
    ("latency_p95_s", "95th percentile latency"),
    ("latency_p99_s", "99th percentile latency"),
    ("calls_per_item", "mean number of leaf calls per row"),
    ("cache_hit_rate", "share of leaf calls answered from a cache"),
    ("ttft_p50_s", "median time to the first answer token in seconds (NaN when no row was streamed)"),
    ("ttft_p95_s", "95th percentile time to the first answer token"),
)
SUMMARY_COLUMNS: tuple[str, ...] = tuple(name for name, _ in SUMMARY_SCHEMA)

_HIGHER_IS_BETTER = ("score_mean",)
_LOWER_IS_BETTER = (
    "error_rate",
    "cost_usd_per_item",
    "cost_usd_per_correct",
    "cost_inr_per_item",
    "cost_inr_per_correct",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "ttft_p50_s",
    "ttft_p95_s",
)


@dataclass(frozen=True)
class Comparison:
    """Strategy ``a`` against ``b`` on the items both finished: paired difference over items and, for pass/fail
    scores with one repeat per item, the exact McNemar test (``note`` says why it is missing otherwise)."""

    a: str
    b: str
    difference: stats.PairedDifference
    mcnemar: stats.McNemar | None
    note: str = ""

    def __repr__(self) -> str:
        d = self.difference
        text = (
            f"{self.a} - {self.b}: {d.difference:+.4f} mean score (95% CI {d.ci_lo:+.4f} to {d.ci_hi:+.4f}) "
            f"over {d.n} items; {self.a} {d.mean_a:.4f}, {self.b} {d.mean_b:.4f}"
        )
        if self.mcnemar is not None:
            m = self.mcnemar
            text += f"\nexact McNemar: p = {m.p_value:.4g} (only {self.a} right: {m.b}, only {self.b} right: {m.c})"
        if self.note:
            text += f"\n{self.note}"
        return text

    def _repr_html_(self) -> str:
        lines = html.escape(repr(self)).replace("\n", "<br>")
        table = "" if self.mcnemar is None else self.mcnemar.table.to_html()
        return f"<div><p>{lines}</p>{table}</div>"


class Results:
    """Items, calls and config of one experiment run, with summaries, comparisons and cost projections.

    ``items`` has the columns of :data:`ITEM_SCHEMA` (missing ones are filled empty), ``calls`` is the call-log
    frame (when not given, read from ``run_dir`` the first time it is used), ``config`` the run's ``run.json``;
    ``dataset`` (optional) is the dataset the run asked, which lets :meth:`summary` break results down by a
    metadata field of its items.

    >>> import pandas as pd
    >>> from orchestra_lab import Results
    >>> items = pd.DataFrame({"strategy": ["a", "a", "b", "b"], "item_id": ["q1", "q2"] * 2, "score": [1, 0, 1, 1]})
    >>> results = Results(items)
    >>> results.strategies, results.summary()["score_mean"].to_dict()
    (['a', 'b'], {'b': 1.0, 'a': 0.5})
    """

    def __init__(
        self,
        items: pd.DataFrame | list[dict[str, Any]],
        calls: pd.DataFrame | None = None,
        config: Mapping[str, Any] | None = None,
        run_dir: str | Path | None = None,
        dataset: Dataset | None = None,
    ) -> None:
        self.items = items_frame(items)
        self._calls = calls
        self._calls_rows: int | None = None  # read lazily: only the first rows, those there when these were made
        self.config = dict(config or {})
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.dataset = dataset

    @property
    def calls(self) -> pd.DataFrame:
        """The call-log frame: as given, else read from ``run_dir`` on first use (empty without either)."""
        if self._calls is None:
            if self.run_dir is not None and CallLog.exists_in(self.run_dir):
                frame = CallLog.load(self.run_dir).to_frame()  # rows are only appended: the first are ours
                self._calls = frame if self._calls_rows in (None, len(frame)) else frame.iloc[: self._calls_rows]
            else:
                self._calls = pd.DataFrame(columns=list(CALL_COLUMNS))
        return self._calls

    @calls.setter
    def calls(self, frame: pd.DataFrame) -> None:
        self._calls = frame

    @classmethod
    def load(cls, run_dir: str | Path, *, dataset: Dataset | None = None) -> Results:
        """Read a run directory written by :class:`~orchestra_lab.experiments.run.Experiment` (its calls when
        :attr:`calls` is first used); pass the run's ``dataset`` to break results down by its metadata fields
        (``summary(by=...)``)."""
        run_dir = Path(run_dir)
        config_path = run_dir / RUN_FILE
        if not config_path.exists():
            raise FileNotFoundError(f"{config_path}: no run here (expected {RUN_FILE} in the run directory)")
        if not CallLog.exists_in(run_dir):
            raise FileNotFoundError(f"{run_dir}: no call log here (expected calls.jsonl in the run directory)")
        return cls.of_run(read_items(run_dir), CallLog.load(run_dir), read_config(config_path), run_dir, dataset)

    @classmethod
    def of_run(
        cls,
        items: pd.DataFrame | list[dict[str, Any]],
        log: CallLog,
        config: Mapping[str, Any],
        run_dir: Path | None,
        dataset: Dataset | None = None,
    ) -> Results:
        """Results of a run directory whose call log is ``log``: its calls are read when first used (the rows
        ``log`` has now, even if the run records more later) once they are in segments, else taken now."""
        results = cls(items, None if log.compacted_rows else log.tail_frame(), config, run_dir, dataset)
        results._calls_rows = len(log)
        return results

    # -- tables ----------------------------------------------------------------------------------------------
    @property
    def strategies(self) -> list[str]:
        """Strategy keys in the order the experiment listed them (then any others found in the items)."""
        listed = list(self.config.get("strategies", {}))
        found = list(dict.fromkeys(self.items["strategy"]))
        return [s for s in listed if s in found] + [s for s in found if s not in listed]

    @property
    def info(self) -> dict[str, Any]:
        """Facts about the run, for reports: id, dataset, scorer, library version, creation time."""
        dataset = self.config.get("dataset", {})
        facts = {
            "run_id": self.config.get("run_id"),
            "dataset": dataset.get("name"),
            "dataset_size": dataset.get("size"),
            "scorer": self.config.get("scorer"),
            "repeats": self.config.get("repeats"),
            "created_at": self.config.get("created_at"),
            "library_version": self.config.get("library_version"),
        }
        return {k: v for k, v in facts.items() if v is not None}

    def summary(
        self,
        *,
        by: str | None = None,
        confidence: float = stats.CONFIDENCE,
        resamples: int = stats.RESAMPLES,
        seed: int = 0,
    ) -> pd.DataFrame:
        """One row per strategy (see :data:`SUMMARY_SCHEMA`), best mean score first, then cheapest per item.

        ``score_mean`` is the mean over items of each item's mean over its repeats, and its confidence interval
        resamples those item means: the estimate and its interval are of the same quantity, so unequal repeats
        (a spend-cap stop) cannot put the estimate outside its interval. Neither depends on the finishing order.

        ``by`` names a field of the items (``category``, ``difficulty``..., or a metadata key such as
        ``language``, see :meth:`field`): then there is one row per (strategy, value), indexed by both, with the
        same columns and each group's own interval; strategies in the order the experiment listed them, values
        sorted, items without the field grouped under a missing value.

        >>> items = pd.DataFrame({"strategy": "a", "item_id": ["q1", "q2", "q3"], "score": [1, 0, 1],
        ...                       "category": ["hi", "en", "hi"]})
        >>> Results(items).summary(by="category")[["n", "score_mean"]]  # doctest: +NORMALIZE_WHITESPACE
                           n  score_mean
        strategy category
        a        en        1         0.0
                 hi        2         1.0
        """
        options = {"confidence": confidence, "resamples": resamples, "seed": seed}
        if by is not None:
            return self._summary_by(by, **options)
        groups = list(self.items.groupby("strategy", sort=False))
        rows = [_summarize(group, **options) for _, group in groups]
        frame = _summary_frame(rows, pd.Index([name for name, _ in groups], name="strategy"))
        return frame.sort_values(["score_mean", "cost_usd_per_item"], ascending=[False, True], kind="stable")

    def field(self, name: str) -> pd.Series:
        """The value of a dataset field for each item row: an items column (``category``, ``difficulty``...) or
        else the metadata key ``name`` of each row's item in :attr:`dataset` (``None`` where an item lacks it).

        >>> Results(pd.DataFrame({"strategy": "a", "item_id": ["q1"], "category": ["en"]})).field("category").tolist()
        ['en']
        """
        if name in self.items.columns:
            return self.items[name].rename(name)
        if self.dataset is None:
            raise KeyError(
                f"no item column {name!r} (the items have {list(self.items.columns)}); for a metadata field, give "
                "the run's dataset: Results.load(run_dir, dataset=...)"
            )
        metadata = {str(item.id): item.metadata for item in self.dataset}
        if not any(name in fields for fields in metadata.values()):
            raise KeyError(f"no item column or metadata field {name!r} in dataset {self.dataset.name!r}")
        return self.items["item_id"].map(lambda item_id: metadata.get(item_id, {}).get(name)).rename(name)

    def _summary_by(self, by: str, **options: Any) -> pd.DataFrame:
        values = self.field(by).astype(object)
        listed = next((v for v in values if not isinstance(v, Hashable)), None)
        if listed is not None:
            raise TypeError(f"by={by!r}: its values are {type(listed).__name__}s, not one label per item")
        rank = {name: i for i, name in enumerate(self.strategies)}
        groups = self.items.assign(_value=values).groupby(["strategy", "_value"], sort=False, dropna=False)
        ordered = sorted(groups, key=lambda pair: (rank[pair[0][0]], _value_order(pair[0][1])))
        rows = [_summarize(group, **options) for _, group in ordered]
        return _summary_frame(rows, pd.MultiIndex.from_tuples([key for key, _ in ordered], names=["strategy", by]))

    def frontier(self) -> pd.DataFrame:
        """Summary rows of the Pareto-optimal strategies on (cost per item in USD, mean score), cheapest first.

        A strategy is off the frontier when another costs no more and scores no less, and is better on one.
        """
        from .plots import pareto_front

        summary = self.summary()
        on_front = pareto_front(summary, "cost_usd_per_item", "score_mean")
        return summary[on_front].sort_values(["cost_usd_per_item", "score_mean"], ascending=[True, False])

    def plot_frontier(self, currency: str = "USD", ax: Any = None, *, latency: str | None = None) -> Any:
        """Cost-quality scatter with the Pareto frontier marked (a matplotlib Figure); ``latency="ttft_p50"`` (or
        another latency percentile, see :func:`~orchestra_lab.experiments.plots.frontier`) puts it on the x axis."""
        from .plots import frontier

        return frontier(self.summary(), currency=currency, ax=ax, latency=latency)

    def plot_latency(self, ax: Any = None) -> Any:
        """Latency distribution per strategy (a matplotlib Figure)."""
        from .plots import latency

        return latency(self.items, ax=ax)

    def plot_by_category(self, ax: Any = None) -> Any:
        """Mean score per category and strategy (a matplotlib Figure)."""
        from .plots import by_category

        return by_category(self.items, ax=ax)

    def export(self, path: str | Path, format: str | None = None, **options: Any) -> Path:
        """Write the summary as CSV, Markdown, HTML report, JSON, Parquet or LaTeX (by suffix or ``format``)."""
        from .exports import export

        return export(self, path, format, **options)

    def compare(
        self, a: str, b: str, *, confidence: float = stats.CONFIDENCE, resamples: int = stats.RESAMPLES, seed: int = 0
    ) -> Comparison:
        """Strategy ``a`` against ``b`` on the (item, repeat) pairs both finished with a score.

        Each item's pairs are averaged first; the difference is the mean over items of ``a - b`` with a bootstrap
        CI that resamples items. The exact McNemar test is added when every score is 0 or 1 and each item has one
        repeat; with repeats it is skipped (the pairs of one item are not independent) and ``note`` says so.
        """
        pairs = self._pairs(a, b).dropna(subset=["score_a", "score_b"])
        per_item = _item_means(pairs, ["score_a", "score_b"])
        difference = stats.paired_difference(
            per_item["score_a"], per_item["score_b"], confidence=confidence, resamples=resamples, seed=seed
        )
        binary = stats.is_pass_fail(pairs["score_a"]) and stats.is_pass_fail(pairs["score_b"])
        if not binary:
            return Comparison(a, b, difference, None)
        repeats = int(pairs.groupby("item_id").size().max())
        if repeats > 1:
            note = f"exact McNemar skipped: up to {repeats} repeats per item are not independent pairs"
            return Comparison(a, b, difference, None, note)
        return Comparison(a, b, difference, stats.mcnemar(per_item["score_a"], per_item["score_b"], names=(a, b)))

    def project_cost(
        self, requests_per_day: float, *, currency: Literal["INR", "USD"] = "INR", days: int = 30
    ) -> pd.DataFrame:
        """What each strategy would cost at ``requests_per_day`` over ``days``, from its mean cost per item.

        Columns (``<cur>`` is ``inr`` or ``usd``): ``requests``, ``cost_<cur>_per_request``, ``cost_<cur>_per_day``,
        ``cost_<cur>_total``; cheapest first.
        """
        cur = currency.lower()
        if cur not in ("inr", "usd"):
            raise ValueError(f"currency: {currency!r} is not 'INR' or 'USD'")
        if not requests_per_day > 0 or not days > 0:
            raise ValueError(f"requests_per_day ({requests_per_day!r}) and days ({days!r}) must be positive")
        per_request = self.summary()[f"cost_{cur}_per_item"]
        frame = pd.DataFrame(
            {
                "requests": requests_per_day * days,
                f"cost_{cur}_per_request": per_request,
                f"cost_{cur}_per_day": per_request * requests_per_day,
                f"cost_{cur}_total": per_request * requests_per_day * days,
            }
        )
        return frame.sort_values(f"cost_{cur}_total", kind="stable")

    # -- display ---------------------------------------------------------------------------------------------
    def _headline(self) -> str:
        items = self.items
        errors = int((items["status"] == "error").sum())
        return (
            f"Results(run_id={self.config.get('run_id')!r}): {items['item_id'].nunique()} items x "
            f"{items['strategy'].nunique()} strategies x {max(1, items['repeat'].nunique())} repeats = "
            f"{len(items)} rows, {errors} errors, spend {_spend_text(items['cost_usd'])}"
        )

    def __repr__(self) -> str:
        if self.items.empty:
            return self._headline()
        return self._headline() + "\n" + self.summary().to_string(float_format=lambda v: f"{v:.4g}")

    def _repr_html_(self) -> str:
        head = f"<p><b>{html.escape(self._headline())}</b></p>"
        if self.items.empty:
            return head
        summary = self.summary()
        varying = [c for c in summary.columns if summary[c].nunique(dropna=True) > 1]  # a constant column has no best
        styled = (
            summary.style.format(format_cell, na_rep="")
            .highlight_max(subset=_present(_HIGHER_IS_BETTER, varying), props=_BEST)
            .highlight_min(subset=_present(_LOWER_IS_BETTER, varying), props=_BEST)
            .set_caption(
                "best in column highlighted (columns whose values all agree are not); numbers to 4 significant "
                "digits; CI = 95% bootstrap interval of the mean score, over items"
            )
            .set_uuid("orchestra-summary")  # a fixed id: the same results render to the same HTML
        )
        return head + styled.to_html()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _pairs(self, a: str, b: str) -> pd.DataFrame:
        known = self.strategies
        for name in (a, b):
            if name not in known:
                raise KeyError(f"no strategy {name!r} in these results; they have {known}")
        keys = ["item_id", "repeat"]
        left = self.items.loc[self.items["strategy"] == a, [*keys, "score"]].rename(columns={"score": "score_a"})
        right = self.items.loc[self.items["strategy"] == b, [*keys, "score"]].rename(columns={"score": "score_b"})
        return left.merge(right, on=keys, how="inner", sort=True)


_BEST = "font-weight:bold;background-color:#d4f4dd"


def _present(columns: tuple[str, ...], among: list[str]) -> list[str]:
    return [c for c in columns if c in among]


def _summary_frame(rows: list[dict[str, float]], index: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame(rows, index=index, columns=list(SUMMARY_COLUMNS))
    frame["n"] = frame["n"].astype("int64")
    return frame


def _value_order(value: Any) -> tuple[bool, bool, Any]:
    """Sort key of a field's values: numbers in order, then text, missing values last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (True, True, "")
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return (False, not is_number, value if is_number else str(value))


def _summarize(group: pd.DataFrame, *, confidence: float, resamples: int, seed: int) -> dict[str, float]:
    group = group.sort_values(["item_id", "repeat"], kind="stable")  # the same rows give the same sums and CI
    scores = group["score"].to_numpy(dtype="float64")
    latency = group["latency_s"].to_numpy(dtype="float64")
    calls = group["calls"].to_numpy(dtype="float64")
    item_scores = _item_means(group, ["score"])["score"]
    lo, hi = stats.bootstrap_ci(item_scores, confidence=confidence, resamples=resamples, seed=seed)
    correct = np.nansum(scores)
    row: dict[str, float] = {
        "n": len(group),
        "score_mean": float(stats.nanmean(item_scores)),  # the quantity the interval is of: never outside it
        "score_ci_lo": lo,
        "score_ci_hi": hi,
        "error_rate": float((group["status"] == "error").mean()),
    }
    for cur in ("usd", "inr"):
        total = float(group[f"cost_{cur}"].sum(skipna=False))  # an unknown price keeps the total unknown
        row |= {
            f"cost_{cur}_total": total,
            f"cost_{cur}_per_item": total / len(group),
            f"cost_{cur}_per_correct": total / correct if correct > 0 else math.inf,
        }
    p50, p95, p99 = _percentiles(latency, [50, 95, 99])
    total_calls = np.nansum(calls)
    row |= {
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "latency_p99_s": p99,
        "calls_per_item": float(stats.nanmean(calls)),
        "cache_hit_rate": float(np.nansum(group["cache_hits"].to_numpy(dtype="float64")) / total_calls)
        if total_calls > 0
        else math.nan,
    }
    ttft_p50, ttft_p95 = _percentiles(group["ttft_s"].to_numpy(dtype="float64"), [50, 95])
    return row | {"ttft_p50_s": ttft_p50, "ttft_p95_s": ttft_p95}


def _item_means(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per item (sorted by id), the mean of ``columns`` over its repeats (NaN skipped): one independent sample each.

    ``rows`` come sorted by (item, repeat), so the same rows give the same means whatever order they finished in.
    """
    return rows.groupby("item_id", sort=True)[columns].mean()


def _spend_text(costs: pd.Series) -> str:
    """Total spend for the headline; never a known-looking total when a price is unknown."""
    known = costs.dropna()
    if known.empty:
        return "unknown"
    total = float(known.sum())
    text = f"${total:.4f} (₹{usd_to_inr(total):.2f})"
    return text if len(known) == len(costs) else f"≥ {text} (some prices unknown)"


def _percentiles(x: np.ndarray, qs: list[float]) -> list[float]:
    finite = x[~np.isnan(x)]
    return [float(v) for v in np.percentile(finite, qs)] if finite.size else [math.nan] * len(qs)


# -- the run directory's files ---------------------------------------------------------------------------------

_FLOAT_COLUMNS = ("score", "cost_usd", "cost_inr", "latency_s", "ttft_s")
_COUNT_COLUMNS = ("repeat", "calls", "cache_hits")


def items_frame(rows: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """Item rows as a typed frame with the :data:`ITEM_SCHEMA` columns first (one row per strategy x item x repeat).

    ``cost_inr`` is filled from ``cost_usd`` where missing; a duplicated (strategy, item, repeat) keeps its first row.
    """
    # a shallow copy: columns are replaced below, never changed in place, so the caller's frame is left alone
    frame = rows.copy(deep=False) if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
    for column in ITEM_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    for column in _FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["cost_inr"] = frame["cost_inr"].fillna(frame["cost_usd"].map(usd_to_inr))
    for column in _COUNT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
    frame["strategy"] = frame["strategy"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], unit="s", utc=True)
    frame = frame.drop_duplicates(["strategy", "item_id", "repeat"], keep="first")
    extra = [c for c in frame.columns if c not in ITEM_COLUMNS]
    return frame[[*ITEM_COLUMNS, *extra]].reset_index(drop=True)
