"""Prices (USD per 1M tokens) and currency conversion.

The built-in table is a dated snapshot of public list prices; each row names its source and the date it was read
(:func:`price_table` shows it). A model id matches a row exactly, as a dated snapshot of it
(``gpt-4o-mini-2024-07-18``, ``claude-3-5-haiku-20241022``, ``gemini-2.0-flash-001``), through a provider prefix
(``openai/gpt-4o``) or through an explicit alias (``claude-sonnet-4-0``). Anything else has an unknown price --
its costs come out NaN with a one-time warning, never a silent 0 and never a neighbouring model's price.

Cached input tokens (read from a prompt cache) and tokens written to a cache are billed at their own rates; a
provider's long-context tier (Gemini 2.5 Pro above 200K input tokens) bills the whole call at its higher rates.
Storage fees of explicit caches (Gemini ``cachedContents``) are billed by the hour, outside any call: not counted.

To refresh the table, compare each row with its ``source`` page, update the figures and the ``as_of`` date;
:func:`set_price` covers any model in between (its :class:`Price` takes every rate).

>>> from orchestra_lab.pricing import Price, cost_usd, set_price
>>> set_price("my-model", Price(input_per_1m=1.0, output_per_1m=2.0, cached_input_per_1m=0.1))
>>> cost_usd("my-model", input_tokens=1_000_000, output_tokens=500_000)
2.0
>>> cost_usd("my-model", input_tokens=1_000_000, output_tokens=0, cached_input_tokens=1_000_000)
0.1
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "USD_INR_DEFAULT",
    "LongContext",
    "Price",
    "UnknownPriceWarning",
    "cost_usd",
    "price_of",
    "price_table",
    "set_price",
    "set_usd_inr",
    "usd_inr",
    "usd_to_inr",
]

USD_INR_DEFAULT = 88.0  # RBI reference rate was 88-89 INR/USD through late 2025; set your own with set_usd_inr


@dataclass(frozen=True, slots=True)
class Price:
    """List price of a model in USD per million tokens, with where and when it was read.

    ``cached_input_per_1m`` prices input tokens read from a prompt cache, ``cache_write_per_1m`` input tokens
    written to one (None: the input price). ``long_context`` is a higher tier for long prompts.

    >>> sonnet = Price(3.0, 15.0, cached_input_per_1m=0.30, cache_write_per_1m=3.75)
    >>> round(sonnet.cost(9_012, 50, cached_input_tokens=9_000), 6)  # 12 fresh + 9,000 cache-read tokens
    0.003486
    """

    input_per_1m: float
    output_per_1m: float
    source: str = "user"
    as_of: str = ""
    cached_input_per_1m: float | None = None
    cache_write_per_1m: float | None = None
    long_context: LongContext | None = None

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        *,
        cached_input_tokens: int | None = None,
        cache_write_tokens: int | None = None,
    ) -> float:
        """USD for a call; ``input_tokens`` is the total input, the cached and cache-written tokens parts of it."""
        if input_tokens is None and output_tokens is None:
            return math.nan
        total_input = input_tokens or 0
        tier = self.long_context
        rates = tier.price if tier is not None and total_input > tier.above_input_tokens else self
        cached = cached_input_tokens or 0
        written = cache_write_tokens or 0
        fresh = max(0, total_input - cached - written)
        usd_per_1m = (
            fresh * rates.input_per_1m
            + cached * _or(rates.cached_input_per_1m, rates.input_per_1m)
            + written * _or(rates.cache_write_per_1m, rates.input_per_1m)
            + (output_tokens or 0) * rates.output_per_1m
        )
        return usd_per_1m / 1e6

    def rates(self) -> tuple[float, ...]:
        """Every per-token rate this price holds (its long-context tier's included)."""
        own = (self.input_per_1m, self.output_per_1m, self.cached_input_per_1m, self.cache_write_per_1m)
        tier = () if self.long_context is None else self.long_context.price.rates()
        return tuple(r for r in own if r is not None) + tier


@dataclass(frozen=True, slots=True)
class LongContext:
    """A long-context tier: a call with more than ``above_input_tokens`` input tokens is billed at ``price``."""

    above_input_tokens: int
    price: Price


def _or(rate: float | None, default: float) -> float:
    return default if rate is None else rate


_OPENAI = "https://openai.com/api/pricing/"
_ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
_GEMINI = "https://ai.google.dev/gemini-api/docs/pricing"
_GROQ = "https://groq.com/pricing/"
_TOGETHER = "https://www.together.ai/pricing"
_GEMINI_25_PRO_LONG = LongContext(200_000, Price(2.50, 15.00, _GEMINI, "2025-11", cached_input_per_1m=0.25))

# model, provider, input, output, cached input, cache write (USD/1M; None: the input price), source, date read.
# OpenAI and Gemini do not bill cache writes apart from input; Anthropic bills 5-minute writes at 1.25x input.
_TABLE: list[tuple[str, str, float, float, float | None, float | None, str, str]] = [
    ("gpt-5", "openai", 1.25, 10.00, 0.125, None, _OPENAI, "2025-08"),
    ("gpt-5-mini", "openai", 0.25, 2.00, 0.025, None, _OPENAI, "2025-08"),
    ("gpt-5-nano", "openai", 0.05, 0.40, 0.005, None, _OPENAI, "2025-08"),
    ("gpt-5-pro", "openai", 15.00, 120.00, None, None, _OPENAI, "2025-10"),
    ("gpt-4.1", "openai", 2.00, 8.00, 0.50, None, _OPENAI, "2025-08"),
    ("gpt-4.1-mini", "openai", 0.40, 1.60, 0.10, None, _OPENAI, "2025-08"),
    ("gpt-4.1-nano", "openai", 0.10, 0.40, 0.025, None, _OPENAI, "2025-08"),
    ("gpt-4o", "openai", 2.50, 10.00, 1.25, None, _OPENAI, "2025-08"),
    ("gpt-4o-mini", "openai", 0.15, 0.60, 0.075, None, _OPENAI, "2025-08"),
    ("o1", "openai", 15.00, 60.00, 7.50, None, _OPENAI, "2025-08"),
    ("o3", "openai", 2.00, 8.00, 0.50, None, _OPENAI, "2025-08"),
    ("o3-mini", "openai", 1.10, 4.40, 0.55, None, _OPENAI, "2025-08"),
    ("o4-mini", "openai", 1.10, 4.40, 0.275, None, _OPENAI, "2025-08"),
    ("gpt-3.5-turbo", "openai", 0.50, 1.50, None, None, _OPENAI, "2025-08"),
    ("text-embedding-3-small", "openai", 0.02, 0.0, None, None, _OPENAI, "2025-08"),
    ("text-embedding-3-large", "openai", 0.13, 0.0, None, None, _OPENAI, "2025-08"),
    ("text-embedding-ada-002", "openai", 0.10, 0.0, None, None, _OPENAI, "2025-08"),
    ("claude-opus-4-7", "anthropic", 5.00, 25.00, 0.50, 6.25, _ANTHROPIC, "2026-12"),
    ("claude-opus-4-6", "anthropic", 5.00, 25.00, 0.50, 6.25, _ANTHROPIC, "2026-12"),
    ("claude-opus-4-5", "anthropic", 5.00, 25.00, 0.50, 6.25, _ANTHROPIC, "2026-12"),
    ("claude-opus-4-1", "anthropic", 15.00, 75.00, 1.50, 18.75, _ANTHROPIC, "2026-12"),
    ("claude-opus-4", "anthropic", 15.00, 75.00, 1.50, 18.75, _ANTHROPIC, "2026-12"),
    ("claude-sonnet-4-6", "anthropic", 3.00, 15.00, 0.30, 3.75, _ANTHROPIC, "2026-12"),
    ("claude-sonnet-4-5", "anthropic", 3.00, 15.00, 0.30, 3.75, _ANTHROPIC, "2026-12"),
    ("claude-sonnet-4", "anthropic", 3.00, 15.00, 0.30, 3.75, _ANTHROPIC, "2026-12"),
    ("claude-3-7-sonnet", "anthropic", 3.00, 15.00, 0.30, 3.75, _ANTHROPIC, "2026-12"),
    ("claude-3-5-sonnet", "anthropic", 3.00, 15.00, 0.30, 3.75, _ANTHROPIC, "2025-08"),
    ("claude-haiku-4-5", "anthropic", 1.00, 5.00, 0.10, 1.25, _ANTHROPIC, "2026-12"),
    ("claude-3-5-haiku", "anthropic", 0.80, 4.00, 0.08, 1.00, _ANTHROPIC, "2026-12"),
    ("claude-3-haiku", "anthropic", 0.25, 1.25, 0.03, 0.30, _ANTHROPIC, "2026-12"),
    ("gemini-2.5-pro", "gemini", 1.25, 10.00, 0.125, None, _GEMINI, "2025-11"),
    ("gemini-2.5-flash", "gemini", 0.30, 2.50, 0.03, None, _GEMINI, "2025-11"),
    ("gemini-2.5-flash-lite", "gemini", 0.10, 0.40, 0.01, None, _GEMINI, "2025-11"),
    ("gemini-2.0-flash", "gemini", 0.10, 0.40, 0.025, None, _GEMINI, "2025-11"),
    ("gemini-2.0-flash-lite", "gemini", 0.075, 0.30, None, None, _GEMINI, "2025-08"),
    ("llama-3.1-8b-instant", "groq", 0.05, 0.08, None, None, _GROQ, "2025-08"),
    ("llama-3.3-70b-versatile", "groq", 0.59, 0.79, None, None, _GROQ, "2025-08"),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", 0.88, 0.88, None, None, _TOGETHER, "2025-08"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "together", 0.18, 0.18, None, None, _TOGETHER, "2025-08"),
]
_LONG_CONTEXT = {"gemini-2.5-pro": _GEMINI_25_PRO_LONG}

# Names the providers document as pointing at a priced model (moving aliases included).
ALIASES: dict[str, str] = {
    "gpt-5-chat-latest": "gpt-5",
    "claude-opus-4-0": "claude-opus-4",
    "claude-sonnet-4-0": "claude-sonnet-4",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet",
    "claude-3-5-haiku-latest": "claude-3-5-haiku",
}
# A dated snapshot of a known id: OpenAI -2025-08-07, Anthropic -20250805, Vertex @20250805, Gemini -001.
_SNAPSHOT = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-20\d{6}|@20\d{6}|-00\d)$")

