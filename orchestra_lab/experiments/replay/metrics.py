"""Summaries of router curves: AIQ (RouterBench), APGR and CPT (RouteLLM), and the non-decreasing convex hull.

>>> round(aiq([1, 2, 3], [0.5, 0.7, 0.9]), 3)
0.7
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .outcomes import ArrayLike
from .sweeps import Curve

__all__ = ["aiq", "apgr", "cpt", "non_decreasing_convex_hull"]


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

    >>> from orchestra_lab.experiments.replay import RecordedOutcomes, threshold_sweep
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

    >>> from orchestra_lab.experiments.replay import RecordedOutcomes, threshold_sweep
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
