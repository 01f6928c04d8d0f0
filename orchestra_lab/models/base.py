"""The one :class:`Model` interface shared by leaf models, strategies and runtime wrappers.

Subclasses implement ``async _acomplete(request) -> Response``; callers use ``await m.acomplete(...)``,
``m.complete(...)`` or ``m("prompt")``, or stream with ``m.astream(...)`` / ``m.stream(...)`` (see
:mod:`orchestra_lab.streaming`; models that stream natively override ``_astream``). Every call through
``acomplete`` or ``astream`` is recorded in the active call log, by :func:`invoke`.

>>> from orchestra_lab import FunctionModel
>>> shout = FunctionModel(str.upper, name="shout")
>>> shout("hello").text
'HELLO'
"""

from __future__ import annotations

import abc
import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .._introspect import config_of, init_params
from .._sync import run_sync
from ..calllog._guards import CallGuard, active_guards, deadline_of, is_timeout_cancel
from ..calllog.context import begin_call, end_call
from ..calllog.record import CallRecord
from ..errors import CallTimeoutError, ModelError
from ..streaming import Emit, ResponseStream, StreamProgress, SyncResponseStream
from ..types import Request, Response, StreamChunk, Usage, as_request

__all__ = ["Model", "invoke"]


class _Configured(abc.ABCMeta):
    """Marks a model built once its constructor returns: from then on its configuration is fixed."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        model = super().__call__(*args, **kwargs)
        object.__setattr__(model, "_built", True)
        return model


class Model(abc.ABC, metaclass=_Configured):
    """Anything that turns a :class:`~orchestra_lab.types.Request` into a :class:`~orchestra_lab.types.Response`.

    ``kind`` is ``"model"`` for leaf models (their row holds their own cost) and ``"strategy"`` for strategies
    (their row holds the sum over their descendants). ``repr`` shows the constructor config, scikit-learn style.
    A model's configuration is immutable once built (caches key on it): a method such as ``with_faults`` returns a
    changed copy, and reassigning an attribute the constructor configured (a parameter's, or ``name``) raises
    ``AttributeError``. Other state (private caches and clients, counters) stays settable.

    >>> from orchestra_lab import SimulatedModel
    >>> SimulatedModel.profile("sim/small").seed = 1
    Traceback (most recent call last):
    AttributeError: SimulatedModel.seed is fixed once the model is built: use SimulatedModel.profile(name, seed=...)
    """

    kind: ClassVar[str] = "model"
    provider: str = "custom"
    source: str = "live"
    name: str
    _changed_by: ClassVar[Mapping[str, str]] = {}  # attribute -> the method that returns a copy with it changed

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_built", False) and name in self.__dict__ and _is_configuration(type(self), name):
            raise AttributeError(f"{type(self).__name__}.{name} is fixed once the model is built: {self._change(name)}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)  # raises for configuration, like reassigning
        object.__delattr__(self, name)

    def _change(self, name: str) -> str:
        """How to get a model with ``name`` changed (for the error raised on reassigning it)."""
        return self._changed_by.get(name) or f"build a new {type(self).__name__}(..., {name}=...)"

    @property
    def requested_model(self) -> str:
        """The model id this node asks for (the name unless a provider model id differs)."""
        return self.name

    async def acomplete(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> Response:
        """Answer ``request`` (a prompt, a message list or a Request), recording the call."""
        return await invoke(self, as_request(request, **params))

    def complete(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> Response:
        """Synchronous :meth:`acomplete`; works in plain Python and inside a running loop (Jupyter, Colab)."""
        return run_sync(self.acomplete(request, **params))

    def __call__(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> Response:
        return self.complete(request, **params)

    def astream(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> ResponseStream:
        """Stream the answer: ``async for chunk in m.astream(...)``, then ``.response`` (recorded like acomplete)."""
        return ResponseStream(self, as_request(request, **params))

    def stream(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> SyncResponseStream:
        """Synchronous :meth:`astream`: ``for chunk in m.stream(...)``; works inside a running loop too."""
        return SyncResponseStream(self.astream(request, **params))

    @abc.abstractmethod
    async def _acomplete(self, request: Request) -> Response:
        """Produce the answer; subclasses implement this and do not log."""

    async def _astream(self, request: Request, emit: Emit) -> Response:
        """Produce the answer, passing its chunks to ``emit`` as they come; by default a virtual stream of the
        complete answer (:meth:`_virtual_chunks`). Subclasses that stream natively override this; none log."""
        t0 = time.perf_counter()
        response = await self._acomplete(request)
        if response.latency_s is None:
            response.latency_s = time.perf_counter() - t0
        for chunk in self._virtual_chunks(response):
            emit(chunk)
        return response

    def _virtual_chunks(self, response: Response) -> list[StreamChunk]:
        """The chunks of an answer produced whole: by default one, when it is complete (TTFT unknown)."""
        done = response.latency_s or 0.0
        return [StreamChunk(response.text, "answer", done)] if response.text else []

    async def _stream_into(self, request: Request, emit: Emit) -> Response:
        """Run a streamed call (recorded) whose chunks go to ``emit``; wrappers stream without a row of their own."""
        return await invoke(self, request, emit)

    def _estimated_cost(self, usage: Usage) -> float | None:
        """What ``usage`` costs at this model's price (a stream cut short); None when the model has no price."""
        return None

    def children(self) -> list[Model]:
        """Models this one calls (strategies and wrappers override)."""
        return []

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as currently set (parameters stored under the same attribute name)."""
        return config_of(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _is_configuration(cls: type, name: str) -> bool:
    return name == "name" or name in init_params(cls)


async def invoke(model: Model, request: Request, emit: Emit | None = None) -> Response:
    """Run ``model._acomplete`` -- or, given ``emit``, ``model._astream`` -- as a new call and record its row
    (success or failure; a stream cut short keeps its partial text and estimated usage)."""
    record, tokens = begin_call(model, request)
    progress = None if emit is None else StreamProgress(emit)
    try:
        t0 = time.perf_counter()
        guards = active_guards() if model.kind == "model" else ()
        limit = deadline_of(record)
        try:
            for guard in guards:
                await guard.before_call(model, request)
            if progress is None:
                response = await model._acomplete(request)
            else:
                record.streamed = True
                response = await model._astream(request, progress.take)
            if limit is not None and response.latency_s is not None and response.latency_s > limit:
                raise _timed_out(model, limit, response.latency_s)
        except ModelError as caught:
            err = caught
            if err.latency_s is None:
                err.latency_s = time.perf_counter() - t0
            if limit is not None and err.latency_s > limit:  # a failure slower than the deadline: cut short there
                err = _timed_out(model, limit, err.latency_s)
            abandoned = _abandoned(model, err)
            record.failed(err, err.error_type, latency_s=err.latency_s, abandoned=abandoned)
            billed = math.nan if abandoned else err.cost_usd
            _keep_partial(record, progress, model, request, err.usage)
            _settle(guards, model, request, record.cost_usd if progress and progress.chunks else billed)
            try:
                if err is caught:
                    raise
                raise err from caught
            finally:
                del err  # its traceback holds this frame: a frame holding it would be a cycle left to the GC
        except (asyncio.CancelledError, KeyboardInterrupt) as err:
            timed_out = limit is not None and is_timeout_cancel(err)
            record.failed(
                err,
                "timeout" if timed_out else "cancelled",
                latency_s=time.time() - record.started_at,  # type: ignore[operator]
                status="error" if timed_out else "cancelled",
                abandoned=_abandoned(model, err),
            )
            _keep_partial(record, progress, model, request, None)
            _settle(guards, model, request, record.cost_usd if progress and progress.chunks else math.nan)
            raise
        except Exception as err:
            record.failed(err, type(err).__name__, latency_s=time.time() - record.started_at)  # type: ignore[operator]
            _settle(guards, model, request, math.nan)
            raise
        if response.latency_s is None:
            response.latency_s = time.perf_counter() - t0
        if progress is not None and response.ttft_s is None:
            response.ttft_s = progress.ttft_s
        record.succeeded(response)
        record.streamed = record.streamed or response.ttft_s is not None
        response.call_id = record.call_id
        _settle(guards, model, request, response.cost_usd)
        return response
    finally:
        end_call(record, tokens)


def _keep_partial(
    record: CallRecord, progress: StreamProgress | None, model: Model, request: Request, reported: Usage | None
) -> None:
    """A stream that delivered chunks before it failed or was stopped: keep them in its row (estimated)."""
    if progress is None or not progress.chunks:
        return
    usage = progress.usage(request, reported)
    record.partial(progress.text, usage, model._estimated_cost(usage))
    record.ttft_s = progress.ttft_s


def _settle(guards: tuple[CallGuard, ...], model: Model, request: Request, cost_usd: float | None) -> None:
    for guard in guards:
        guard.after_call(model, request, cost_usd)


def _abandoned(model: Model, err: BaseException) -> bool:
    """Whether a leaf call was given up on by the client while the provider may still finish -- and bill -- it: a
    live call cancelled, or timed out with no answer from the server. (Simulated and replayed calls run in computed
    time: their failures cost what the simulator says, 0 when it says nothing.)"""
    if model.kind != "model" or model.source != "live":
        return False
    if isinstance(err, ModelError):
        return err.error_type == "timeout" and getattr(err, "status", None) is None
    return True


def _timed_out(model: Model, limit: float, latency_s: float) -> CallTimeoutError:
    return CallTimeoutError(
        f"{model.name} took {latency_s:.3g}s, more than its {limit:g}s timeout",
        provider=model.provider,
        model=model.requested_model,
        latency_s=limit,
    )
