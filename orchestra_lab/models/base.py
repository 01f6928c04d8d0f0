"""The one :class:`Model` interface shared by leaf models, strategies and runtime wrappers.

Subclasses implement ``async _acomplete(request) -> Response``; callers use ``await m.acomplete(...)``,
``m.complete(...)`` or ``m("prompt")``. Every call through ``acomplete`` is recorded in the active call log.

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
from ..calllog.context import Span, enter_span, exit_span, record_call, wall_clock
from ..errors import CallTimeoutError, ModelError
from ..runtime._guards import active_guards, deadline_of, is_timeout_cancel
from ..types import Request, Response, Usage, as_request


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

    @abc.abstractmethod
    async def _acomplete(self, request: Request) -> Response:
        """Produce the answer; subclasses implement this and do not log."""

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


async def invoke(model: Model, request: Request) -> Response:
    """Run ``model._acomplete`` inside a new call span and record its row (success or failure)."""
    span, span_token, attempt_token = enter_span(model.name, request.item_id)
    attempt_number = span.attempt
    try:
        started = wall_clock()
        t0 = time.perf_counter()
        guards = active_guards() if model.kind == "model" else ()
        limit = deadline_of(span)
        try:
            for guard in guards:
                await guard.before_call(model, request)
            response = await model._acomplete(request)
            if limit is not None and response.latency_s is not None and response.latency_s > limit:
                raise _timed_out(model, limit, response.latency_s)
        except ModelError as caught:
            err = caught
            if err.latency_s is None:
                err.latency_s = time.perf_counter() - t0
            if limit is not None and err.latency_s > limit:  # a failure slower than the deadline: cut short there
                err = _timed_out(model, limit, err.latency_s)
            _record_failure(model, span, request, attempt_number, started, err, err.error_type, "error")
            for guard in guards:
                guard.after_call(model, request, err.cost_usd)
            if err is caught:
                raise
            raise err from caught
        except (asyncio.CancelledError, KeyboardInterrupt) as err:
            if limit is not None and is_timeout_cancel(err):
                _record_failure(model, span, request, attempt_number, started, err, "timeout", "error")
            else:
                _record_failure(model, span, request, attempt_number, started, err, "cancelled", "cancelled")
            for guard in guards:
                guard.after_call(model, request, math.nan)
            raise
        except Exception as err:
            _record_failure(model, span, request, attempt_number, started, err, type(err).__name__, "error")
            for guard in guards:
                guard.after_call(model, request, math.nan)
            raise
        if response.latency_s is None:
            response.latency_s = time.perf_counter() - t0
        if model.kind == "strategy":
            response.cost_usd = span.cost_usd
            response.usage = Usage(span.input_tokens, span.output_tokens, span.tokens_estimated)
        response.call_id = span.call_id
        for guard in guards:
            guard.after_call(model, request, response.cost_usd)
        record_call(
            span,
            kind="cache" if response.cached and model.kind != "strategy" else model.kind,
            attempt_number=attempt_number,
            started_at=started,
            latency_s=response.latency_s,
            cost=response.cost_usd,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            tokens_estimated=response.usage.estimated,
            requested_model=model.requested_model,
            served_model=response.served_model or response.requested_model,
            provider=response.provider,
            source=response.source,
            cache_hit=response.cached,
            http_status=response.meta.get("http_status"),
            prompt_hash=request.fingerprint(),
            prompt=request.prompt,
            response_text=response.text,
        )
        return response
    finally:
        exit_span(span_token, attempt_token)


def _timed_out(model: Model, limit: float, latency_s: float) -> CallTimeoutError:
    return CallTimeoutError(
        f"{model.name} took {latency_s:.3g}s, more than its {limit:g}s timeout",
        provider=model.provider,
        model=model.requested_model,
        latency_s=limit,
    )


def _record_failure(
    model: Model,
    span: Span,
    request: Request,
    attempt_number: int,
    started: float,
    err: BaseException,
    error_type: str,
    status: str,
) -> None:
    is_model_error = isinstance(err, ModelError)
    usage = getattr(err, "usage", None) or Usage()
    if model.kind == "strategy":
        cost: float | None = span.cost_usd
        usage = Usage(span.input_tokens, span.output_tokens, span.tokens_estimated)
    else:
        billed = getattr(err, "cost_usd", None)
        cost = 0.0 if billed is None else billed
    record_call(
        span,
        kind=model.kind,
        attempt_number=attempt_number,
        started_at=started,
        latency_s=err.latency_s if is_model_error else time.time() - started,
        cost=cost,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        tokens_estimated=usage.estimated,
        requested_model=model.requested_model,
        provider=model.provider,
        source=model.source,
        status=status,
        error_type=error_type,
        error=str(err) or type(err).__name__,
        http_status=getattr(err, "status", None),
        prompt_hash=request.fingerprint(),
        prompt=request.prompt,
    )
