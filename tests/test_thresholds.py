"""The one threshold picker: closest achievable share, ties toward the larger, the share achieved, a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_lab._thresholds import pick_thresholds, threshold_for_share


def test_a_quarter_of_two_items_sends_one_to_the_strong_side():
    pick = threshold_for_share([0.2, 0.8], 0.25)  # 0.5 items: halfway between 0 and 1, the larger wins
    assert (pick.threshold, pick.share) == (0.8, 0.5)


def test_halves_round_toward_the_larger_share():
    scores = np.arange(10) / 10
    assert threshold_for_share(scores, [0.25, 0.35, 0.45]).share.tolist() == [0.3, 0.4, 0.5]
    assert threshold_for_share(scores, [0.24, 0.36]).share.tolist() == [0.2, 0.4]


def test_ties_that_make_the_share_unreachable_are_warned_and_the_closest_share_is_kept():
    with pytest.warns(UserWarning, match=r"tied scores make share 0.3 of 10 unreachable; .* achievable share is 0"):
        pick = threshold_for_share([0.5] * 10, 0.3)
    assert pick.share == 0.0 and not np.any(np.asarray([0.5] * 10) >= pick.threshold)  # nothing, not everything
    with pytest.warns(UserWarning, match="achievable share is 1"):
        assert threshold_for_share([0.5] * 10, 0.6).share == 1.0


def test_reachable_shares_do_not_warn_and_share_zero_selects_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pick = threshold_for_share([0.1, 0.9, 0.5, 0.7], [0.0, 0.5, 1.0])
    assert pick.share.tolist() == [0.0, 0.5, 1.0]
    assert pick.threshold[0] > 0.9 and pick.threshold.tolist()[1:] == [0.7, 0.1]


def test_bad_input_is_rejected():
    for scores, share in (([], 0.5), ([np.nan, 1.0], 0.5), ([1.0], 1.5), ([1.0], np.nan)):
        with pytest.raises(ValueError, match="threshold_for_share"):
            threshold_for_share(scores, share)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=30),
    st.floats(0, 1),
)
def test_the_share_achieved_is_what_the_threshold_selects_and_the_closest_possible(raw, share):
    scores = np.asarray(raw, dtype=float)
    pick = pick_thresholds(scores, [share])
    selected = np.mean(scores >= pick.threshold[0])
    assert selected == pick.share[0]
    achievable = {0.0} | {float(np.mean(scores >= s)) for s in scores}
    best = min(abs(a - share) for a in achievable)
    assert abs(pick.share[0] - share) <= best + 1e-9
