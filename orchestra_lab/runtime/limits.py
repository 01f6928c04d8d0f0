"""Client-side rate limits: requests per minute, tokens per minute and calls in flight, per wrapped model.

Limits are enforced smoothly, as providers enforce them over short windows: ``rpm=60`` lets one call start
each second (a token bucket holding one second's worth), ``tpm`` likewise spreads tokens. The token count of a
call is estimated up front (prompt + ``max_tokens``, or ``default_max_tokens`` when the request sets none) and
corrected with the reported usage when the call ends. Waiting happens on the wall clock, also for simulated
models. The concurrency limit is per event loop (an ``asyncio.Semaphore`` binds to one loop).

>>> import asyncio
>>> from orchestra_lab import SimulatedModel
>>> from orchestra_lab.runtime import RateLimited
>>> tiny = RateLimited(SimulatedModel.profile("sim/tiny"), rpm=6000, concurrency=4)
>>> async def batch():
...     return await asyncio.gather(*(tiny.acomplete(f"q{i}") for i in range(8)))
>>> len(asyncio.run(batch()))
8
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Awaitable, Callable

from ..models.base import Model
from ..types import Request, Response, estimate_tokens
from ._wrapper import Wrapper

__all__ = ["DEFAULT_MAX_TOKENS", "RateLimited", "TokenBucket"]

DEFAULT_MAX_TOKENS = 1024


class TokenBucket:
    """``per_minute`` units a minute, holding at most a second's worth (at least one call's worth).

    :meth:`reserve` takes units at once and says how long to wait before using them (a debt later callers wait
    off), so waiting callers are served in order. Thread safe and bound to no event loop.

    >>> now = [0.0]
    >>> bucket = TokenBucket(60, clock=lambda: now[0])
    >>> bucket.reserve(1), bucket.reserve(1), bucket.reserve(1)
    (0.0, 1.0, 2.0)
    """

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_minute > 0:
            raise ValueError(f"per-minute limit must be positive, got {per_minute!r}")
        self.rate = per_minute / 60.0
        self.capacity = max(self.rate, 1.0)
        self._clock = clock
        self._level = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> float:
        """Take ``amount`` units; returns the seconds to wait before they are really available."""
        with self._lock:
            self._refill()
            needed = min(amount, self.capacity)
            wait = max(0.0, (needed - self._level) / self.rate)
            self._level -= amount
            return wait

    def give_back(self, amount: float) -> None:
        """Return ``amount`` units (negative: take more), e.g. when a call used fewer tokens than reserved."""
        with self._lock:
            self._refill()
            self._level = min(self.capacity, self._level + amount)

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
        self._updated = now


class RateLimited(Wrapper):
    """``inner`` called at most ``rpm`` times and ``tpm`` tokens a minute, with at most ``concurrency`` in flight.

    >>> from orchestra_lab import RateLimited, SimulatedModel
    >>> limited = RateLimited(SimulatedModel.profile("sim/tiny"), rpm=600, concurrency=2)
    >>> [limited(f"q{i}").source for i in range(3)], limited.name
    (['simulated', 'simulated', 'simulated'], 'sim/tiny')
    """

    def __init__(
        self,
        inner: Model,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        concurrency: int | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(inner)
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency: {concurrency!r} must be at least 1")
        for field, limit in (("rpm", rpm), ("tpm", tpm)):
            if limit is not None and not limit > 0:
                raise ValueError(f"{field}: {limit!r} must be a positive number per minute")
        self.rpm = rpm
        self.tpm = tpm
        self.concurrency = concurrency
        self.default_max_tokens = default_max_tokens
        self.sleep = sleep
        self._requests = TokenBucket(rpm) if rpm is not None else None
        self._tokens = TokenBucket(tpm) if tpm is not None else None
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._semaphores_lock = threading.Lock()

    async def _acomplete(self, request: Request) -> Response:
        if self.concurrency is None:
            return await self._paced(request)
        async with self._semaphore():
            return await self._paced(request)

    async def _paced(self, request: Request) -> Response:
        estimate = self._estimate_tokens(request)
        wait = max(
            self._requests.reserve(1) if self._requests else 0.0,
            self._tokens.reserve(estimate) if self._tokens else 0.0,
        )
        if wait > 0:
            await self.sleep(wait)
        response = await self.inner.acomplete(request)
        used = response.usage.total_tokens
        if self._tokens is not None and used is not None:
            self._tokens.give_back(estimate - used)
        return response

    def _estimate_tokens(self, request: Request) -> int:
        prompt = sum(estimate_tokens(m.content) for m in request.messages)
        return prompt + (request.max_tokens or self.default_max_tokens)

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._semaphores_lock:
            semaphore = self._semaphores.get(loop)
            if semaphore is None:
                semaphore = self._semaphores[loop] = asyncio.Semaphore(self.concurrency or 1)
            return semaphore
