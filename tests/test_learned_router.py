"""Learned routers: training on recorded outcomes, deciding from the prompt, saving, evaluating (issue #16)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from orchestra_lab import CallLog, Request, SimulatedModel
from orchestra_lab.experiments import (
    Dataset,
    Experiment,
    Item,
    RecordedOutcomes,
    evaluate_router,
    lambda_sweep,
    train_router,
)
from orchestra_lab.models.replay import replay_models
from orchestra_lab.models.simulated import PROFILES
from orchestra_lab.strategies import EmbeddingFeatures, HashingEmbeddings, LearnedRouter, load_router
from orchestra_lab.strategies.features import require_sklearn

METHODS = ["knn", "logistic", "mlp", "mf"]
MODELS = ["cheap", "coder", "writer"]
COSTS = {"cheap": 0.001, "coder": 0.01, "writer": 0.01}
CODE = ["write a python function that sorts {}", "fix the bug in this python loop over {}", "implement a parser for {}"]
PROSE = ["write a poem about {}", "compose a short story about {}", "describe the feeling of {}"]
CHAT = ["hello, how is {} today", "thanks for the {}", "good morning {}"]
SIMS = {m: SimulatedModel(f"sim/{m}", **PROFILES["sim/small"]) for m in [*MODELS, "ghost"]}
NOUNS = ["lists", "rivers", "tokens", "autumn", "cities", "numbers", "trees", "strings", "music", "clouds"]


def skills_outcomes(n: int = 180, seed: int = 0, missing_model: bool = False) -> RecordedOutcomes:
    """Category-dependent skills: 'coder' is always right on code, 'writer' on prose, everyone on chat."""
    rng = np.random.default_rng(seed)
    prompts, categories, scores = [], [], []
    for i in range(n):
        category = ("code", "prose", "chat")[i % 3]
        template = {"code": CODE, "prose": PROSE, "chat": CHAT}[category][rng.integers(3)]
        prompts.append(template.format(NOUNS[rng.integers(len(NOUNS))]) + f" (#{seed}-{i})")
        categories.append(category)
        row = {"code": [0, 1, 0], "prose": [0, 0, 1], "chat": [1, 1, 1]}[category]
        scores.append([*row, np.nan] if missing_model else row)
    models = [*MODELS, "ghost"] if missing_model else MODELS
    costs = [[COSTS.get(m, 0.0001) for m in models]] * n
    return RecordedOutcomes.from_arrays(
        [f"i{seed}-{i}" for i in range(n)], models, scores=scores, costs=costs, prompts=prompts, categories=categories
    )


@pytest.fixture(scope="module")
def train() -> RecordedOutcomes:
    return skills_outcomes(180, seed=0)


@pytest.fixture(scope="module")
def test() -> RecordedOutcomes:
    return skills_outcomes(90, seed=1)


def simulated_for(router: LearnedRouter) -> dict[str, SimulatedModel]:
    return {m: SIMS[m] for m in router.candidates}


def routed(router: LearnedRouter, prompts: list[str]) -> list[str]:
    """The router's decisions, answered by simulated models (any prompt works)."""
    router = router.with_models(simulated_for(router))
    with CallLog() as log:
        for prompt in prompts:
            router(Request.of(prompt, item_id="x"))
    rows = log.to_frame().query("kind == 'strategy'")
    return rows["decision"].tolist()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("features", ["tfidf", "hashing"])
def test_a_router_learns_which_model_is_right_on_which_category(train, test, method, features):
    source = HashingEmbeddings(dim=256) if features == "hashing" else "tfidf"
    router = train_router(train, method=method, features=source, lambda_=30.0)
    picks = routed(router, test.items["prompt"].tolist())
    wanted = test.items["category"].map({"code": "coder", "prose": "writer", "chat": "cheap"}).tolist()
    accuracy = np.mean([p == w for p, w in zip(picks, wanted)])
    assert accuracy >= 0.9, (method, features, accuracy)


