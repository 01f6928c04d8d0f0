"""The :class:`Wrapper` base shared by the runtime wrappers, and helpers they use.

A wrapper is transparent in the call log: it answers through its inner model's ``acomplete`` without opening a
span of its own, keeps the inner model's ``name``, ``kind``, ``provider`` and ``source``, and writes a row only for
an event it produces itself (a cache hit, a refusal) -- with :func:`record_refusal` or
:func:`~orchestra_lab.calllog.context.calling`, which give it the same call record ``invoke`` uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..calllog.context import calling
from ..errors import ModelError
from ..models.base import Model
from ..streaming import Emit
from ..types import Request, Response, as_request

COMPUTED_TIME_SOURCES = frozenset({"simulated", "replay"})


class Wrapper(Model):
    """A model that adds runtime behaviour around ``inner`` (a leaf model or a strategy) and logs nothing itself."""

    def __init__(self, inner: Model) -> None:
        if not isinstance(inner, Model):
            raise TypeError(f"{type(self).__name__}: inner must be a Model, got {type(inner).__name__}")
        self.inner = inner

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.inner.name

    @property  # type: ignore[override]
    def kind(self) -> str:
        return self.inner.kind

    @property  # type: ignore[override]
    def provider(self) -> str:
        return self.inner.provider

    @property  # type: ignore[override]
    def source(self) -> str:
        return self.inner.source

    @property
    def requested_model(self) -> str:
        return self.inner.requested_model

    async def acomplete(self, request: Request | str | Sequence[Mapping[str, str]], **params: Any) -> Response:
        """Answer through the inner model; no row of its own (the inner call records one)."""
        return await self._acomplete(as_request(request, **params))

    async def _stream_into(self, request: Request, emit: Emit) -> Response:
        """Streamed through a wrapper: by default its answer is delivered whole once the wrapper's logic (retries,
        a timeout...) is done; wrappers that can pass a stream through override this. No row of its own."""
        response = await self._astream(request, emit)
        return response

    def children(self) -> list[Model]:
        return [self.inner]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "inner")
        inner = repr(self.inner)
        if "\n" in inner:  # a strategy's tree: hang it under this wrapper
            first, *rest = inner.splitlines()
            return "\n".join([f"{type(self).__name__}({args})", f"└── {first}", *(f"    {line}" for line in rest)])
        return f"{type(self).__name__}({args}{', ' if args else ''}inner={inner})"


def innermost(model: Model) -> Model:
    """The model under every wrapper around ``model``."""
    while isinstance(model, Wrapper):
        model = model.inner
    return model


def runs_in_computed_time(model: Model) -> bool:
    """Whether every leaf under ``model`` reports computed latency without sleeping (simulated, replay).

    >>> from orchestra_lab import FunctionModel, SimulatedModel
    >>> runs_in_computed_time(SimulatedModel.profile("sim/tiny")), runs_in_computed_time(FunctionModel(str.upper))
    (True, False)
    """
    children = model.children()
    if not children:
        return model.source in COMPUTED_TIME_SOURCES and not getattr(model, "realtime", False)
    return all(runs_in_computed_time(child) for child in children)


def record_refusal(model: Model, request: Request, err: ModelError) -> ModelError:
    """Log ``err``, raised by a wrapper without calling ``model``, as a failed row of cost 0; returns ``err``."""
    err.latency_s = 0.0 if err.latency_s is None else err.latency_s
    with calling(model, request) as record:
        record.failed(err, err.error_type, latency_s=err.latency_s)
    return err
