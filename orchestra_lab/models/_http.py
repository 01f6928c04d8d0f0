"""What the HTTP providers share: one httpx client per event loop, the POST, error mapping, usage and cost.

Failures become typed errors (:mod:`orchestra_lab.errors`): 401/403 -> AuthError, 429 -> RateLimitError (with
``Retry-After``), 408 and timeouts -> TimeoutError, 5xx and broken connections -> ServerError, other 4xx ->
BadRequestError, an unreadable body -> BadResponseError. Messages carry at most a short, redacted snippet of the
body and never a header.

>>> retry_after_seconds({"retry-after": "2"})
2.0
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextlib
import datetime
import email.utils
import json
import math
import os
import re
import time
import weakref
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from .. import errors
from .._secrets import Secret, redact, resolve_key
from ..pricing import Price, cost_usd
from ..types import Request, Response, Usage, estimate_tokens
from .base import Model

SNIPPET_CHARS = 200

# -- one client per event loop ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _LoopClient:
    client: httpx.AsyncClient
    closer: AsyncGenerator[
        None, None
    ]  # held so the loop's shutdown_asyncgens() can close the client (see _close_at_exit)


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()


async def http_client() -> httpx.AsyncClient:
    """The httpx client of the running event loop (made on first use; a client never crosses loops).

    ``asyncio.run`` closes it when its loop ends; a loop closed without ``shutdown_asyncgens()`` keeps it.
    """
    loop = asyncio.get_running_loop()
    entry = _CLIENTS.get(loop)
    if entry is None or entry.client.is_closed:
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        closer = _close_at_exit(loop, client)
        await closer.__anext__()  # registers the generator with the loop's asyncgen hooks
        entry = _LoopClient(client, closer)
        _CLIENTS[loop] = entry
    return entry.client


async def _close_at_exit(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        entry = _CLIENTS.get(loop)
        if entry is not None and entry.client is client:
            del _CLIENTS[loop]
        await client.aclose()


@atexit.register
def _close_clients() -> None:
    """Close the clients of loops still open at exit (the sync API's private loop, a notebook's loop)."""
    for loop, entry in list(_CLIENTS.items()):
        if not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(RuntimeError):  # a loop in a state we cannot run it in: leave it to the OS
                loop.run_until_complete(entry.closer.aclose())


# -- the POST --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A successful (2xx) provider answer: HTTP status, the parsed JSON object and the wall-clock latency."""

    status: int
    body: dict[str, Any]
    latency_s: float


async def post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    timeout_s: float,
    provider: str,
    model: str,
) -> HttpReply:
    """POST ``body`` as JSON and return the parsed JSON answer; any failure raises a typed ModelError.

    ``timeout_s`` bounds the whole call (connect, send, wait, read).
    """
    client = await http_client()
    who = f"{provider} {model}"
    started = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - started

    common = {"provider": provider, "model": model}
    try:
        response = await asyncio.wait_for(
            client.post(url, json=dict(body), headers=dict(headers), timeout=timeout_s), timeout_s
        )
    except (httpx.TimeoutException, asyncio.TimeoutError):
        raise errors.TimeoutError(f"{who}: no answer within {timeout_s:g} s", latency_s=elapsed(), **common) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
        raise errors.BadRequestError(
            f"{who}: cannot send to {url!r} ({err}); check base_url", latency_s=elapsed(), **common
        ) from None
    except httpx.TransportError as err:
        raise errors.ServerError(
            f"{who}: connection to {_origin(url)} failed ({type(err).__name__}: {err})", latency_s=elapsed(), **common
        ) from None
    latency = elapsed()
    status = response.status_code
    if not 200 <= status < 300:
        raise _status_error(response, who, latency, common)
    return HttpReply(status, _json_object(response, who, latency, common), latency)


def checked_timeout(timeout_s: float) -> float:
    """``timeout_s`` if it is a positive number of seconds, else a ValueError naming it."""
    if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
        raise ValueError(f"timeout_s: {timeout_s!r} is not a positive number of seconds")
    return timeout_s


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def error_class(status: int) -> type[errors.ModelError]:
    """The error type a non-2xx HTTP status maps to.

    >>> [error_class(s).__name__ for s in (401, 429, 408, 529, 422)]
    ['AuthError', 'RateLimitError', 'TimeoutError', 'ServerError', 'BadRequestError']
    """
    if status in (401, 403):
        return errors.AuthError
    if status == 429:
        return errors.RateLimitError
    if status == 408:
        return errors.TimeoutError
    if status >= 500:
        return errors.ServerError
    if 400 <= status < 500:
        return errors.BadRequestError
    return errors.BadResponseError