def test_the_row_logs_the_decision_and_a_reason_with_probabilities_and_costs(train):
    router = train_router(train, method="knn", lambda_=30.0)
    with CallLog() as log:
        response = router(Request.of("write a python function that sorts rivers", item_id=train.item_ids[0]))
    row = log.to_frame().query("kind == 'strategy'").iloc[0]
    assert row["decision"] == "coder" and response.served_model == "coder"
    assert row["reason"].startswith("P(good) 0.9") and "at $0.01/call" in row["reason"]
    assert "λ=30" in row["reason"] and "next " in row["reason"]


def test_the_router_reads_the_prompt_not_the_items_answer_key(train):
    router = train_router(train, method="logistic", lambda_=30.0)
    prompt = "compose a short story about numbers"
    plain = routed(router, [prompt])
    with CallLog() as log:
        router.with_models(simulated_for(router))(
            Request.of(prompt, item_id="x", metadata={"expected": "B", "category": "code", "difficulty": 0.99})
        )
    assert log.to_frame().query("kind == 'strategy'")["decision"].tolist() == plain == ["writer"]


@pytest.mark.parametrize("method", METHODS)
def test_predictions_are_deterministic_given_a_seed(train, method):
    prompts = ["implement a parser for autumn", "good morning trees", "write a poem about lists"]
    first = train_router(train, method=method, seed=3).predict_quality(prompts)
    second = train_router(train, method=method, seed=3).predict_quality(prompts)
    assert np.array_equal(first, second)
    if method in ("mlp", "mf"):  # the seed matters to networks (random initial weights)
        assert not np.array_equal(first, train_router(train, method=method, seed=4).predict_quality(prompts))


def test_a_model_without_recorded_scores_is_never_a_candidate():
    outcomes = skills_outcomes(120, seed=5, missing_model=True)
    router = train_router(outcomes, method="knn", lambda_=1e6)  # cost dominates: 'ghost' would be the cheapest
    assert router.candidates == MODELS and router.quality.training["dropped_models"] == ["ghost"]
    assert set(routed(router, outcomes.items["prompt"].tolist()[:30])) == {"cheap"}
    with pytest.raises(ValueError, match=r"\['ghost'\] were not in the training data"):
        router.with_models({**router.models, "ghost": SIMS["ghost"]})


def test_with_lambda_returns_a_new_router_and_one_training_serves_every_lambda(train):
    router = train_router(train, method="knn")
    prompt = ["write a poem about clouds"]
    thrifty = router.with_lambda(1e6)
    assert router.lambda_ == 0.0 and thrifty.lambda_ == 1e6 and thrifty.quality is router.quality
    assert routed(router, prompt) == ["writer"] and routed(thrifty, prompt) == ["cheap"]
    with pytest.raises(ValueError, match="finite number >= 0"):
        router.with_lambda(-1.0)


@pytest.mark.parametrize(("method", "features"), [("knn", "tfidf"), ("mf", "hashing"), ("logistic", "hashing")])
def test_save_and_load_round_trip(train, tmp_path: Path, method, features):
    source = HashingEmbeddings(dim=128) if features == "hashing" else "tfidf"
    router = train_router(train, method=method, features=source, lambda_=25.0, name="mine")
    folder = router.save(tmp_path / "router")
    settings = json.loads((folder / "router.json").read_text(encoding="utf-8"))
    assert settings["models"] == MODELS and settings["costs_usd_per_call"] == pytest.approx(COSTS)
    assert settings["training"]["method"] == method and len(settings["training"]["data_hash"]) == 64
    assert settings["lambda"] == 25.0 and settings["training"]["items"] == len(train)
    loaded = load_router(folder, models=router.models)
    prompts = [*train.items["prompt"].tolist()[:40], "an unseen prompt about rivers"]
    assert np.array_equal(loaded.predict_quality(prompts), router.predict_quality(prompts))
    assert loaded.name == "mine" and loaded.lambda_ == 25.0 and routed(loaded, prompts) == routed(router, prompts)


def test_loading_with_a_different_model_list_is_a_clear_error(train, tmp_path: Path):
    router = train_router(train, method="knn")
    folder = router.save(tmp_path / "r")
    others = {"cheap": router.models["cheap"], "coder": router.models["coder"], "poet": router.models["writer"]}
    with pytest.raises(
        ValueError, match=r"trained on \['cheap', 'coder', 'writer'\].*lack \['writer'\] and add \['poet'\]"
    ):
        load_router(folder, models=others)


