"""Call log: stable schema and dtypes, rows on disk as they happen, reload, torn last line, scores."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from orchestra_lab import CallLog, FunctionModel, RateLimitError, Request, SimulatedModel, describe_schema
from orchestra_lab.calllog import COLUMNS, default_log
from orchestra_lab.calllog.context import label


def test_rows_have_the_documented_schema_and_dtypes():
    with CallLog() as log:
        SimulatedModel.profile("sim/small")(Request.of("q", item_id="a", metadata={"expected": 1}))
    frame = log.to_frame()
    assert tuple(frame.columns) == COLUMNS == tuple(describe_schema()["column"])
    for column, dtype in zip(describe_schema()["column"], describe_schema()["dtype"]):
        assert str(frame[column].dtype) == dtype, column
    row = frame.iloc[0]
    assert row["item_id"] == "a" and row["kind"] == "model" and row["status"] == "ok"
    assert row["cost_inr"] == pytest.approx(row["cost_usd"] * 88.0)
    assert pd.isna(row["parent_id"])


def test_empty_log_frame_keeps_schema():
    frame = CallLog().to_frame()
    assert frame.empty and tuple(frame.columns) == COLUMNS


def test_calls_outside_a_block_go_to_the_session_log_and_blocks_nest():
    model = FunctionModel(lambda p: p[::-1], name="rev")
    before = len(default_log())
    model("abc")
    assert len(default_log()) == before + 1
    with CallLog() as outer:
        model("x")
        with CallLog() as inner:
            model("y")
        model("z")
    assert [r["response_text"] for r in outer.rows()] == ["x", "z"]
    assert [r["response_text"] for r in inner.rows()] == ["y"]


def test_label_sets_the_strategy_column():
    with CallLog() as log, label("baseline"):
        SimulatedModel.profile("sim/tiny")("q")
    assert log.rows()[0]["strategy"] == "baseline"


def test_rows_are_on_disk_as_they_happen_and_reload(tmp_path):
    run_dir = tmp_path / "run1"
    log = CallLog(run_dir)
    with log:
        model = SimulatedModel.profile("sim/small")
        model(Request.of("q1", item_id="1"))
        header, *rows = (run_dir / "calls.jsonl").read_text().splitlines()
        assert json.loads(header) == {"_columns": list(COLUMNS)} and len(rows) == 1  # flushed before the next call
        model(Request.of("q2", item_id="2"))
    log.set_score(log.rows()[0]["call_id"], 1.0)
    log.close()
    written = (run_dir / "calls.jsonl").read_bytes()
    again = CallLog.load(run_dir)
    assert (run_dir / "calls.jsonl").read_bytes() == written  # reading a run never writes to it
    assert again.run_id == log.run_id
    pd.testing.assert_frame_equal(again.to_frame(), log.to_frame())
    assert again.to_frame()["score"].tolist()[0] == 1.0


def test_a_crashed_process_loses_no_finished_row(tmp_path):
    script = f"""
import os
from orchestra_lab import CallLog, SimulatedModel, Request
log = CallLog({str(tmp_path / "crash")!r})
with log:
    m = SimulatedModel.profile('sim/small')
    for i in range(5):
        m(Request.of('q', item_id=str(i)))
    log._file.write(b'{{"call_id": "torn')  # a row half-written when the process died
    os._exit(1)
"""
    subprocess.run([sys.executable, "-c", script], check=False)
    written = (tmp_path / "crash" / "calls.jsonl").read_bytes()
    with pytest.warns(UserWarning, match="partly written"):
        log = CallLog.load(tmp_path / "crash")
    assert [r["item_id"] for r in log.rows()] == [str(i) for i in range(5)]
    assert (tmp_path / "crash" / "calls.jsonl").read_bytes() == written  # reading never writes
    with pytest.warns(UserWarning, match="partly written"):
        CallLog(tmp_path / "crash").close()  # opening to record cuts the torn line before appending
    lines = (tmp_path / "crash" / "calls.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines)


def test_a_corrupt_middle_row_is_an_error_naming_file_and_line(tmp_path):
    run_dir = tmp_path / "bad"
    run_dir.mkdir()
    header = json.dumps({"_columns": ["run_id", "call_id"]})
    (run_dir / "calls.jsonl").write_text(f'{header}\n["r", "a"]\nnot json\n["r", "b"]\n')
    with pytest.raises(ValueError, match=r"calls.jsonl:3"):
        CallLog.load(run_dir)


def test_missing_run_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no call log"):
        CallLog.load(tmp_path / "nope")


def test_failed_calls_are_rows_with_error_type():
    def boom(prompt: str) -> str:
        raise ValueError("no")

    with CallLog() as log:
        with pytest.raises(ValueError):
            FunctionModel(boom)("q")
        with pytest.raises(RateLimitError):
            SimulatedModel.profile("sim/small").with_faults(rate_limit=1.0)("q")
    frame = log.to_frame()
    assert frame["status"].tolist() == ["error", "error"]
    assert frame["error_type"].tolist() == ["ValueError", "rate_limit"]
    assert frame["cost_usd"].tolist() == [0.0, 0.0]


def test_unknown_costs_are_nan_and_run_files_stay_strict_json(tmp_path):
    from orchestra_lab import Model, Response

    class Unpriced(Model):
        name = "unpriced"

        async def _acomplete(self, request):
            return Response("x", requested_model=self.name)

    with CallLog(tmp_path / "run") as log:
        Unpriced()("q")
    log.close()
    for line in (tmp_path / "run" / "calls.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert math.isnan(CallLog.load(tmp_path / "run").to_frame()["cost_usd"][0])


def test_rows_batched_before_the_columns_read_back_the_same_in_order_with_scores_set_in_both():
    """Rows wait in a batch before they move into the columns: across batch boundaries, the rows, the frame and
    scores set on a batched row or on one already in the columns all read back as appended."""
    from orchestra_lab.calllog import _store
    from orchestra_lab.calllog.schema import COLUMNS, DEFAULTS

    def row(i: int) -> tuple:
        values = DEFAULTS | {
            "call_id": f"c{i}",
            "name": f"m{i % 3}",
            "kind": "model",
            "cost_usd": i / 10,
            "latency_s": None if i % 2 else 0.5,
            "attempt": 1,
        }
        return tuple(values[name] for name in COLUMNS)

    n = 2 * _store._BATCH + 5
    log = CallLog()
    for i in range(n):
        log.append(row(i))
    log.set_score("c3", 0.25)  # in the columns by now
    log.set_score(f"c{n - 1}", 0.75)  # still batched
    rows = log.rows()
    assert len(log) == n and [r["call_id"] for r in rows] == [f"c{i}" for i in range(n)]
    assert [r["name"] for r in rows[:4]] == ["m0", "m1", "m2", "m0"] and rows[1]["latency_s"] is None
    frame = log.to_frame()
    assert frame["score"].notna().sum() == 2
    assert frame.loc[3, "score"] == 0.25 and frame.loc[n - 1, "score"] == 0.75
    assert frame["cost_usd"].tolist() == [i / 10 for i in range(n)]
    assert frame["latency_s"].isna().sum() == n // 2
