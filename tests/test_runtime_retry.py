"""Retries: backoff and Retry-After on a virtual clock, a row per attempt, caps, non-retryable errors raised at once."""

from __future__ import annotations

import time

import pytest

from orchestra_lab import (
    BadRequestError,
    CallLog,
    FunctionModel,
    ModelError,
    RateLimitError,
    Request,
    ServerError,
    SimulatedModel,
)
from orchestra_lab.runtime import Retrying


class VirtualClock:
    """Records the waits asked for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(*outcomes: str | ModelError) -> FunctionModel:
    """A model that answers or fails with each outcome in turn."""
    remaining = list(outcomes)

    def answer(prompt: str) -> str:
        outcome = remaining.pop(0)
        if isinstance(outcome, ModelError):
            raise outcome
        return outcome

    return FunctionModel(answer, name="scripted")


def rate_limited(retry_after: float | None) -> RateLimitError:
    return RateLimitError("429", status=429, retry_after=retry_after, latency_s=0.1)


def server_error() -> ServerError:
    return ServerError("503", status=503, latency_s=0.2)


def test_retry_after_is_honoured_and_each_attempt_is_a_numbered_row():
    clock = VirtualClock()
    model = Retrying(
        scripted(rate_limited(7.0), rate_limited(None), "ok"), base_delay_s=0.5, jitter=0, sleep=clock.sleep
    )
    with CallLog() as log:
        response = model("q")
    assert response.text == "ok"
    assert clock.waits == [7.0, 1.0]  # Retry-After, then the second backoff step (0.5 * 2)
    frame = log.to_frame()
    assert frame["attempt"].tolist() == [1, 2, 3]
    assert frame["status"].tolist() == ["error", "error", "ok"]
    assert frame["error_type"].tolist()[:2] == ["rate_limit", "rate_limit"]
    assert frame["name"].unique().tolist() == ["scripted"]  # the wrapper adds no row of its own


def test_backoff_doubles_and_is_capped_by_max_delay():
    clock = VirtualClock()
    outcomes = [server_error() for _ in range(4)] + ["ok"]
    model = Retrying(
        scripted(*outcomes), max_attempts=5, base_delay_s=1.0, max_delay_s=5.0, jitter=0, sleep=clock.sleep
    )
    assert model("q").text == "ok"
    assert clock.waits == [1.0, 2.0, 4.0, 5.0]


def test_retry_after_longer_than_max_delay_is_capped():
    clock = VirtualClock()
    model = Retrying(scripted(rate_limited(100.0), "ok"), max_delay_s=10.0, sleep=clock.sleep)
    model("q")
    assert clock.waits == [10.0]


def test_jitter_shortens_waits_within_bounds():
    clock = VirtualClock()
    outcomes = [server_error() for _ in range(3)] + ["ok"]
    Retrying(scripted(*outcomes), base_delay_s=1.0, jitter=0.5, sleep=clock.sleep, seed=3)("q")
    for wait, backoff in zip(clock.waits, [1.0, 2.0, 4.0]):
        assert backoff * 0.5 <= wait <= backoff
    assert len(set(clock.waits)) == 3


def test_attempts_are_capped_and_the_last_error_is_raised():
    clock = VirtualClock()
    model = Retrying(scripted(*(server_error() for _ in range(5))), max_attempts=3, jitter=0, sleep=clock.sleep)
    with CallLog() as log, pytest.raises(ServerError) as caught:
        model("q")
    assert log.to_frame()["attempt"].tolist() == [1, 2, 3] and len(clock.waits) == 2
    assert caught.value.latency_s == pytest.approx(3 * 0.2 + sum(clock.waits))  # the whole sequence


def test_total_wait_is_capped():
    clock = VirtualClock()
    model = Retrying(
        scripted(*(rate_limited(5.0) for _ in range(10))), max_attempts=10, max_total_wait_s=12.0, sleep=clock.sleep
    )
    with CallLog() as log, pytest.raises(RateLimitError):
        model("q")
    assert clock.waits == [5.0, 5.0]  # a third wait would pass 12 s
    assert len(log) == 3


def test_non_retryable_errors_are_raised_at_once():
    clock = VirtualClock()
    model = Retrying(scripted(BadRequestError("bad", status=400), "ok"), sleep=clock.sleep)
    with CallLog() as log, pytest.raises(BadRequestError):
        model("q")
    assert clock.waits == [] and len(log) == 1


def test_simulated_retries_take_no_wall_time_and_add_waits_to_latency():
    flaky = SimulatedModel.profile("sim/small").with_faults(rate_limit=0.5, retry_after_s=2.0)
    # an item whose first attempt is rate limited (the fault draw is deterministic per item and attempt)
    request = next(
        r for r in (Request.of(f"q{i}", item_id=f"i{i}") for i in range(100)) if _first_attempt_fails(flaky, r)
    )
    model = Retrying(flaky, max_attempts=8, base_delay_s=0.5, jitter=0)
    started = time.perf_counter()
    with CallLog() as log:
        response = model.complete(request)
    assert time.perf_counter() - started < 1.0
    rows = log.rows()
    assert len(rows) >= 2 and rows[-1]["status"] == "ok"
    waits = [max(2.0, 0.5 * 2 ** (n - 1)) for n in range(1, len(rows))]
    assert response.latency_s == pytest.approx(sum(r["latency_s"] for r in rows) + sum(waits))


def _first_attempt_fails(model: SimulatedModel, request: Request) -> bool:
    try:
        with CallLog():
            model.complete(request)
    except RateLimitError:
        return True
    return False


def test_config_validation():
    with pytest.raises(ValueError, match="max_attempts"):
        Retrying(scripted("ok"), max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        Retrying(scripted("ok"), jitter=1.5)


def test_whether_to_sleep_is_decided_once_not_at_every_call(monkeypatch: pytest.MonkeyPatch):
    from orchestra_lab.runtime import retry

    walks: list[object] = []
    real = retry.runs_in_computed_time
    monkeypatch.setattr(retry, "runs_in_computed_time", lambda model: walks.append(model) or real(model))
    model = Retrying(SimulatedModel.profile("sim/small").with_faults(server_error=0.5), max_attempts=6)
    for prompt in ("a", "b", "c"):
        model(prompt)
    assert len(walks) == 1
