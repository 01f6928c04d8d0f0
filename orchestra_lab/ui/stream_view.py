"""Watch an answer stream in: :func:`show_stream` shows it live in a notebook cell (an IPython display handle,
redrawn as chunks arrive) or prints it as it comes in plain Python, then its time to first token and cost.

>>> from orchestra_lab import SimulatedModel, answer_key
>>> with answer_key("q1", expected="Paris is the capital", difficulty=0.0):
...     response = show_stream(SimulatedModel.profile("sim/small"), "Capital of France?", item_id="q1")
Paris is the capital
[sim/small · TTFT 0.199 s · latency 0.543 s · 5→72 tokens · $4.39e-05 (₹0.00387)]
>>> response.text
'Paris is the capital'
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..models.base import Model
from ..types import Request, Response, StreamChunk

__all__ = ["StreamView", "show_stream"]

REFRESH_S = 0.05


class StreamView:
    """What :func:`show_stream` shows: the answer so far (a fallback's restart clears it), then its timing.

    >>> view = StreamView("demo")
    >>> view.take(StreamChunk("Hel", "answer", 0.1)); view.take(StreamChunk("lo", "answer", 0.2))
    >>> view.text()
    'Hello\\n[demo · streaming…]'
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.answer = ""
        self.restarts = 0
        self.thinking_chars = 0
        self.footer = "streaming…"

    def take(self, chunk: StreamChunk) -> None:
        """Add one chunk: answer text is appended, thinking counted, a reset clears the answer."""
        if chunk.kind == "answer":
            self.answer += chunk.text
        elif chunk.kind == "thinking":
            self.thinking_chars += len(chunk.text)
        else:
            self.answer = ""
            self.restarts += 1

    def finish(self, response: Response) -> None:
        """Replace "streaming…" with the call's timing, tokens and cost."""
        self.footer = _summary(response)

    def fail(self, err: BaseException) -> None:
        """Show why the stream stopped."""
        self.footer = f"stopped: {type(err).__name__}: {err}"

    def text(self) -> str:
        """The view as plain text."""
        return f"{self.answer}\n[{self._status()}]"

    def _status(self) -> str:
        notes = [self.title]
        if self.restarts:
            notes.append(f"restarted {self.restarts}×")
        if self.thinking_chars:
            notes.append(f"thinking {self.thinking_chars} chars")
        return " · ".join([*notes, self.footer])

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return (
            f"<div style='white-space:pre-wrap'>{html.escape(self.answer)}</div>"
            f"<div style='color:#666;font-size:smaller'>{html.escape(self._status())}</div>"
        )


def show_stream(
    model: Model,
    request: Request | str | Sequence[Mapping[str, str]],
    *,
    refresh_s: float = REFRESH_S,
    **params: Any,
) -> Response:
    """Stream ``model``'s answer to ``request`` into the output, live, and return the final response.

    In a notebook the cell shows the answer growing (redrawn at most every ``refresh_s`` seconds, and at the end),
    then the time to first token, latency, tokens and cost; in plain Python the text is printed as it arrives.
    The call is logged like any stream. A simulated model with ``realtime=True`` paces its virtual stream in real
    time -- the way to demonstrate streaming offline.
    """
    stream = model.stream(request, **params)
    view = StreamView(model.name)
    redraw = _live_output(view)
    last = -float("inf")
    try:
        for chunk in stream:
            view.take(chunk)
            if chunk.kind == "reset" or time.monotonic() - last >= refresh_s:
                redraw(chunk)
                last = time.monotonic()
    except BaseException as err:
        view.fail(err)
        redraw(None)
        raise
    assert stream.response is not None  # an exhausted stream holds its response
    view.finish(stream.response)
    redraw(None)
    return stream.response


def _live_output(view: StreamView) -> Callable[[StreamChunk | None], None]:
    """How ``view`` is kept up to date: a display handle in IPython, printed deltas elsewhere (``None``: the end)."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is not None:
        handle = display(view, display_id=True)
        return lambda _chunk: handle.update(view)
    printed = 0

    def print_new(_chunk: StreamChunk | None) -> None:
        nonlocal printed
        if len(view.answer) < printed:  # a restart: start a new line
            print()
            printed = 0
        print(view.answer[printed:], end="" if _chunk is not None else "\n", flush=True)
        printed = len(view.answer)
        if _chunk is None:
            print(f"[{view._status()}]")

    return print_new


def _summary(response: Response) -> str:
    usage = response.usage
    tokens = f"{usage.input_tokens}→{usage.output_tokens} tokens" + (" (est.)" if usage.estimated else "")
    cost = "cost unknown" if response.cost_usd is None else f"${response.cost_usd:.3g} (₹{response.cost_inr:.3g})"
    parts = [
        "TTFT ?" if response.ttft_s is None else f"TTFT {response.ttft_s:.3g} s",
        "latency ?" if response.latency_s is None else f"latency {response.latency_s:.3g} s",
        tokens,
        cost,
    ]
    return " · ".join(parts)
