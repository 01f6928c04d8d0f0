"""What a scorer is, and the parts the shipped scorers share: sync scoring, NaN bookkeeping, one warning per run.

A **scorer** grades a model's answer after the call, as a number from 0 to 1; it may read the item's expected
answer (a strategy never sees it). A score is NaN when the answer cannot be judged at all -- the item has no
usable expected value, the judge's verdict has no score -- and the reason is kept in ``scorer.last_error`` and
``scorer.errors[item_id]``. A wrong or unreadable *output* is not unscorable: it scores 0.

Unscorable items are logged as one warning per scorer and run (a count and a few examples) inside
:func:`unscorable_warnings`, which an experiment run opens; outside it each one is logged as it happens.

>>> import logging
>>> from orchestra_lab.experiments.dataset import Item
>>> from orchestra_lab.experiments.scorers import ExactMatch
>>> with unscorable_warnings():
...     [ExactMatch().score("x", Item(f"q{n}", "?")) for n in range(3)]
[nan, nan, nan]
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..._introspect import config_of
from ..._sync import run_sync
from ...types import Response
from ..dataset import Item

__all__ = [
    "BaseScorer",
    "ResponseScorer",
    "Scorer",
    "score_response",
    "unscorable_warnings",
]

_log = logging.getLogger("orchestra_lab.experiments.scorers")
_EXAMPLES = 3  # unscorable items quoted in a run's warning


@runtime_checkable
class Scorer(Protocol):
    """A scorer grades an answer after the call (0 to 1, NaN when it cannot be judged) and may read the item's
    expected answer. This is all an experiment needs from one."""

    name: str

    async def ascore(self, output: str, item: Item) -> float:
        """A score in [0, 1] for ``output`` as an answer to ``item`` (NaN when it cannot be judged)."""
        ...


@runtime_checkable
class ResponseScorer(Protocol):
    """A scorer that grades the whole response, not only its text -- e.g. by the model that served it. An
    experiment gives such a scorer the response (see :func:`score_response`)."""

    name: str

    async def ascore_response(self, response: Response, item: Item) -> float:
        """A score in [0, 1] for ``response`` as an answer to ``item`` (NaN when it cannot be judged)."""
        ...


async def score_response(scorer: Scorer, response: Response, item: Item) -> float:
    """Score a model's response: a :class:`ResponseScorer` gets the whole response, any other scorer its text.

    >>> import asyncio
    >>> from orchestra_lab.experiments.scorers import ExactMatch
    >>> asyncio.run(score_response(ExactMatch(), Response("4", requested_model="m"), Item("q", "2+2?", 4)))
    1.0
    """
    if isinstance(scorer, ResponseScorer):
        return await scorer.ascore_response(response, item)
    return await scorer.ascore(response.text, item)


# -- unscorable items: one warning per scorer and run --------------------------------------------------------------
@dataclass
class _Unscorable:
    count: int = 0
    examples: list[str] = field(default_factory=list)


_RUN_TALLY: contextvars.ContextVar[dict[str, _Unscorable] | None] = contextvars.ContextVar(
    "orchestra_lab_unscorable", default=None
)


@contextmanager
def unscorable_warnings() -> Iterator[None]:
    """Collect unscorable items while the block runs; on leaving it, log one warning per scorer with the count
    and the first few items and reasons (an experiment run opens one around all its items)."""
    tally: dict[str, _Unscorable] = {}
    token = _RUN_TALLY.set(tally)
    try:
        yield
    finally:
        _RUN_TALLY.reset(token)
        _warn(tally)


def _warn(tally: Mapping[str, _Unscorable]) -> None:
    """One warning per scorer: how many items it could not score, and the first few."""
    for name, found in tally.items():
        more = f"; and {found.count - len(found.examples)} more" if found.count > len(found.examples) else ""
        _log.warning(
            "scorer %s: %d item(s) unscorable (NaN, left out of the mean), e.g. %s%s",
            name,
            found.count,
            "; ".join(found.examples),
            more,
        )


@contextmanager
def unscorable_tally() -> Iterator[dict[str, _Unscorable]]:
    """Collect unscorable items while the block runs into the yielded tally, without a warning (a worker process
    of a run collects them for the run, see :func:`add_unscorable`)."""
    tally: dict[str, _Unscorable] = {}
    token = _RUN_TALLY.set(tally)
    try:
        yield tally
    finally:
        _RUN_TALLY.reset(token)


def add_unscorable(tally: Mapping[str, _Unscorable]) -> None:
    """Count a tally collected elsewhere (:func:`unscorable_tally`) into the run's; warn of it outside a run."""
    run = _RUN_TALLY.get()
    if run is None:
        _warn(tally)
        return
    for name, found in tally.items():
        counted = run.setdefault(name, _Unscorable())
        counted.count += found.count
        counted.examples.extend(found.examples[: _EXAMPLES - len(counted.examples)])


def _report_unscorable(scorer_name: str, item_id: str, reason: str) -> None:
    tally = _RUN_TALLY.get()
    if tally is None:
        _log.warning("scorer %s: item %s is unscorable: %s", scorer_name, item_id, reason)
        return
    found = tally.setdefault(scorer_name, _Unscorable())
    found.count += 1
    if len(found.examples) < _EXAMPLES:
        found.examples.append(f"item {item_id}: {reason}")


# -- the shared base -----------------------------------------------------------------------------------------------
class BaseScorer:
    """Shared parts of the shipped scorers: sync :meth:`score`, the NaN bookkeeping and a readable repr.

    Subclasses implement ``_score(output, item)`` (or override ``ascore`` when they await something).

    >>> from orchestra_lab.experiments.scorers import ExactMatch
    >>> ExactMatch().score(None, Item("q", "?", "x")), ExactMatch().score("x", Item("q", "?", "x"))
    (nan, 1.0)
    """

    name: str

    def __init__(self) -> None:
        self.last_error: str | None = None
        self.errors: dict[str, str] = {}

    async def ascore(self, output: str, item: Item) -> float:
        text = output_text(output)
        return self._unscorable(item, "no output (the call failed)") if text is None else self._score(text, item)

    def score(self, output: str, item: Item) -> float:
        """Synchronous :meth:`ascore` (works inside notebooks too)."""
        return run_sync(self.ascore(output, item))

    def _score(self, output: str, item: Item) -> float:
        raise NotImplementedError

    def _unscorable(self, item: Item, reason: str) -> float:
        self.last_error = reason
        self.errors[item.id] = reason
        _report_unscorable(self.name, item.id, reason)
        return math.nan

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as currently set."""
        return config_of(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={_short_repr(v)}' for k, v in self.get_config().items())})"


def _short_repr(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def output_text(output: Any) -> str | None:
    """The answer's text (``None`` when the call gave none)."""
    if output is None:
        return None
    return output if isinstance(output, str) else str(getattr(output, "text", output))


def alternatives(expected: Any) -> list[Any]:
    """A list or tuple of expected values means "any of these"."""
    return list(expected) if isinstance(expected, (list, tuple)) else [expected]
