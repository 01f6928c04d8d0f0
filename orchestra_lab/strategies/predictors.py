"""Quality predictors for learned routers: for each prompt, the probability each model answers it well.

Three methods, learned with scikit-learn (the ``learn`` extra); every fitted predictor is plain arrays, so a
saved router is JSON + ``.npz`` (no pickled code):

- ``"knn"``: the k nearest training prompts (cosine) vote; a model's probability is the share of neighbours it
  answered well, shrunk towards its overall rate by one pseudo-observation (so a cell no neighbour has a score
  for falls back to that rate). Parameter ``k``.
- ``"logistic"``: one logistic regression per model (``C``), on the items that model has a score for; a model
  that was always (or never) right gets that rate as a constant.
- ``"mlp"``: a small network with one sigmoid output per model sharing a ReLU hidden layer (``hidden``,
  ``alpha``) -- per-model classifiers that share what they learn about prompts.
- ``"mf"``: matrix factorization over (prompt, model) as in RouteLLM (Ong et al. 2024, arXiv 2406.18665): the
  prompt is projected to ``rank`` dimensions, each model has a vector there and
  ``logit P(good) = v_model . (W e_prompt + b) + b_model``. RouteLLM fits it on pairwise preferences of two
  models; here it is fitted on each model's own outcome (a multi-label network with a linear bottleneck), which
  serves n models. ``mlp`` and ``mf`` train on the items every model has a score for.

>>> import numpy as np
>>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
>>> good = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
>>> fit_predictor("knn", X, good, {"k": 2}).predict(np.array([[1.0, 0.05]])).round(2).tolist()
[[0.83, 0.17]]
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from ._blas import one_blas_thread
from .features import require_sklearn

METHODS: dict[str, dict[str, Any]] = {
    "knn": {"k": 20},
    "logistic": {"C": 1.0},
    "mlp": {"hidden": 64, "alpha": 1e-3},
    "mf": {"rank": 16, "alpha": 1e-3},
}


class Predictor(Protocol):
    """``predict(features) -> (n_texts, n_models)`` probabilities; ``spec()`` -> (JSON settings, arrays)."""

    def predict(self, features: Any) -> np.ndarray: ...

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...


def method_params(method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The method's default parameters updated with ``params`` (unknown method or parameter: ValueError).

    >>> method_params("knn", {"k": 5})
    {'k': 5}
    """
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {sorted(METHODS)}")
    unknown = sorted(set(params or {}) - set(METHODS[method]))
    if unknown:
        raise ValueError(f"{method}: unknown parameter(s) {unknown}; it takes {sorted(METHODS[method])}")
    return METHODS[method] | dict(params or {})


# -- k nearest neighbours ------------------------------------------------------------------------------------
_QUERY_BLOCK = 256  # queries scored at once: bounds the (queries x training items) similarity block


