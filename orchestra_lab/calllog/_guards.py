"""Call guards: run-wide checks every leaf call passes through (budget caps, run-wide limits), and call deadlines.

A guard is entered with :func:`guarded`; :func:`~orchestra_lab.models.base.invoke` awaits ``before_call`` for each
active guard before a leaf model runs (raising a :class:`~orchestra_lab.errors.ModelError` refuses the call, which
is logged like any failure) and calls ``after_call`` with the call's cost once it ends -- ``None`` when nothing was
billed, NaN when the cost is unknown (the call was cancelled or broke with a non-model error).
Guards tell calls apart by the running span (``current_span()`` is the same in both hooks).

A deadline (:func:`deadline`, used by :class:`~orchestra_lab.runtime.timeout.Timed`) applies to the next call
opened inside the block: ``invoke`` fails it with a timeout when its reported latency exceeds the deadline (that is
how simulated models, which do not sleep, time out) and logs a wall-clock timeout as a timeout rather than a
cancellation. A wrapper that makes several calls in sequence (retries) reads the deadline with
:func:`time_allowed` and gives each call what is left of it. Nested deadlines keep the tighter one.

This module sits with the call context, below the models and the runtime wrappers, so both import it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from .context import current_span
from .record import CallRecord

if TYPE_CHECKING:
    from ..models.base import Model
    from ..types import Request


class CallGuard(Protocol):
    async def before_call(self, model: Model, request: Request) -> None: ...

    def after_call(self, model: Model, request: Request, cost_usd: float | None) -> None: ...


_GUARDS: contextvars.ContextVar[tuple[CallGuard, ...]] = contextvars.ContextVar("orchestra_lab_guards", default=())
_DEADLINE: contextvars.ContextVar[tuple[float, CallRecord | None] | None] = contextvars.ContextVar(
    "orchestra_lab_deadline", default=None
)

TIMEOUT_CANCEL_MESSAGE = "timed out (orchestra_lab timeout)"


def active_guards() -> tuple[CallGuard, ...]:
    return _GUARDS.get()


@contextmanager
def guarded(guard: CallGuard) -> Iterator[CallGuard]:
    """Make ``guard`` apply to every leaf call made inside the block (guards stack)."""
    token = _GUARDS.set((*_GUARDS.get(), guard))
    try:
        yield guard
    finally:
        _GUARDS.reset(token)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """The next call opened inside the block (not the calls it makes) must take at most ``seconds`` (or less, when
    an outer deadline on the same call leaves less)."""
    outer = time_allowed()
    token = _DEADLINE.set((seconds if outer is None else min(seconds, outer), current_span()))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_of(record: CallRecord) -> float | None:
    """The deadline of the call ``record`` is running, if a :func:`deadline` block opened it."""
    value = _DEADLINE.get()
    return value[0] if value is not None and value[1] is record.parent else None


def time_allowed() -> float | None:
    """The deadline a call opened here now would get (``None``: none)."""
    value = _DEADLINE.get()
    return value[0] if value is not None and value[1] is current_span() else None


def is_timeout_cancel(err: BaseException) -> bool:
    """Whether ``err`` is the cancellation a timeout wrapper sent (``task.cancel(TIMEOUT_CANCEL_MESSAGE)``)."""
    return isinstance(err, asyncio.CancelledError) and err.args[:1] == (TIMEOUT_CANCEL_MESSAGE,)