def test_an_unknown_embedder_must_be_passed_back_when_loading(train, tmp_path: Path):
    class Lexical:
        def embed(self, texts):
            return HashingEmbeddings(dim=64).embed(texts)

        def __repr__(self):
            return "Lexical()"

    folder = train_router(train, method="knn", features=Lexical()).save(tmp_path / "r")
    models = {m: SIMS[m] for m in MODELS}
    with pytest.raises(ValueError, match=r"trained on 'embeddings:Lexical\(\)': pass that embedder"):
        load_router(folder, models=models)
    assert load_router(folder, models=models, embedder=Lexical()).candidates == MODELS


class CountingEmbedder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return HashingEmbeddings(dim=32).embed(texts)

    def __repr__(self) -> str:
        return "CountingEmbedder(dim=32)"


def test_embeddings_are_computed_once_per_prompt_in_memory_and_on_disk(tmp_path: Path):
    embedder = CountingEmbedder()
    features = EmbeddingFeatures(embedder, cache_dir=tmp_path / "cache", batch_size=2)
    first = features.transform_sync(["a", "b", "a", "c"])
    again = features.transform_sync(["c", "a"])
    assert embedder.texts == ["a", "b", "c"] and np.array_equal(again, first[[3, 0]])
    assert first.dtype == np.float32
    fresh_embedder = CountingEmbedder()
    from_disk = EmbeddingFeatures(fresh_embedder, cache_dir=tmp_path / "cache").transform_sync(["b", "d"])
    assert fresh_embedder.texts == ["d"] and np.array_equal(from_disk[0], first[1])
    other = EmbeddingFeatures(HashingEmbeddings(dim=32), cache_dir=tmp_path / "cache")  # another key: recomputed
    assert other.key != features.key and other.transform_sync(["b"]).shape == (1, 32)


def test_a_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(
        ImportError, match=r"scikit-learn, the optional 'learn' extra: pip install 'orchestra-lab\[learn\]'"
    ):
        require_sklearn("train_router")


def test_outcomes_without_prompts_are_refused_with_the_reason():
    outcomes = RecordedOutcomes.from_arrays(["a", "b"], ["m", "n"], scores=[[1, 0], [0, 1]], costs=[[1, 2], [1, 2]])
    with pytest.raises(ValueError, match="decides from the prompt"):
        train_router(outcomes)


def test_cross_validation_chooses_parameters_on_the_training_outcomes_only(train):
    router = train_router(train, method="knn", grid={"k": [1, 5, 40]}, folds=3)
    cv = router.quality.training["cv"]
    assert [row["k"] for row in cv] != [] and sorted(row["k"] for row in cv) == [1, 5, 40]
    assert router.quality.training["params"]["k"] == cv[0]["k"]
    assert cv[0]["aiq_mean"] == max(row["aiq_mean"] for row in cv)


def test_the_vectorised_curve_matches_the_router_replayed_call_by_call(train, test):
    router = train_router(train, method="logistic")
    evaluation = evaluate_router(router, test, weak="cheap", strong="coder")
    replayed = router.with_models(replay_models(test))
    for k in (0, 60, 120, len(evaluation.curve) - 1):
        lam = float(evaluation.curve.threshold[k])
        live = replayed.with_lambda(1e12 if np.isinf(lam) else lam)
        with CallLog() as log:
            responses = [live(Request.of(p, item_id=i)) for i, p in zip(test.item_ids, test.items["prompt"])]
        quality = np.mean([r.meta["recorded_score"] for r in responses])
        cost = log.to_frame().query("kind == 'model'")["cost_usd"].sum()
        assert (quality, cost) == pytest.approx((evaluation.curve.quality[k], evaluation.curve.cost_usd[k]))


def test_evaluation_reports_the_papers_metrics_next_to_the_baselines(train, test):
    evaluation = evaluate_router(train_router(train, method="knn"), test, weak="cheap", strong="coder")
    summary = evaluation.summary
    assert list(summary.index) == ["learned-knn", "zero router", "oracle"]
    assert {"aiq", "apgr", "cpt50", "cpt80", "cost_at_target_usd"} <= set(summary.columns)
    assert summary.loc["zero router", "apgr"] == pytest.approx(0.5)
    assert summary.loc["learned-knn", "aiq"] > summary.loc["zero router", "aiq"] + 0.1  # prompts predict skills
    assert summary.loc["learned-knn", "cost_at_target_usd"] < evaluation.baselines.loc["coder", "cost_usd"]
    assert list(evaluation.baselines.index) == [*MODELS, "oracle"]


