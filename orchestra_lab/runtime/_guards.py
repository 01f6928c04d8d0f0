"""Call guards: run-wide checks every leaf call passes through (budget caps, run-wide limits).

A guard is entered with :func:`guarded`; :func:`~orchestra_lab.models.base.invoke` awaits ``before_call`` for each
active guard before a leaf model runs (raising a :class:`~orchestra_lab.errors.ModelError` refuses the call, which
is logged like any failure) and calls ``after_call`` with the call's cost once it ends.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..models.base import Model
    from ..types import Request


class CallGuard(Protocol):
    async def before_call(self, model: Model, request: Request) -> None: ...

    def after_call(self, model: Model, request: Request, cost_usd: float | None) -> None: ...


_GUARDS: contextvars.ContextVar[tuple[CallGuard, ...]] = contextvars.ContextVar("orchestra_lab_guards", default=())


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
