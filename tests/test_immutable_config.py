"""Configurations are immutable once built (#10.3): settings change through methods that return a new object."""

from __future__ import annotations

import pytest

from orchestra_lab import Cached, Request, ResponseCache, SimulatedModel
from orchestra_lab.strategies import Fallback, ThresholdRouter


def test_a_cached_router_answers_with_the_calibrated_threshold(tmp_path):
    """Before: calibrate() changed the router in place, its cached config did not change, so cached answers still
    came from the weak model while uncached ones came from the strong one."""
    small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    router = ThresholdRouter(lambda r: len(r.prompt) / 10, strong=large, weak=small, threshold=10.0)
    store = ResponseCache(tmp_path / "cache")
    request = Request.of("a question", item_id="q1")
    assert Cached(router, store)(request).served_model == "sim/small"
    calibrated = router.calibrated([request], strong_share=1.0)
    assert calibrated.threshold <= 1.0 and router.threshold == 10.0
    assert calibrated(request).served_model == "sim/large"
    assert Cached(calibrated, store)(request).served_model == "sim/large"


@pytest.mark.parametrize(
    ("make", "attribute", "hint"),
    [
        (lambda: SimulatedModel.profile("sim/small"), "skill", "SimulatedModel.profile"),
        (
            lambda: ThresholdRouter(
                len, strong=SimulatedModel.profile("sim/large"), weak=SimulatedModel.profile("sim/small")
            ),
            "threshold",
            "calibrated",
        ),
        (lambda: Fallback([SimulatedModel.profile("sim/small")]), "name", "Fallback("),
        (lambda: Cached(SimulatedModel.profile("sim/small"), ResponseCache("/tmp/unused")), "mode", "with_mode"),
    ],
)
def test_reassigning_a_configured_attribute_raises_naming_the_way_to_change_it(make, attribute, hint):
    model = make()
    with pytest.raises(AttributeError, match=attribute) as info:
        setattr(model, attribute, getattr(model, attribute))
    assert hint in str(info.value)
    model._scratch = 1  # private state stays settable
    assert model._scratch == 1


def test_cached_with_mode_returns_a_new_wrapper(tmp_path):
    store = ResponseCache(tmp_path / "cache")
    cached = Cached(SimulatedModel.profile("sim/small"), store)
    first = cached("What is 2 + 2?")
    refresh = cached.with_mode("refresh")
    assert (cached.mode, refresh.mode, refresh.inner is cached.inner) == ("use", "refresh", True)
    assert not refresh("What is 2 + 2?").cached and cached("What is 2 + 2?").text == first.text
