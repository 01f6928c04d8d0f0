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
import itertools
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .._secrets import redact
from ..pricing import usd_to_inr
from .log import active_log
from .schema import COLUMNS


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


_ID_PREFIX = os.urandom(4).hex()  # per process: ids stay unique across processes and resumed sessions
_ID_COUNTER = itertools.count()


def new_call_id() -> str:
    """A unique call id: a per-process random prefix and a counter (cheap on the hot path)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


def enter_span(name: str, item_id: str | None) -> tuple[Span, contextvars.Token[Span | None], contextvars.Token[int]]:
    """Open a new call under the current one; pair with :func:`exit_span`. (:func:`open_span` is the ``with`` form.)"""
    parent = _SPAN.get()
    strategy = parent.strategy if parent is not None else (_LABEL.get() or name)
    span = Span(new_call_id(), parent, name, strategy, item_id, _ATTEMPT.get())
    return span, _SPAN.set(span), _ATTEMPT.set(1)


def exit_span(span_token: contextvars.Token[Span | None], attempt_token: contextvars.Token[int]) -> None:
    _ATTEMPT.reset(attempt_token)
    _SPAN.reset(span_token)


@contextmanager
def open_span(name: str, item_id: str | None) -> Iterator[tuple[Span, int]]:
    """Enter a new call under the current one; yields the span and its attempt number."""
    span, span_token, attempt_token = enter_span(name, item_id)
    try:
        yield span, span.attempt
    finally:
        exit_span(span_token, attempt_token)


def record_call(
    span: Span,
    *,
    kind: str,
    attempt_number: int,
    started_at: float,
    latency_s: float | None,
    cost: float | None,
    input_tokens: int | None,
    output_tokens: int | None,
    tokens_estimated: bool,
    requested_model: str | None = None,
    served_model: str | None = None,
    provider: str | None = None,
    source: str | None = None,
    status: str = "ok",
    error_type: str | None = None,
    error: str | None = None,
    http_status: int | None = None,
    cache_hit: bool = False,
    prompt_hash: str | None = None,
    response_text: str | None = None,
    prompt: str | None = None,
) -> None:
    """Write the row of a finished call and pass its totals up to the parent span."""
    parent = span.parent
    log = active_log()
    log.append(
        (
            log.run_id,
            span.call_id,
            None if parent is None else parent.call_id,
            span.item_id,
            span.strategy,
            None if parent is None else parent.name,
            kind,
            span.name,
            requested_model,
            served_model,
            provider,
            source,
            attempt_number,
            status,
            error_type,
            None if error is None else redact(error),
            http_status,
            cache_hit,
            input_tokens,
            output_tokens,
            tokens_estimated,
            cost,
            None if cost is None else usd_to_inr(cost),
            latency_s,
            started_at,
            prompt_hash,
            None if response_text is None else redact(response_text),
            span.decision,
            span.reason,
            None,
            None if prompt is None else redact(prompt),
        )
    )
    if parent is not None:
        parent.children.append(span.call_id)
        parent.add_child_totals(cost, input_tokens, output_tokens, tokens_estimated)


_RECORD_ORDER = [
    "run_id",
    "call_id",
    "parent_id",
    "item_id",
    "strategy",
    "caller",
    "kind",
    "name",
    "requested_model",
    "served_model",
    "provider",
    "source",
    "attempt",
    "status",
    "error_type",
    "error",
    "http_status",
    "cache_hit",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "cost_usd",
    "cost_inr",
    "latency_s",
    "started_at",
    "prompt_hash",
    "response_text",
    "decision",
    "reason",
    "score",
    "prompt",
]
assert tuple(_RECORD_ORDER) == COLUMNS, "record_call must build rows in the schema's column order"


def wall_clock() -> float:
    return time.time()