_BUILTIN: dict[str, Price] = {
    name: Price(i, o, src, date, cached, write, _LONG_CONTEXT.get(name))
    for name, _, i, o, cached, write, src, date in _TABLE
}
_PROVIDERS: dict[str, str] = {row[0]: row[1] for row in _TABLE}
_OVERRIDES: dict[str, Price] = {}
_WARNED: set[str] = set()
_rate = {"usd_inr": float(os.environ.get("ORCHESTRA_LAB_USD_INR", USD_INR_DEFAULT))}


def set_price(model: str, price: Price) -> None:
    """Set (or replace) the price of ``model`` (and its dated snapshots); takes precedence over the built-in table.

    >>> set_price("team-llm", Price(2.0, 8.0, cached_input_per_1m=0.5, cache_write_per_1m=2.5))
    >>> price_of("team-llm-2026-01-01").cache_write_per_1m
    2.5
    """
    if any(rate < 0 for rate in price.rates()):
        raise ValueError(f"price for {model!r}: per-token prices cannot be negative")
    _OVERRIDES[model] = price


def price_of(model: str) -> Price | None:
    """The price of ``model``: an exact row, a dated snapshot of one, an alias; None when unknown.

    >>> price_of("openai/gpt-4o-mini-2024-07-18").input_per_1m
    0.15
    >>> price_of("gpt-5-pro").input_per_1m, price_of("gpt-5-turbo-max") is None
    (15.0, True)
    """
    for candidate in dict.fromkeys((model, model.split("/", 1)[-1])):
        for name in (candidate, _SNAPSHOT.sub("", candidate)):
            name = ALIASES.get(name, name)
            price = _OVERRIDES.get(name) or _BUILTIN.get(name)
            if price is not None:
                return price
    return None


