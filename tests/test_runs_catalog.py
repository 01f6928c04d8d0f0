"""Every run findable and comparable: ``ol.runs`` lists a folder of runs with their status, ``ol.load_run`` finds
one by id, ``ol.compare_runs`` names what changed and tests the paired difference, ``ol.aggregate_runs`` puts
repeated runs in one table, and ``ol.query`` answers SQL over the runs' calls, items and runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import orchestra_lab as ol
from orchestra_lab import Experiment, FunctionModel, SimulatedModel
from orchestra_lab.calllog.schema import COLUMNS
from orchestra_lab.experiments import _rundir
from orchestra_lab.experiments.catalog import RUN_COLUMNS

DATA = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(12)]


def run(root: Path, run_id: str, profile: str = "sim/large", **options: object) -> ol.Results:
    models = {"small": SimulatedModel.profile("sim/small"), "big": SimulatedModel.profile(profile)}
    return Experiment(DATA, models, run_dir=root / run_id, progress=False, **options).run()


def test_runs_lists_each_run_with_its_setup_status_and_spend(tmp_path: Path) -> None:
    first = run(tmp_path, "one")
    run(tmp_path, "two", profile="sim/medium")
    with pytest.warns(UserWarning, match="spend cap reached"):
        run(tmp_path, "capped", max_spend_usd=0.0)
    killed = tmp_path / "killed"
    run(tmp_path, "killed")
    config = json.loads((killed / "run.json").read_text())
    (killed / "run.json").write_text(json.dumps(config | {"status": "running"}))  # killed after its last item
    ol.Experiment(DATA[:3], [SimulatedModel.profile("sim/tiny")], run_dir=tmp_path / "killed2",
                  progress=False).run()  # fmt: skip
    (tmp_path / "killed2" / "run.json").write_text(
        json.dumps(json.loads((tmp_path / "killed2" / "run.json").read_text()) | {"status": "running"})
    )
    _drop_last_item(tmp_path / "killed2")

    table = ol.runs(tmp_path).set_index("run_id")
    assert list(table.reset_index().columns) == list(RUN_COLUMNS)
    assert table["status"].to_dict() == {
        "one": "complete", "two": "complete", "capped": "partial", "killed": "complete", "killed2": "interrupted"
    }  # fmt: skip
    one = table.loc["one"]
    assert (one["items_done"], one["items_total"], one["strategies"]) == (24, 24, "small, big")
    assert math.isclose(one["cost_usd"], first.items["cost_usd"].sum())
    assert math.isclose(one["cost_inr"], first.items["cost_inr"].sum())
    assert one["best_strategy"] == first.summary().index[0]
    assert one["dataset"] == "list" and len(one["dataset_hash"]) == 16
    assert table.loc["one", "config_hash"] != table.loc["two", "config_hash"]  # another model for "big"
    assert table.loc["one", "config_hash"] == table.loc["killed", "config_hash"]  # the same setup
    assert "orchestra_lab" in one["versions"] and "pandas" in one["versions"]
    assert table.loc["capped", "items_done"] == 0 and table.loc["capped", "items_total"] == 24


def _drop_last_item(run_dir: Path) -> None:
    """Leave a run one item short (as a kill before its last item would)."""
    store = _rundir.ItemStore(run_dir)
    try:
        last = store.frame()["item_id"].iloc[-1]
        store.keep(lambda items: items["item_id"] != last)
    finally:
        store.close()


def test_load_run_finds_a_run_by_path_id_or_unique_prefix(tmp_path: Path) -> None:
    run(tmp_path, "alpha-1")
    run(tmp_path, "beta-1")
    assert ol.load_run(tmp_path / "alpha-1").config["run_id"] == "alpha-1"
    assert ol.load_run("alpha-1", root=tmp_path).config["run_id"] == "alpha-1"
    assert ol.load_run("bet", root=tmp_path).config["run_id"] == "beta-1"
    with pytest.raises(FileNotFoundError, match="no run"):
        ol.load_run("gamma", root=tmp_path)


def test_compare_runs_names_the_setup_change_and_tests_the_paired_difference(tmp_path: Path) -> None:
    a, b = run(tmp_path, "a", profile="sim/medium"), run(tmp_path, "b", profile="sim/large")
    comparison = ol.compare_runs("a", "b", root=tmp_path)
    assert comparison.setup["what"].tolist() == ["strategies['big']"]
    paired = comparison.paired.set_index("strategy")
    assert list(paired.index) == ["small", "big"] and (paired["n"] == len(DATA)).all()
    for strategy in ("small", "big"):
        mean_a = a.items.loc[a.items["strategy"] == strategy, "score"].mean()
        mean_b = b.items.loc[b.items["strategy"] == strategy, "score"].mean()
        assert math.isclose(paired.loc[strategy, "mean_a"], mean_a)
        assert math.isclose(paired.loc[strategy, "difference"], mean_b - mean_a)
        assert paired.loc[strategy, "ci_lo"] <= paired.loc[strategy, "difference"] <= paired.loc[strategy, "ci_hi"]
    assert paired.loc["small", "difference"] == 0.0  # the same simulated model on the same items
    moves = comparison.summaries
    assert math.isclose(moves.loc["big", ("score_mean", "change")],
                        b.summary().loc["big", "score_mean"] - a.summary().loc["big", "score_mean"])  # fmt: skip
    assert "strategies['big']" in repr(comparison)


def test_aggregate_runs_gives_the_spread_over_repeated_runs(tmp_path: Path) -> None:
    results = [run(tmp_path, f"seed{s}", seeds=[s]) for s in (1, 2, 3)]
    table = ol.aggregate_runs(results).table.set_index("strategy")
    scores = [r.summary().loc["big", "score_mean"] for r in results]
    assert table.loc["big", "runs"] == 3
    assert math.isclose(table.loc["big", "score_mean"], sum(scores) / 3)
    assert math.isclose(table.loc["big", "score_mean_sd"], pd.Series(scores).std())


def test_query_answers_sql_over_segments_and_the_tails_of_a_stopped_run(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("duckdb")
    done = run(tmp_path, "done")
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)  # a stopped run: its rows are still in the tails
    stopped = run(tmp_path, "stopped")
    assert not list((tmp_path / "stopped").glob("*.parquet"))

    per_run = ol.query("SELECT run_id, count(*) AS n, sum(cost_usd) AS usd FROM items GROUP BY ALL ORDER BY run_id",
                       root=tmp_path)  # fmt: skip
    assert per_run["run_id"].tolist() == ["done", "stopped"] and per_run["n"].tolist() == [24, 24]
    assert math.isclose(per_run["usd"].iloc[0], done.items["cost_usd"].sum())
    calls = ol.query("SELECT * FROM calls WHERE name = 'sim/small' ORDER BY run_id", root=tmp_path)
    assert list(calls.columns) == list(COLUMNS)
    assert len(calls) == 2 * len(DATA) and set(calls["run_id"]) == {"done", "stopped"}
    only = ol.query("SELECT DISTINCT run_id FROM calls", runs=["stopped"], root=tmp_path)
    assert only["run_id"].tolist() == ["stopped"]
    status = ol.query("SELECT run_id, status FROM runs ORDER BY run_id", runs=ol.runs(tmp_path), root=tmp_path)
    assert status.values.tolist() == [["done", "complete"], ["stopped", "complete"]]
    assert len(stopped.calls) == len(ol.query("SELECT * FROM calls WHERE run_id = 'stopped'", root=tmp_path))


def test_query_says_how_to_install_duckdb_when_it_is_missing(tmp_path: Path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_duckdb(name: str, *args: object, **kwargs: object) -> object:
        if name == "duckdb":
            raise ImportError("No module named 'duckdb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_duckdb)
    with pytest.raises(ImportError, match=r"orchestra_lab\[query\]"):
        ol.query("SELECT 1", root=tmp_path)


def test_a_killed_first_session_is_resumable_and_listed_as_interrupted(tmp_path: Path) -> None:
    asked: list[str] = []

    def stop_after_five(prompt: str) -> str:
        asked.append(prompt)
        if len(asked) == 6:
            raise KeyboardInterrupt
        return str(2 * int(prompt.split()[2]))

    model = FunctionModel(stop_after_five, name="f")
    with pytest.raises(KeyboardInterrupt):
        Experiment(DATA, [model], run_dir=tmp_path / "r", concurrency=1, progress=False).run()
    row = ol.runs(tmp_path).iloc[0]
    assert (row["status"], row["items_done"], row["items_total"]) == ("interrupted", 5, len(DATA))
