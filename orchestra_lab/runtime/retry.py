"""Retries with exponential backoff and jitter on retryable errors (rate limits, 5xx, timeouts, broken connections).

Each attempt is its own row (``attempt`` = 1, 2, ...). The wait before attempt ``n + 1`` is
``base_delay_s * 2**(n - 1)`` minus up to ``jitter`` of it, at least the server's ``Retry-After``, at most
``max_delay_s``; retrying stops after ``max_attempts`` or when the next wait would take the total past
``max_total_wait_s``, and the last error is raised. A non-retryable error is raised at once.

The latency the caller sees is the whole sequence: failed attempts + waits + the last attempt. Models that run in
computed time (simulated, replay) are not waited for on the wall clock -- the wait is only added to the latency --
unless you pass ``sleep``. Inside a deadline (``Timed(Retrying(...))``) each attempt gets what is left of it, and
an attempt that would start after it is not made: a :class:`~orchestra_lab.errors.CallTimeoutError` is raised instead
(with ``latency_s`` the deadline), so the log holds the calls that were really made.

>>> from orchestra_lab import CallLog, SimulatedModel
>>> from orchestra_lab.runtime import Retrying
>>> flaky = Retrying(SimulatedModel.profile("sim/small").with_faults(server_error=0.5), max_attempts=6)
>>> with CallLog() as log:
...     _ = flaky("Name a colour")
>>> log.to_frame()["attempt"].tolist()
[1, 2]
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext

from ..calllog._guards import deadline, time_allowed
from ..calllog.context import attempt
from ..errors import CallTimeoutError, ModelError, RateLimitError
from ..models.base import Model
from ..types import Request, Response
from ._wrapper import Wrapper, runs_in_computed_time

__all__ = ["Retrying"]

Sleep = Callable[[float], Awaitable[None]]


class Retrying(Wrapper):
    """``inner`` retried on retryable :class:`~orchestra_lab.errors.ModelError` s; see the module docstring.

    >>> from orchestra_lab import CallLog, Retrying, ServerError, SimulatedModel
    >>> down = Retrying(SimulatedModel.profile("sim/small").with_faults(server_error=1.0), max_attempts=3)
    >>> with CallLog() as log:
    ...     try:
    ...         down("ping")
    ...     except ServerError as err:
    ...         print(err.error_type, len(log))  # the last error, after 3 logged attempts
    server 3
    """

    def __init__(
        self,
        inner: Model,
        *,
        max_attempts: int = 4,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        max_total_wait_s: float = 60.0,
        jitter: float = 0.5,
        sleep: Sleep | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(inner)
        if max_attempts < 1:
            raise ValueError(f"max_attempts: {max_attempts!r} must be at least 1")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter: {jitter!r} must be between 0 and 1")
        for field, seconds in (("base_delay_s", base_delay_s), ("max_delay_s", max_delay_s),
                               ("max_total_wait_s", max_total_wait_s)):  # fmt: skip
            if not seconds >= 0:
                raise ValueError(f"{field}: {seconds!r} must be a non-negative number of seconds")
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_total_wait_s = max_total_wait_s
        self.jitter = jitter
        self.sleep = sleep
        self.seed = seed
        self._rng = random.Random(seed)
        self._computed_time = runs_in_computed_time(inner)  # walks the model tree: once, not at every call

    async def _acomplete(self, request: Request) -> Response:
        sleep = self.sleep or (_no_wait if self._computed_time else asyncio.sleep)
        allowed = time_allowed()  # a caller's deadline (Timed) for the whole sequence
        elapsed = 0.0  # failed attempts and waits so far
        waited = 0.0
        number = 1
        while True:
            try:
                with attempt(number), _within(allowed, elapsed):
                    response = await self.inner.acomplete(request)
            except ModelError as err:
                elapsed += err.latency_s or 0.0
                wait = self.delay(number, err)
                if not err.retryable or number == self.max_attempts or waited + wait > self.max_total_wait_s:
                    err.latency_s = elapsed
                    raise
                if allowed is not None and elapsed + wait >= allowed:
                    raise self._out_of_time(allowed) from err
                await sleep(wait)
                waited += wait
                elapsed += wait
                number += 1
            else:
                response.latency_s = elapsed + (response.latency_s or 0.0)
                return response

    def _out_of_time(self, allowed: float) -> CallTimeoutError:
        """The next attempt would start after the caller's deadline: it is not made (no row); the caller waited
        until the deadline."""
        return CallTimeoutError(
            f"{self.name}: no answer within the {allowed:g}s timeout (the next attempt would start after it)",
            provider=self.provider,
            model=self.requested_model,
            latency_s=allowed,
        )

    def delay(self, failures: int, err: ModelError) -> float:
        """Seconds to wait after the ``failures``-th failed attempt ended with ``err``."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (failures - 1))
        backoff *= 1.0 - self.jitter * self._rng.random()
        retry_after = err.retry_after if isinstance(err, RateLimitError) and err.retry_after is not None else 0.0
        return min(self.max_delay_s, max(retry_after, backoff))


def _within(allowed: float | None, elapsed: float) -> AbstractContextManager[None]:
    """The next attempt's deadline: what is left of the caller's (none without one)."""
    return nullcontext() if allowed is None else deadline(allowed - elapsed)


async def _no_wait(seconds: float) -> None:
    """Computed time: the wait is accounted in latency, not slept."""
