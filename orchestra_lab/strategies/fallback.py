"""Fallback: try models in order until one answers acceptably."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Sequence
from typing import Any, Literal

from ..errors import BadResponseError, CircuitOpenError, ModelError
from ..models.base import Model
from ..streaming import Emit, shifted
from ..types import Request, Response, StreamChunk
from .base import Outcome, Strategy, call
from .validators import Validator, as_validator, first_rejection

__all__ = ["Fallback"]


class Fallback(Strategy):
    """Ordered models: move on when one fails with an error in ``on_errors`` (or an HTTP status in ``on_status``),
    or when a validator rejects its answer. A :class:`~orchestra_lab.errors.CircuitOpenError` always moves on; a
    :class:`~orchestra_lab.errors.BudgetExceededError` never does (the spend cap stops the fallback).

    Each attempt is its own row (a rejected answer's row stays ``ok``; the rejection is in this row's reason).
    An error that is no trigger ends the fallback; when every model fails, a
    :class:`~orchestra_lab.errors.StrategyError` lists the causes. Latency is the sum over attempts.

    Streamed (``astream``), a member failing before its first token is passed over unseen; one failing after it
    (or whose streamed answer a validator rejects) follows ``mid_stream``: ``"restart"`` sends a ``reset`` chunk
    and moves on to the next member (the partial text is discarded; its row keeps the partial tokens and their
    estimated cost), ``"fail"`` ends the fallback there. TTFT counts the failed attempts.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> from orchestra_lab.strategies import Fallback
    >>> down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
    >>> fb = Fallback([down, SimulatedModel.profile("sim/large")])
    >>> with answer_key(expected=4, difficulty=0.1):
    ...     r = fb("What is 2 + 2?")
    >>> r.text, r.requested_model, r.served_model
    ('4', 'fallback', 'sim/large')
    """

    def __init__(
        self,
        models: Sequence[Model],
        *,
        on_errors: tuple[type[ModelError], ...] = (ModelError,),
        on_status: Collection[int] = (),
        validators: Sequence[Validator | Callable[[str], bool | str | None]] = (),
        mid_stream: Literal["restart", "fail"] = "restart",
        name: str | None = None,
    ) -> None:
        if mid_stream not in ("restart", "fail"):
            raise ValueError(f"mid_stream: {mid_stream!r} is not 'restart' or 'fail'")
        self.mid_stream = mid_stream
        self.models = list(models)
        if not self.models:
            raise ValueError("Fallback.models: the list is empty; give at least one model")
        for i, model in enumerate(self.models):
            if not isinstance(model, Model):
                raise TypeError(f"Fallback.models[{i}]: {type(model).__name__} is not a Model")
        self.on_errors = tuple(on_errors)
        self.on_status = tuple(on_status)
        self.validators = tuple(as_validator(v) for v in validators)
        self.name = name or "fallback"

    def branches(self) -> list[tuple[str, Model]]:
        return [(f"#{i}", m) for i, m in enumerate(self.models, 1)]

    def _triggers(self, err: ModelError) -> bool:
        return isinstance(err, (CircuitOpenError, *self.on_errors)) or err.status in self.on_status

    def _acomplete(self, request: Request) -> Coroutine[Any, Any, Response]:
        return self._attempts(request, None)  # the coroutine itself: no extra frame per call

    def _astream(self, request: Request, emit: Emit) -> Coroutine[Any, Any, Response]:
        return self._attempts(request, emit)

    async def _attempts(self, request: Request, emit: Emit | None) -> Response:
        latency = 0.0
        log: list[str] = []
        causes: list[BaseException] = []
        for i, model in enumerate(self.models, 1):
            seen = None if emit is None else _Seen(shifted(emit, latency))  # only a stream needs one
            outcome: Outcome = await call(model, request, None if seen is None else seen.take)
            latency += outcome.latency_s
            if outcome.error is not None:
                causes.append(outcome.error)
                log.append(f"#{i} {model.name} failed ({outcome.describe_error()})")
                if seen is not None and seen.answered:
                    self._after_partial(emit, latency, log, causes, i)
                if not self._triggers(outcome.error):
                    raise self._fail(
                        "; ".join(log) + " -- not a fallback trigger, stopping",
                        causes=causes,
                        latency_s=latency,
                        decision=f"failed at #{i}",
                    )
                continue
            assert outcome.response is not None
            rejection = first_rejection(self.validators, outcome.response.text)
            if rejection is not None:
                log.append(f"#{i} {model.name} rejected ({rejection})")
                causes.append(BadResponseError(f"{model.name}: answer rejected ({rejection})", model=model.name))
                if seen is not None and seen.answered:
                    self._after_partial(emit, latency, log, causes, i)
                continue
            log.append(f"#{i} {model.name} answered")
            return self._respond(outcome.response, latency_s=latency, decision=model.name, reason="; ".join(log))
        raise self._fail("every model failed: " + "; ".join(log), causes=causes, latency_s=latency, decision="none")

    def _after_partial(
        self, emit: Emit | None, latency: float, log: list[str], causes: list[BaseException], i: int
    ) -> None:
        """A member's streamed text reached the user, then it failed: restart on the next member, or fail."""
        if self.mid_stream == "fail":
            raise self._fail(
                "; ".join(log) + " -- after its first token, mid_stream='fail'",
                causes=causes,
                latency_s=latency,
                decision=f"failed mid-stream at #{i}",
            )
        log[-1] += " mid-stream: restarted, partial text discarded"
        if emit is not None:
            emit(StreamChunk("", "reset", latency))


class _Seen:
    """Passes a member's chunks on and notes whether any answer text reached the user."""

    __slots__ = ("answered", "emit")

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.answered = False

    def take(self, chunk: StreamChunk) -> None:
        self.answered = self.answered or chunk.kind == "answer"
        self.emit(chunk)
