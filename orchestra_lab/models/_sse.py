"""Server-sent events over httpx: POST, then hand each event's JSON to a callback, with a total and a stall timeout.

Failures are typed like :func:`~orchestra_lab.models._http.post_json`'s: an error status before the stream starts
is the same error (a 429 is a RateLimitError...), silence longer than ``stall_timeout_s`` is a
:class:`~orchestra_lab.streaming.StreamStalledError`, the whole call past ``timeout_s`` a CallTimeoutError, a broken
connection a ServerError and an event that is not a JSON object a BadResponseError.

>>> events = []
>>> parser = EventParser(lambda name, data, text: events.append((name, data)))
>>> parser.feed(["event: ping", 'data: {"a": 1}', "", ": a comment", "data: [DONE]", ""])
>>> events, parser.done
([('ping', {'a': 1})], True)
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import json.scanner
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import errors
from .._secrets import reveal_headers
from ..streaming import StreamStalledError
from ._http import Headers, _origin, _RawReply, _status_error, body_snippet, dig, http_client

# on_event(name, json_object, text) -> True when what it passed on must reach the reader now (the first answer
# text); ``text`` is the event's data, the JSON as it came
OnEvent = Callable[[str, dict[str, Any], str], bool | None]
# on_text(name, text) -> None when it cannot take the event without its JSON parsed (then on_event gets it), else
# what on_event would have returned
OnText = Callable[[str, str], bool | None]
# on_read() -> None: called once the events of a network read are parsed (and at the end of the stream)
OnRead = Callable[[], None]
_decode = json.JSONDecoder().decode
_scan = json.scanner.make_scanner(json.JSONDecoder())  # json.loads' own (C) scanner, without its wrappers


class EventParser:
    """Turns SSE lines into ``on_event(name, json_object, text)`` calls; ``data: [DONE]`` sets :attr:`done`.

    ``on_text``, when given, sees each event's text first and may take it without a JSON parse (see
    :class:`TextSlot`). :meth:`feed` parses a read's lines and stops right after an event whose callback returned
    true (the first answer text), so the stream can yield to the event loop before the rest of the read."""

    __slots__ = ("data", "done", "events", "name", "on_event", "on_text")

    def __init__(self, on_event: OnEvent, on_text: OnText | None = None) -> None:
        self.on_event = on_event
        self.on_text = on_text
        self.name = ""
        self.data: list[str] = []
        self.done = False
        self.events = 0

    def feed(self, lines: list[str], start: int = 0) -> int | None:
        """Parse ``lines[start:]``: None once all are parsed, or the index to resume at after a hand-over."""
        data = self.data
        for i in range(start, len(lines)):
            line = lines[i]
            if line.startswith("data: "):  # the common line first: this runs for every token
                data.append(line[6:])
            elif not line:
                if self.dispatch():
                    return i + 1
            elif line.startswith("data:"):
                data.append(line[5:])
            elif line.startswith("event:"):
                self.name = line[6:].strip()
        return None

    def dispatch(self) -> bool:
        """End the current event; true when its callback asked for a hand-over."""
        data, name = self.data, self.name or "message"
        self.name = ""
        if not data:
            return False
        text = data[0] if len(data) == 1 else "\n".join(data)
        data.clear()
        if text == "[DONE]":
            self.done = True
            return False
        if self.on_text is not None:
            taken = self.on_text(name, text)
            if taken is not None:
                self.events += 1
                return taken
        try:
            payload = _json(text)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            raise _Malformed(text)
        self.events += 1
        return bool(self.on_event(name, payload, text))


def _json(text: str) -> Any:
    """``json.loads(text)``, a third faster for the usual event (a JSON value with no whitespace around it).

    >>> _json('{"a": [1]}'), _json(' {"a": 1} ')
    ({'a': [1]}, {'a': 1})
    """
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # not a value at index 0 (leading whitespace, or not JSON): json's own error or value
        return _decode(text)
    return value if end == len(text) else _decode(text)


class TextSlot:
    r"""One string value of an event's JSON left open: an event that is the same JSON but for that string is read
    without parsing it -- a stream's common event (the same envelope around another token).

    :meth:`learn` finds the string's place in the event's text and proves it: the text with ``x`` appended to the
    string there parses to the same object but for that value (had the place been outside a string, the ``x`` could
    not parse). Then any text ``prefix + s + suffix`` whose ``s`` has no quote, backslash or unprintable character
    (the only ones a JSON string treats specially) is one string token in that same place -- it parses to the
    learned object with ``s`` at ``path`` -- and :meth:`read` returns ``s``; other texts get None (parse them).

    >>> event = {"model": "m", "choices": [{"delta": {"content": " tok"}}]}
    >>> text = json.dumps(event, separators=(",", ":"))
    >>> slot = TextSlot.learn(text, event, ("choices", 0, "delta", "content"))
    >>> slot.read(text.replace(" tok", "Hello")), slot.read(text.replace(" tok", 'say \\"hi\\"'))
    ('Hello', None)
    >>> slot.read(text.replace('"m"', '"n"')) is None, TextSlot.learn(text, event, ("model",)).read(text)
    (True, 'm')
    """

    __slots__ = ("prefix", "suffix")

    def __init__(self, prefix: str, suffix: str) -> None:
        self.prefix = prefix  # the text up to and with the string's opening quote
        self.suffix = suffix  # the text from the string's closing quote on

    @classmethod
    def learn(cls, text: str, data: dict[str, Any], path: tuple[str | int, ...]) -> TextSlot | None:
        """The slot of the string at ``path`` in ``data`` (the JSON of ``text``); None when it cannot be proven."""
        value = dig(data, *path)
        if not (isinstance(value, str) and value and _plain(value)):
            return None
        literal = f'"{value}"'
        at = text.rfind(literal)
        if at < 0:
            return None
        slot = cls(text[: at + 1], text[at + len(literal) - 1 :])
        probe = value + "x"
        try:
            twin = _json(slot.prefix + probe + slot.suffix)
        except (ValueError, RecursionError):
            return None
        if dig(twin, *path) != probe:
            return None
        dig(twin, *path[:-1])[path[-1]] = value
        return slot if twin == data else None

    def read(self, text: str) -> str | None:
        """The string in the slot when ``text`` is the learned JSON but for it; else None."""
        prefix, suffix = self.prefix, self.suffix
        if not (text.startswith(prefix) and text.endswith(suffix)):
            return None
        end = len(text) - len(suffix)
        if end < len(prefix):  # prefix and suffix overlap: not this shape
            return None
        value = text[len(prefix) : end]
        return value if _plain(value) else None


def _plain(value: str) -> bool:
    """A string written as is inside JSON quotes: no quote, backslash or unprintable (control) character."""
    return '"' not in value and "\\" not in value and value.isprintable()


class _Malformed(Exception):
    """An event whose data is not a JSON object."""


async def stream_events(
    url: str,
    body: Mapping[str, Any],
    on_event: OnEvent,
    on_read: OnRead,
    *,
    headers: Headers,
    timeout_s: float,
    stall_timeout_s: float,
    provider: str,
    model: str,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_response_bytes: int,
    on_text: OnText | None = None,
) -> EventParser:
    """POST ``body`` and pass every event of the SSE answer to ``on_event`` (``on_text`` first, see
    :class:`EventParser`), calling ``on_read`` after each network read's events; returns the parser (its ``done``)."""
    client = client or await http_client(transport)
    who, common = f"{provider} {model}", {"provider": provider, "model": model}
    started = time.perf_counter()
    parser = EventParser(on_event, on_text)

    def failure(cls: type[errors.ModelError], what: str) -> errors.ModelError:
        return cls(f"{who}: {what}", latency_s=time.perf_counter() - started, **common)

    timeout = httpx.Timeout(timeout_s, read=min(stall_timeout_s, timeout_s))
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream(
                "POST", url, json=dict(body), headers=reveal_headers(headers), timeout=timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    raw = await _error_body(response, max_response_bytes)
                    raise _status_error(raw, who, time.perf_counter() - started, common)
                size = 0
                lines = _Lines()
                async for data in response.aiter_bytes():
                    size += len(data)
                    if size > max_response_bytes:
                        raise failure(
                            errors.BadResponseError, f"the stream passed max_response_bytes={max_response_bytes:,}"
                        )
                    batch = lines.feed(data)
                    resume = parser.feed(batch)
                    if resume is not None:  # the first answer text: no coroutine per read otherwise
                        await _hand_over(batch, resume, parser)
                    on_read()
                _parse_now(lines.end(), parser)
                parser.dispatch()
                on_read()
    except httpx.ReadTimeout:
        raise failure(
            StreamStalledError, f"the stream stalled: no bytes for {stall_timeout_s:g} s after {parser.events} events"
        ) from None
    except (httpx.TimeoutException, TimeoutError):
        raise failure(errors.CallTimeoutError, f"no complete answer within {timeout_s:g} s") from None
    except _Malformed as bad:
        raise failure(errors.BadResponseError, f"malformed stream event: {body_snippet(str(bad))}") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
        raise failure(errors.BadRequestError, f"cannot send to {url!r} ({err}); check base_url") from None
    except httpx.TransportError as err:
        raise failure(
            errors.ServerError,
            f"the stream from {_origin(url)} broke after {parser.events} events ({type(err).__name__}: {err})",
        ) from None
    return parser


class _Lines:
    r"""Splits the bytes of a stream into lines (``\n``, ``\r\n`` or ``\r`` ends one), decoding UTF-8 across reads.

    >>> lines = _Lines()
    >>> lines.feed(b"data: 1\r\n\ndata: \xc3"), lines.feed(b"\xa9\r"), lines.end()
    (['data: 1', ''], [], ['data: é'])
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""

    def feed(self, data: bytes) -> list[str]:
        """The lines completed by ``data``."""
        text = self._tail + self._decoder.decode(data)
        if "\r" in text:
            # a lone "\r" at the end may be the first half of "\r\n": keep it for the next read
            held = text.endswith("\r")
            text = text[:-1] if held else text
            text = text.replace("\r\n", "\n").replace("\r", "\n") + ("\r" if held else "")
        lines = text.split("\n")
        self._tail = lines.pop()
        return lines

    def end(self) -> list[str]:
        """The last line, when the stream ended without a line break."""
        tail = (self._tail + self._decoder.decode(b"", final=True)).removesuffix("\r")
        self._tail = ""
        return [tail] if tail else []


async def _hand_over(lines: list[str], resume: int | None, parser: EventParser) -> None:
    """Parse the rest of a read's lines, from ``resume``, once the event before it carried the first answer text:
    first yield to the event loop so its reader shows it now; cancelled there (the reader stopped), the rest of the
    read is parsed first: nothing received is lost from the call's row."""
    while resume is not None:
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            with contextlib.suppress(_Malformed):
                _parse_now(lines[resume:], parser)
            raise
        resume = parser.feed(lines, resume)


def _parse_now(lines: list[str], parser: EventParser) -> None:
    """Parse ``lines`` without yielding."""
    resume = parser.feed(lines)
    while resume is not None:
        resume = parser.feed(lines, resume)


async def _error_body(response: httpx.Response, max_bytes: int) -> _RawReply:
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) > max_bytes:
            break
    return _RawReply(
        response.status_code, response.reason_phrase, response.headers, bytes(content[:max_bytes]), "utf-8"
    )
