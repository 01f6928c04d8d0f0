"""The :class:`Strategy` base: a model made of models, whose row explains its decision.

A strategy calls its children with ``await child.acomplete(request)``, so every child call is its own row with
``parent_id`` = the strategy's call id. The strategy row's cost and tokens are summed from its descendants by the
call log; the strategy composes ``latency_s`` itself (sequential children add, concurrent ones take the max).

>>> from orchestra_lab import SimulatedModel
>>> from orchestra_lab.strategies import Fallback
>>> print(Fallback([SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")], name="fb"))
Fallback(name='fb')
├── #1 → SimulatedModel('sim/small')
└── #2 → SimulatedModel('sim/large')
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..calllog.context import note
from ..errors import BudgetExceededError, ModelError, StrategyError
from ..models.base import Model
from ..streaming import Emit
from ..types import Request, Response, Usage

__all__ = ["Outcome", "Strategy", "call", "call_all", "default_temperature", "leaf_label", "render_tree"]


class Strategy(Model):
    """Base of every orchestration strategy: ``kind="strategy"``, rows explain ``decision`` and ``reason``.

    Subclasses implement ``_acomplete`` and list their sub-models in :meth:`branches` (label, model) pairs;
    ``children()`` and the tree ``repr`` follow from it. They call children with :func:`call`, so a refusal by the
    spend cap (:class:`~orchestra_lab.errors.BudgetExceededError`) propagates instead of changing the answer.
    """

    kind: ClassVar[str] = "strategy"
    provider = "strategy"
    source = "strategy"

    def branches(self) -> list[tuple[str, Model]]:
        """Sub-models with a short label saying their role (``"#1"``, ``"default"``, ``"judge"``...)."""
        return []

    def children(self) -> list[Model]:
        return [model for _, model in self.branches()]

    def __repr__(self) -> str:
        return render_tree(self)

    def _respond(
        self,
        answer: Response,
        *,
        latency_s: float,
        decision: str,
        reason: str,
        meta: Mapping[str, Any] | None = None,
    ) -> Response:
        """The strategy's response: the serving child's text, this strategy's name, composed latency."""
        note(decision=decision, reason=reason)
        return Response(
            answer.text,
            requested_model=self.name,
            served_model=answer.served_model or answer.requested_model,
            provider=self.provider,
            usage=Usage(),
            latency_s=latency_s,
            source=self.source,
            raw=answer,
            meta=dict(answer.meta) | dict(meta or {}),
        )

    def _fail(self, message: str, *, causes: Sequence[BaseException], latency_s: float, decision: str) -> StrategyError:
        """A :class:`StrategyError` for this strategy's row (decision noted, latency composed).

        It carries the HTTP status of the last cause and is retryable when every cause is.
        """
        note(decision=decision, reason=message)
        error = StrategyError(f"{self.name}: {message}", causes=list(causes), model=self.name, latency_s=latency_s)
        error.status = getattr(causes[-1], "status", None) if causes else None
        error.retryable = bool(causes) and all(getattr(c, "retryable", False) for c in causes)
        return error


@dataclass(slots=True)
class Outcome:
    """One child call's result: the response, or the model error it ended with, and its latency."""

    model: Model
    response: Response | None
    error: ModelError | None

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def latency_s(self) -> float:
        source = self.response if self.response is not None else self.error
        value = getattr(source, "latency_s", None)
        return 0.0 if value is None else value

    def describe_error(self) -> str:
        err = self.error
        return "" if err is None else f"{err.error_type}: {err}"


async def call(model: Model, request: Request, emit: Emit | None = None) -> Outcome:
    """Call a child, turning a :class:`ModelError` into a failed :class:`Outcome` (other errors propagate).

    Given ``emit``, the child streams its answer into it (see :mod:`orchestra_lab.streaming`).

    A :class:`~orchestra_lab.errors.BudgetExceededError` propagates too: a spend cap stops the whole strategy, it
    never makes a failed child (an ensemble voting with fewer members, a fallback moving on, a cascade escalating).
    """
    try:
        response = await (model.acomplete(request) if emit is None else model._stream_into(request, emit))
        return Outcome(model, response, None)
    except BudgetExceededError:
        raise
    except ModelError as err:
        return Outcome(model, None, err)


async def call_all(calls: Iterable[Awaitable[Outcome]], *, concurrently: bool = True) -> list[Outcome]:
    """Run child calls concurrently and wait for all of them (a bug in one does not cancel the others).

    ``concurrently=False`` awaits them one by one: for children that run in computed time (simulated, replay),
    which never wait on anything, the answers, rows and composed latency are the same, without the cost of a task
    per call.
    """
    if not concurrently:
        return [await c for c in calls]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


def default_temperature(request: Request) -> float:
    """The temperature of a strategy's own helper call (a judge, a router model): the caller's, else 0 for a
    deterministic decision. A default, never forced; a model that rejects the parameter has it dropped.

    >>> default_temperature(Request.of("q")), default_temperature(Request.of("q", temperature=0.7))
    (0.0, 0.7)
    """
    return 0.0 if request.temperature is None else request.temperature


def leaf_label(model: Model) -> str:
    """How a leaf shows in a strategy's tree ``repr``: its class and name.

    >>> from orchestra_lab import SimulatedModel
    >>> leaf_label(SimulatedModel.profile("sim/tiny"))
    "SimulatedModel('sim/tiny')"
    """
    return f"{type(model).__name__}({model.name!r})"


def render_tree(model: Model) -> str:
    """A model's configuration as an indented tree: the node's settings, then its sub-models nested."""
    lines = [_header(model)]
    branches = model.branches() if isinstance(model, Strategy) else [("", c) for c in model.children()]
    for i, (label, child) in enumerate(branches):
        last = i == len(branches) - 1
        sub = render_tree(child) if child.children() else leaf_label(child)
        first, *rest = sub.splitlines()
        lines.append(("└── " if last else "├── ") + (f"{label} → " if label else "") + first)
        lines.extend(("    " if last else "│   ") + line for line in rest)
    return "\n".join(lines)


def _header(model: Model) -> str:
    """``Type(name=..., settings that differ from their defaults)``; sub-models are shown as branches instead."""
    defaults = {k: p.default for k, p in inspect.signature(type(model).__init__).parameters.items()}
    config = {
        k: v
        for k, v in model.get_config().items()
        if not _holds_models(v) and not _is_default(v, defaults.get(k, inspect.Parameter.empty))
    }
    config = ({"name": config.pop("name")} if "name" in config else {}) | config
    return f"{type(model).__name__}({', '.join(f'{k}={_short(v)}' for k, v in config.items())})"


def _is_default(value: Any, default: Any) -> bool:
    if default is inspect.Parameter.empty:
        return False
    try:
        return bool(value == default) or (isinstance(default, tuple) and tuple(value) == default)
    except (TypeError, ValueError):
        return False


def _holds_models(value: Any) -> bool:
    if isinstance(value, Model) or isinstance(getattr(value, "model", None), Model):
        return True
    if isinstance(value, Mapping):
        return any(_holds_models(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_models(v) for v in value)
    return False


def _short(value: Any) -> str:
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, tuple) and value and all(isinstance(v, type) for v in value):
        return "(" + ", ".join(v.__name__ for v in value) + ",)"
    return repr(value)
