"""A scorer from a plain function ``fn(output, expected)`` or ``fn(output, item)``.

>>> from orchestra_lab.experiments.dataset import Item
>>> FunctionScorer(lambda output, expected: output.strip() == str(expected)).score(" 42 ", Item("q", "?", 42))
1.0
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Any

from ..._introspect import param_names
from ..dataset import Item
from .base import BaseScorer, output_text

__all__ = ["FunctionScorer", "ScoreResult"]


ScoreResult = bool | float | None


class FunctionScorer(BaseScorer):
    """A scorer from ``fn(output, expected)`` -- or ``fn(output, item)`` when its second parameter is named ``item``.

    ``fn`` may be sync or async and return a bool or a number in [0, 1]; ``None`` means unscorable (NaN).

    >>> FunctionScorer(lambda output, item: item.category in output, name="mentions_category").score(
    ...     "about fractions", Item("q", "...", category="fractions"))
    1.0
    """

    def __init__(
        self, fn: Callable[[str, Any], ScoreResult | Awaitable[ScoreResult]], *, name: str | None = None
    ) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"FunctionScorer needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self._wants_item = param_names(fn)[1:2] == ["item"]

    async def ascore(self, output: str, item: Item) -> float:
        text = output_text(output)
        if text is None:
            return self._unscorable(item, "no output (the call failed)")
        result = self.fn(text, item if self._wants_item else item.expected)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return self._unscorable(item, f"{self.name} returned None")
        value = math.inf if isinstance(result, str) or not hasattr(result, "__float__") else float(result)
        if not (0 <= value <= 1 or math.isnan(value)):
            raise ValueError(f"scorer {self.name!r} returned {result!r}: return a bool or a number in [0, 1]")
        return value
