"""A spend cap per run, in USD or INR, that calls cannot push the spend past.

A :class:`Budget` is a call guard: inside ``with budget:`` every leaf call first reserves its worst-case cost
(prompt tokens counted pessimistically -- 2 characters a token, more for Hindi, plus 8 a message -- and
``max_tokens``, or ``default_max_tokens`` when the request sets none, priced with the model's price). A call whose
worst case does not fit in ``cap - spent - reserved`` is refused with
:class:`~orchestra_lab.errors.BudgetExceededError`, logged as a failed row of cost 0, and the model is not called.
When the call ends the reservation is settled with the actual cost (nothing for an unbilled failure), or kept whole
when the cost is unknown: a live call abandoned at the client's timeout or cancelled (the provider may still finish
and bill it; its row says ``cost_usd=NaN``, ``billing="unknown"``), or one that broke with a non-model error.

What the cap guarantees: the provider's bill for the calls made inside ``with budget:`` -- abandoned calls
included -- stays within the cap, as long as each call costs no more than its worst case, i.e. its output stays
within ``max_tokens`` (or ``default_max_tokens``) and its prompt within the pessimistic count: set ``max_tokens``
on requests to live models to make it a guarantee. ``spent`` can overstate the bill (abandoned calls count their
worst case), never understate it. A call that costs more than reserved is still counted, with one warning.

>>> from orchestra_lab import CallLog, SimulatedModel
>>> from orchestra_lab.runtime import Budget
>>> large = SimulatedModel.profile("sim/large")
>>> with CallLog() as log, Budget(max_usd=0.01) as budget:
...     for i in range(20):
...         try:
...             _ = large(f"Question {i}?", max_tokens=100)
...         except Exception:
...             pass
>>> budget.spent_usd <= 0.01, budget.refused > 0, log.to_frame()["error_type"].dropna().unique().tolist()
(True, True, ['budget'])
"""

from __future__ import annotations

import math
import threading
import warnings
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from ..calllog._guards import guarded
from ..calllog.context import current_span
from ..errors import BudgetExceededError
from ..pricing import Price, price_of, usd_inr
from ..types import estimate_tokens
from .limits import DEFAULT_MAX_TOKENS

if TYPE_CHECKING:
    from ..models.base import Model
    from ..types import Request

__all__ = ["Budget", "worst_case_cost", "worst_case_input_tokens"]

_CHARS_PER_TOKEN_WORST = 2
_TOKENS_PER_MESSAGE = 8


