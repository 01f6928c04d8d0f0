"""What a provider's non-2xx answer means: the error type, and how long the provider asked us to wait.

401/403 and Gemini's ``API_KEY_INVALID`` -> AuthError; 429 -> RateLimitError, or QuotaExceededError (not retried)
when the account is out of quota or credit (OpenAI ``insufficient_quota``, a Gemini daily or zero quota); 408 ->
CallTimeoutError; 5xx -> ServerError; other 4xx -> BadRequestError.

Wait hints, first found wins: ``retry-after-ms``, ``Retry-After`` (seconds or HTTP-date), Gemini's
``RetryInfo.retryDelay`` in the body, then OpenAI's ``x-ratelimit-reset-requests`` / ``-tokens``.

>>> retry_after_seconds({"retry-after": "2"})
2.0
>>> duration_seconds("6m0s"), duration_seconds("20ms"), duration_seconds("13s")
(360.0, 0.02, 13.0)
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from .. import errors

__all__ = ["classify", "duration_seconds", "error_class", "retry_after_seconds", "wait_hint"]

_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})
_QUOTA_CODES = frozenset({"insufficient_quota"})
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def error_class(status: int) -> type[errors.ModelError]:
    """The error type an HTTP status maps to when the body says nothing more specific.

    >>> [error_class(s).__name__ for s in (401, 429, 408, 529, 422)]
    ['AuthError', 'RateLimitError', 'CallTimeoutError', 'ServerError', 'BadRequestError']
    """
    if status in (401, 403):
        return errors.AuthError
    if status == 429:
        return errors.RateLimitError
    if status == 408:
        return errors.CallTimeoutError
    if status >= 500:
        return errors.ServerError
    if 400 <= status < 500:
        return errors.BadRequestError
    return errors.BadResponseError


def classify(status: int, body: Any) -> type[errors.ModelError]:
    """The error type of a non-2xx answer, reading the provider's JSON error ``body`` (None if not JSON).

    >>> classify(429, {"error": {"code": "insufficient_quota", "type": "insufficient_quota"}}).__name__
    'QuotaExceededError'
    >>> classify(400, {"error": {"details": [{"reason": "API_KEY_INVALID"}]}}).__name__
    'AuthError'
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return error_class(status)
    details = _dicts(error.get("details"))
    if any(d.get("reason") in _AUTH_REASONS for d in details):
        return errors.AuthError
    if status != 429:
        return error_class(status)
    if error.get("code") in _QUOTA_CODES or error.get("type") in _QUOTA_CODES:
        return errors.QuotaExceededError
    violations = [v for d in details if d.get("@type") == _QUOTA_FAILURE for v in _dicts(d.get("violations"))]
    return errors.QuotaExceededError if any(map(_is_hard_quota, violations)) else errors.RateLimitError


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _is_hard_quota(violation: dict[str, Any]) -> bool:
    """A Gemini quota violation that waiting a minute will not clear: a per-day quota, or a quota of zero."""
    quota_id = str(violation.get("quotaId", ""))
    return "PerDay" in quota_id or str(violation.get("quotaValue", "")) == "0"


def wait_hint(headers: Mapping[str, str], body: Any, *, now: float | None = None) -> float | None:
    """Seconds the provider asked us to wait (see the module docstring), or None.

    >>> wait_hint({}, {"error": {"details": [{"@type": _RETRY_INFO, "retryDelay": "13s"}]}})
    13.0
    >>> wait_hint({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s",
    ...            "x-ratelimit-reset-tokens": "6m0s"}, None)
    1.0
    """
    for hint in (retry_after_seconds(headers, now=now), _retry_info(body), _ratelimit_reset(headers)):
        if hint is not None:
            return hint
    return None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (delta-seconds or HTTP-date); None if absent.

    >>> retry_after_seconds({"retry-after-ms": "1500"})
    1.5
    >>> retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
    10.0
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _finite(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000)
    value = lowered.get("retry-after")
    if not value:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def duration_seconds(text: str) -> float | None:
    """A Go/protobuf-style duration (``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1.5s"``) in seconds; None if unreadable."""
    text = text.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    return seconds if math.isfinite(seconds) else None


def _retry_info(body: Any) -> float | None:
    error = body.get("error") if isinstance(body, dict) else None
    for detail in _dicts(error.get("details")) if isinstance(error, dict) else []:
        if detail.get("@type") == _RETRY_INFO and isinstance(detail.get("retryDelay"), str):
            return duration_seconds(detail["retryDelay"])
    return None


def _ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """OpenAI's reset of the exhausted limit (requests or tokens); the later one when it does not say which."""
    lowered = {k.lower(): v for k, v in headers.items()}
    resets: dict[str, float] = {}
    for limit in ("requests", "tokens"):
        value = lowered.get(f"x-ratelimit-reset-{limit}")
        seconds = duration_seconds(value) if value else None
        if seconds is not None:
            resets[limit] = seconds
    exhausted = [resets[k] for k in resets if lowered.get(f"x-ratelimit-remaining-{k}", "").strip() == "0"]
    chosen = exhausted or list(resets.values())
    return max(chosen) if chosen else None


def _finite(value: str | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
