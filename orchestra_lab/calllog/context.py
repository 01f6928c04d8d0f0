"""The call context: which call is running now, so every layer records into the one log without passing it.

A :class:`Span` is one call in progress. Spans form the call tree (``parent``); a finished call adds its cost
and tokens to its parent span, which is how a strategy row comes to hold the sum over its descendants' leaf calls
(failed but billed attempts included) with nothing counted twice.

>>> from orchestra_lab.calllog.context import current_span
>>> current_span() is None
True
"""

from __future__ import annotations

import contextvars
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .._secrets import redact
from ..pricing import usd_to_inr
from .log import active_log


@dataclass(slots=True, eq=False)
class Span:
    """One call in progress: its identity, and the totals of its finished children."""

    call_id: str
    parent: Span | None
    name: str
    strategy: str
    item_id: str | None
    attempt: int = 1
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    decision: str | None = None
    reason: str | None = None
    children: list[str] = field(default_factory=list)

    def add_child_totals(
        self, cost: float | None, input_tokens: int | None, output_tokens: int | None, estimated: bool
    ) -> None:
        """Add a finished child's cost and tokens (an unknown cost makes the total unknown: NaN)."""
        self.cost_usd += math.nan if cost is None else cost
        if input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + input_tokens
        if output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + output_tokens
        self.tokens_estimated = self.tokens_estimated or estimated


_SPAN: contextvars.ContextVar[Span | None] = contextvars.ContextVar("orchestra_lab_span", default=None)
_ATTEMPT: contextvars.ContextVar[int] = contextvars.ContextVar("orchestra_lab_attempt", default=1)
_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("orchestra_lab_label", default=None)


def current_span() -> Span | None:
    """The call running now (``None`` outside any call)."""
    return _SPAN.get()


def note(decision: str | None = None, reason: str | None = None) -> None:
    """Let the running strategy say what it decided and why (lands in its row's ``decision`` / ``reason``)."""
    span = _SPAN.get()
    if span is None:
        return
    if decision is not None:
        span.decision = decision
    if reason is not None:
        span.reason = reason


@contextmanager
def label(strategy: str) -> Iterator[None]:
    """Label top-level calls made inside the block (the ``strategy`` column), e.g. by an experiment."""
    token = _LABEL.set(strategy)
    try:
        yield
    finally:
        _LABEL.reset(token)


@contextmanager
def attempt(number: int) -> Iterator[None]:
    """Mark the next call made inside the block as attempt ``number`` (used by retries)."""
    token = _ATTEMPT.set(number)
    try:
        yield
    finally:
        _ATTEMPT.reset(token)


def new_call_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def open_span(name: str, item_id: str | None) -> Iterator[tuple[Span, int]]:
    """Enter a new call under the current one; yields the span and its attempt number."""
    parent = _SPAN.get()
    strategy = parent.strategy if parent is not None else (_LABEL.get() or name)
    number = _ATTEMPT.get()
    span = Span(new_call_id(), parent, name, strategy, item_id, number)
    span_token = _SPAN.set(span)
    attempt_token = _ATTEMPT.set(1)
    try:
        yield span, number
    finally:
        _ATTEMPT.reset(attempt_token)
        _SPAN.reset(span_token)


def record_call(
    span: Span,
    *,
    kind: str,
    attempt_number: int,
    started_at: float,
    latency_s: float,
    cost: float | None,
    input_tokens: int | None,
    output_tokens: int | None,
    tokens_estimated: bool,
    **fields: Any,
) -> None:
    """Write the row of a finished call and pass its totals up to the parent span."""
    parent = span.parent
    row = {
        "call_id": span.call_id,
        "parent_id": parent.call_id if parent is not None else None,
        "item_id": span.item_id,
        "strategy": span.strategy,
        "caller": parent.name if parent is not None else None,
        "kind": kind,
        "name": span.name,
        "attempt": attempt_number,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "tokens_estimated": tokens_estimated,
        "cost_usd": cost,
        "cost_inr": None if cost is None else usd_to_inr(cost),
        "latency_s": latency_s,
        "started_at": started_at,
        "decision": span.decision,
        "reason": span.reason,
    } | {k: (redact(v) if isinstance(v, str) else v) for k, v in fields.items()}
    active_log().record(row)
    if parent is not None:
        parent.children.append(span.call_id)
        parent.add_child_totals(cost, input_tokens, output_tokens, tokens_estimated)


def wall_clock() -> float:
    return time.time()