class NeighbourPredictor:
    """Share of the ``k`` nearest training prompts each model answered well (see the module docstring).

    Cosine similarity is one product with the unit training rows; the k nearest are found by partition (linear
    time, no full sort), ties at the k-th similarity going to the earlier training items. One BLAS thread.
    """

    def __init__(self, points: Any, good: np.ndarray, k: int) -> None:
        require_sklearn("the knn router")
        if k < 1:
            raise ValueError(f"knn: k={k} must be at least 1")
        self.points = points if hasattr(points, "tocsr") else _read_only(points)
        self.good = _read_only(np.asarray(good, dtype=np.float64))
        self.k = min(k, self.good.shape[0])
        known = ~np.isnan(self.good)
        self._votes = np.where(known, self.good, 0.0).astype(np.float32)  # summed as mask @ votes: exact counts
        self._known = known.astype(np.float32)
        self._prior = np.nan_to_num(_column_rates(self.good), nan=0.5)
        self._unit_points = _unit_rows(points)

    def predict(self, features: Any) -> np.ndarray:
        queries = _unit_rows(features)
        blocks = range(0, queries.shape[0], _QUERY_BLOCK)
        with one_blas_thread():
            parts = [self._predict_block(queries[start : start + _QUERY_BLOCK]) for start in blocks]
        return np.concatenate(parts) if parts else np.zeros((0, self.good.shape[1]))

    def _predict_block(self, queries: Any) -> np.ndarray:
        if hasattr(queries, "tocsr"):  # sparse training rows times dense query columns (sparse x sparse is slower)
            similarity = np.ascontiguousarray((self._unit_points @ queries.T.toarray()).T)
        else:
            similarity = queries @ self._unit_points.T  # (queries, training items)
        chosen = _nearest(similarity, self.k).astype(np.float32)
        votes, counts = (chosen @ self._votes).astype(np.float64), (chosen @ self._known).astype(np.float64)
        return (votes + self._prior) / (counts + 1.0)

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"method": "knn", "k": self.k}, {**_matrix_arrays("knn.points", self.points), "knn.good": self.good}

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short SHA-256 of the fitted arrays (computed once: they are read-only)."""
        return _digest(self.spec()[1])

    def __repr__(self) -> str:
        return f"NeighbourPredictor(k={self.k}, {self.good.shape[0]} items, arrays {self.fingerprint})"


def _nearest(similarity: np.ndarray, k: int) -> np.ndarray:
    """``(queries, items)`` mask of each query's ``k`` most similar items, ties going to the earlier items.

    >>> _nearest(np.array([[0.1, 0.9, 0.5, 0.9], [0.2, 0.2, 0.2, 0.2]]), 2).astype(int).tolist()
    [[0, 1, 0, 1], [1, 1, 0, 0]]
    """
    n = similarity.shape[1]
    kth = np.partition(similarity, n - k, axis=1)[:, n - k : n - k + 1]  # each row's k-th largest
    above = similarity > kth
    tied = similarity == kth
    room = k - above.sum(axis=1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=1) <= room))


# -- networks: logistic regression, MLP, matrix factorization ----------------------------------------------
class NetworkPredictor:
    """A feed-forward network read from its weights: ``hidden`` activation between layers, sigmoid outputs."""

    def __init__(self, method: str, weights: list[np.ndarray], biases: list[np.ndarray], hidden: str) -> None:
        if hidden not in ("relu", "identity"):
            raise ValueError(f"{method}: hidden activation {hidden!r} is not 'relu' or 'identity'")
        self.method = method
        self.weights = [_read_only(np.asarray(w, dtype=np.float64)) for w in weights]
        self.biases = [_read_only(np.asarray(b, dtype=np.float64)) for b in biases]
        self.hidden = hidden

    def predict(self, features: Any) -> np.ndarray:
        layer = features
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            layer = np.asarray(layer @ w) + b
            if self.hidden == "relu":
                layer = np.maximum(layer, 0.0)
        return _sigmoid(np.asarray(layer @ self.weights[-1]) + self.biases[-1])

    def spec(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"net.w{i}": w for i, w in enumerate(self.weights)} | {
            f"net.b{i}": b for i, b in enumerate(self.biases)
        }
        return {"method": self.method, "hidden": self.hidden, "layers": len(self.weights)}, arrays

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short SHA-256 of the fitted weights (computed once: they are read-only)."""
        return _digest(self.spec()[1])

    def __repr__(self) -> str:
        return f"NetworkPredictor({self.method}, {len(self.weights)} layer(s), arrays {self.fingerprint})"


def _fit_logistic(features: Any, good: np.ndarray, params: dict[str, Any], seed: int) -> NetworkPredictor:
    from sklearn.linear_model import LogisticRegression

    n_models = good.shape[1]
    weights = np.zeros((features.shape[1], n_models))
    biases = np.zeros(n_models)
    for j in range(n_models):
        rows = np.flatnonzero(~np.isnan(good[:, j]))
        labels = good[rows, j]
        if len(rows) == 0 or labels.min() == labels.max():  # nothing to separate: the model's own rate
            biases[j] = _logit(labels.mean() if len(rows) else 0.5)
            continue
        fitted = LogisticRegression(C=params["C"], max_iter=1000, random_state=seed).fit(features[rows], labels)
        weights[:, j], biases[j] = fitted.coef_[0], fitted.intercept_[0]
    return NetworkPredictor("logistic", [weights], [biases], "identity")


