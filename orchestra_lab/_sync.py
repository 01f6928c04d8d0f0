"""Run a coroutine from synchronous code: in plain Python, and inside a running loop (Jupyter, Colab).

Without a running loop we use one private event loop per thread, kept between calls so HTTP connections are
reused. Inside a running loop (a notebook cell) we make that loop re-entrant with ``nest_asyncio2`` -- only then.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, whether or not an event loop is running here."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _private_loop().run_until_complete(coro)
    _make_reentrant(loop)
    return loop.run_until_complete(coro)


def _private_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def _make_reentrant(loop: asyncio.AbstractEventLoop) -> None:
    if getattr(loop, "_nest_patched", False):
        return
    import nest_asyncio2

    nest_asyncio2.apply(loop)
