"""Typed errors raised by models and strategies.

Every error raised by a model is a :class:`ModelError`; its ``retryable`` flag tells retry logic what to do.
Messages never contain API keys: they pass through :func:`orchestra_lab._secrets.redact`.

>>> from orchestra_lab.errors import RateLimitError
>>> e = RateLimitError("slow down", provider="openai", status=429, retry_after=2.0)
>>> e.retryable, e.retry_after, e.error_type
(True, 2.0, 'rate_limit')
"""

from __future__ import annotations

import warnings
from typing import Any

from ._secrets import redact

__all__ = [
    "AuthError",
    "BadRequestError",
    "BadResponseError",
    "BudgetExceededError",
    "CallTimeoutError",
    "CircuitOpenError",
    "ModelError",
    "QuotaExceededError",
    "RateLimitError",
    "ServerError",
    "StrategyError",
]


class ModelError(Exception):
    """Base of every error a model call can end with.

    ``latency_s``, ``cost_usd`` and ``usage`` describe the failed call (a billed failure has a cost);
    the call log fills ``latency_s`` when the model did not.
    """

    error_type = "error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        latency_s: float | None = None,
        cost_usd: float | None = None,
        usage: Any = None,
    ) -> None:
        super().__init__(redact(message))
        self.provider = provider
        self.model = model
        self.status = status
        self.latency_s = latency_s
        self.cost_usd = cost_usd
        self.usage = usage

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class AuthError(ModelError):
    """The key is missing, wrong or not allowed (HTTP 401/403)."""

    error_type = "auth"


class RateLimitError(ModelError):
    """Too many requests (HTTP 429); ``retry_after`` in seconds when the server said."""

    error_type = "rate_limit"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class QuotaExceededError(RateLimitError):
    """The account is out of quota or credit (OpenAI ``insufficient_quota``, a Gemini daily or billing quota):
    waiting will not help, so it is not retried -- check billing and plan limits."""

    error_type = "quota"
    retryable = False


class ServerError(ModelError):
    """The provider failed (HTTP 5xx) or the connection broke."""

    error_type = "server"
    retryable = True


class CallTimeoutError(ModelError):
    """The call took longer than its timeout (``TimeoutError`` is a deprecated alias: it shadowed the builtin)."""

    error_type = "timeout"
    retryable = True


class BadResponseError(ModelError):
    """The provider answered with something we cannot read (not JSON, missing fields, malformed output)."""

    error_type = "bad_response"


class BadRequestError(ModelError):
    """The provider rejected the request (HTTP 400/404/422...): fix the request, retrying will not help."""

    error_type = "bad_request"


class BudgetExceededError(ModelError):
    """A call would start after the run's spend cap was reached."""

    error_type = "budget"


class CircuitOpenError(ModelError):
    """The model's circuit breaker is open: the call was not sent."""

    error_type = "circuit_open"


class StrategyError(ModelError):
    """A strategy could not produce an answer (every fallback failed, a chain step failed...)."""

    error_type = "strategy"

    def __init__(self, message: str, *, causes: list[BaseException] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.causes = list(causes or [])


def __getattr__(name: str) -> Any:
    """``TimeoutError``: the deprecated name of :class:`CallTimeoutError`."""
    if name == "TimeoutError":
        warnings.warn(
            "orchestra_lab.errors.TimeoutError is deprecated (it shadows the builtin): use CallTimeoutError",
            DeprecationWarning,
            stacklevel=2,
        )
        return CallTimeoutError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
