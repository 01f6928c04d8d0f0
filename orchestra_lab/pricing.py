"""Prices (USD per 1M tokens) and currency conversion.

The built-in table is a dated snapshot of public list prices; each row names its source and the date it was read.
Override any model with :func:`set_price`. An unknown price is *unknown*: costs come out NaN with a warning,
never a silent 0.

>>> from orchestra_lab.pricing import Price, cost_usd, set_price
>>> set_price("my-model", Price(input_per_1m=1.0, output_per_1m=2.0))
>>> cost_usd("my-model", input_tokens=1_000_000, output_tokens=500_000)
2.0
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

USD_INR_DEFAULT = 88.0  # RBI reference rate was 88-89 INR/USD through late 2025; set your own with set_usd_inr


@dataclass(frozen=True, slots=True)
class Price:
    """List price of a model in USD per million tokens, with where and when it was read."""

    input_per_1m: float
    output_per_1m: float
    source: str = "user"
    as_of: str = ""

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        if input_tokens is None and output_tokens is None:
            return math.nan
        return ((input_tokens or 0) * self.input_per_1m + (output_tokens or 0) * self.output_per_1m) / 1e6


_OPENAI = "https://openai.com/api/pricing/"
_ANTHROPIC = "https://www.anthropic.com/pricing#api"
_GEMINI = "https://ai.google.dev/gemini-api/docs/pricing"
_GROQ = "https://groq.com/pricing/"
_TOGETHER = "https://www.together.ai/pricing"

# model, input USD/1M, output USD/1M, source, date read
_TABLE: list[tuple[str, float, float, str, str]] = [
    ("gpt-5", 1.25, 10.00, _OPENAI, "2025-08"),
    ("gpt-5-mini", 0.25, 2.00, _OPENAI, "2025-08"),
    ("gpt-5-nano", 0.05, 0.40, _OPENAI, "2025-08"),
    ("gpt-4.1", 2.00, 8.00, _OPENAI, "2025-08"),
    ("gpt-4.1-mini", 0.40, 1.60, _OPENAI, "2025-08"),
    ("gpt-4.1-nano", 0.10, 0.40, _OPENAI, "2025-08"),
    ("gpt-4o", 2.50, 10.00, _OPENAI, "2025-08"),
    ("gpt-4o-mini", 0.15, 0.60, _OPENAI, "2025-08"),
    ("o3", 2.00, 8.00, _OPENAI, "2025-08"),
    ("o4-mini", 1.10, 4.40, _OPENAI, "2025-08"),
    ("gpt-3.5-turbo", 0.50, 1.50, _OPENAI, "2025-08"),
    ("claude-opus-4-5", 5.00, 25.00, _ANTHROPIC, "2025-11"),
    ("claude-opus-4-1", 15.00, 75.00, _ANTHROPIC, "2025-08"),
    ("claude-opus-4", 15.00, 75.00, _ANTHROPIC, "2025-08"),
    ("claude-sonnet-4-5", 3.00, 15.00, _ANTHROPIC, "2025-10"),
    ("claude-sonnet-4", 3.00, 15.00, _ANTHROPIC, "2025-08"),
    ("claude-3-7-sonnet", 3.00, 15.00, _ANTHROPIC, "2025-08"),
    ("claude-3-5-sonnet", 3.00, 15.00, _ANTHROPIC, "2025-08"),
    ("claude-haiku-4-5", 1.00, 5.00, _ANTHROPIC, "2025-10"),
    ("claude-3-5-haiku", 0.80, 4.00, _ANTHROPIC, "2025-08"),
    ("claude-3-haiku", 0.25, 1.25, _ANTHROPIC, "2025-08"),
    ("gemini-2.5-pro", 1.25, 10.00, _GEMINI, "2025-08"),
    ("gemini-2.5-flash", 0.30, 2.50, _GEMINI, "2025-08"),
    ("gemini-2.5-flash-lite", 0.10, 0.40, _GEMINI, "2025-08"),
    ("gemini-2.0-flash", 0.10, 0.40, _GEMINI, "2025-08"),
    ("gemini-2.0-flash-lite", 0.075, 0.30, _GEMINI, "2025-08"),
    ("llama-3.1-8b-instant", 0.05, 0.08, _GROQ, "2025-08"),
    ("llama-3.3-70b-versatile", 0.59, 0.79, _GROQ, "2025-08"),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88, _TOGETHER, "2025-08"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 0.18, 0.18, _TOGETHER, "2025-08"),
]

_BUILTIN: dict[str, Price] = {name: Price(i, o, src, date) for name, i, o, src, date in _TABLE}
_OVERRIDES: dict[str, Price] = {}
_WARNED: set[str] = set()
_rate = {"usd_inr": float(os.environ.get("ORCHESTRA_LAB_USD_INR", USD_INR_DEFAULT))}


def set_price(model: str, price: Price) -> None:
    """Set (or replace) the price of ``model``; takes precedence over the built-in table."""
    if price.input_per_1m < 0 or price.output_per_1m < 0:
        raise ValueError(f"price for {model!r}: per-token prices cannot be negative")
    _OVERRIDES[model] = price


def price_of(model: str) -> Price | None:
    """The price of ``model``: an override, an exact row, or the longest table name that prefixes it.

    Provider prefixes (``openai/gpt-4o``) and dated snapshots (``gpt-4o-mini-2024-07-18``) are matched.

    >>> price_of("openai/gpt-4o-mini-2024-07-18").input_per_1m
    0.15
    """
    for candidate in (model, model.split("/", 1)[-1]):
        for table in (_OVERRIDES, _BUILTIN):
            if candidate in table:
                return table[candidate]
        for table in (_OVERRIDES, _BUILTIN):
            prefixes = [name for name in table if candidate.startswith(name + "-") or candidate.startswith(name + "@")]
            if prefixes:
                return table[max(prefixes, key=len)]
    return None


def cost_usd(model: str, input_tokens: int | None, output_tokens: int | None) -> float:
    """Cost of a call in USD; NaN (and one warning per model) when the price is unknown."""
    price = price_of(model)
    if price is None:
        if model not in _WARNED:
            _WARNED.add(model)
            warnings.warn(
                f"no price known for model {model!r}: its cost is reported as unknown (NaN). "
                "Set one with orchestra_lab.set_price(model, Price(input_per_1m, output_per_1m)).",
                UnknownPriceWarning,
                stacklevel=2,
            )
        return math.nan
    return price.cost(input_tokens, output_tokens)


class UnknownPriceWarning(UserWarning):
    """A model has no price: its costs are NaN."""


def set_usd_inr(rate: float) -> None:
    """Set the INR per USD rate used for every INR figure (default 88.0, or ``$ORCHESTRA_LAB_USD_INR``)."""
    if not rate > 0:
        raise ValueError(f"usd_inr rate must be positive, got {rate!r}")
    _rate["usd_inr"] = float(rate)


def usd_inr() -> float:
    """The current INR per USD rate."""
    return _rate["usd_inr"]


def usd_to_inr(usd: float) -> float:
    """Convert USD to INR at the current rate.

    >>> round(usd_to_inr(1.0) / usd_inr(), 6)
    1.0
    """
    return usd * _rate["usd_inr"]


def price_table() -> list[dict[str, object]]:
    """The effective price table (built-in rows with overrides applied), for display or export."""
    merged = _BUILTIN | _OVERRIDES
    return [
        {
            "model": name,
            "input_per_1m": p.input_per_1m,
            "output_per_1m": p.output_per_1m,
            "source": p.source,
            "as_of": p.as_of,
        }
        for name, p in sorted(merged.items())
    ]
