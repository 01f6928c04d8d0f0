"""Streaming: ``async for chunk in model.astream(request)`` / ``for chunk in model.stream(request)``.

Every model streams -- providers over server-sent events, every other model as a *virtual stream* -- and a stream
is one call like any other: one :class:`~orchestra_lab.calllog.record.CallRecord` per call, written by the same
``invoke``, with ``ttft_s`` (time to the first answer token), ``output_tokens_per_s`` and ``streamed`` set.

The iterator yields :class:`~orchestra_lab.types.StreamChunk` s (``text`` delta, ``kind`` answer / thinking /
reset, ``t`` seconds since the call started) and, once exhausted, holds the final
:class:`~orchestra_lab.types.Response` -- the same shape as ``complete()``'s, plus ``ttft_s`` -- in ``.response``.
A provider's first answer chunk is its first token, delivered at once; after it, one chunk holds the answer text
of one network read (several events' deltas joined). Thinking deltas are counted (estimated reasoning tokens when
the provider reports none) but never part of the answer text. A ``reset`` chunk means a fallback restarted on
another model: discard the text shown so far.

Time. Live models report measured times. Models in computed time (simulated, replay) stream virtually: the first
token comes at the latency profile's TTFT and the others at its per-token pace, computed, not slept (unless the
simulated model has ``realtime=True``). Models that know no TTFT (a function, a replayed answer, a strategy that
needs the whole answer) deliver their answer as one chunk when it is complete. Cache hits replay the stored answer
as a stream flagged as a cache hit (``response.cached``, a ``kind="cache"`` row).

How strategies compose TTFT (``ttft_s`` of the strategy's row):

================  ==================================================================================================
strategy          ttft_s
================  ==================================================================================================
router            decision time + the chosen member's TTFT
fallback          time until the first token of the member that answered, failed attempts included
cascade           buffered (the default): early stages never reach the user, so TTFT is the time the accepted
                  stage's answer is released -- every stage run and judged before it included
ensemble / judge  the time the final answer starts (every member and the vote or judge done)
chain             the earlier steps' latency + the last step's TTFT (only the last step streams)
================  ==================================================================================================

To compare strategies on TTFT, run them streamed: ``Experiment(..., stream=True)`` gives each item row its
top-level call's ``ttft_s`` and ``summary()`` its ``ttft_p50_s`` / ``ttft_p95_s``; ``plot_frontier(latency="ttft_p50")``
draws quality against it. :func:`orchestra_lab.ui.show_stream` shows one answer arriving live in a notebook.

Faults. An error before the first token is an ordinary failed call (a fallback moves on transparently). An error
after it ends the call with its typed error; its row keeps the partial text, the tokens received (estimated) and
their estimated cost (``billing="estimated"``). :class:`~orchestra_lab.strategies.Fallback` then follows its
``mid_stream`` policy: ``"restart"`` on the next member (a reset chunk is sent) or ``"fail"``. A consumer that stops
early (``break``, cancelling its task, ``aclose()``) cancels the call: the connection is closed and the row, status
``cancelled``, keeps the partial usage with its cost marked estimated. A stream silent for longer than a provider's
``stall_timeout_s`` fails with :class:`StreamStalledError`, distinct from the total ``timeout_s``.

>>> from orchestra_lab import SimulatedModel, answer_key
>>> small = SimulatedModel.profile("sim/small")
>>> with answer_key("q1", expected="Paris is the capital", difficulty=0.0):
...     stream = small.stream("Capital of France?", item_id="q1")
...     text = "".join(chunk.text for chunk in stream)
>>> text, stream.response.text == text, 0 < stream.response.ttft_s < stream.response.latency_s
('Paris is the capital', True, True)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._sync import run_sync
from .errors import CallTimeoutError
from .types import Request, Response, StreamChunk, Usage, estimate_tokens

if TYPE_CHECKING:
    from .models.base import Model

__all__ = [
    "Emit",
    "ResponseStream",
    "StreamChunk",
    "StreamProgress",
    "StreamStalledError",
    "SyncResponseStream",
    "shifted",
    "text_pieces",
]

Emit = Callable[[StreamChunk], None]


class StreamStalledError(CallTimeoutError):
    """No bytes arrived on a stream for longer than its stall timeout (the total timeout is separate)."""

    error_type = "stall"


_END = object()


class ResponseStream(AsyncIterator[StreamChunk]):
    """The chunks of one streamed call, then its final :class:`~orchestra_lab.types.Response` in :attr:`response`.

    The call runs in its own task (so its call-log context never leaks into the consumer's) and starts at the
    first ``__anext__``. Stopping early -- ``break``, cancelling the consumer, :meth:`aclose`, leaving
    ``async with`` -- cancels the call and closes its connection.
    """

    def __init__(self, model: Model, request: Request) -> None:
        self.model = model
        self.request = request
        self.response: Response | None = None
        self._chunks: collections.deque[Any] = collections.deque()  # chunks, then _END
        self._arrived: asyncio.Future[None] | None = None  # what a consumer waiting for a chunk awaits
        self._task: asyncio.Task[None] | None = None

    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> StreamChunk:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._produce())
        while not self._chunks:
            self._arrived = asyncio.get_running_loop().create_future()
            try:
                await self._arrived
            except asyncio.CancelledError:
                self._task.cancel()
                raise
        item = self._chunks.popleft()
        if item is _END:
            await self._task  # raises the call's error, if any
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    def _put(self, item: Any) -> None:
        """Hand a chunk (or the end) to the consumer; a deque and one future: cheaper per chunk than a Queue."""
        self._chunks.append(item)
        arrived = self._arrived
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    async def _produce(self) -> None:
        try:
            self.response = await self.model._stream_into(self.request, self._put)
        finally:
            self._put(_END)

    async def aclose(self) -> None:
        """Stop the call (if still running) and wait until its row is written."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> ResponseStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __del__(self) -> None:  # a consumer that broke out of its loop: stop the call
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


class SyncResponseStream(Iterator[StreamChunk]):
    """:class:`ResponseStream` for plain loops; works inside a running loop (Jupyter, Colab) like ``complete``."""

    def __init__(self, stream: ResponseStream) -> None:
        self._stream = stream

    @property
    def response(self) -> Response | None:
        """The final response, once the stream is exhausted."""
        return self._stream.response

    def __iter__(self) -> SyncResponseStream:
        return self

    def __next__(self) -> StreamChunk:
        try:
            return run_sync(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Stop the call (if still running); its row is written before this returns."""
        run_sync(self._stream.aclose())

    def __enter__(self) -> SyncResponseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class StreamProgress:
    """What a call's stream delivered so far (kept by ``invoke``): answer text, thinking, TTFT, chunk count."""

    emit: Emit
    pieces: list[str] = field(default_factory=list)
    thinking_chars: int = 0
    ttft_s: float | None = None
    chunks: int = 0

    def take(self, chunk: StreamChunk) -> None:
        """Note ``chunk`` and pass it on."""
        self.chunks += 1
        if chunk.kind == "answer":
            if self.ttft_s is None:
                self.ttft_s = chunk.t
            self.pieces.append(chunk.text)
        elif chunk.kind == "thinking":
            self.thinking_chars += len(chunk.text)
        else:  # reset: the answer restarts
            self.pieces.clear()
            self.ttft_s = None
        self.emit(chunk)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def usage(self, request: Request, reported: Usage | None) -> Usage:
        """The tokens of a stream cut short: what the provider reported, else estimated from what arrived.

        >>> p = StreamProgress(lambda c: None)
        >>> p.take(StreamChunk("Hello there", "answer", 0.1))
        >>> p.usage(Request.of("Hi"), None)
        Usage(input_tokens=1, output_tokens=3, estimated=True)
        """
        thinking = (self.thinking_chars + 3) // 4
        reported = reported or Usage()
        input_tokens = reported.input_tokens
        if input_tokens is None:
            input_tokens = sum(estimate_tokens(m.content) for m in request.messages)
        output_tokens = max(reported.output_tokens or 0, estimate_tokens(self.text) + thinking)
        return Usage(
            input_tokens,
            output_tokens,
            True,
            reported.cached_input_tokens,
            reported.cache_write_tokens,
            thinking or reported.reasoning_tokens,
        )


def shifted(emit: Emit, offset_s: float) -> Emit:
    """``emit`` for a sub-call that started ``offset_s`` after its caller: chunk times moved to the caller's clock.

    >>> seen = []
    >>> shifted(seen.append, 1.5)(StreamChunk("a", "answer", 0.25))
    >>> seen
    [StreamChunk(text='a', kind='answer', t=1.75)]
    """
    if offset_s == 0.0:
        return emit
    return lambda chunk: emit(StreamChunk(chunk.text, chunk.kind, chunk.t + offset_s))


def text_pieces(text: str, count: int) -> list[str]:
    """``text`` cut into ``count`` (at most one per character) consecutive pieces of about equal length.

    >>> text_pieces("Paris is the capital", 4)
    ['Paris', ' is t', 'he ca', 'pital']
    >>> text_pieces("", 3), text_pieces("ab", 5)
    ([], ['a', 'b'])
    """
    count = max(1, min(count, len(text)))
    if not text:
        return []
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]
