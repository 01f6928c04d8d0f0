"""Router sweeps over recorded outcomes: a router family's cost-quality :class:`Curve`, for every threshold at once
(numpy over all items, no model calls), and the random two-model mix every router must beat.

>>> o = RecordedOutcomes.from_arrays(["a", "b"], ["w", "s"], scores=[[0, 1], [1, 1]], costs=[[1, 3], [1, 3]])
>>> threshold_sweep(o, [1.0, 0.0], weak="w", strong="s", thresholds=[0.5]).quality.tolist()
[1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..._thresholds import pick_thresholds
from ..stats import nanmean
from .outcomes import ArrayLike, RecordedOutcomes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Curve", "cascade_sweep", "random_mix", "threshold_sweep"]


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
    Series indexed by item id. ``thresholds`` is an array, or a number of evenly spaced shares of items for the
    strong model, from 0 (all weak) to 1 (all strong), each turned into a threshold by the rule of
    :func:`~orchestra_lab._thresholds.threshold_for_share` (the closest share tied scores allow; the curve's
    ``strong_share`` is the share achieved). Vectorized: sort once, prefix sums, one binary search per threshold.
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
            raise ValueError("thresholds: a number of evenly spaced shares must be at least 2")
        return pick_thresholds(values, np.linspace(1.0, 0.0, thresholds)).threshold  # thresholds ascending
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
