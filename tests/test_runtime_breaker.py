"""Circuit breaker: opens after N failures in a window, refuses without calling, one probe after the cool-down."""

from __future__ import annotations

import asyncio

import pytest

from orchestra_lab import BadRequestError, CallLog, CircuitOpenError, FunctionModel, ServerError
from orchestra_lab.runtime import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """A model whose health we control, counting the calls it receives."""

    def __init__(self) -> None:
        self.calls = 0
        self.healthy = False
        self.gate: asyncio.Event | None = None

    async def answer(self, prompt: str) -> str:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if not self.healthy:
            raise ServerError("503", status=503)
        return "ok"

    def model(self) -> FunctionModel:
        return FunctionModel(self.answer, name="backend")


def make_breaker(backend: Backend, clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(backend.model(), failures=3, window_s=10.0, cooldown_s=30.0, clock=clock)


def call(model: CircuitBreaker) -> str:
    try:
        return model("q").text
    except CircuitOpenError:
        return "refused"
    except ServerError:
        return "failed"


def test_opens_after_failures_and_refuses_without_calling_until_the_cooldown():
    backend, clock = Backend(), Clock()
    breaker = make_breaker(backend, clock)
    with CallLog() as log:
        assert [call(breaker) for _ in range(3)] == ["failed"] * 3
        assert breaker.state == "open"
        clock.now = 29.0
        assert [call(breaker) for _ in range(5)] == ["refused"] * 5
    assert backend.calls == 3
    refusals = [r for r in log.rows() if r["error_type"] == "circuit_open"]
    assert len(refusals) == 5
    assert all(r["status"] == "error" and r["cost_usd"] == 0.0 and r["name"] == "backend" for r in refusals)
    assert "next probe in 1.0s" in refusals[0]["error"]


def test_exactly_one_probe_after_the_cooldown_and_success_closes():
    backend, clock = Backend(), Clock()
    breaker = make_breaker(backend, clock)
    for _ in range(3):
        call(breaker)
    clock.now = 30.0
    backend.healthy = True

    async def burst() -> list[str]:
        backend.gate = asyncio.Event()

        async def one() -> str:
            try:
                return (await breaker.acomplete("q")).text
            except CircuitOpenError:
                return "refused"

        tasks = [asyncio.ensure_future(one()) for _ in range(5)]
        await asyncio.sleep(0.01)
        assert breaker.state == "half_open"
        backend.gate.set()
        return await asyncio.gather(*tasks)

    with CallLog():
        results = asyncio.run(burst())
    assert sorted(results) == ["ok"] + ["refused"] * 4
    assert backend.calls == 4  # 3 failures + the single probe
    assert breaker.state == "closed"
    backend.gate = None
    assert call(breaker) == "ok" and backend.calls == 5


def test_a_failed_probe_reopens_for_another_cooldown():
    backend, clock = Backend(), Clock()
    breaker = make_breaker(backend, clock)
    for _ in range(3):
        call(breaker)
    clock.now = 31.0
    assert call(breaker) == "failed" and breaker.state == "open"
    clock.now = 60.0
    assert call(breaker) == "refused" and backend.calls == 4
    clock.now = 61.0
    backend.healthy = True
    assert call(breaker) == "ok" and breaker.state == "closed"


def test_failures_outside_the_window_do_not_open():
    backend, clock = Backend(), Clock()
    breaker = make_breaker(backend, clock)
    for t in (0.0, 6.0, 12.0, 18.0):
        clock.now = t
        assert call(breaker) == "failed"
    assert breaker.state == "closed"  # never three within 10 s
    clock.now = 19.0
    call(breaker)
    assert breaker.state == "open"


def test_the_callers_errors_do_not_count():
    def bad(prompt: str) -> str:
        raise BadRequestError("your request is malformed", status=400)

    breaker = CircuitBreaker(FunctionModel(bad, name="strict"), failures=1)
    for _ in range(3):
        with pytest.raises(BadRequestError):
            breaker("q")
    assert breaker.state == "closed"


def test_reset_closes_the_circuit():
    backend, clock = Backend(), Clock()
    breaker = make_breaker(backend, clock)
    for _ in range(3):
        call(breaker)
    breaker.reset()
    backend.healthy = True
    assert breaker.state == "closed" and call(breaker) == "ok"
