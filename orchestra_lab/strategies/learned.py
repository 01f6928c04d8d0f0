"""A router learned from recorded outcomes: per prompt, predicted quality minus λ × cost, over n models.

:class:`LearnedRouter` is a router like the others (it nests, its row says which model and why, it runs live and
in replay). It reads the prompt text only (``request.prompt``), never the item's metadata. For each candidate model
a :class:`QualityModel` predicts the probability of a good answer; the router picks the model maximizing
``P(good) - λ × cost``, with ``cost`` the model's mean recorded cost per call in USD. So λ is in quality per USD:
the router pays ``Δc`` more per call only if the predicted quality rises by at least ``λ × Δc``. λ = 0 takes the
most likely good answer whatever it costs; a very large λ the cheapest model. :meth:`LearnedRouter.with_lambda`
returns a new router: one trained quality model serves every λ.

Train one with :func:`orchestra_lab.experiments.train_router`. Save it with :meth:`LearnedRouter.save` (JSON +
``.npz``, no pickled code) and load it with :func:`load_router`.

>>> import numpy as np
>>> from orchestra_lab import SimulatedModel
>>> from orchestra_lab.strategies import HashingEmbeddings
>>> from orchestra_lab.strategies.features import EmbeddingFeatures
>>> from orchestra_lab.strategies.predictors import fit_predictor
>>> features = EmbeddingFeatures(HashingEmbeddings(dim=64))
>>> prompts = ["integrate x squared", "solve the integral", "say hello", "greet the user"]
>>> good = np.array([[0, 1], [0, 1], [1, 1], [1, 1]], dtype=float)  # only "large" does the maths
>>> quality = QualityModel(("small", "large"), np.array([0.001, 0.01]), features,
...                        fit_predictor("knn", features.transform_sync(prompts), good, {"k": 1}))
>>> router = LearnedRouter(quality, {"small": SimulatedModel.profile("sim/small"),
...                                  "large": SimulatedModel.profile("sim/large")}, lambda_=50.0)
>>> router("please integrate this").served_model, router("hello there").served_model
('sim/large', 'sim/small')
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .._sync import run_sync
from ..models.base import Model
from ..types import Request
from ._readonly import ReadOnlyMap
from .embeddings import Embedder
from .features import EmbeddingFeatures, Features, restore_features
from .predictors import Predictor, restore_predictor
from .routing import Choice, Router

FORMAT = "orchestra_lab.learned_router"
VERSION = 1
SETTINGS_FILE = "router.json"
ARRAYS_FILE = "arrays.npz"


@dataclass(frozen=True, eq=False, repr=False)
class QualityModel:
    """What a learned router knows: the candidate model names, each one's mean recorded cost per call (USD), the
    feature source, the fitted predictor and the training record (method, parameters, data hash...). Frozen: the
    costs and the predictor's arrays are read-only, the training record a read-only mapping.

    >>> from orchestra_lab.strategies import HashingEmbeddings
    >>> from orchestra_lab.strategies.features import EmbeddingFeatures
    >>> from orchestra_lab.strategies.predictors import fit_predictor
    >>> features = EmbeddingFeatures(HashingEmbeddings(dim=32))
    >>> X = features.transform_sync(["add two numbers", "write a sonnet"])
    >>> quality = QualityModel(("calc", "poet"), np.array([0.001, 0.002]), features,
    ...                        fit_predictor("knn", X, np.array([[1.0, 0.0], [0.0, 1.0]]), {"k": 1}))
    >>> quality.predict(["write a sonnet please"]).tolist(), quality.cost_of("poet")
    ([[0.25, 0.75]], 0.002)
    """

    models: tuple[str, ...]
    costs: np.ndarray
    features: Features
    predictor: Predictor
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        costs = np.array(self.costs, dtype=np.float64)
        if len(set(self.models)) != len(self.models) or len(self.models) < 1:
            raise ValueError(f"QualityModel.models: {list(self.models)} must be distinct names, at least one")
        if costs.shape != (len(self.models),) or not np.isfinite(costs).all():
            raise ValueError(f"QualityModel.costs: {costs.tolist()} must be one finite cost per model")
        costs.setflags(write=False)
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "costs", costs)
        object.__setattr__(self, "training", ReadOnlyMap(self.training))

    async def apredict(self, prompts: Sequence[str]) -> np.ndarray:
        """``(n_prompts, n_models)`` predicted probabilities of a good answer."""
        return np.asarray(self.predictor.predict(await self.features.transform(list(prompts))), dtype=np.float64)

    def predict(self, prompts: Sequence[str]) -> np.ndarray:
        """:meth:`apredict` from synchronous code: all prompts at once (vectorized)."""
        return run_sync(self.apredict(prompts))

    def cost_of(self, model: str) -> float:
        """The mean recorded cost per call (USD) of ``model``."""
        return float(self.costs[self.models.index(model)])

    def __repr__(self) -> str:
        method = self.training.get("method", type(self.predictor).__name__)
        return f"QualityModel({method} over {self.features.key.split(':')[0]}, {len(self.models)} models)"


class LearnedRouter(Router):
    """Picks, per prompt, the candidate maximizing predicted ``P(good) - λ × cost`` (see the module docstring).

    ``models`` maps the recorded model names to the models that answer (live ones, simulated, replayed); they
    must be a subset of the names the quality model was trained on -- a name it was not trained on is an error, so
    the router never picks a model missing from its training data. The row's decision is the recorded name and
    the reason gives its predicted probability and cost, and the runner-up's; its latency includes the decision
    (features, prediction, argmax).

    Its configuration is fixed once built: :meth:`with_lambda`, :meth:`with_models` and :meth:`restricted_to`
    return new routers sharing the same trained :class:`QualityModel`.

    >>> from orchestra_lab import RecordedOutcomes
    >>> from orchestra_lab.experiments import train_router
    >>> prompts = [f"{t} #{i}" for i, t in enumerate(["sum these numbers", "write a poem"] * 10)]
    >>> outcomes = RecordedOutcomes.from_arrays(
    ...     [f"q{i}" for i in range(20)], ["small", "large"], scores=[[1, 1], [0, 1]] * 10,
    ...     costs=[[0.001, 0.01]] * 20, prompts=prompts)
    >>> router = train_router(outcomes, method="logistic")
    >>> thrifty = router.with_lambda(100.0)
    >>> router.lambda_, thrifty.lambda_, thrifty.quality is router.quality
    (0.0, 100.0, True)
    >>> router.lambda_ = 1.0
    Traceback (most recent call last):
    AttributeError: LearnedRouter.lambda_ is fixed once the model is built: use with_lambda(λ)
    """

    _changed_by: ClassVar[Mapping[str, str]] = {
        "lambda_": "use with_lambda(λ)",
        "models": "use with_models(models) or restricted_to(names)",
        "quality": "train another router (train_router)",
    }

    def __init__(
        self,
        quality: QualityModel,
        models: Mapping[str, Model],
        *,
        lambda_: float = 0.0,
        name: str | None = None,
    ) -> None:
        if not isinstance(quality, QualityModel):
            raise TypeError(f"LearnedRouter.quality: {type(quality).__name__} is not a QualityModel")
        untrained = [m for m in models if m not in quality.models]
        if untrained:
            raise ValueError(
                f"LearnedRouter.models: {untrained} were not in the training data; trained on {list(quality.models)}"
            )
        if not models:
            raise ValueError("LearnedRouter.models: no models given")
        for key, model in models.items():
            if not isinstance(model, Model):
                raise TypeError(f"LearnedRouter.models[{key!r}]: {type(model).__name__} is not a Model")
        if not (isinstance(lambda_, (int, float)) and math.isfinite(lambda_) and lambda_ >= 0):
            raise ValueError(f"LearnedRouter.lambda_: {lambda_!r} must be a finite number >= 0 (quality per USD)")
        self.quality = quality
        self.models: Mapping[str, Model] = ReadOnlyMap(models)
        self.lambda_ = float(lambda_)
        self.name = name or "learned-router"
        self._names = [m for m in quality.models if m in self.models]  # training order
        self._columns = np.array([quality.models.index(m) for m in self._names])
        self._costs = quality.costs[self._columns]
        self.default = self.models[self._names[int(np.argmin(self._costs))]]

    # -- configuration (immutable: changes return a new router) ----------------------------------------------
    def with_lambda(self, lambda_: float) -> LearnedRouter:
        """The same trained router with another cost weight λ (quality per USD); this one is unchanged."""
        return LearnedRouter(self.quality, self.models, lambda_=lambda_, name=self.name)

    def with_models(self, models: Mapping[str, Model]) -> LearnedRouter:
        """The same router answering through other ``models`` (e.g. live ones instead of replayed ones), which must
        be among the trained names."""
        return LearnedRouter(self.quality, models, lambda_=self.lambda_, name=self.name)

    def restricted_to(self, names: Sequence[str]) -> LearnedRouter:
        """The same router choosing among ``names`` only (e.g. a weak/strong pair)."""
        missing = [n for n in names if n not in self.models]
        if missing:
            raise ValueError(f"LearnedRouter.restricted_to: {missing} are not among its models {self._names}")
        return LearnedRouter(self.quality, {n: self.models[n] for n in names}, lambda_=self.lambda_, name=self.name)

    @property
    def candidates(self) -> list[str]:
        """The recorded names it chooses among, in training order."""
        return list(self._names)

    @property
    def costs(self) -> dict[str, float]:
        """Mean recorded cost per call (USD) of each candidate: what λ weighs."""
        return dict(zip(self._names, self._costs.tolist()))

    def branches(self) -> list[tuple[str, Model]]:
        """``(recorded name, model)`` of every candidate, in training order."""
        return [(n, self.models[n]) for n in self._names]

    # -- deciding --------------------------------------------------------------------------------------------
    def predict_quality(self, prompts: Sequence[str]) -> np.ndarray:
        """``(n_prompts, n_candidates)`` predicted probabilities of a good answer, candidates in training order."""
        return self.quality.predict(prompts)[:, self._columns]

    async def choose(self, request: Request) -> Choice:
        t0 = time.perf_counter()
        probability = (await self.quality.apredict([request.prompt]))[0, self._columns]
        utility = probability - self.lambda_ * self._costs
        ranked = np.argsort(-utility, kind="stable")
        elapsed = time.perf_counter() - t0
        best = int(ranked[0])
        reason = (
            f"P(good) {probability[best]:.2f} at ${self._costs[best]:.3g}/call: best P - λ·cost (λ={self.lambda_:g})"
        )
        if len(ranked) > 1:
            second = int(ranked[1])
            reason += f"; next {self._names[second]} P {probability[second]:.2f} at ${self._costs[second]:.3g}"
        name = self._names[best]
        return Choice(name, self.models[name], reason, elapsed)

    # -- saving ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the router to the directory ``path``: ``router.json`` (training config, model list, costs, data
        hash, feature settings, λ) and ``arrays.npz`` (the fitted arrays). No code is pickled."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        feature_spec, feature_arrays = self.quality.features.spec()
        predictor_spec, predictor_arrays = self.quality.predictor.spec()
        settings = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "lambda": self.lambda_,
            "models": list(self.quality.models),
            "candidates": self._names,
            "costs_usd_per_call": dict(zip(self.quality.models, self.quality.costs.tolist())),
            "features": feature_spec,
            "predictor": predictor_spec,
            "training": dict(self.quality.training),
        }
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, default=_json_default), encoding="utf-8")
        np.savez_compressed(folder / ARRAYS_FILE, **feature_arrays, **predictor_arrays)
        return folder


def load_router(
    path: str | Path,
    models: Mapping[str, Model],
    *,
    embedder: Embedder | EmbeddingFeatures | None = None,
) -> LearnedRouter:
    """A router saved by :meth:`LearnedRouter.save`, answering through ``models`` (recorded name -> model).

    ``models`` must name exactly the saved candidates (else a ValueError lists what differs). Routers trained on a
    shipped embedder rebuild it; for another embedder pass it as ``embedder`` (its ``repr`` must match). Arrays
    are read with ``allow_pickle=False``.

    >>> import tempfile
    >>> from orchestra_lab import RecordedOutcomes
    >>> from orchestra_lab.experiments import train_router
    >>> outcomes = RecordedOutcomes.from_arrays(
    ...     ["a", "b", "c", "d"], ["small", "large"], scores=[[1, 1], [0, 1], [1, 1], [0, 1]],
    ...     costs=[[0.001, 0.01]] * 4, prompts=["say hi", "prove it", "say hello", "prove that"])
    >>> router = train_router(outcomes, method="knn", params={"k": 1}, lambda_=50.0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     loaded = load_router(router.save(folder), models=router.models)
    ...     load_router(folder, models={"small": router.models["small"]})
    Traceback (most recent call last):
    ValueError: load_router: the router was trained on ['small', 'large']; models given lack ['large'] and add []
    >>> loaded.predict_quality(["prove this"]).tolist() == router.predict_quality(["prove this"]).tolist()
    True
    """
    folder = Path(path)
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    if settings.get("format") != FORMAT or settings.get("version") != VERSION:
        raise ValueError(f"{folder}: not a learned router saved by this version ({FORMAT} v{VERSION})")
    expected = settings["candidates"]
    if set(models) != set(expected):
        missing, extra = sorted(set(expected) - set(models)), sorted(set(models) - set(expected))
        raise ValueError(
            f"load_router: the router was trained on {expected}; models given lack {missing} and add {extra}"
        )
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    quality = QualityModel(
        tuple(settings["models"]),
        np.array([settings["costs_usd_per_call"][m] for m in settings["models"]]),
        restore_features(settings["features"], arrays, embedder),
        restore_predictor(settings["predictor"], arrays),
        settings["training"],
    )
    return LearnedRouter(quality, models, lambda_=settings["lambda"], name=settings["name"])


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


__all__ = ["LearnedRouter", "QualityModel", "load_router"]