def _status_error(response: httpx.Response, who: str, latency: float, common: dict[str, str]) -> errors.ModelError:
    status = response.status_code
    message = f"{who}: HTTP {status} {response.reason_phrase}".rstrip() + f": {body_snippet(response.text)}"
    cls = error_class(status)
    if cls is errors.RateLimitError:
        return errors.RateLimitError(
            message, retry_after=retry_after_seconds(response.headers), status=status, latency_s=latency, **common
        )
    return cls(message, status=status, latency_s=latency, **common)


def _json_object(response: httpx.Response, who: str, latency: float, common: dict[str, str]) -> dict[str, Any]:
    status = response.status_code
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise errors.BadResponseError(
            f"{who}: HTTP {status} with a body that is not JSON ({kind}): {body_snippet(response.text)}",
            status=status,
            latency_s=latency,
            **common,
        ) from None
    if not isinstance(data, dict):
        raise errors.BadResponseError(
            f"{who}: HTTP {status} with a JSON {type(data).__name__}, expected an object",
            status=status,
            latency_s=latency,
            **common,
        )
    return data


_TAG = re.compile(r"<[^>]*>")


def body_snippet(text: str) -> str:
    """A short, single-line, redacted excerpt of a response body: the JSON error message when there is one.

    >>> body_snippet('{"error": {"message": "Invalid   model"}}')
    'Invalid model'
    >>> body_snippet("<html><title>502 Bad Gateway</title></html>")
    '502 Bad Gateway'
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    message = dig(data, "error", "message") or dig(data, "message")
    if isinstance(message, str):
        text = message
    elif text.lstrip().startswith("<"):
        text = _TAG.sub(" ", text)
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (delta-seconds or HTTP-date); None if absent.

    >>> retry_after_seconds({"retry-after-ms": "1500"})
    1.5
    >>> retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
    10.0
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _finite(lowered.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000)
    value = lowered.get("retry-after")
    if not value:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _finite(value: str | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def dig(data: Any, *path: str | int) -> Any:
    """``data[p0][p1]...``, or None when any step is missing or of the wrong type.

    >>> dig({"a": [{"b": 1}]}, "a", 0, "b"), dig({"a": []}, "a", 0, "b")
    (1, None)
    """
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def token_count(value: Any) -> int | None:
    """A provider-reported token count, or None when it is not a non-negative integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def translate_params(params: Mapping[str, Any], names: Mapping[str, str | None]) -> dict[str, Any]:
    """Rename standard generation params to a provider's field names (a None name drops the param).

    >>> translate_params({"max_tokens": 5, "seed": 1, "top_k": 3}, {"max_tokens": "maxOutputTokens", "seed": None})
    {'maxOutputTokens': 5, 'top_k': 3}
    """
    renamed: dict[str, Any] = {}
    for key, value in params.items():
        name = names.get(key, key)
        if name is not None:
            renamed[name] = value
    return renamed


# -- the shared provider model ---------------------------------------------------------------------------------


class MalformedAnswer(Exception):
    """A provider's JSON lacks what we need (no choices, a blocked prompt...); becomes a BadResponseError."""


@dataclass(frozen=True, slots=True)
class HttpCall:
    """What to send: the URL, the provider's own headers (auth, version) and the JSON body."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a provider answered: the text, the model that served it and why generation stopped."""

    text: str
    served_model: str | None
    finish_reason: str | None = None


