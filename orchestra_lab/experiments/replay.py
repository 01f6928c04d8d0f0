"""Record once, evaluate many: recorded outcomes, baselines, vectorized router sweeps and routing metrics.

A :class:`RecordedOutcomes` holds what each model answered on each item (score, response text, cost, optional
latency and tokens), e.g. a RouterBench table or one of our own runs. From it:

- :class:`~orchestra_lab.models.replay.ReplayModel` replays a model call by call, so any strategy runs on it;
- :func:`baselines` gives each single model and the oracle; :func:`random_mix` the random two-model mixes;
- :func:`threshold_sweep` and :func:`cascade_sweep` trace a router's cost-quality :class:`Curve` over thresholds,
  with numpy over all items at once (no model calls);
- :func:`aiq`, :func:`apgr` and :func:`cpt` summarise curves (RouterBench, RouteLLM).

Missing scores (blank cells) are NaN. They are never counted as 0 for a single model: a model's quality is its
mean over the items it has a score for, and every table reports how many were missing. The oracle is the
exception, stated there: a missing score is "not correct".

>>> import numpy as np
>>> outcomes = RecordedOutcomes.from_arrays(
...     ["q1", "q2", "q3", "q4"], ["small", "large"],
...     scores=[[1, 1], [0, 1], [0, 0], [1, np.nan]], costs=[[1, 10], [1, 10], [1, 10], [1, 10]])
>>> baselines(outcomes)[["quality", "cost_usd", "missing_scores"]]  # doctest: +NORMALIZE_WHITESPACE
        quality  cost_usd  missing_scores
model
small  0.500000       4.0               0
large  0.666667      40.0               1
oracle 0.750000      13.0               1
>>> curve = threshold_sweep(outcomes, [0.1, 0.9, 0.5, 0.2], weak="small", strong="large", thresholds=[0.5])
>>> curve.quality.tolist(), curve.cost_usd.tolist(), curve.strong_share.tolist()
([0.75], [22.0], [0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._replay_load import Arrays, OnDuplicate, calls_frame, read_calls, read_routerbench, routerbench_files
from .scorers.recorded import RecordedScore
from .stats import nanmean

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .dataset import Dataset

ArrayLike = Any  # anything np.asarray accepts


# -- the table -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class RecordedOutcomes:
    """Items x models of recorded outcomes. Arrays are ``(n_items, n_models)``, read-only.

    ``items`` is indexed by ``item_id`` with ``prompt`` and ``category`` columns (plus any the source had);
    ``scores`` and ``costs`` are float with NaN where nothing was recorded; ``responses`` holds the answer texts
    (``None`` where none was recorded); ``latencies`` and the token counts are optional (NaN cells allowed).
    ``costs`` are what the provider billed when the outcome was recorded.
    """

    items: pd.DataFrame
    models: tuple[str, ...]
    scores: np.ndarray
    costs: np.ndarray
    responses: np.ndarray
    latencies: np.ndarray | None = None
    input_tokens: np.ndarray | None = None
    output_tokens: np.ndarray | None = None
    name: str = "recorded"
    _columns: dict[str, int] = field(init=False, repr=False)
    _rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.items.index.is_unique:
            repeated = self.items.index[self.items.index.duplicated()][0]
            raise ValueError(f"{self.name}: item ids are not unique ({repeated!r} repeats)")
        absent = [c for c in ("prompt", "category") if c not in self.items.columns]
        if absent:
            raise ValueError(f"{self.name}: the items table has no {absent} column(s)")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"{self.name}: model names are not unique: {list(self.models)}")
        shape = (len(self.items), len(self.models))
        for array_name in ("scores", "costs", "responses", "latencies", "input_tokens", "output_tokens"):
            array = getattr(self, array_name)
            if array is None:
                continue
            if array.shape != shape:
                raise ValueError(f"{self.name}: {array_name} has shape {array.shape}, expected (items, models) {shape}")
            array.setflags(write=False)
        object.__setattr__(self, "_columns", {m: j for j, m in enumerate(self.models)})
        object.__setattr__(self, "_rows", {str(i): k for k, i in enumerate(self.items.index)})

    # -- building ----------------------------------------------------------------------------------------------
    @classmethod
    def from_routerbench(
        cls,
        path_or_paths: str | Path | Sequence[str | Path],
        *,
        on_duplicate: OnDuplicate = "error",
        name: str = "routerbench",
    ) -> RecordedOutcomes:
        """Load RouterBench-format CSVs: a file, a directory of ``*.csv`` or a list (rows are concatenated).

        One row per prompt with ``sample_id``, ``prompt``, ``eval_name`` and, for each model ``M``, the columns
        ``M`` (score), ``M|model_response`` and ``M|total_cost``. A blank score stays missing (NaN). A
        ``sample_id`` used by several rows is an error naming it; ``on_duplicate="suffix"`` keeps the first and
        renames the others ``id#2``, ``id#3``... (``items["sample_id"]`` keeps the original). ``category`` is the
        ``eval_name``; ``items`` also keeps the ``file`` and data ``row`` each prompt came from.
        """
        return cls._of(read_routerbench(routerbench_files(path_or_paths), on_duplicate), name)

    @classmethod
    def from_calls(cls, calls: Any, *, name: str = "calls") -> RecordedOutcomes:
        """Outcomes of our own runs: an items table (one row per model or strategy and item), a result with an
        ``.items`` table, or a :class:`~orchestra_lab.calllog.CallLog` (its top-level calls).

        Columns read (first name found): ``item_id``; ``model`` or ``strategy``; ``output``/``response_text``;
        ``score``; ``cost_usd``; ``latency_s``; ``input_tokens``; ``output_tokens``; ``prompt``/``input``;
        ``category``. Several rows for one item and model is an error (filter to one run first).
        """
        return cls._of(read_calls(calls_frame(calls)), name)

    @classmethod
    def from_arrays(
        cls,
        item_ids: Sequence[str],
        models: Sequence[str],
        *,
        scores: ArrayLike,
        costs: ArrayLike,
        responses: ArrayLike | None = None,
        latencies: ArrayLike | None = None,
        prompts: Sequence[str] | None = None,
        categories: Sequence[str | None] | None = None,
        name: str = "recorded",
    ) -> RecordedOutcomes:
        """Build from plain arrays (``responses`` default to the score as text, for quick experiments).

        >>> RecordedOutcomes.from_arrays(["a", "b"], ["m"], scores=[[1], [0]], costs=[[0.1], [0.1]])
        RecordedOutcomes('recorded', 2 items, 1 models, 0 missing scores)
        """
        score_array = np.asarray(scores, dtype=float)
        if responses is None:
            responses = np.where(np.isnan(score_array), None, score_array.astype(str))
        items = pd.DataFrame(
            {
                "prompt": list(prompts) if prompts is not None else [""] * len(item_ids),
                "category": list(categories) if categories is not None else [None] * len(item_ids),
            },
            index=pd.Index([str(i) for i in item_ids], name="item_id", dtype=object),
        )
        return cls(
            items=items,
            models=tuple(models),
            scores=score_array,
            costs=np.asarray(costs, dtype=float),
            responses=np.asarray(responses, dtype=object),
            latencies=None if latencies is None else np.asarray(latencies, dtype=float),
            name=name,
        )

    @classmethod
    def _of(cls, arrays: Arrays, name: str) -> RecordedOutcomes:
        return cls(**arrays, name=name)

    # -- looking up --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    @property
    def item_ids(self) -> list[str]:
        return [str(i) for i in self.items.index]

    def column(self, model: str) -> int:
        """The column of ``model`` in the arrays."""
        try:
            return self._columns[model]
        except KeyError:
            raise KeyError(f"{self.name}: no model {model!r}; models are {list(self.models)}") from None

    def row(self, item_id: str) -> int | None:
        """The row of ``item_id`` in the arrays, ``None`` if the item was not recorded."""
        return self._rows.get(item_id)

    def missing(self) -> pd.DataFrame:
        """Per model: how many items have no score, no response, no cost.

        >>> RecordedOutcomes.from_arrays(["a", "b"], ["m"], scores=[[1], [np.nan]], costs=[[1], [1]]).missing()
        ... # doctest: +NORMALIZE_WHITESPACE
               missing_scores  missing_responses  missing_costs
        model
        m                   1                  1              0
        """
        frame = pd.DataFrame(
            {
                "missing_scores": np.isnan(self.scores).sum(axis=0),
                "missing_responses": pd.isna(self.responses).sum(axis=0),
                "missing_costs": np.isnan(self.costs).sum(axis=0),
            },
            index=pd.Index(self.models, name="model"),
        )
        return frame

    def select(self, *, models: Sequence[str] | None = None, items: ArrayLike | None = None) -> RecordedOutcomes:
        """A subset: some ``models`` (in that order) and/or ``items`` (ids, or a boolean mask over the rows).

        >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["m", "n"], scores=[[1, 0], [0, 1]], costs=[[1, 2], [1, 2]])
        >>> o.select(models=["n"], items=o.items.index == "b").scores.tolist()
        [[1.0]]
        """
        cols = np.arange(len(self.models)) if models is None else np.array([self.column(m) for m in models], dtype=int)
        rows = np.arange(len(self)) if items is None else self._row_selection(items)

        def take(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[np.ix_(rows, cols)].copy()

        return replace(
            self,
            items=self.items.iloc[rows],
            models=tuple(self.models[j] for j in cols),
            scores=take(self.scores),
            costs=take(self.costs),
            responses=take(self.responses),
            latencies=take(self.latencies),
            input_tokens=take(self.input_tokens),
            output_tokens=take(self.output_tokens),
        )

    def _row_selection(self, items: ArrayLike) -> np.ndarray:
        selection = np.asarray(items)
        if selection.dtype == bool:
            if selection.shape != (len(self),):
                raise ValueError(f"{self.name}: the item mask has shape {selection.shape}, expected ({len(self)},)")
            return np.flatnonzero(selection)
        rows = [self.row(str(i)) for i in selection]
        unknown = [str(i) for i, r in zip(selection, rows) if r is None]
        if unknown:
            raise KeyError(f"{self.name}: no item(s) {unknown[:5]}")
        return np.array(rows, dtype=int)

    # -- converting --------------------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: one row per item and model (item_id, category, model, score, cost_usd, latency_s,
        response)."""
        n_items, n_models = self.scores.shape
        latencies = self.latencies if self.latencies is not None else np.full(self.scores.shape, np.nan)
        return pd.DataFrame(
            {
                "item_id": np.repeat(self.items.index.to_numpy(dtype=object), n_models),
                "category": np.repeat(self.items["category"].to_numpy(dtype=object), n_models),
                "model": np.tile(np.array(self.models, dtype=object), n_items),
                "score": self.scores.ravel(),
                "cost_usd": self.costs.ravel(),
                "latency_s": latencies.ravel(),
                "response": self.responses.ravel(),
            }
        )

    def to_dataset(self, name: str | None = None) -> Dataset:
        """The items as a :class:`~orchestra_lab.experiments.dataset.Dataset` to run strategies of
        :class:`~orchestra_lab.models.replay.ReplayModel` on. Each item's ``metadata["replay"]`` names this table,
        marking it as a replayed item (it has no ``expected``: score it with :class:`RecordedScore`).

        >>> o = RecordedOutcomes.from_arrays(["a"], ["m"], scores=[[1]], costs=[[1]], prompts=["2+2?"], name="t")
        >>> o.to_dataset()[0]
        Item(id='a', input='2+2?', expected=None, category=None, difficulty=None, metadata={'replay': 't'})
        """
        from .dataset import Dataset, Item

        categories = self.items["category"].to_numpy(dtype=object)
        items = (
            Item(
                str(item_id),
                str(prompt),
                category=None if pd.isna(category) else str(category),
                metadata={"replay": self.name},
            )
            for item_id, prompt, category in zip(self.items.index, self.items["prompt"], categories)
        )
        return Dataset(items, name=name or self.name, source=f"replay:{self.name}")

    def __repr__(self) -> str:
        missing = int(np.isnan(self.scores).sum())
        size = f"{len(self)} items, {len(self.models)} models"
        return f"RecordedOutcomes({self.name!r}, {size}, {missing} missing scores)"


