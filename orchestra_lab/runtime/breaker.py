"""A circuit breaker: stop calling a model that keeps failing, try again after a cool-down.

Closed (normal) until ``failures`` failures happen within ``window_s`` seconds; then open: every call is refused
at once with :class:`~orchestra_lab.errors.CircuitOpenError` (a logged row of cost 0, the model is not called).
After ``cooldown_s`` the circuit is half-open: exactly one probe call goes through (others are still refused);
its success closes the circuit, its failure opens it again for another cool-down.
Errors that are the caller's doing (bad request, budget, another open circuit) do not count as failures.

The state belongs to the wrapper: wrap a model once and use that object everywhere it should share a breaker.

>>> from orchestra_lab import CircuitOpenError, SimulatedModel
>>> from orchestra_lab.runtime import CircuitBreaker
>>> down = CircuitBreaker(SimulatedModel.profile("sim/small").with_faults(server_error=1.0), failures=2)
>>> for _ in range(3):
...     try:
...         down("ping")
...     except CircuitOpenError:
...         print("refused")
...     except Exception:
...         print("failed")
failed
failed
refused
>>> down.state
'open'
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from ..errors import BadRequestError, BudgetExceededError, CircuitOpenError, ModelError
from ..models.base import Model
from ..types import Request, Response
from ._wrapper import Wrapper, record_refusal

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half_open"]
_NOT_THE_MODELS_FAULT = (BadRequestError, BudgetExceededError, CircuitOpenError)


class CircuitBreaker(Wrapper):
    """``inner`` behind a circuit breaker; see the module docstring. ``clock`` (seconds) is injectable for tests.

    >>> from orchestra_lab import CircuitBreaker, ServerError, SimulatedModel
    >>> breaker = CircuitBreaker(SimulatedModel.profile("sim/small").with_faults(server_error=1.0), failures=1)
    >>> try:
    ...     breaker("ping")
    ... except ServerError:
    ...     print(breaker.state)
    open
    >>> breaker.reset()
    >>> breaker.state
    'closed'
    """

    def __init__(
        self,
        inner: Model,
        *,
        failures: int = 5,
        window_s: float = 60.0,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(inner)
        if failures < 1:
            raise ValueError(f"failures: {failures!r} must be at least 1")
        for field, seconds in (("window_s", window_s), ("cooldown_s", cooldown_s)):
            if not seconds >= 0:
                raise ValueError(f"{field}: {seconds!r} must be a non-negative number of seconds")
        self.failures = failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._state: State = "closed"
        self._recent: deque[float] = deque()
        self._opened_at = 0.0
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        """``"closed"``, ``"open"`` or ``"half_open"`` (a probe in flight); an open circuit past its cool-down
        still says ``"open"`` until the probe starts."""
        return self._state

    def reset(self) -> None:
        """Close the circuit and forget past failures."""
        with self._lock:
            self._state, self._recent = "closed", deque()

    async def _acomplete(self, request: Request) -> Response:
        probe = self._admit(request)
        try:
            response = await self.inner.acomplete(request)
        except ModelError as err:
            self._finished(probe, failed=None if isinstance(err, _NOT_THE_MODELS_FAULT) else True)
            raise
        except BaseException:
            self._finished(probe, failed=None)
            raise
        self._finished(probe, failed=False)
        return response

    def _admit(self, request: Request) -> bool:
        """Let the call through (``True`` when it is the half-open probe) or raise a logged CircuitOpenError."""
        with self._lock:
            now = self.clock()
            if self._state == "closed":
                return False
            if self._state == "open" and now - self._opened_at >= self.cooldown_s:
                self._state = "half_open"
                return True
            wait = max(0.0, self.cooldown_s - (now - self._opened_at))
            why = f"next probe in {wait:.1f}s" if self._state == "open" else "a probe call is in flight"
        message = f"{self.name}: circuit open after {self.failures} failures within {self.window_s:g}s; {why}"
        raise record_refusal(
            self, request, CircuitOpenError(message, provider=self.provider, model=self.requested_model)
        )

    def _finished(self, probe: bool, *, failed: bool | None) -> None:
        """Record how a call ended: ``failed`` True/False, or ``None`` when it says nothing about the model."""
        with self._lock:
            now = self.clock()
            if probe:
                if failed is None:  # the probe told us nothing: let the next call probe
                    self._state = "open"
                elif failed:
                    self._state, self._opened_at = "open", now
                else:
                    self._state, self._recent = "closed", deque()
                return
            if not failed or self._state != "closed":
                return
            self._recent.append(now)
            while self._recent and now - self._recent[0] > self.window_s:
                self._recent.popleft()
            if len(self._recent) >= self.failures:
                self._state, self._opened_at = "open", now
