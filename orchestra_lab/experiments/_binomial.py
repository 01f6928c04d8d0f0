"""The fair-coin binomial tail ``P(X <= k)``, ``X ~ Binomial(n, 1/2)``, in closed form and to near machine precision.

Up to ``n = 1000`` the tail is summed in exact integers. Above, each probability is Loader's saddle-point form
(the one R's ``dbinom`` uses): ``log C(n, j) - n log 2`` written as Stirling-series remainders and deviance terms,
which keeps ~15 significant digits at any ``n`` where ``lgamma`` differences lose 7. The tail adds probabilities
from ``k`` down, a numpy chunk at a time, until the rest no longer changes the sum: a few thousand terms at
``n = 1,000,000``.

>>> fair_coin_lower_tail(2, 12) * 2**12  # C(12,0) + C(12,1) + C(12,2)
79.0
"""

from __future__ import annotations

import math

import numpy as np

_EXACT_UP_TO = 1000  # up to this n, exact integer arithmetic is as fast (microseconds)
_CHUNK = 4096  # terms computed at once
_NEGLIGIBLE = 1e-18  # a term this small relative to the sum so far ends the tail (terms only shrink from k down)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# stirlerr(m) = log(m!) - log(sqrt(2 pi m) (m/e)^m) for m <= 15 (from lgamma: absolute error ~1e-15)
_SMALL_STIRLERR = np.array(
    [0.0] + [math.lgamma(m + 1.0) - (m + 0.5) * math.log(m) + m - _HALF_LOG_2PI for m in range(1, 16)]
)


def fair_coin_lower_tail(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)`` (0 <= k <= n).

    >>> fair_coin_lower_tail(0, 3), fair_coin_lower_tail(3, 3)
    (0.125, 1.0)
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n <= _EXACT_UP_TO:
        return sum(math.comb(n, j) for j in range(k + 1)) / 2**n  # exact integers, rounded once
    if 2 * k >= n:
        return 1.0 - fair_coin_lower_tail(n - k - 1, n) if k < n else 1.0
    total = 0.0
    for top in range(k, -1, -_CHUNK):
        terms = np.exp(_log_probabilities(np.arange(top, max(top - _CHUNK, -1), -1, dtype="float64"), n))
        total += float(terms.sum())
        if terms[-1] <= total * _NEGLIGIBLE:
            break
    return total


def _log_probabilities(j: np.ndarray, n: int) -> np.ndarray:
    """``log P(X = j)`` for ``X ~ Binomial(n, 1/2)`` and each ``j`` in ``[0, n]`` (Loader's form)."""
    half = n / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):  # the j = 0 and j = n lanes are replaced by the exact value
        saddle = (
            _stirlerr(np.float64(n)) - _stirlerr(j) - _stirlerr(n - j) - _deviance(j, half) - _deviance(n - j, half)
        )
        spread = _HALF_LOG_2PI + 0.5 * (np.log(j) + np.log1p(-j / n))
    return np.where((j == 0) | (j == n), -n * math.log(2.0), saddle - spread)


def _stirlerr(m: np.ndarray) -> np.ndarray:
    """``log(m!) - log(sqrt(2 pi m) (m/e)^m)`` for whole ``m >= 0``: a table to 15, then the Stirling series."""
    m = np.asarray(m, dtype="float64")
    big = np.maximum(m, 16.0)
    mm = big * big
    series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / mm) / mm) / mm) / mm) / big
    small = _SMALL_STIRLERR[np.minimum(m, 15.0).astype("int64")]
    return np.where(m <= 15, small, series)


def _deviance(x: np.ndarray, mean: float) -> np.ndarray:
    """``x log(x / mean) + mean - x`` without cancellation (a series when ``x`` is near ``mean``)."""
    diff = x - mean
    near = np.abs(diff) < 0.1 * (x + mean)
    v = np.where(near, diff / (x + mean), 0.0)
    total = diff * v
    power = 2.0 * x * v
    v2 = v * v
    for odd in range(3, 60, 2):  # |v| < 0.1: each term at least 100 times smaller than the last
        power = power * v2
        step = power / odd
        total = total + step
        if not np.any(np.abs(step) > np.abs(total) * 1e-17):
            break
    far = x * np.log1p(diff / mean) - diff
    return np.where(near, total, far)
