"""Runtime wrappers around any model (leaf or strategy): cache, rate limits, retries, timeouts, circuit breaking,
and a run-wide spend cap.

Wrappers are models themselves and transparent in the call log (no row of their own except for what they do
themselves: a cache hit, a refusal). Recommended stacking, outermost first::

    Cached(Retrying(CircuitBreaker(RateLimited(Timed(model, timeout_s=30), rpm=60), failures=5)), cache)

- ``Cached`` outermost: a hit skips everything else and costs nothing.
- ``Retrying`` outside the breaker (an open circuit is not retried) and the limiter (each attempt waits its turn).
- ``Timed`` innermost: the timeout is per attempt and does not count time spent waiting for the rate limiter.
- ``Budget`` is not a wrapper but a guard over every leaf call: ``with Budget(max_usd=1.0):``.

>>> from orchestra_lab import SimulatedModel
>>> from orchestra_lab.runtime import Retrying, Timed
>>> Retrying(Timed(SimulatedModel.profile("sim/small"), timeout_s=10), max_attempts=3).name
'sim/small'
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (``import orchestra_lab`` stays light); module paths are relative to this package.
_EXPORTS = {
    "Budget": "budget",
    "worst_case_cost": "budget",
    "Cached": "cache",
    "CacheWarning": "cache",
    "ResponseCache": "cache",
    "cache_key": "cache",
    "cache_key_material": "cache",
    "CircuitBreaker": "breaker",
    "RateLimited": "limits",
    "TokenBucket": "limits",
    "Retrying": "retry",
    "Timed": "timeout",
    "Wrapper": "_wrapper",
    "guarded": "..calllog._guards",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _EXPORTS[name]
    return getattr(importlib.import_module(module if module.startswith(".") else f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