def test_lambda_sweep_checks_shapes(test):
    with pytest.raises(ValueError, match=r"must be \(items, models\)"):
        lambda_sweep(test, np.zeros((3, 3)), [1, 2, 3], MODELS)


def difficulty_items(n: int, offset: int) -> Dataset:
    """Prompts whose wording says how hard they are: simulated models succeed by difficulty, so text predicts it."""
    items = []
    for i in range(offset, offset + n):
        hard = i % 2 == 0
        words = "prove rigorously the theorem on" if hard else "what is the capital of"
        items.append(Item(f"q{i}", f"{words} topic {i % 7}", expected=str(i), difficulty=0.85 if hard else 0.05))
    return Dataset(items, name=f"difficulty-{offset}")


def test_record_train_deploy_loop_with_simulated_models_in_an_experiment(tmp_path: Path):
    sims = {name: SimulatedModel.profile(name) for name in ("sim/small", "sim/large", "sim/frontier")}
    recorded = Experiment(difficulty_items(150, 0), sims, run_dir=tmp_path / "record", progress=False).run()
    outcomes = RecordedOutcomes.from_calls(recorded)
    router = train_router(outcomes, method="logistic", models=sims, lambda_=20.0)
    fresh = difficulty_items(60, 1000)
    results = Experiment(fresh, {"router": router, **sims}, run_dir=tmp_path / "deploy", progress=False).run()
    items = results.items
    quality = items.groupby("strategy")["score"].mean()
    cost = items.groupby("strategy")["cost_usd"].sum()
    assert quality["router"] >= quality["sim/frontier"] - 0.1
    assert cost["router"] < 0.7 * cost["sim/frontier"]
    assert quality["router"] > quality["sim/small"] + 0.2


def test_knn_votes_are_those_of_the_k_most_similar_items_ties_to_the_earlier():
    """The partition-based neighbour search gives exactly the neighbours of a stable full sort, ties included."""
    from orchestra_lab.strategies.predictors import NeighbourPredictor

    rng = np.random.default_rng(0)
    points = rng.integers(0, 3, size=(300, 4)).astype(np.float32)  # few distinct directions: many ties
    good = rng.integers(0, 2, size=(300, 3)).astype(float)
    good[rng.random(good.shape) < 0.1] = np.nan
    queries = rng.integers(0, 3, size=(40, 4)).astype(np.float32)
    predicted = NeighbourPredictor(points, good, k=7).predict(queries)

    def unit(m):  # as the predictor computes them (float32), so that the same similarities tie
        return m / np.linalg.norm(m, axis=1, keepdims=True).clip(1e-30).astype(np.float32)

    prior = np.nanmean(good, axis=0)
    similarity = unit(queries) @ unit(points).T  # one product for all queries, as the predictor does
    for row_similarity, row in zip(similarity, predicted):
        nearest = np.argsort(-row_similarity, kind="stable")[:7]
        votes = good[nearest]
        expected = (np.nansum(votes, axis=0) + prior) / ((~np.isnan(votes)).sum(axis=0) + 1)
        assert row == pytest.approx(expected, abs=1e-12)


def test_a_learned_routers_configuration_is_fixed_once_built(train):
    router = train_router(train, method="logistic", lambda_=5.0)
    with pytest.raises(AttributeError, match=r"lambda_ is fixed .* use with_lambda"):
        router.lambda_ = 1.0
    with pytest.raises(AttributeError, match=r"models is fixed .* use with_models"):
        router.models = {}
    with pytest.raises(TypeError):
        router.models["ghost"] = SIMS["ghost"]  # type: ignore[index]
    with pytest.raises(TypeError):
        router.quality.training["method"] = "knn"  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        router.quality.predictor.weights[0][0, 0] = 1.0
    assert router.with_lambda(1.0).lambda_ == 1.0 and router.lambda_ == 5.0


