"""The columnar run store: tails compacted into Parquet segments mid-run and at the end, crash-safe at every step
(a process killed inside a compaction loses nothing, reads nothing twice and resumes without paying twice), old
JSONL-only run directories still load, and a compacted run reads back the same as one that never compacted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import orchestra_lab
from orchestra_lab import CallLog, FunctionModel
from orchestra_lab.experiments import Experiment, Results, _rundir
from orchestra_lab.experiments.results import ITEM_COLUMNS

N_ITEMS = 40
REPO = Path(orchestra_lab.__file__).resolve().parents[1]

# A child that runs an experiment compacting every 10 call rows; the compaction numbered CRASH_AT dies at STEP:
# "segment" (while writing the segment file) or "tail" (segment in place, tail not yet emptied).
CHILD = textwrap.dedent(
    """
    import os, sys
    import pyarrow.parquet as pq
    from orchestra_lab import FunctionModel
    from orchestra_lab import _segments
    from orchestra_lab.experiments import Experiment, _rundir

    run_dir, ledger, n, step, crash_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    _rundir.COMPACT_ROWS = 10
    compactions = 0
    real_write, real_reset = pq.write_table, _segments.Segments._reset_tail

    def write_table(table, where, **options):
        global compactions
        compactions += 1
        if step == "segment" and compactions == crash_at:
            with open(where, "wb") as f:
                f.write(b"PAR1 half a segment")
            os._exit(9)
        real_write(table, where, **options)

    def reset_tail(self, fresh):
        if step == "tail" and compactions == crash_at:
            os._exit(9)
        real_reset(self, fresh)

    pq.write_table, _segments.Segments._reset_tail = write_table, reset_tail

    def add(prompt):
        with open(ledger, "a") as f:
            f.write(prompt + "\\n")
        return str(int(prompt.split()[2]) + 1000)

    model = FunctionModel(add, name="adder", cost_per_call=0.001)
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(n)]
    results = Experiment(data, {"m": model}, scorer="exact", concurrency=1, run_dir=run_dir, progress=False).run()
    print("finished", len(results.items))
    """
)


def run_child(script: Path, run_dir: Path, ledger: Path, step: str, crash_at: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(script), str(run_dir), str(ledger), str(N_ITEMS), step, str(crash_at)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir())}


@pytest.mark.parametrize("step", ["segment", "tail"])
def test_a_kill_inside_a_compaction_loses_nothing_and_resumes_without_paying_twice(tmp_path: Path, step: str) -> None:
    script, run_dir, ledger = tmp_path / "child.py", tmp_path / "run", tmp_path / "ledger.txt"
    script.write_text(CHILD, encoding="utf-8")

    killed = run_child(script, run_dir, ledger, step, crash_at=3)  # compactions alternate items, calls: an items one
    assert killed.returncode == 9, killed.stderr
    leftovers = {p.name for p in run_dir.iterdir()}
    if step == "segment":
        assert any(name.endswith(".parquet.tmp") for name in leftovers)
    asked_before = Counter(ledger.read_text().splitlines())

    before = snapshot(run_dir)
    partial = Results.load(run_dir)
    assert snapshot(run_dir) == before  # reading a run never writes to it, not even to repair it
    done = partial.items["item_id"].tolist()
    assert 0 < len(done) < N_ITEMS and len(set(done)) == len(done)  # nothing read twice
    assert partial.calls["call_id"].is_unique
    assert set(partial.items["call_id"]) <= set(partial.calls["call_id"])

    resumed = run_child(script, run_dir, ledger, "none", crash_at=0)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"finished {N_ITEMS}"
    asked = Counter(ledger.read_text().splitlines())
    assert len(asked) == N_ITEMS and set(asked.values()) == {1}  # every item asked once, none twice
    assert sum(asked_before.values()) == len(done)  # concurrency 1: nothing was in flight at the kill

    results = Results.load(run_dir)
    assert sorted(results.items["item_id"]) == sorted(f"q{i}" for i in range(N_ITEMS))
    assert (results.items["score"] == 1.0).all()
    assert results.calls["call_id"].is_unique and len(results.calls) == N_ITEMS
    assert not [p for p in run_dir.iterdir() if p.suffix == ".tmp"]  # the resumed writer cleaned up


def adder(prompt: str) -> str:
    return str(int(prompt.split()[2]) + 1000)


def experiment(run_dir: Path, scorer: object = "exact", **options: object) -> Experiment:
    model = FunctionModel(adder, name="adder", cost_per_call=0.001)
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(N_ITEMS)]
    return Experiment(data, {"m": model, "n": model}, scorer, run_dir=run_dir, progress=False, **options)


VARYING_ITEMS = ["call_id", "finished_at", "latency_s"]  # ids, clocks
STABLE_CALLS = ["strategy", "item_id", "kind", "name", "status", "cost_usd", "score", "response_text", "prompt"]


def test_a_compacted_run_reads_back_the_same_as_a_run_kept_in_its_tails(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)
    tails = experiment(tmp_path / "tails").run()
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", 7)
    monkeypatch.setattr(_rundir, "MERGE_SEGMENTS", 3)
    compacted = experiment(tmp_path / "compacted").run()

    assert not list((tmp_path / "tails").glob("*.parquet"))
    [merged] = (tmp_path / "compacted").glob("calls-*.parquet")  # compacted every 7 rows, merged at the end
    assert int(merged.stem.split("-")[1]) > 3
    for name in ("items.jsonl", "calls.jsonl"):  # the tails are empty (the calls' holds its header line)
        assert len((tmp_path / "compacted" / name).read_text().splitlines()) <= 1
    for results in (tails, Results.load(tmp_path / "tails"), Results.load(tmp_path / "compacted")):
        left = results.items.drop(columns=VARYING_ITEMS).sort_values(["strategy", "item_id"])
        right = compacted.items.drop(columns=VARYING_ITEMS).sort_values(["strategy", "item_id"])
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
        pd.testing.assert_frame_equal(results.calls[STABLE_CALLS], compacted.calls[STABLE_CALLS])
        assert results.calls.dtypes.astype(str).equals(compacted.calls.dtypes.astype(str))
    assert list(compacted.items.columns[: len(ITEM_COLUMNS)]) == list(ITEM_COLUMNS)


def test_scores_pending_while_a_compaction_is_due_land_in_the_call_log(tmp_path: Path, monkeypatch) -> None:
    """A slow scorer keeps answers waiting for their score while other jobs finish: the log is compacted only when
    no score is pending, so every scored root row still gets its score."""
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", 1)

    async def slow_exact(output: str, expected: object) -> bool:
        await asyncio.sleep(0.001 * (hash(output) % 3))
        return output == expected

    results = experiment(tmp_path / "r", scorer=slow_exact, concurrency=4).run()
    calls = Results.load(tmp_path / "r").calls.set_index("call_id")
    assert (results.items["score"] == 1.0).all()
    assert (calls.loc[results.items["call_id"], "score"] == 1.0).all()


def test_forget_errors_rewrites_the_compacted_items(tmp_path: Path) -> None:
    flaky_calls: Counter[str] = Counter()

    def flaky(prompt: str) -> str:
        flaky_calls[prompt] += 1
        if prompt.endswith("7 + 1000?") and flaky_calls[prompt] == 1:
            raise RuntimeError("down once")
        return adder(prompt)

    model = FunctionModel(flaky, name="flaky")
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(10)]
    run = Experiment(data, [model], scorer="exact", run_dir=tmp_path, progress=False)
    assert (run.run().items["status"] == "error").sum() == 1
    assert run.forget_errors() == 1
    assert len(list(tmp_path.glob("items-*.parquet"))) == 1  # the rewrite superseded and removed the others
    assert (run.run().items["status"] == "ok").all() and sum(flaky_calls.values()) == 11


def test_a_jsonl_run_directory_still_loads_and_converts(tmp_path: Path, monkeypatch) -> None:
    from orchestra_lab.cli import main

    monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)  # the layout before segments existed: tails only
    experiment(tmp_path / "old").run()
    old = Results.load(tmp_path / "old")
    assert main(["convert", str(tmp_path / "old")]) == 0
    assert {p.name for p in (tmp_path / "old").glob("*.parquet")} == {"items-000001.parquet", "calls-000001.parquet"}
    new = Results.load(tmp_path / "old")
    pd.testing.assert_frame_equal(new.items, old.items)
    pd.testing.assert_frame_equal(new.calls, old.calls)
    assert len(CallLog.load(tmp_path / "old")) == len(old.calls)


def test_a_run_of_few_segments_keeps_them_and_reads_back_the_same(tmp_path: Path, monkeypatch) -> None:
    """Up to MERGE_SEGMENTS segments a table is not rewritten at the end of a run (they read as fast as one)."""
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", 7)
    run = experiment(tmp_path / "r").run()
    calls = sorted((tmp_path / "r").glob("calls-*.parquet"))
    assert 1 < len(calls) <= _rundir.MERGE_SEGMENTS
    assert [int(path.stem.split("-")[1]) for path in calls] == list(range(1, len(calls) + 1))  # none rewritten
    loaded = Results.load(tmp_path / "r")
    pd.testing.assert_frame_equal(loaded.calls[STABLE_CALLS], run.calls[STABLE_CALLS])
    assert len(loaded.items) == len(run.items) == 2 * N_ITEMS


def test_a_crash_inside_the_final_merge_reads_every_row_once(tmp_path: Path, monkeypatch) -> None:
    """The merged segment supersedes the others as soon as it is in place: a crash before they are deleted (or
    before the tail is reset) reads each row once, and the next writer deletes the superseded files."""
    from orchestra_lab import _segments

    monkeypatch.setattr(_rundir, "COMPACT_ROWS", 5)
    monkeypatch.setattr(_rundir, "MERGE_SEGMENTS", 2)
    real_remove = _segments.Segments._remove_superseded

    def crash_after_a_merge(self: _segments.Segments) -> None:
        if len(self._written()) > len(self.paths()):  # a merged segment supersedes older ones
            raise KeyboardInterrupt  # the process dies here
        real_remove(self)

    monkeypatch.setattr(_segments.Segments, "_remove_superseded", crash_after_a_merge)
    with pytest.raises(KeyboardInterrupt):
        experiment(tmp_path / "r").run()
    calls = sorted((tmp_path / "r").glob("calls-*.parquet"))
    items = sorted((tmp_path / "r").glob("items-*.parquet"))
    assert len(items) > 2 and len(calls) > 1  # died merging the items (superseded ones still there), calls unmerged

    loaded = Results.load(tmp_path / "r")
    assert len(loaded.items) == 2 * N_ITEMS and not loaded.items.duplicated(["strategy", "item_id"]).any()
    assert len(loaded.calls) == 2 * N_ITEMS and loaded.calls["call_id"].is_unique

    monkeypatch.setattr(_segments.Segments, "_remove_superseded", real_remove)
    assert len(experiment(tmp_path / "r").run().items) == 2 * N_ITEMS  # nothing left to ask: all were finished
    assert len(list((tmp_path / "r").glob("items-*.parquet"))) == 1


def test_results_leave_the_callers_items_frame_alone() -> None:
    items = pd.DataFrame({"strategy": ["a"], "item_id": [1], "score": ["1"], "cost_usd": [0.1], "repeat": [None]})
    before = items.copy()
    typed = Results(items).items
    pd.testing.assert_frame_equal(items, before)
    assert typed["score"].tolist() == [1.0] and typed["item_id"].tolist() == ["1"]


def test_results_keep_the_calls_they_were_made_with_when_the_run_goes_on(tmp_path: Path) -> None:
    """Calls are read from the run directory on first use: a later resume that adds calls does not change the
    results an earlier run() returned (nor those loaded before it)."""
    model = FunctionModel(adder, name="adder", cost_per_call=0.001)
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(6)]
    first = Experiment(data[:4], [model], scorer="exact", run_dir=tmp_path, progress=False).run()
    loaded = Results.load(tmp_path)
    Experiment(data, [model], scorer="exact", run_dir=tmp_path, progress=False).run()
    assert len(first.calls) == len(loaded.calls) == 4
    assert len(Results.load(tmp_path).calls) == 6


def test_an_item_column_unknown_to_the_store_round_trips_with_its_type(tmp_path: Path) -> None:
    """A column a newer version adds to the item rows (a number, a label, any JSON) is stored and read back."""
    store = _rundir.ItemStore(tmp_path)
    batches = [  # the new column missing, then integers, then floats: one type in every segment, so they merge
        [{"strategy": "s", "item_id": "q0", "repeat": 0, "expected": 1, "ttft_s": None}],
        [{"strategy": "s", "item_id": "q1", "repeat": 0, "expected": "one", "ttft_s": 1, "tag": "x"}],
        [{"strategy": "s", "item_id": "q2", "repeat": 0, "expected": [1], "ttft_s": 0.25, "extra": {"k": [2]}}],
    ]
    for batch in batches:
        for row in batch:
            store.append(row)
        store.compact()
    store.compact(merge=True)
    store.close()
    assert len(list(tmp_path.glob("items-*.parquet"))) == 1
    frame = _rundir.read_items(tmp_path)
    assert frame["expected"].tolist() == [1, "one", [1]]
    assert frame["ttft_s"].tolist()[1:] == [1.0, 0.25] and pd.isna(frame["ttft_s"].iloc[0])
    assert frame["tag"].isna().tolist() == [True, False, True] and frame["tag"].iloc[1] == "x"
    assert frame["extra"].tolist() == [None, None, {"k": [2]}]


def test_a_compacted_segment_holds_what_the_frame_holds_missing_categories_included(tmp_path: Path) -> None:
    """Compaction builds the Arrow table straight from the row store; it must read back as the in-memory frame."""
    from orchestra_lab import CallLog, Fallback, SimulatedModel, StrategyError
    from orchestra_lab.calllog._columnar import frame_of, to_arrow

    down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
    with CallLog() as log:
        SimulatedModel.profile("sim/large").complete("What is 2 + 2?")  # ok rows: no error_type, no caller
        with pytest.raises(StrategyError):
            Fallback([down, down]).complete("What is 3 + 3?")  # error rows: error_type set, callers set
    store = log._rows
    direct, through_pandas = store.to_arrow(), to_arrow(store.to_frame())
    assert direct.schema.equals(through_pandas.schema)
    assert direct.to_pylist() == through_pandas.to_pylist()
    pq.write_table(direct, tmp_path / "segment.parquet")  # Parquet takes no null inside a dictionary
    pd.testing.assert_frame_equal(frame_of([pq.read_table(tmp_path / "segment.parquet")]), store.to_frame())


def test_segments_use_parquet_dictionaries_for_categories_only(tmp_path: Path) -> None:
    """Ids, prompts and answers are written plain (a dictionary page of unique values costs time and size);
    category columns keep their dictionary, so they read back as categories."""
    model = FunctionModel(lambda prompt: prompt.upper(), name="upper")
    data = [{"id": f"q{i}", "input": f"question {i}", "expected": f"QUESTION {i}"} for i in range(30)]
    Experiment(data, {"m": model}, scorer="exact", run_dir=tmp_path, progress=False).run()
    calls = pq.ParquetFile(next(tmp_path.glob("calls-*.parquet")))
    encodings = {
        calls.metadata.row_group(0).column(i).path_in_schema: calls.metadata.row_group(0).column(i).encodings
        for i in range(calls.metadata.num_columns)
    }
    assert "RLE_DICTIONARY" in encodings["name"] and "RLE_DICTIONARY" in encodings["strategy"]
    assert "RLE_DICTIONARY" not in encodings["call_id"] and "RLE_DICTIONARY" not in encodings["prompt"]
    assert isinstance(CallLog.load(tmp_path).to_frame()["name"].dtype, pd.CategoricalDtype)