def cost_usd(
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    *,
    cached_input_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> float:
    """Cost of a call in USD (see :meth:`Price.cost`); NaN (and one warning per model) when the price is unknown."""
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
    return price.cost(
        input_tokens, output_tokens, cached_input_tokens=cached_input_tokens, cache_write_tokens=cache_write_tokens
    )


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


_RATE_COLUMNS = ("input_per_1m", "output_per_1m", "cached_input_per_1m", "cache_write_per_1m")


def price_table() -> pd.DataFrame:
    """The effective price table (built-in rows with overrides applied), one row per model.

    Columns: model, provider, the four rates (a missing cached or cache-write rate is the input rate), the
    long-context threshold (NaN when none), source and as-of date.

    >>> table = price_table()
    >>> table.set_index("model").loc["claude-sonnet-4-5", ["cached_input_per_1m", "cache_write_per_1m"]].tolist()
    [0.3, 3.75]
    """
    merged = _BUILTIN | _OVERRIDES
    rows = []
    for name, price in sorted(merged.items()):
        rates = {column: getattr(price, column) for column in _RATE_COLUMNS}
        for column in ("cached_input_per_1m", "cache_write_per_1m"):
            rates[column] = _or(rates[column], price.input_per_1m)
        tier = price.long_context
        rows.append(
            {"model": name, "provider": _PROVIDERS.get(name, "custom")}
            | rates
            | {
                "long_context_above": math.nan if tier is None else tier.above_input_tokens,
                "source": price.source,
                "as_of": price.as_of,
            }
        )
    columns = ["model", "provider", *_RATE_COLUMNS, "long_context_above", "source", "as_of"]
    import pandas as pd  # on use: `import orchestra_lab` stays light

    return pd.DataFrame(rows, columns=columns)
