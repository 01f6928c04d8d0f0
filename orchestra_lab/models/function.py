"""Wrap any Python callable as a model: rules, a calculator, a scikit-learn classifier.

>>> from orchestra_lab import FunctionModel
>>> calc = FunctionModel(lambda prompt: str(eval(prompt, {"__builtins__": {}})), name="calc")
>>> calc("6 * 7").text
'42'
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from .._introspect import param_names
from ..errors import BadResponseError
from ..types import Request, Response, Usage
from .base import Model

__all__ = ["FunctionModel"]

Answer = str | Response
Fn = Callable[[Any], Answer | Awaitable[Answer]]

THREADS = 64  # sync functions that can run at once (asyncio's default executor has only CPUs + 4 threads)
_EXECUTOR = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="orchestra_lab-function")


class FunctionModel(Model):
    """A model whose answer is ``fn(prompt)`` -- or ``fn(request)`` when its first parameter is named ``request``.

    ``fn`` may be sync or async and return a string or a :class:`~orchestra_lab.types.Response`; what a Response
    leaves unset is filled in (cost ``cost_per_call``, provider and source ``"function"``, 0 tokens, model names).
    Calls cost ``cost_per_call`` USD (default 0: your own code is free) and their latency is measured.

    A sync ``fn`` runs in a worker thread (up to :data:`THREADS` at once, with the caller's context, so calls it
    makes are logged beneath this one), so it never blocks the event loop: the members of an ensemble run at the
    same time, and each latency is the wall clock's. An async ``fn`` runs on the loop. A sync ``fn`` shared by
    concurrent calls must be thread-safe.

    >>> from orchestra_lab import FunctionModel
    >>> def shout(request):
    ...     return request.prompt.upper()
    >>> loud = FunctionModel(shout, cost_per_call=0.001)
    >>> r = loud("hello")
    >>> r.text, r.cost_usd, r.source, loud.name
    ('HELLO', 0.001, 'function', 'shout')
    """

    provider = "function"
    source = "function"

    def __init__(self, fn: Fn, *, name: str | None = None, cost_per_call: float = 0.0) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionModel needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self.cost_per_call = cost_per_call
        self._wants_request = param_names(fn)[:1] == ["request"]
        self._is_async = _is_async_callable(fn)

    async def _acomplete(self, request: Request) -> Response:
        argument = request if self._wants_request else request.prompt
        result = self.fn(argument) if self._is_async else await _in_thread(self.fn, argument)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            result = Response(result, requested_model=self.name)
        if not isinstance(result, Response):
            raise BadResponseError(
                f"function model {self.name!r} returned {type(result).__name__}, expected str or Response",
                provider=self.provider,
                model=self.name,
            )
        return self._completed(result)

    def _completed(self, response: Response) -> Response:
        """A copy of ``response`` with what ``fn`` left unset filled in: cost, provider, source, usage, model names.

        >>> done = FunctionModel(str.upper, cost_per_call=0.5)._completed(Response("HI", requested_model=""))
        >>> done.cost_usd, done.provider, done.source, done.served_model, done.usage == Usage(0, 0)
        (0.5, 'function', 'function', 'upper', True)
        """
        unset = Response("", requested_model="")  # the defaults of every field fn may leave out
        usage = response.usage
        requested = response.requested_model or self.name
        return replace(
            response,
            requested_model=requested,
            served_model=response.served_model or requested,
            provider=self.provider if response.provider == unset.provider else response.provider,
            source=self.source if response.source == unset.source else response.source,
            usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0, usage.estimated),
            cost_usd=self.cost_per_call if response.cost_usd is None else response.cost_usd,
        )


def _is_async_callable(fn: Fn) -> bool:
    """Whether calling ``fn`` gives a coroutine: an ``async def`` function, a partial of one, or an object whose
    ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


async def _in_thread(fn: Fn, argument: Any) -> Any:
    """``fn(argument)`` in a worker thread, in a copy of the current context (the call log span), like
    ``asyncio.to_thread`` but on our own, larger pool."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, context.run, fn, argument)
