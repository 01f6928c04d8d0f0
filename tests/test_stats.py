"""Statistics: bootstrap intervals that cover, exact McNemar against known values, paired differences."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from orchestra_lab.experiments import stats


def exact_two_sided_binomial(b: int, c: int) -> float:
    """Reference: two-sided exact binomial test at p = 1/2, summing every outcome no more likely than b."""
    n = b + c
    probability = [Fraction(math.comb(n, k), 2**n) for k in range(n + 1)]
    return float(min(Fraction(1), sum(p for p in probability if p <= probability[b])))


def test_mcnemar_matches_the_known_table_value():
    assert stats.mcnemar_p_value(10, 2) == pytest.approx(0.0386, abs=5e-5)
    assert stats.mcnemar_p_value(10, 2) == 79 / 2048  # 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 1), (5, 0), (3, 3), (7, 2), (2, 7), (20, 9), (40, 61)])
def test_mcnemar_equals_the_exact_binomial_test(b, c):
    assert stats.mcnemar_p_value(b, c) == pytest.approx(exact_two_sided_binomial(b, c), rel=1e-12)


def discordant_counts() -> list[tuple[int, int]]:
    """Small tables, near-balanced large ones (p-values far from 0) and lopsided large ones (tiny p-values)."""
    rng = np.random.default_rng(12)
    small = [(b, c) for b in range(0, 40, 3) for c in range(0, 40, 5)]
    n = rng.integers(1_000, 1_000_001, size=60)
    balanced = [(int(k), int(m - k)) for m, k in zip(n, rng.binomial(n, 0.5))]
    lopsided = [(int(k), int(m - k)) for m, k in zip(n[:30], rng.binomial(n[:30], 0.497))]
    extreme = [
        (0, 1_000_000),
        (1, 999_999),
        (499_000, 501_000),
        (500_000, 500_000),
        (499_999, 500_001),
        (60_000, 60_000),
    ]
    return small + balanced + lopsided + [(c, b) for b, c in lopsided[:10]] + extreme


def test_mcnemar_matches_scipy_binomtest_to_1e_12_relative_up_to_a_million_pairs():
    scipy_stats = pytest.importorskip("scipy.stats")
    for b, c in discordant_counts():
        expected = 1.0 if b + c == 0 else scipy_stats.binomtest(b, b + c, 0.5).pvalue
        assert stats.mcnemar_p_value(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-300), (b, c)


def test_mcnemar_builds_the_two_by_two_table_from_paired_scores():
    a = [1] * 6 + [1] * 10 + [0] * 2 + [0] * 3 + [np.nan]
    b = [1] * 6 + [0] * 10 + [1] * 2 + [0] * 3 + [1]
    result = stats.mcnemar(a, b, names=("big", "small"))
    assert result.table.loc["big right"].tolist() == [6, 10]
    assert result.table.loc["big wrong"].tolist() == [2, 3]
    assert (result.b, result.c) == (10, 2)
    assert result.p_value == stats.mcnemar_p_value(10, 2)


def test_mcnemar_refuses_graded_scores():
    with pytest.raises(ValueError, match="pass/fail"):
        stats.mcnemar([0.5, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="non-negative"):
        stats.mcnemar_p_value(-1, 2)


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    samples = rng.binomial(1, 0.7, size=(200, 100))
    intervals = np.array([stats.bootstrap_ci(sample, seed=i) for i, sample in enumerate(samples)])
    coverage = np.mean((intervals[:, 0] <= 0.7) & (intervals[:, 1] >= 0.7))
    assert 0.90 <= coverage <= 0.99
    widths = intervals[:, 1] - intervals[:, 0]
    assert 0.12 < widths.mean() < 0.24  # about 2 x 1.96 x sqrt(0.21 / 100) = 0.18


def test_bootstrap_is_seeded_ignores_nan_and_does_not_depend_on_chunking(monkeypatch):
    values = np.random.default_rng(0).random(60)
    with_nan = np.append(values, [np.nan, np.nan])
    assert stats.bootstrap_ci(values, seed=5) == stats.bootstrap_ci(with_nan, seed=5)
    assert stats.bootstrap_ci(values, seed=5) != stats.bootstrap_ci(values, seed=6)
    whole = stats.bootstrap_means(values, seed=5)
    monkeypatch.setattr(stats, "_MAX_CELLS", 100)  # a few resamples at a time
    assert np.array_equal(stats.bootstrap_means(values, seed=5), whole)


def test_bootstrap_edge_cases():
    assert stats.bootstrap_ci([0.25, 0.25, 0.25]) == (0.25, 0.25)
    lo, hi = stats.bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci([1, 0], confidence=95)
    with pytest.raises(ValueError, match="resamples"):
        stats.bootstrap_ci([1, 0], resamples=0)


def test_paired_difference_is_the_mean_difference_over_complete_pairs():
    a = [1, 1, 1, 0, np.nan, 0.5]
    b = [0, 1, 0, 0, 1, 0.25]
    d = stats.paired_difference(a, b, seed=1)
    assert (d.n, d.mean_a, d.mean_b) == (5, 0.7, 0.25)
    assert d.difference == pytest.approx(0.45)
    assert d.ci_lo <= d.difference <= d.ci_hi
    assert (d.ci_lo, d.ci_hi) == stats.bootstrap_ci([1, 0, 1, 0, 0.25], seed=1)
    with pytest.raises(ValueError, match="same length"):
        stats.paired_difference([1, 0], [1])


def test_is_pass_fail():
    assert stats.is_pass_fail([0, 1, 1.0, np.nan])
    assert not stats.is_pass_fail([0, 0.5])
    assert not stats.is_pass_fail([np.nan])


def test_nanmean_skips_nan_along_an_axis_and_gives_nan_for_nothing(recwarn):
    assert float(stats.nanmean([1.0, np.nan, 0.0, 1.0])) == pytest.approx(2 / 3)
    columns = stats.nanmean([[1.0, np.nan, np.nan], [0.0, 1.0, np.nan]], axis=0)
    assert columns[:2].tolist() == [0.5, 1.0] and math.isnan(columns[2])
    assert math.isnan(float(stats.nanmean([]))) and math.isnan(float(stats.nanmean([np.nan])))
    assert not recwarn.list  # unlike np.nanmean, no "Mean of empty slice" warning