class HttpModel(Model):
    """Base of the HTTP providers: key lookup at call time, the POST, usage (reported or estimated) and cost.

    Subclasses set ``provider`` and implement :meth:`_http_call`, :meth:`_answer` and :meth:`_usage`; their
    constructors store ``model``, ``base_url``, ``api_key_env``, ``name``, ``price``, ``timeout_s`` and ``headers``
    (only the *name* of the key's environment variable is kept, so ``repr`` never shows a key). The key is read
    from the environment or Colab secrets at the first call, then kept by the model (a changed environment
    variable is picked up).
    """

    source = "live"
    model: str
    base_url: str
    api_key_env: str | None
    price: Price | None
    timeout_s: float
    headers: Mapping[str, str] | None
    fallback_key_envs: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    _resolved_key: tuple[tuple[str, ...], Secret] | None = None  # (the variables it was looked up in, the key)

    @property
    def requested_model(self) -> str:
        return self.model

    @abc.abstractmethod
    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        """Build the provider request."""

    @abc.abstractmethod
    def _answer(self, body: dict[str, Any]) -> Answer:
        """Read the answer; raise MalformedAnswer (or let KeyError/IndexError/TypeError out) when it is missing."""

    @abc.abstractmethod
    def _usage(self, body: dict[str, Any]) -> tuple[int | None, int | None]:
        """Provider-reported (input, output) tokens; None for any count it did not report."""

    def _key_envs(self) -> tuple[str, ...]:
        if not self.api_key_env:
            return ()
        return (self.api_key_env, *self.fallback_key_envs.get(self.api_key_env, ()))

    def _api_key(self) -> Secret | None:
        """The key, looked up at the first call that finds it, then kept until its environment variable changes.

        Reading ``os.environ`` is cheap; Colab secrets (a blocking call) are read once. A miss is looked up again.
        """
        envs = self._key_envs()
        if not envs:
            return None
        kept = self._resolved_key
        if kept is not None and kept[0] == envs:
            in_environment = next((os.environ[env] for env in envs if os.environ.get(env)), None)
            if in_environment is None or in_environment == kept[1].reveal():
                return kept[1]
        for env in envs:
            key = resolve_key(env)
            if key is not None:
                self._resolved_key = (envs, key)
                return key
        raise errors.AuthError(
            f"{self.name}: no API key: set the environment variable {' or '.join(envs)} (or add it to Colab secrets)",
            provider=self.provider,
            model=self.model,
        )

    def _cost(self, usage: Usage) -> float:
        if self.price is not None:
            return self.price.cost(usage.input_tokens, usage.output_tokens)
        return cost_usd(self.model, usage.input_tokens, usage.output_tokens)

    async def _acomplete(self, request: Request) -> Response:
        call = self._http_call(request, self._api_key())
        reply = await post_json(
            call.url,
            call.body,
            headers=call.headers | dict(self.headers or {}),
            timeout_s=self.timeout_s,
            provider=self.provider,
            model=self.model,
        )
        reported = self._usage(reply.body)
        try:
            answer = self._answer(reply.body)
        except (MalformedAnswer, KeyError, IndexError, TypeError, AttributeError) as err:
            raise self._malformed(reply, err, reported) from None
        usage = _usage_or_estimate(reported, request, answer.text)
        return Response(
            answer.text,
            requested_model=self.model,
            served_model=answer.served_model or self.model,
            provider=self.provider,
            source=self.source,
            usage=usage,
            cost_usd=self._cost(usage),
            latency_s=reply.latency_s,
            raw=reply.body,
            meta={"http_status": reply.status, "finish_reason": answer.finish_reason},
        )

    def _malformed(
        self, reply: HttpReply, err: Exception, reported: tuple[int | None, int | None]
    ) -> errors.BadResponseError:
        what = (
            str(err) if isinstance(err, MalformedAnswer) else f"unexpected response shape ({type(err).__name__}: {err})"
        )
        usage = Usage(*reported) if reported != (None, None) else None
        return errors.BadResponseError(
            f"{self.provider} {self.model}: HTTP {reply.status}: {what}",
            provider=self.provider,
            model=self.model,
            status=reply.status,
            latency_s=reply.latency_s,
            usage=usage,
            cost_usd=None if usage is None else self._cost(usage),  # tokens were billed though unusable
        )


def _usage_or_estimate(reported: tuple[int | None, int | None], request: Request, text: str) -> Usage:
    """The reported usage; counts the provider left out are estimated and the usage flagged ``estimated``."""
    input_tokens, output_tokens = reported
    if input_tokens is not None and output_tokens is not None:
        return Usage(input_tokens, output_tokens)
    if input_tokens is None:
        input_tokens = sum(estimate_tokens(m.content) for m in request.messages)
    if output_tokens is None:
        output_tokens = estimate_tokens(text)
    return Usage(input_tokens, output_tokens, estimated=True)
