"""A response cache on disk (diskcache): the same question to the same model is answered once, across processes.

>>> import tempfile
>>> from orchestra_lab import CallLog, SimulatedModel
>>> from orchestra_lab.runtime import Cached, ResponseCache
>>> store = ResponseCache(tempfile.mkdtemp())
>>> small = Cached(SimulatedModel.profile("sim/small"), store)
>>> with CallLog() as log:
...     first, second = small("What is 2 + 2?"), small("What is 2 + 2?")
>>> second.text == first.text, second.cost_usd, second.source, store.hits, store.misses
(True, 0.0, 'cache', 1, 1)
>>> log.to_frame()["kind"].tolist()
['model', 'cache']
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from .._answer_key import active_key
from .._fingerprint import model_config
from .._secrets import redact
from ..calllog.context import calling
from ..models.base import Model
from ..streaming import Emit
from ..types import Request, Response, StreamChunk, Usage
from ._wrapper import Wrapper, innermost

__all__ = ["CacheMode", "CacheWarning", "Cached", "ResponseCache", "cache_key", "cache_key_material"]

CacheMode = Literal["use", "refresh", "bypass"]
_MODES = ("use", "refresh", "bypass")
_KEY_VERSION = 1


class CacheWarning(UserWarning):
    """The response cache could not be read or written: calls go to the model as if it were empty."""


class ResponseCache:
    """Responses on disk in ``directory`` (default ``$ORCHESTRA_LAB_CACHE`` or ``~/.cache/orchestra_lab``).

    Shared by any number of :class:`Cached` models and processes. Counts ``hits``, ``misses`` and ``errors``; a
    corrupted or unreadable cache degrades to misses with one :class:`CacheWarning`.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        default = os.environ.get("ORCHESTRA_LAB_CACHE", "~/.cache/orchestra_lab")
        self.directory = Path(directory if directory is not None else default).expanduser()
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self._store: Any = None
        self._warned = False

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry for ``key``, or ``None`` (also when the cache cannot be read)."""
        try:
            raw = self._open().get(key)
            entry = None if raw is None else json.loads(raw)
        except Exception as err:  # a broken cache must never break a run
            self._failed("read", err)
            entry = None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def set(self, key: str, entry: dict[str, Any], ttl_s: float | None = None) -> None:
        """Store ``entry`` (JSON-serialisable) under ``key``, expiring after ``ttl_s`` seconds if given."""
        try:
            text = redact(json.dumps(entry, default=str, sort_keys=True))  # an answer can quote a key: never store it
            self._open().set(key, text, expire=ttl_s)
        except Exception as err:
            self._failed("write", err)

    def clear(self) -> None:
        """Delete every stored response."""
        self._open().clear()

    def __len__(self) -> int:
        return len(self._open())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open(self) -> Any:
        if self._store is None:
            import diskcache

            self._store = diskcache.Cache(str(self.directory))
        return self._store

    def _failed(self, action: str, err: Exception) -> None:
        self.errors += 1
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"response cache at {self.directory} could not {action} ({type(err).__name__}: {err}); "
                "calls go to the model uncached. Delete the directory to start a fresh cache.",
                CacheWarning,
                stacklevel=3,
            )

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.directory)!r})"


def cache_key_material(model: Model, request: Request) -> dict[str, Any]:
    """Everything that changes ``model``'s answer to ``request`` -- and nothing secret.

    Provider, base URL (when the model has one), model id, messages and every generation param (seed included).
    Models that read the dataset item rather than send the prompt (any source but ``"live"``: simulated, replay,
    function models, strategies) also depend on ``item_id``, ``metadata``, a fingerprint of the item's answer key
    (never the key itself) and their configuration (:func:`model_config`: seed, skill, function code,
    sub-models...), so those are part of their key.

    >>> from orchestra_lab import SimulatedModel, Request
    >>> sorted(cache_key_material(SimulatedModel.profile("sim/tiny"), Request.of("hi", temperature=0)))
    ['answer_key', 'base_url', 'config', 'item_id', 'messages', 'metadata', 'model', 'params', 'provider', 'version']
    """
    material: dict[str, Any] = {
        "version": _KEY_VERSION,
        "provider": model.provider,
        "base_url": getattr(innermost(model), "base_url", None),
        "model": model.requested_model,
        "messages": [m.as_dict() for m in request.messages],
        "params": request.params(),
    }
    if model.source != "live":
        config = model_config(innermost(model))
        key = active_key(request.item_id)
        material |= {
            "item_id": request.item_id,
            "metadata": dict(request.metadata),
            "answer_key": None if key is None else key.fingerprint(),
            "config": config,
        }
    return material


def cache_key(model: Model, request: Request) -> str:
    """SHA-256 of :func:`cache_key_material`."""
    text = json.dumps(cache_key_material(model, request), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Cached(Wrapper):
    """``inner`` answered from ``cache`` when it has answered the same request before; errors are never cached.

    ``ttl_s`` bounds how long this model's answers are reused. ``mode`` is ``"use"`` (read and write),
    ``"refresh"`` (ask the model again and overwrite) or ``"bypass"`` (neither read nor write); :meth:`with_mode`
    gives a copy in another mode.
    A hit is logged as a ``kind="cache"`` row with cost 0 and ``cache_hit=True``; its response has
    ``cached=True``, ``source="cache"``, zero usage, and the original cost, usage and latency in ``meta``.
    Answers are keyed by :func:`cache_key_material`: the request and, for models that are not live, the item and the
    model's whole configuration (:func:`model_config`), so another ``seed`` or strategy setup gets its own entries.
    That configuration is read once per model instance, at its first cached call: models are treated as immutable
    once built -- to change a setting, build a new model rather than assign to an attribute.

    >>> import tempfile
    >>> from orchestra_lab import Cached, ResponseCache, SimulatedModel
    >>> cached = Cached(SimulatedModel.profile("sim/small"), ResponseCache(tempfile.mkdtemp()))
    >>> first, again = cached("What is 2 + 2?"), cached("What is 2 + 2?")
    >>> first.cached, again.cached, again.cost_usd, again.text == first.text
    (False, True, 0.0, True)
    >>> cached.with_mode("refresh")("What is 2 + 2?").cached  # ask the model again and overwrite the entry
    False
    """

    _changed_by: ClassVar[Mapping[str, str]] = {"mode": "use with_mode(mode)"}

    def __init__(
        self, inner: Model, cache: ResponseCache, *, ttl_s: float | None = None, mode: CacheMode = "use"
    ) -> None:
        super().__init__(inner)
        if mode not in _MODES:
            raise ValueError(f"mode: {mode!r} is not one of {_MODES}")
        if ttl_s is not None and not ttl_s > 0:
            raise ValueError(f"ttl_s: {ttl_s!r} must be positive (or None for no expiry)")
        self.cache = cache
        self.ttl_s = ttl_s
        self.mode = mode

    def with_mode(self, mode: CacheMode) -> Cached:
        """A copy of this wrapper (same model and store) in another ``mode``."""
        return Cached(self.inner, self.cache, ttl_s=self.ttl_s, mode=mode)

    async def _acomplete(self, request: Request) -> Response:
        return await self._answer(request, None)

    async def _stream_into(self, request: Request, emit: Emit) -> Response:
        """A hit replays the stored answer as a stream flagged as a cache hit; a miss streams from ``inner``."""
        return await self._answer(request, emit)

    async def _answer(self, request: Request, emit: Emit | None) -> Response:
        if self.mode == "bypass":
            return await self._ask(request, emit)
        key = cache_key(self.inner, request)
        if self.mode == "use":
            started, t0 = time.time(), time.perf_counter()
            entry = self.cache.get(key)
            if entry is not None:
                return self._hit(request, entry, started, time.perf_counter() - t0, emit)
        response = await self._ask(request, emit)
        self.cache.set(key, _entry(response), self.ttl_s)
        return response

    async def _ask(self, request: Request, emit: Emit | None) -> Response:
        return await (self.inner.acomplete(request) if emit is None else self.inner._stream_into(request, emit))

    def _hit(
        self, request: Request, entry: dict[str, Any], started: float, latency_s: float, emit: Emit | None = None
    ) -> Response:
        response = Response(
            entry["text"],
            requested_model=self.requested_model,
            served_model=entry["served_model"],
            provider=entry["provider"],
            usage=Usage(0, 0),
            cost_usd=0.0,
            latency_s=latency_s,
            cached=True,
            source="cache",
            meta=entry["meta"]
            | {
                "original_cost_usd": entry["cost_usd"],
                "original_usage": entry["usage"],
                "original_latency_s": entry["latency_s"],
            },
        )
        with calling(self, request) as record:
            record.started_at = started
            if emit is not None:
                response.ttft_s = latency_s
                record.streamed = True
                emit(StreamChunk(response.text, "answer", latency_s))
            record.succeeded(response)
            response.call_id = record.call_id
        return response


def _entry(response: Response) -> dict[str, Any]:
    usage = response.usage
    return {
        "text": response.text,
        "served_model": response.served_model or response.requested_model,
        "provider": response.provider,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "estimated": usage.estimated,
        },
        "cost_usd": response.cost_usd,
        "latency_s": response.latency_s,
        "meta": response.meta,
    }
