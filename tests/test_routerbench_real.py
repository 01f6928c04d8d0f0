"""Replay against the real RouterBench tables beside the project (``../shared/data/routerbench``).

Skipped when the data is absent (as on a user's machine). Set ``ORCHESTRA_LAB_ROUTERBENCH`` to point elsewhere.
The expected numbers are computed here with plain pandas straight from the CSVs, independently of the loader.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestra_lab import CallLog, Request
from orchestra_lab.experiments.replay import RecordedOutcomes, baselines
from orchestra_lab.experiments.scorers import RecordedScore, score_response, unscorable_warnings
from orchestra_lab.models.replay import ReplayModel, replay_models

ENV_VAR = "ORCHESTRA_LAB_ROUTERBENCH"
DATA = Path(os.environ.get(ENV_VAR) or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routerbench")
FILES = sorted(DATA.glob("*.csv")) if DATA.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"RouterBench data not found at {DATA} (set {ENV_VAR})")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.concat([pd.read_csv(f) for f in FILES], ignore_index=True)


@pytest.fixture(scope="module")
def models(raw: pd.DataFrame) -> list[str]:
    return [c for c in raw.columns if f"{c}|model_response" in raw.columns]


@pytest.fixture(scope="module")
def outcomes() -> RecordedOutcomes:
    return RecordedOutcomes.from_routerbench(DATA, on_duplicate="suffix")


def test_duplicate_sample_ids_are_rejected_by_name_then_accepted_with_suffix(raw: pd.DataFrame, outcomes):
    duplicated = raw["sample_id"][raw["sample_id"].duplicated()]
    assert len(duplicated) > 0
    with pytest.raises(ValueError, match=r"sample_id 'arc-challenge\.val\.\d+' is shared by 2 rows") as err:
        RecordedOutcomes.from_routerbench(DATA)
    named = str(err.value).split("'")[1]
    assert named in set(duplicated)
    assert len(outcomes) == len(raw) == 3178
    assert f"{named}#2" in outcomes.item_ids
    assert outcomes.items["sample_id"].tolist() == raw["sample_id"].tolist()


def test_missing_scores_are_counted_not_zeroed(raw: pd.DataFrame, models: list[str], outcomes):
    expected = raw[models].isna().sum()
    counted = outcomes.missing()["missing_scores"]
    assert counted.to_dict() == expected.to_dict()
    print(f"\nRouterBench missing scores: {int(counted.sum())} cells ({counted.to_dict()})")
    assert counted.sum() == 154  # the known quirk: a few blank ARC cells


def test_single_model_baselines_match_pandas_exactly(raw: pd.DataFrame, models: list[str], outcomes):
    table = baselines(outcomes)
    for model in models:
        assert table.loc[model, "quality"] == pytest.approx(raw[model].mean(), rel=1e-12)  # pandas skips NaN
        assert table.loc[model, "cost_usd"] == pytest.approx(raw[f"{model}|total_cost"].sum(), rel=1e-12)


def test_oracle_matches_pandas_and_explains_the_upstream_oracle_column(raw: pd.DataFrame, models, outcomes):
    correct = raw[models] == 1.0  # a blank score is not correct
    costs = raw[[f"{m}|total_cost" for m in models]].to_numpy()
    oracle_cost = np.where(
        correct.any(axis=1), np.where(correct.to_numpy(), costs, np.inf).min(axis=1), costs.min(axis=1)
    ).sum()
    row = baselines(outcomes).loc["oracle"]
    assert row["quality"] == pytest.approx(correct.any(axis=1).mean(), rel=1e-12)
    assert row["cost_usd"] == pytest.approx(oracle_cost, rel=1e-12)
    # Upstream's oracle column agrees except on rows where it names a model that scored 0 (the others blank).
    upstream = raw["oracle_model_to_route_to"] != "no_model_correct"
    disagree = raw[upstream != correct.any(axis=1)]
    assert len(disagree) <= 5
    for _, r in disagree.iterrows():
        assert r[r["oracle_model_to_route_to"]] == 0.0 and r[models].notna().sum() == 1


def test_replay_reproduces_every_models_mean_score_and_total_cost(raw: pd.DataFrame, models, outcomes):
    requests = [Request.of("replayed by item id", item_id=i) for i in outcomes.item_ids]  # short: fast to hash
    replayers = replay_models(outcomes)

    async def replay(model: str) -> list:
        return [await replayers[model].acomplete(r) for r in requests]

    with CallLog() as log:
        for model in models:
            answers = asyncio.run(replay(model))
            scores = [a.meta["recorded_score"] for a in answers if a.meta["recorded_score"] is not None]
            assert np.mean(scores) == pytest.approx(raw[model].mean(), rel=1e-12)
            assert sum(a.cost_usd for a in answers) == pytest.approx(raw[f"{model}|total_cost"].sum(), rel=1e-12)
            assert [a.text for a in answers[:50]] == raw[f"{model}|model_response"].iloc[:50].tolist()
    frame = log.to_frame()
    assert set(frame["source"]) == {"replay"} and set(frame["provider"]) == {"replay"}
    assert len(frame) == len(models) * len(raw)


@pytest.mark.parametrize("split", ["train", "test"])
def test_recorded_score_of_every_replayed_arc_model_equals_its_baseline(split: str):
    """Each model's answers, replayed and scored as an experiment scores them, average to baselines() exactly:
    a blank recorded score stays missing instead of taking the score of another model with the same text."""
    outcomes = RecordedOutcomes.from_routerbench(DATA / f"arc_challenge_{split}.csv", on_duplicate="suffix")
    scorer = RecordedScore(outcomes)
    items = outcomes.to_dataset()

    async def mean_score(model: str) -> float:
        replayer = ReplayModel(outcomes, model)
        scores = []
        for item in items:
            if outcomes.responses[outcomes.row(item.id), outcomes.column(model)] is not None:
                response = await replayer.acomplete(item.to_request())
                scores.append(await score_response(scorer, response, item))
        return float(np.nanmean(scores))

    expected = baselines(outcomes)["quality"]
    with CallLog(), unscorable_warnings():
        means = {model: asyncio.run(mean_score(model)) for model in outcomes.models}
    assert max(abs(means[m] - expected[m]) for m in outcomes.models) <= 1e-12
    assert len(means) == 11