class Budget:
    """At most ``max_usd`` (or ``max_inr``, converted at the current rate) spent on the calls made inside ``with``.

    ``spent`` and ``remaining`` are in the cap's currency (``spent_usd`` in USD); ``refused`` counts refused calls.
    A model with no known price is refused unless ``allow_unknown=True`` (then its calls are let through and
    not counted); ``unpriced`` names the models refused for that reason. Thread and task safe; one budget can
    guard concurrent calls.

    >>> from orchestra_lab import Budget, SimulatedModel
    >>> small = SimulatedModel.profile("sim/small")
    >>> with Budget(max_inr=100) as budget:
    ...     _ = small("Hi", max_tokens=50)
    >>> budget.calls, budget.refused, budget.currency, 0 < budget.spent < 100
    (1, 0, 'INR', True)
    """

    def __init__(
        self,
        *,
        max_usd: float | None = None,
        max_inr: float | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        allow_unknown: bool = False,
    ) -> None:
        if (max_usd is None) == (max_inr is None):
            raise ValueError("Budget: give exactly one of max_usd= or max_inr=")
        cap = max_usd if max_usd is not None else max_inr
        if not (cap is not None and cap >= 0):
            raise ValueError(f"Budget: the cap must be a non-negative amount, got {cap!r}")
        if not default_max_tokens >= 1:
            raise ValueError(f"Budget.default_max_tokens: {default_max_tokens!r} must be at least 1")
        self.max_usd = max_usd
        self.max_inr = max_inr
        self.default_max_tokens = default_max_tokens
        self.allow_unknown = allow_unknown
        self.spent_usd = 0.0
        self.refused = 0
        self.calls = 0
        self.unpriced: set[str] = set()
        self._reserved: dict[str, float] = {}
        self._lock = threading.Lock()
        self._entered: list[AbstractContextManager[object]] = []
        self._warned_over = False

    # -- amounts ---------------------------------------------------------------------------------------------
    @property
    def currency(self) -> str:
        return "USD" if self.max_usd is not None else "INR"

    @property
    def cap_usd(self) -> float:
        return self.max_usd if self.max_usd is not None else (self.max_inr or 0.0) / usd_inr()

    @property
    def reserved_usd(self) -> float:
        """Worst-case cost of the calls running now."""
        with self._lock:
            return sum(self._reserved.values())

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.cap_usd - self.spent_usd)

    @property
    def spent(self) -> float:
        return self._in_currency(self.spent_usd)

    @property
    def remaining(self) -> float:
        return self._in_currency(self.remaining_usd)

    def _in_currency(self, usd: float) -> float:
        return usd if self.currency == "USD" else usd * usd_inr()

    # -- the guard -------------------------------------------------------------------------------------------
    async def before_call(self, model: Model, request: Request) -> None:
        """Reserve the call's worst-case cost, or refuse the call."""
        span = current_span()
        worst = worst_case_cost(model, request, self.default_max_tokens)
        with self._lock:
            if worst is None and not self.allow_unknown:
                self.refused += 1
                self.unpriced.add(model.requested_model)
                raise BudgetExceededError(
                    f"{model.name}: no price known, so the budget cannot bound this call; set one with "
                    "orchestra_lab.set_price(model, Price(...)) or use Budget(allow_unknown=True)",
                    provider=model.provider,
                    model=model.requested_model,
                )
            worst = worst or 0.0
            reserved = sum(self._reserved.values())
            if self.spent_usd + reserved + worst > self.cap_usd:
                self.refused += 1
                raise BudgetExceededError(
                    f"{model.name}: budget of {self._describe_cap()} would be exceeded (spent ${self.spent_usd:.6f}, "
                    f"reserved ${reserved:.6f}, this call up to ${worst:.6f})",
                    provider=model.provider,
                    model=model.requested_model,
                )
            self.calls += 1
            if span is not None:
                self._reserved[span.call_id] = worst

    def after_call(self, model: Model, request: Request, cost_usd: float | None) -> None:
        """Settle the call's reservation with what it cost (``None``: not billed; NaN: unknown)."""
        span = current_span()
        with self._lock:
            reservation = self._reserved.pop(span.call_id, None) if span is not None else None
            if reservation is None:  # refused, or never reached this guard
                return
            cost = 0.0 if cost_usd is None else reservation if math.isnan(cost_usd) else cost_usd
            self.spent_usd += cost
            over = cost > reservation + 1e-12
        if over and not self._warned_over:
            self._warned_over = True
            warnings.warn(
                f"{model.name}: a call cost ${cost:.6f}, more than its reserved worst case ${reservation:.6f}; "
                "set max_tokens on requests so the budget can bound every call",
                stacklevel=2,
            )

    # -- activation ------------------------------------------------------------------------------------------
    def __enter__(self) -> Budget:
        entered = guarded(self)
        entered.__enter__()
        self._entered.append(entered)
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered.pop().__exit__(None, None, None)

    def _describe_cap(self) -> str:
        return f"${self.max_usd:g}" if self.max_usd is not None else f"₹{self.max_inr:g}"

    def __repr__(self) -> str:
        symbol = "$" if self.currency == "USD" else "₹"
        return (
            f"Budget(cap={self._describe_cap()}, spent={symbol}{self.spent:.6f}, "
            f"remaining={symbol}{self.remaining:.6f}, calls={self.calls}, refused={self.refused})"
        )


def worst_case_cost(model: Model, request: Request, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> float | None:
    """The most ``request`` can cost on ``model`` in USD, or ``None`` when its price is unknown.

    The price is the model's ``price`` (a :class:`~orchestra_lab.pricing.Price`), else its flat
    ``cost_per_call`` (function models), else the price table's entry for its model id.

    >>> from orchestra_lab import SimulatedModel, Request
    >>> round(worst_case_cost(SimulatedModel.profile("sim/large"), Request.of("x" * 400, max_tokens=100)), 6)
    0.00152
    """
    price = getattr(model, "price", None)
    if not isinstance(price, Price):
        flat = getattr(model, "cost_per_call", None)
        if flat is not None:
            return float(flat)
        price = price_of(model.requested_model)
        if price is None:
            return None
    return price.cost(worst_case_input_tokens(request), request.max_tokens or default_max_tokens)


def worst_case_input_tokens(request: Request) -> int:
    """A pessimistic prompt token count: 2 characters a token (or the script-aware :func:`estimate_tokens` when
    that is more, as for Hindi) plus 8 tokens a message.

    >>> from orchestra_lab import Request
    >>> worst_case_input_tokens(Request.of("x" * 100)), worst_case_input_tokens(Request.of("नमस्ते" * 10))
    (58, 98)
    """
    chars = sum(len(m.content) for m in request.messages)
    by_script = sum(estimate_tokens(m.content) for m in request.messages)
    return max(-(-chars // _CHARS_PER_TOKEN_WORST), by_script) + _TOKENS_PER_MESSAGE * len(request.messages)