# -- curves ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Curve:
    """Cost-quality points of a router family, one per threshold.

    ``cost_usd`` is the total over the items; ``quality`` the mean score over the items whose chosen answer has a
    score (``missing`` counts those without); ``strong_share`` the share of items answered by the strong model
    (last cascade stage). ``weak_quality`` / ``strong_quality`` are the two models' own qualities, for
    :func:`apgr` and :func:`cpt`. ``threshold`` is NaN where a point has none (random mixes).
    """

    threshold: np.ndarray
    cost_usd: np.ndarray
    quality: np.ndarray
    strong_share: np.ndarray
    missing: np.ndarray
    weak_quality: float
    strong_quality: float
    label: str = ""

    def __len__(self) -> int:
        return len(self.quality)

    def to_frame(self) -> pd.DataFrame:
        """One row per point: threshold, cost_usd, quality, strong_share, missing."""
        return pd.DataFrame(
            {
                "threshold": self.threshold,
                "cost_usd": self.cost_usd,
                "quality": self.quality,
                "strong_share": self.strong_share,
                "missing": self.missing,
            }
        )

    def plot(self, ax: Axes | None = None, *, x: str = "cost_usd", **kwargs: Any) -> Axes:
        """Quality against ``x`` (``"cost_usd"`` or ``"strong_share"``) on ``ax`` (a new figure if None)."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots()[1]
        order = np.argsort(getattr(self, x), kind="stable")
        ax.plot(getattr(self, x)[order], self.quality[order], marker=".", label=self.label or None, **kwargs)
        ax.set_xlabel("total cost (USD)" if x == "cost_usd" else "share of items on the strong model")
        ax.set_ylabel("quality")
        return ax

    def __repr__(self) -> str:
        return (
            f"Curve({self.label!r}, {len(self)} points, cost {np.nanmin(self.cost_usd):.4g}-"
            f"{np.nanmax(self.cost_usd):.4g} USD, quality {np.nanmin(self.quality):.3f}-{np.nanmax(self.quality):.3f})"
        )


# -- baselines -------------------------------------------------------------------------------------------------
def baselines(outcomes: RecordedOutcomes, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Each single model and the oracle over them: ``quality``, ``cost_usd`` (total), ``scored``, ``missing_scores``.

    A model's quality is its mean score over the items it has a score for; its cost is the total over all items
    (a call whose score is missing was still billed). The oracle picks, per item, the cheapest model with the best
    score: its quality is the share of items some model gets right (for 0/1 scores; the mean best score in general)
    and it pays the cheapest correct model's cost, or the cheapest model's when none is correct. For the oracle a
    missing score counts as 0 (not correct); ``missing_scores`` says how many cells that was.
    """
    chosen = outcomes if models is None else outcomes.select(models=models)
    scores, costs = chosen.scores, chosen.costs
    missing = np.isnan(scores).sum(axis=0)
    singles = pd.DataFrame(
        {
            "quality": nanmean(scores, axis=0),
            "cost_usd": costs.sum(axis=0),
            "scored": len(chosen) - missing,
            "missing_scores": missing,
        },
        index=pd.Index(chosen.models, name="model"),
    )
    best, cost = _oracle_per_item(scores, costs)
    oracle_row = pd.DataFrame(
        {"quality": best.mean(), "cost_usd": cost.sum(), "scored": len(chosen), "missing_scores": missing.sum()},
        index=pd.Index(["oracle"], name="model"),
    )
    return pd.concat([singles, oracle_row])