def test_routers_with_different_fitted_predictors_have_different_cache_configs():
    """Response caches key strategies on their rendered configuration: two quality models that differ only in
    their fitted arrays must not share it (else a cached answer of one router would be served for the other)."""
    from orchestra_lab.runtime.cache import model_config
    from orchestra_lab.strategies import QualityModel
    from orchestra_lab.strategies.features import EmbeddingFeatures
    from orchestra_lab.strategies.predictors import fit_predictor

    features = EmbeddingFeatures(HashingEmbeddings(dim=32))
    x = features.transform_sync(["sum it", "a poem"])
    models = {m: SIMS[m] for m in ("cheap", "coder")}

    def router(good):
        quality = QualityModel(("cheap", "coder"), np.array([0.001, 0.01]), features, fit_predictor("knn", x, good))
        return LearnedRouter(quality, models)

    one, other = router(np.array([[1.0, 0.0], [0.0, 1.0]])), router(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert model_config(one) != model_config(other)
    assert model_config(one) == model_config(router(np.array([[1.0, 0.0], [0.0, 1.0]])))


def test_one_blas_thread_leaves_the_setting_as_it_was_after_overlapping_use_from_threads():
    """A worker enters, the main thread enters, the worker leaves, the main thread leaves: the process must be back
    at its BLAS thread count (OpenBLAS has one process-wide setting that only one thread may change at a time)."""
    import threading

    from threadpoolctl import threadpool_info

    from orchestra_lab.strategies._blas import one_blas_thread

    def blas_threads() -> list[int]:
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    worker_in, main_in, worker_out = threading.Event(), threading.Event(), threading.Event()

    def worker() -> None:
        with one_blas_thread():
            worker_in.set()
            main_in.wait(5)
        worker_out.set()

    thread = threading.Thread(target=worker)
    thread.start()
    worker_in.wait(5)
    with one_blas_thread():
        main_in.set()
        worker_out.wait(5)
        inside = blas_threads()
    thread.join(5)
    assert inside == [1] * len(before) and blas_threads() == before


@pytest.mark.parametrize(("method", "features"), [("knn", "tfidf"), ("logistic", "hashing")])
def test_a_trained_router_pickles_and_deep_copies_with_the_same_decisions(train, method, features):
    import copy
    import pickle

    source = HashingEmbeddings(dim=64) if features == "hashing" else "tfidf"
    router = train_router(train, method=method, features=source, lambda_=30.0)
    prompts = train.items["prompt"].tolist()[:20]
    for clone in (pickle.loads(pickle.dumps(router)), copy.deepcopy(router)):
        assert np.array_equal(clone.predict_quality(prompts), router.predict_quality(prompts))
        assert dict(clone.quality.training) == dict(router.quality.training) and clone.candidates == MODELS
        with pytest.raises(TypeError):
            clone.models["ghost"] = SIMS["ghost"]  # type: ignore[index]


def test_knn_predicts_the_same_from_sparse_and_dense_features():
    """TF-IDF rows are scipy-sparse, embeddings dense: both paths (unit rows, similarity) must agree."""
    from scipy.sparse import csr_matrix

    from orchestra_lab.strategies.predictors import NeighbourPredictor

    rng = np.random.default_rng(1)
    points = rng.random((200, 30)) * (rng.random((200, 30)) < 0.3)  # sparse-ish, some all-zero rows
    points[:3] = 0.0
    queries = rng.random((25, 30)) * (rng.random((25, 30)) < 0.3)
    good = rng.integers(0, 2, size=(200, 4)).astype(float)
    dense = NeighbourPredictor(points, good, k=9).predict(queries)
    sparse = NeighbourPredictor(csr_matrix(points), good, k=9).predict(csr_matrix(queries))
    assert sparse == pytest.approx(dense, abs=1e-12)
    counts, asked = (points * 10).astype(int), (queries * 10).astype(int)  # integer features (word counts)
    dense = NeighbourPredictor(counts, good, k=9).predict(asked)
    assert NeighbourPredictor(csr_matrix(counts), good, k=9).predict(csr_matrix(asked)) == pytest.approx(dense)
