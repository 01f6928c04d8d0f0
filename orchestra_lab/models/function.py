"""Wrap any Python callable as a model: rules, a calculator, a scikit-learn classifier.

>>> from orchestra_lab import FunctionModel
>>> calc = FunctionModel(lambda prompt: str(eval(prompt, {"__builtins__": {}})), name="calc")
>>> calc("6 * 7").text
'42'
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import BadResponseError
from ..types import Request, Response, Usage
from .base import Model

Answer = str | Response
Fn = Callable[[Any], Answer | Awaitable[Answer]]


class FunctionModel(Model):
    """A model whose answer is ``fn(prompt)`` -- or ``fn(request)`` when its first parameter is named ``request``.

    ``fn`` may be sync or async and return a string or a :class:`~orchestra_lab.types.Response`.
    Calls cost ``cost_per_call`` USD (default 0: your own code is free) and their latency is measured.
    """

    provider = "function"
    source = "function"

    def __init__(self, fn: Fn, *, name: str | None = None, cost_per_call: float = 0.0) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionModel needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self.cost_per_call = cost_per_call
        self._wants_request = _first_param_name(fn) == "request"

    async def _acomplete(self, request: Request) -> Response:
        result = self.fn(request if self._wants_request else request.prompt)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Response):
            return result
        if not isinstance(result, str):
            raise BadResponseError(
                f"function model {self.name!r} returned {type(result).__name__}, expected str or Response",
                provider=self.provider,
                model=self.name,
            )
        return Response(
            result,
            requested_model=self.name,
            served_model=self.name,
            provider=self.provider,
            source=self.source,
            usage=Usage(0, 0),
            cost_usd=self.cost_per_call,
        )


def _first_param_name(fn: Callable[..., Any]) -> str | None:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # builtins without a signature, e.g. str.upper on some versions
        return None
    return params[0] if params else None