def _oracle_per_item(scores: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    filled = np.nan_to_num(scores, nan=0.0)
    best = filled.max(axis=1)
    winners = (filled == best[:, None]) & ~np.isnan(scores)
    cheapest_winner = np.fmin.reduce(np.where(winners, costs, np.inf), axis=1)
    cheapest = np.fmin.reduce(costs, axis=1)
    return best, np.where(best > 0, cheapest_winner, cheapest)


def random_mix(
    outcomes: RecordedOutcomes, *, weak: str, strong: str, shares: ArrayLike | int = 11, label: str | None = None
) -> Curve:
    """Expected cost and quality of sending a random share ``p`` of items to ``strong`` and the rest to ``weak``,
    for every ``p`` in ``shares`` (an array, or a number of evenly spaced shares from 0 to 1).

    Quality mixes the two models' qualities (each over its scored items), cost their totals.

    >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["w", "s"], scores=[[0, 1], [1, 1]], costs=[[1, 3], [1, 3]])
    >>> random_mix(o, weak="w", strong="s", shares=3).quality.tolist()
    [0.5, 0.75, 1.0]
    """
    p = np.linspace(0.0, 1.0, shares) if isinstance(shares, int) else np.asarray(shares, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("shares: every share must be between 0 and 1")
    w, s = outcomes.column(weak), outcomes.column(strong)
    quality = nanmean(outcomes.scores[:, [w, s]], axis=0)
    cost = outcomes.costs[:, [w, s]].sum(axis=0)
    missing = np.isnan(outcomes.scores[:, [w, s]]).sum(axis=0)
    return Curve(
        threshold=np.full(p.shape, np.nan),
        cost_usd=(1 - p) * cost[0] + p * cost[1],
        quality=(1 - p) * quality[0] + p * quality[1],
        strong_share=p,
        missing=(1 - p) * missing[0] + p * missing[1],
        weak_quality=float(quality[0]),
        strong_quality=float(quality[1]),
        label=label or f"random {weak}/{strong}",
    )


# -- sweeps ----------------------------------------------------------------------------------------------------
def threshold_sweep(
    outcomes: RecordedOutcomes,
    router_score: ArrayLike | pd.Series,
    *,
    weak: str,
    strong: str,
    thresholds: ArrayLike | int = 101,
    label: str | None = None,
) -> Curve:
    """The curve of a threshold router: an item goes to ``strong`` when ``router_score >= threshold``, else to
    ``weak``. ``router_score`` is one number per item (e.g. predicted difficulty): an array in item order or a
    Series indexed by item id. ``thresholds`` is an array, or a number of quantiles of the scores (always
    including all-strong and all-weak). Vectorized: sort once, prefix sums, one binary search per threshold.
    """
    values = _per_item(outcomes, router_score, "router_score")
    cuts = _thresholds(values, thresholds)
    w, s = outcomes.column(weak), outcomes.column(strong)
    order = np.argsort(values, kind="stable")
    k = np.searchsorted(values[order], cuts, side="left")  # items order[k:] go to the strong model
    weak_sums = _prefix_sums(outcomes.scores[order, w], outcomes.costs[order, w])
    strong_sums = _prefix_sums(outcomes.scores[order, s], outcomes.costs[order, s])
    n = len(values)
    total = {key: weak_sums[key][k] + strong_sums[key][n] - strong_sums[key][k] for key in weak_sums}
    cost = np.where(total["cost_unknown"] > 0, np.nan, total["cost"])
    return Curve(
        threshold=cuts,
        cost_usd=cost,
        quality=_ratio(total["score"], total["scored"]),
        strong_share=(n - k) / n,
        missing=n - total["scored"],
        weak_quality=float(nanmean(outcomes.scores[:, w])),
        strong_quality=float(nanmean(outcomes.scores[:, s])),
        label=label or f"threshold {weak}/{strong}",
    )


def cascade_sweep(
    outcomes: RecordedOutcomes,
    stages: Sequence[str],
    acceptance: ArrayLike,
    thresholds: ArrayLike,
    *,
    label: str | None = None,
) -> Curve:
    """The curve of a cascade: stage ``i``'s answer is accepted when ``acceptance[item, i] >= threshold[i]``,
    else the next stage is called; the last stage always answers. Every stage called is paid for.

    ``acceptance`` is ``(n_items, n_stages - 1)`` (or ``(n_items,)`` for two stages), e.g. recorded confidence
    or a verifier's score; NaN never accepts. ``thresholds`` is ``(T,)`` (one threshold for every stage) or
    ``(T, n_stages - 1)``. ``strong_share`` is the share of items that reach the last stage.

    >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["w", "s"], scores=[[0, 1], [1, 1]], costs=[[1, 3], [1, 3]])
    >>> c = cascade_sweep(o, ["w", "s"], [0.2, 0.9], thresholds=[0.0, 0.5, 1.0])
    >>> c.quality.tolist(), c.cost_usd.tolist(), c.strong_share.tolist()
    ([0.5, 1.0, 1.0], [2.0, 5.0, 8.0], [0.0, 0.5, 1.0])
    """
    if len(stages) < 2:
        raise ValueError("cascade_sweep: needs at least two stages")
    cols = np.array([outcomes.column(m) for m in stages])
    n, gates = len(outcomes), len(stages) - 1
    accept = np.asarray(acceptance, dtype=float)
    accept = accept[:, None] if accept.ndim == 1 else accept
    if accept.shape != (n, gates):
        raise ValueError(f"acceptance: expected shape ({n}, {gates}) (items, stages - 1), got {np.shape(acceptance)}")
    cuts = np.asarray(thresholds, dtype=float)
    cut_grid = np.broadcast_to(cuts[:, None], (len(cuts), gates)) if cuts.ndim == 1 else cuts
    if cut_grid.ndim != 2 or cut_grid.shape[1] != gates:
        raise ValueError(f"thresholds: expected shape (T,) or (T, {gates}), got {cuts.shape}")
    accepted = accept[None, :, :] >= cut_grid[:, None, :]  # (T, n, gates)
    stop = np.where(accepted.any(axis=2), accepted.argmax(axis=2), gates)  # (T, n): the answering stage
    rows = np.arange(n)[None, :]
    paid = np.cumsum(outcomes.costs[:, cols], axis=1)[rows, stop]
    scores = outcomes.scores[:, cols][rows, stop]
    scored = (~np.isnan(scores)).sum(axis=1)
    return Curve(
        threshold=cuts,
        cost_usd=paid.sum(axis=1),
        quality=_ratio(np.nansum(scores, axis=1), scored),
        strong_share=(stop == gates).mean(axis=1),
        missing=n - scored,
        weak_quality=float(nanmean(outcomes.scores[:, cols[0]])),
        strong_quality=float(nanmean(outcomes.scores[:, cols[-1]])),
        label=label or "cascade " + " > ".join(stages),
    )


def _per_item(outcomes: RecordedOutcomes, values: ArrayLike | pd.Series, what: str) -> np.ndarray:
    if isinstance(values, pd.Series):
        absent = outcomes.items.index.difference(values.index)
        if len(absent):
            raise ValueError(f"{what}: no value for {len(absent)} item(s), e.g. {absent[0]!r}")
        values = values.reindex(outcomes.items.index)
    array = np.asarray(values, dtype=float)
    if array.shape != (len(outcomes),):
        raise ValueError(f"{what}: expected one value per item ({len(outcomes)},), got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{what}: NaN for item {outcomes.item_ids[int(np.flatnonzero(np.isnan(array))[0])]!r}")
    return array


def _thresholds(values: np.ndarray, thresholds: ArrayLike | int) -> np.ndarray:
    if isinstance(thresholds, int):
        if thresholds < 2:
            raise ValueError("thresholds: a number of quantile thresholds must be at least 2")
        return np.append(np.quantile(values, np.linspace(0.0, 1.0, thresholds - 1)), np.inf)
    return np.asarray(thresholds, dtype=float).ravel()


def _prefix_sums(scores: np.ndarray, costs: np.ndarray) -> dict[str, np.ndarray]:
    """Prefix sums (with a leading 0) of score, scored count, known cost and unknown-cost count."""

    def prefix(x: np.ndarray) -> np.ndarray:
        return np.concatenate(([0.0], np.cumsum(x)))

    return {
        "score": prefix(np.nan_to_num(scores, nan=0.0)),
        "scored": prefix(~np.isnan(scores)),
        "cost": prefix(np.nan_to_num(costs, nan=0.0)),
        "cost_unknown": prefix(np.isnan(costs)),
    }


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# -- metrics ---------------------------------------------------------------------------------------------------
def non_decreasing_convex_hull(cost: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (cost, quality) of the non-decreasing convex hull of cost-quality points (RouterBench, Hu et al.
    2024, arXiv 2403.12031, sec. 3): the best quality reachable at each cost by randomly mixing the points' router
    settings, and never worse for a larger budget. NaN points are ignored.

    >>> non_decreasing_convex_hull([1, 2, 3, 4], [0.5, 0.55, 0.9, 0.8])
    (array([1., 3.]), array([0.5, 0.9]))
    """
    c, q = np.asarray(cost, dtype=float).ravel(), np.asarray(quality, dtype=float).ravel()
    keep = ~(np.isnan(c) | np.isnan(q))
    c, q = c[keep], q[keep]
    if len(c) == 0:
        raise ValueError("non_decreasing_convex_hull: no points with both cost and quality")
    order = np.lexsort((-q, c))  # by cost, best quality first among equal costs
    hull: list[tuple[float, float]] = []
    for point in zip(c[order], q[order]):
        if hull and point[0] == hull[-1][0]:
            continue  # same cost, lower quality
        while len(hull) >= 2 and _turns_left_or_straight(hull[-2], hull[-1], point):
            hull.pop()
        hull.append(point)
    vertices = np.array(hull)
    top = int(np.argmax(vertices[:, 1]))  # the upper hull rises, then falls: keep the rising part
    return vertices[: top + 1, 0], vertices[: top + 1, 1]


def _turns_left_or_straight(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) >= 0


def aiq(cost: ArrayLike, quality: ArrayLike, *, cost_range: tuple[float, float] | None = None) -> float:
    """Average Improvement in Quality (RouterBench, Hu et al. 2024, arXiv 2403.12031, eq. 4):
    ``AIQ = 1 / (c_max - c_min) * integral from c_min to c_max of R~(c) dc``, where ``R~`` is the
    :func:`non_decreasing_convex_hull` of the router's cost-quality points -- the hull's mean quality over the
    cost range.

    ``cost_range`` defaults to the points' own range; pass one range (e.g. the cheapest to the dearest single
    model) to compare routers, as RouterBench does. Beyond the hull's dearest point quality stays at its best;
    a range starting below the hull's cheapest point is an error (the router cannot run that cheaply).

    >>> aiq([0, 1, 2], [0.0, 1.0, 1.0])
    0.75
    """
    hull_cost, hull_quality = non_decreasing_convex_hull(cost, quality)
    low, high = (hull_cost[0], float(np.nanmax(np.asarray(cost, dtype=float)))) if cost_range is None else cost_range
    if low < hull_cost[0]:
        raise ValueError(f"aiq: cost_range starts at {low:g}, below the cheapest point ({hull_cost[0]:g})")
    if high <= low:
        return float(np.interp(low, hull_cost, hull_quality))
    inside = hull_cost[(hull_cost > low) & (hull_cost < high)]
    xs = np.concatenate(([low], inside, [high]))
    area = _trapezoid(np.interp(xs, hull_cost, hull_quality), xs)
    return float(area / (high - low))


def apgr(curve: Curve) -> float:
    """Average Performance Gap Recovered (RouteLLM, Ong et al. 2024, arXiv 2406.18665, eq. 7):
    ``APGR = integral from 0 to 1 of PGR dc``, with ``PGR = (q - q_weak) / (q_strong - q_weak)`` and ``c`` the
    share of calls to the strong model. Integrated with the trapezoid rule over the curve's points (the paper's
    eq. 8 averages 10 evenly spaced shares), anchored at all-weak (PGR 0) and all-strong (PGR 1); at a share
    reached by several points the best one counts. 0.5 is what random routing gets.

    >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["w", "s"], scores=[[0, 1], [1, 1]], costs=[[1, 3], [1, 3]])
    >>> apgr(threshold_sweep(o, [1.0, 0.0], weak="w", strong="s", thresholds=[0.5]))
    0.75
    """
    share, pgr = _pgr_points(curve)
    return _trapezoid(pgr, share)


def cpt(curve: Curve, recovered: float) -> float:
    """Call-Performance Threshold (RouteLLM, arXiv 2406.18665, sec. 5): the smallest share of calls to the strong
    model at which a point of the curve recovers at least ``recovered`` of the weak-strong gap; ``CPT(80%)`` is
    ``cpt(curve, 0.8)``. Taken over the curve's points (no interpolation); NaN if no point gets there.

    >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["w", "s"], scores=[[0, 1], [1, 1]], costs=[[1, 3], [1, 3]])
    >>> cpt(threshold_sweep(o, [1.0, 0.0], weak="w", strong="s", thresholds=[0.5]), 0.8)
    0.5
    """
    share, pgr = _pgr_points(curve)
    reached = share[pgr >= recovered - 1e-12]
    return float(reached.min()) if len(reached) else float("nan")


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _pgr_points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    gap = curve.strong_quality - curve.weak_quality
    if not np.isfinite(gap) or gap == 0:
        raise ValueError(
            f"{curve.label}: the strong and weak models have the same quality "
            f"({curve.strong_quality:.4g}), so the performance gap recovered is undefined"
        )
    share = np.concatenate(([0.0, 1.0], curve.strong_share))
    pgr = np.concatenate(([0.0, 1.0], (curve.quality - curve.weak_quality) / gap))
    keep = ~np.isnan(pgr)
    frame = pd.DataFrame({"share": share[keep], "pgr": pgr[keep]}).groupby("share", sort=True)["pgr"].max()
    return frame.index.to_numpy(dtype=float), frame.to_numpy(dtype=float)


def models_by_cost(outcomes: RecordedOutcomes) -> list[str]:
    """Model names from the cheapest to the dearest (total recorded cost), e.g. to pick weak/strong pairs.

    >>> o = RecordedOutcomes.from_arrays(["a"], ["big", "small"], scores=[[1, 0]], costs=[[3.0, 1.0]])
    >>> models_by_cost(o)
    ['small', 'big']
    """
    totals = np.nansum(outcomes.costs, axis=0)
    return [outcomes.models[j] for j in np.argsort(totals, kind="stable")]


__all__ = [
    "Curve",
    "RecordedOutcomes",
    "RecordedScore",
    "aiq",
    "apgr",
    "baselines",
    "cascade_sweep",
    "cpt",
    "models_by_cost",
    "non_decreasing_convex_hull",
    "random_mix",
    "threshold_sweep",
]
