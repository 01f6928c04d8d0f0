"""A learned router on the real RouterBench split: trained on ``mbpp_train.csv``, evaluated once on ``mbpp_test.csv``.

TF-IDF + logistic regression (the cheap, fast combination). Skipped when the data beside the project
(``../shared/data/routerbench``) is absent, as on a user's machine; ``ORCHESTRA_LAB_ROUTERBENCH`` points elsewhere.
The assertions are invariants any sound router meets, not its scores (which benchmarks/README.md reports).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from orchestra_lab import CallLog, Request
from orchestra_lab.experiments import RecordedOutcomes, evaluate_router, train_router
from orchestra_lab.models.replay import replay_models

ENV_VAR = "ORCHESTRA_LAB_ROUTERBENCH"
DATA = Path(os.environ.get(ENV_VAR) or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routerbench")
TASK = "mbpp"
TRAIN, TEST = DATA / f"{TASK}_train.csv", DATA / f"{TASK}_test.csv"
WEAK, STRONG = "mistralai/mixtral-8x7b-chat", "gpt-4-1106-preview"

pytestmark = pytest.mark.skipif(
    not (TRAIN.is_file() and TEST.is_file()), reason=f"RouterBench {TASK} split not found at {DATA} (set {ENV_VAR})"
)


@pytest.fixture(scope="module")
def train() -> RecordedOutcomes:
    return RecordedOutcomes.from_routerbench(TRAIN, on_duplicate="suffix")


@pytest.fixture(scope="module")
def test() -> RecordedOutcomes:
    return RecordedOutcomes.from_routerbench(TEST, on_duplicate="suffix")


@pytest.fixture(scope="module")
def router(train):
    return train_router(train, method="logistic", features="tfidf")


def test_held_out_aiq_lies_between_the_worst_single_model_and_the_oracle(router, train, test):
    assert router.candidates == list(train.models) and len(router.candidates) == 11
    evaluation = evaluate_router(router, test, weak=WEAK, strong=STRONG)
    singles = evaluation.baselines.drop(index="oracle")
    oracle = float(evaluation.baselines.loc["oracle", "quality"])
    aiq, zero_aiq = evaluation.summary.loc[router.name, "aiq"], evaluation.summary.loc["zero router", "aiq"]
    assert singles["quality"].min() <= aiq <= oracle
    assert singles["quality"].min() <= zero_aiq <= oracle
    assert 0.0 <= evaluation.summary.loc[router.name, "apgr"] <= 1.0
    assert np.all(evaluation.curve.quality <= oracle + 1e-12)  # no λ does better than knowing every answer


def test_the_router_never_picks_a_model_absent_from_its_training_data(train, test):
    costs = np.nanmean(train.costs, axis=0)
    absent = train.models[int(np.argmin(costs))]  # the cheapest: what a large λ would pick if it could
    kept = [m for m in train.models if m != absent]
    router = train_router(train.select(models=kept), method="logistic", features="tfidf", lambda_=1e9)
    assert absent not in router.candidates and sorted(router.candidates) == sorted(kept)
    with pytest.raises(ValueError, match="were not in the training data"):
        router.with_models(replay_models(test))
    replayed = router.with_models({m: model for m, model in replay_models(test).items() if m != absent})
    prompts = list(zip(test.item_ids, test.items["prompt"]))[:25]
    for lam in (0.0, 1e9):
        with CallLog() as log:
            for item_id, prompt in prompts:
                replayed.with_lambda(lam)(Request.of(prompt, item_id=item_id))
        rows = log.to_frame()
        decisions = rows.query("kind == 'strategy'")["decision"]
        assert set(decisions) <= set(kept) and absent not in set(rows["served_model"])
    cheapest_kept = min(kept, key=lambda m: costs[train.column(m)])
    assert set(decisions) == {cheapest_kept}  # λ = 1e9: cost decides, among the trained models only
    evaluation = evaluate_router(router, test, weak=WEAK, strong=STRONG)
    assert absent not in evaluation.baselines.index


def test_training_and_evaluation_are_deterministic(router, train, test):
    again = train_router(train, method="logistic", features="tfidf")
    prompts = test.items["prompt"].tolist()
    assert np.array_equal(router.predict_quality(prompts), again.predict_quality(prompts))
    first = evaluate_router(router, test, weak=WEAK, strong=STRONG).summary
    pd.testing.assert_frame_equal(first, evaluate_router(again, test, weak=WEAK, strong=STRONG).summary)
    assert router.quality.training["data_hash"] == again.quality.training["data_hash"]
