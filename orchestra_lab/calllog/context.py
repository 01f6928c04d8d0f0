"""The call context: which call is running now, so every layer records into the one log without passing it.

Every call is one :class:`~orchestra_lab.calllog.record.CallRecord`: :func:`begin_call` makes it (the one place a
record is built) and makes it the running call, :func:`end_call` writes its row and adds its totals to its parent.
:func:`calling` is the ``with`` form, for calls a wrapper answers itself (a cache hit, a refusal).
:func:`scope` collects the totals of the top-level calls made inside it (an experiment's item) without a row.

>>> from orchestra_lab.calllog.context import current_span
>>> current_span() is None
True
"""

from __future__ import annotations

import contextvars
import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .log import active_log
from .record import CallRecord

if TYPE_CHECKING:
    from ..models.base import Model
    from ..types import Request

__all__ = ["attempt", "begin_call", "calling", "current_span", "end_call", "label", "new_call_id", "note", "scope"]

_SPAN: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar("orchestra_lab_span", default=None)
_ATTEMPT: contextvars.ContextVar[int] = contextvars.ContextVar("orchestra_lab_attempt", default=1)
_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("orchestra_lab_label", default=None)


def current_span() -> CallRecord | None:
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


def _new_id_prefix() -> None:
    """A forked process (an experiment's worker) makes ids of its own, never its parent's."""
    global _ID_PREFIX
    _ID_PREFIX = os.urandom(4).hex()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_id_prefix)


def new_call_id() -> str:
    """A unique call id: a per-process random prefix and a counter (cheap on the hot path)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


Tokens = tuple[contextvars.Token[CallRecord | None], contextvars.Token[int]]


def begin_call(model: Model, request: Request) -> tuple[CallRecord, Tokens]:
    """Make the record of ``model`` answering ``request`` and run it as the current call; pair with :func:`end_call`."""
    parent = _SPAN.get()
    logged_parent = parent is not None and not parent.is_scope
    record = CallRecord(
        call_id=new_call_id(),
        parent_id=parent.call_id if logged_parent else None,  # type: ignore[union-attr]
        item_id=request.item_id,
        strategy=parent.strategy if parent is not None else (_LABEL.get() or model.name),
        caller=parent.name if logged_parent else None,  # type: ignore[union-attr]
        kind=model.kind,
        name=model.name,
        requested_model=model.requested_model,
        provider=model.provider,
        source=model.source,
        attempt=_ATTEMPT.get(),
        started_at=time.time(),
        prompt_hash=request.fingerprint(),
        prompt=request.prompt,
        parent=parent,
    )
    return record, (_SPAN.set(record), _ATTEMPT.set(1))


def end_call(record: CallRecord, tokens: Tokens) -> None:
    """Write the finished call's row into the active log, add its totals to its parent and leave it."""
    log = active_log()
    record.run_id = log.run_id
    log.append(record.row())
    if record.parent is not None:
        record.parent.add_child(record)
        record.parent = None  # parent.last_child is this record: no cycle, so refcounting frees it (not the GC)
    _ATTEMPT.reset(tokens[1])
    _SPAN.reset(tokens[0])


@contextmanager
def calling(model: Model, request: Request) -> Iterator[CallRecord]:
    """A call a wrapper answers itself (a cache hit, a refusal): set how it ended on the yielded record."""
    record, tokens = begin_call(model, request)
    try:
        yield record
    finally:
        end_call(record, tokens)


class scope:
    """Collect the totals of the calls made inside the block, labelled ``strategy`` (no row of its own; the calls
    stay top level in the log). A class, not a generator: an experiment enters one per strategy x item."""

    __slots__ = ("_token", "record")

    def __init__(self, strategy: str) -> None:
        self.record = CallRecord(call_id=new_call_id(), strategy=strategy, name=strategy, is_scope=True)

    def __enter__(self) -> CallRecord:
        self._token = _SPAN.set(self.record)
        return self.record

    def __exit__(self, *exc: object) -> None:
        _SPAN.reset(self._token)
