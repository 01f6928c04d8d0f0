"""Rate limits: concurrency cap observed, requests and tokens per minute spaced out, any event loop."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from orchestra_lab import CallLog, FunctionModel, Request, Response, Usage
from orchestra_lab.runtime import RateLimited, TokenBucket


class InFlight:
    """An async model that records how many of its calls overlap and when each one starts."""

    def __init__(self, seconds: float = 0.01, tokens: int = 0) -> None:
        self.seconds, self.tokens = seconds, tokens
        self.running = self.peak = 0
        self.starts: list[float] = []

    async def answer(self, request: Request) -> Response:
        self.starts.append(time.monotonic())
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.running -= 1
        return Response("ok", requested_model="busy", usage=Usage(self.tokens, 0), cost_usd=0.0)

    def model(self) -> FunctionModel:
        return FunctionModel(self.answer, name="busy")


async def burst(model: RateLimited, n: int) -> None:
    await asyncio.gather(*(model.acomplete(f"q{i}") for i in range(n)))


def test_concurrency_limit_is_observed():
    backend = InFlight()
    limited = RateLimited(backend.model(), concurrency=3)
    with CallLog() as log:
        asyncio.run(burst(limited, 12))
    assert backend.peak == 3 and len(log) == 12


def test_concurrency_limit_survives_repeated_event_loops():
    backend = InFlight()
    limited = RateLimited(backend.model(), concurrency=2)
    with CallLog():
        for _ in range(3):
            asyncio.run(burst(limited, 6))
        limited("sync call, on the private loop")
    assert backend.peak == 2


def test_requests_per_minute_are_spaced():
    backend = InFlight(seconds=0.0)
    limited = RateLimited(backend.model(), rpm=600)  # 10 a second: a burst of 10, then one call every 0.1 s
    with CallLog():
        asyncio.run(burst(limited, 13))
    offsets = [start - backend.starts[0] for start in backend.starts]
    assert offsets[9] < 0.05
    gaps = [b - a for a, b in itertools.pairwise(offsets[9:])]
    assert len(gaps) == 3 and all(0.085 <= gap < 0.2 for gap in gaps), gaps


def test_tokens_per_minute_wait_for_the_estimate_and_refund_unused_tokens():
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    backend = InFlight(seconds=0.0, tokens=100)
    # 6000 tokens a minute = 100 a second; each request is estimated at 1 prompt token + 99 max_tokens = 100
    limited = RateLimited(backend.model(), tpm=6000, sleep=record)
    with CallLog():
        for _ in range(3):
            limited("hi", max_tokens=99)
    assert waits[0] == pytest.approx(1.0, abs=0.05) and waits[1] == pytest.approx(2.0, abs=0.05)
    backend.tokens = 0  # calls that used nothing give their estimate back
    refunding = RateLimited(backend.model(), tpm=6000, sleep=record)
    waits.clear()
    with CallLog():
        for _ in range(3):
            refunding("hi", max_tokens=99)
    assert waits == []


def test_token_bucket_serves_large_amounts_after_a_full_bucket_then_owes():
    now = [0.0]
    bucket = TokenBucket(600, clock=lambda: now[0])  # 10 a second, holds 10
    assert bucket.reserve(25) == 0.0  # a full bucket lets a large request go, leaving a debt of 15
    assert bucket.reserve(1) == pytest.approx(1.6)
    now[0] = 10.0
    assert bucket.reserve(10) == 0.0
    bucket.give_back(-5)
    assert bucket.reserve(5) == pytest.approx(1.0)


def test_wrapper_config_is_checked_and_shown():
    limited = RateLimited(InFlight().model(), rpm=60, concurrency=2)
    assert repr(limited).startswith("RateLimited(rpm=60, tpm=None, concurrency=2,")
    with pytest.raises(ValueError, match="concurrency"):
        RateLimited(InFlight().model(), concurrency=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimited(InFlight().model(), rpm=0)