def _fit_network(method: str, features: Any, good: np.ndarray, width: int, alpha: float, seed: int) -> NetworkPredictor:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rows = np.flatnonzero(~np.isnan(good).any(axis=1))
    if len(rows) < 2:
        raise ValueError(f"{method}: fewer than 2 items have a score for every model")
    hidden = "relu" if method == "mlp" else "identity"
    network = MLPClassifier(
        hidden_layer_sizes=(width,),
        activation=hidden,
        alpha=alpha,
        max_iter=200,
        early_stopping=len(rows) >= 1000,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        network.fit(features[rows], good[rows].astype(int))
    return NetworkPredictor(method, network.coefs_, network.intercepts_, hidden)


def fit_predictor(
    method: str, features: Any, good: np.ndarray, params: Mapping[str, Any] | None = None, seed: int = 0
) -> Predictor:
    """Fit ``method`` on training ``features`` (one row per item) and ``good`` ((items, models): 1 answered well,
    0 not, NaN no score). Deterministic given ``seed``; fitted with one BLAS thread (see ``_blas``).

    >>> X, good = np.eye(4), np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    >>> fit_predictor("logistic", X, good, {"C": 10.0}).predict(np.eye(4)[:1]).round(2).tolist()
    [[0.84, 0.16]]
    """
    require_sklearn(f"the {method!r} router")
    settings = method_params(method, params)
    good = np.asarray(good, dtype=np.float64)
    if method == "knn":
        return NeighbourPredictor(features, good, int(settings["k"]))
    with one_blas_thread():
        if method == "logistic":
            return _fit_logistic(features, good, settings, seed)
        width = int(settings["hidden"] if method == "mlp" else settings["rank"])
        return _fit_network(method, features, good, width, float(settings["alpha"]), seed)


def restore_predictor(spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Predictor:
    """The predictor a saved router recorded (the inverse of ``spec()``)."""
    if spec["method"] == "knn":
        return NeighbourPredictor(_matrix_from(arrays, "knn.points"), arrays["knn.good"], int(spec["k"]))
    layers = range(int(spec["layers"]))
    return NetworkPredictor(
        spec["method"], [arrays[f"net.w{i}"] for i in layers], [arrays[f"net.b{i}"] for i in layers], spec["hidden"]
    )


# -- helpers ---------------------------------------------------------------------------------------------------
def _column_rates(good: np.ndarray) -> np.ndarray:
    known = (~np.isnan(good)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known > 0, np.nansum(good, axis=0) / np.maximum(known, 1), np.nan)


def _unit_rows(matrix: Any) -> Any:
    """Rows scaled to unit length (all-zero rows stay zero); scipy-sparse stays sparse, float32 stays float32."""
    if hasattr(matrix, "tocsr"):  # by hand: scikit-learn's normalize() checks its input for longer than this takes
        dtype = matrix.dtype if np.issubdtype(matrix.dtype, np.floating) else np.float64  # e.g. word counts
        csr = matrix.tocsr().astype(dtype, copy=True)
        per_row = np.diff(csr.indptr)
        squares = np.bincount(
            np.repeat(np.arange(csr.shape[0]), per_row),
            weights=csr.data.astype(np.float64) ** 2,
            minlength=csr.shape[0],
        )
        norms = np.sqrt(squares)
        csr.data = (csr.data / np.repeat(np.where(norms > 0, norms, 1.0), per_row)).astype(csr.dtype)
        return csr
    rows = np.asarray(matrix)
    rows = rows if np.issubdtype(rows.dtype, np.floating) else rows.astype(np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1).astype(rows.dtype)


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    """A short SHA-256 of named arrays: tells fitted predictors apart in reprs (and so in response-cache keys)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:12]


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # a copy the caller cannot change either
    array.setflags(write=False)
    return array


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def _matrix_arrays(name: str, matrix: Any) -> dict[str, np.ndarray]:
    """A dense or scipy-sparse (CSR) matrix as named arrays for an ``.npz``."""
    if hasattr(matrix, "tocsr"):
        csr = matrix.tocsr()
        return {
            f"{name}.data": csr.data,
            f"{name}.indices": csr.indices,
            f"{name}.indptr": csr.indptr,
            f"{name}.shape": np.array(csr.shape),
        }
    return {name: np.asarray(matrix)}


def _matrix_from(arrays: Mapping[str, np.ndarray], name: str) -> Any:
    if name in arrays:
        return arrays[name]
    from scipy.sparse import csr_matrix

    parts = (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"])
    return csr_matrix(parts, shape=tuple(arrays[f"{name}.shape"]))


__all__ = [
    "METHODS",
    "NeighbourPredictor",
    "NetworkPredictor",
    "Predictor",
    "fit_predictor",
    "method_params",
    "restore_predictor",
]
