"""Per-call timeouts for any model or strategy.

A live call still running after ``timeout_s`` is cancelled; its row says ``error_type="timeout"`` and the caller
gets :class:`~orchestra_lab.errors.CallTimeoutError` with ``latency_s = timeout_s``. Models that do not sleep
(simulated, replay) time out in *computed time*: a call whose reported latency exceeds ``timeout_s`` fails the
same way, as it would have live. Wrapped around a strategy, the timeout bounds the strategy's whole call; wrapped
around retries, it bounds the whole sequence: each attempt gets what is left of the timeout, and an attempt that
would start after it is not started (see :class:`~orchestra_lab.runtime.retry.Retrying`).

>>> from orchestra_lab import CallLog, SimulatedModel, CallTimeoutError
>>> from orchestra_lab.runtime import Timed
>>> hasty = Timed(SimulatedModel.profile("sim/frontier"), timeout_s=0.5)
>>> with CallLog() as log:
...     try:
...         hasty("Write a haiku")
...     except CallTimeoutError as err:
...         print(err.latency_s)
0.5
>>> log.rows()[0]["status"], log.rows()[0]["error_type"], log.rows()[0]["latency_s"]
('error', 'timeout', 0.5)
"""

from __future__ import annotations

import asyncio

from ..calllog._guards import TIMEOUT_CANCEL_MESSAGE, deadline
from ..errors import CallTimeoutError
from ..models.base import Model
from ..types import Request, Response
from ._wrapper import Wrapper

__all__ = ["Timed"]


class Timed(Wrapper):
    """``inner`` given at most ``timeout_s`` seconds a call (wall clock, or computed latency for simulated models).

    >>> from orchestra_lab import SimulatedModel, Timed
    >>> patient = Timed(SimulatedModel.profile("sim/tiny"), timeout_s=60)
    >>> patient("Name a colour").source, patient.name, patient.timeout_s
    ('simulated', 'sim/tiny', 60)
    """

    def __init__(self, inner: Model, timeout_s: float) -> None:
        super().__init__(inner)
        if not timeout_s > 0:
            raise ValueError(f"timeout_s: {timeout_s!r} must be positive")
        self.timeout_s = timeout_s

    async def _acomplete(self, request: Request) -> Response:
        with deadline(self.timeout_s):
            task = asyncio.ensure_future(self.inner.acomplete(request))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task not in done:
            task.cancel(TIMEOUT_CANCEL_MESSAGE)
            await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # retrieved: the timeout is what the caller hears about
            raise self._error()
        try:
            return task.result()
        except CallTimeoutError as err:  # e.g. a simulated timeout fault: the caller waited timeout_s at most
            err.latency_s = min(err.latency_s or self.timeout_s, self.timeout_s)
            raise

    def _error(self) -> CallTimeoutError:
        return CallTimeoutError(
            f"{self.name}: no answer within the {self.timeout_s:g}s timeout",
            provider=self.provider,
            model=self.requested_model,
            latency_s=self.timeout_s,
        )
