"""The one threshold picker: the threshold at which ``score >= threshold`` selects a share of items.

Used by the replay sweeps and by threshold routers' calibration, so both pick the same thresholds.

**Rule.** Over ``n`` scores, the shares a threshold can select are ``k / n`` for the counts ``k`` that do not
split a group of tied scores (always 0 and 1). The pick is the achievable share closest to the one requested;
when two are equally close, the larger (more items to the strong side). Its threshold is the ``k``-th highest
score (above every score for ``k = 0``). The share actually achieved is returned with it, and
:func:`threshold_for_share` warns when ties make the requested share's closest count unreachable.

>>> threshold_for_share([0.1, 0.9, 0.5, 0.7], 0.5)
SharePick(threshold=0.7, share=0.5)
>>> threshold_for_share([0.2, 0.8], 0.25)  # 0.5 items: equally close to 0 and 1 item, the larger wins
SharePick(threshold=0.8, share=0.5)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["SharePick", "pick_thresholds", "threshold_for_share"]

_TOLERANCE = 1e-9  # in items: share * n within this of a half is a tie


class SharePick(NamedTuple):
    """A threshold, and the share of the scores at or above it (arrays when several shares were asked)."""

    threshold: Any
    share: Any


def pick_thresholds(scores: Sequence[float] | np.ndarray, shares: Sequence[float] | np.ndarray) -> SharePick:
    """Thresholds (and the shares they achieve) for each requested share, by the rule above; no warning.

    >>> pick = pick_thresholds([0.5] * 10, [0.0, 0.3, 0.6, 1.0])  # all tied: only 0 or all are achievable
    >>> pick.share.tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    ordered = _descending(scores)
    requested = _shares(shares)
    n = ordered.size
    counts = _achievable_counts(ordered)
    chosen = _closest(counts, requested * n)
    thresholds = np.where(chosen > 0, ordered[np.clip(chosen - 1, 0, n - 1)], np.nextafter(ordered[0], np.inf))
    return SharePick(thresholds, chosen / n)


def threshold_for_share(scores: Sequence[float] | np.ndarray, share: float | Sequence[float] | np.ndarray) -> SharePick:
    """The threshold at which ``score >= threshold`` selects the achievable share of ``scores`` closest to
    ``share`` (ties toward the larger), and that share; vectorized over ``share``. Warns (``UserWarning``) when
    tied scores make the closest count of items unreachable, naming the share achieved instead.

    >>> threshold_for_share([0.3, 0.1, 0.2, 0.4], [0.0, 0.5, 1.0]).threshold.tolist()
    [0.4000000000000001, 0.3, 0.1]
    """
    requested = _shares(share)
    ordered = _descending(scores)
    pick = pick_thresholds(ordered, requested.ravel())
    n = ordered.size
    ideal = _closest(np.arange(n + 1), requested.ravel() * n) / n
    missed = ~np.isclose(pick.share, ideal)
    if missed.any():
        first = int(np.flatnonzero(missed)[0])
        warnings.warn(
            f"threshold_for_share: tied scores make share {requested.ravel()[first]:g} of {n} unreachable; "
            f"the closest achievable share is {pick.share[first]:g}"
            + (f" ({int(missed.sum())} of the {missed.size} shares asked are affected)" if missed.size > 1 else ""),
            stacklevel=2,
        )
    if requested.ndim == 0:
        return SharePick(float(pick.threshold[0]), float(pick.share[0]))
    return SharePick(pick.threshold.reshape(requested.shape), pick.share.reshape(requested.shape))


def _descending(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    ordered = np.sort(np.asarray(scores, dtype=np.float64).ravel())[::-1]
    if ordered.size == 0:
        raise ValueError("threshold_for_share.scores: no scores given")
    if np.isnan(ordered).any():
        raise ValueError("threshold_for_share.scores: NaN score(s)")
    return ordered


def _shares(share: float | Sequence[float] | np.ndarray) -> np.ndarray:
    shares = np.asarray(share, dtype=np.float64)
    if np.isnan(shares).any() or ((shares < 0) | (shares > 1)).any():
        raise ValueError(f"threshold_for_share.share: {share!r} is not between 0 and 1")
    return shares


def _achievable_counts(ordered: np.ndarray) -> np.ndarray:
    """Counts k of top items that end at a change of score (0 and n included), ascending."""
    cuts = np.flatnonzero(ordered[:-1] != ordered[1:]) + 1
    return np.concatenate(([0], cuts, [ordered.size]))


def _closest(counts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target, the closest of ``counts`` (ascending); equally close (within tolerance): the larger."""
    above = np.clip(np.searchsorted(counts, targets - _TOLERANCE, side="left"), 0, counts.size - 1)
    below = np.clip(above - 1, 0, counts.size - 1)
    take_above = (counts[above] - targets) <= (targets - counts[below]) + _TOLERANCE
    return np.where(take_above, counts[above], counts[below])
