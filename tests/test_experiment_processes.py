"""Experiment(processes=N): offline runs answered in forked worker processes give the run a single process gives --
same items, same calls, same order, same run directory -- and keep what finished when a worker or the parent dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import orchestra_lab
from orchestra_lab import (
    Ensemble,
    Experiment,
    Fallback,
    MajorityVote,
    OpenAICompatible,
    Results,
    Retrying,
    SimulatedModel,
)
from orchestra_lab.experiments import _processes

pytestmark = pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="no fork")

REPO = Path(orchestra_lab.__file__).resolve().parents[1]
VARYING = ["run_id", "call_id", "parent_id", "started_at", "finished_at", "latency_s", "ttft_s", "output_tokens_per_s"]


def dataset(n: int = 60) -> list[dict]:
    return [
        {"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i, "difficulty": (i % 10) / 10}
        for i in range(n)
    ]


def strategies() -> dict:
    small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    flaky = SimulatedModel.profile("sim/small").with_faults(server_error=0.3)
    return {
        "small": small,
        "fallback": Fallback([flaky, large]),
        "vote": Ensemble([small, SimulatedModel.profile("sim/medium"), large], MajorityVote()),
    }


def run(tmp_path: Path, name: str, processes: int, **kwargs) -> Results:
    experiment = Experiment(dataset(), strategies(), "exact", run_dir=tmp_path / name, progress=False,
                            processes=processes, **kwargs)  # fmt: skip
    return experiment.run()


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in VARYING if c in frame.columns]).reset_index(drop=True)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_processes, "BATCH", 16)  # 180 jobs: a dozen batches over the workers


def test_processes_give_the_same_items_and_calls_in_the_same_order(tmp_path: Path, small_batches: None) -> None:
    one, two = run(tmp_path, "one", 1), run(tmp_path, "two", 2)

    assert len(two.items) == 180 and (two.items["status"] != "").all()
    pd.testing.assert_frame_equal(comparable(one.items), comparable(two.items))
    pd.testing.assert_frame_equal(comparable(one.calls), comparable(two.calls))
    reloaded = Results.load(tmp_path / "two")  # what was written is what was returned
    pd.testing.assert_frame_equal(comparable(reloaded.items), comparable(two.items))
    pd.testing.assert_frame_equal(comparable(reloaded.calls), comparable(two.calls))
    assert two.calls["call_id"].is_unique  # ids made in different processes never collide
    parents = set(two.calls["parent_id"].dropna())
    assert parents <= set(two.calls["call_id"])  # every child row's parent is in the log


@pytest.mark.parametrize("where", ["memory", "tails only"])
def test_without_segments_the_rows_come_back_to_the_parent(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """No run directory (or one kept in its tails): the workers send the rows, the parent keeps them in order."""
    from orchestra_lab.experiments import _rundir

    if where == "tails only":
        monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)

    def results(processes: int) -> Results:
        run_dir = None if where == "memory" else tmp_path / str(processes)
        return Experiment(dataset(), strategies(), "exact", run_dir=run_dir, progress=False,
                          processes=processes).run()  # fmt: skip

    one, two = results(1), results(2)
    pd.testing.assert_frame_equal(comparable(one.items), comparable(two.items))
    pd.testing.assert_frame_equal(comparable(one.calls), comparable(two.calls))
    if where == "tails only":
        assert not list((tmp_path / "2").glob("*.parquet"))
        pd.testing.assert_frame_equal(comparable(Results.load(tmp_path / "2").calls), comparable(two.calls))


def test_a_resumed_parallel_run_asks_nothing_again(tmp_path: Path, small_batches: None) -> None:
    first = run(tmp_path, "run", 2)
    again = run(tmp_path, "run", 2)
    assert len(again.items) == len(first.items) == 180
    assert len(again.calls) == len(first.calls)  # no call made twice


def test_workers_write_the_rows_as_segments_and_the_parent_writes_no_row(tmp_path: Path, small_batches: None) -> None:
    """The parent only commits the workers' segments in job order: during the run, the write-ahead tails hold no
    row (a row there would also be read after the segments)."""
    tails: list[tuple[int, int]] = []

    def look(row: dict) -> None:
        run_dir = tmp_path / "run"
        lines = (run_dir / "calls.jsonl").read_text().splitlines()
        tails.append((len(lines), len((run_dir / "items.jsonl").read_text().splitlines())))

    run(tmp_path, "run", 2, on_result=look)
    assert len(tails) == 180 and set(tails) == {(1, 0)}  # the calls tail: its header line only
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_a_parallel_run_resumes_a_run_whose_tails_hold_rows(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows already in the tails (a run stopped before compacting, or written by an older version) are compacted
    before the workers' segments, so the calls stay in the order they were made."""
    from orchestra_lab.experiments import _rundir

    data, models = dataset(), strategies()
    monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)  # tails only
    Experiment(data, {"small": models["small"]}, "exact", run_dir=tmp_path / "run", progress=False).run()
    monkeypatch.undo()
    monkeypatch.setattr(_processes, "BATCH", 16)
    resumed = Experiment(data, models, "exact", run_dir=tmp_path / "run", progress=False, processes=2).run()
    one = Experiment(data, models, "exact", run_dir=tmp_path / "one", progress=False).run()
    assert len(resumed.items) == 180 and not resumed.items.duplicated(["strategy", "item_id"]).any()
    order = ["strategy", "item_id", "name", "status"]
    first = resumed.calls[order].head(60).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, one.calls[order][one.calls["strategy"] == "small"].reset_index(drop=True))
    assert len(resumed.calls) == len(one.calls)  # the small strategy's items were not asked again


def test_on_result_sees_every_row_in_the_parent(tmp_path: Path, small_batches: None) -> None:
    seen: list[tuple[int, str]] = []
    run(tmp_path, "run", 2, on_result=lambda row: seen.append((os.getpid(), row["item_id"])))
    assert len(seen) == 180 and {pid for pid, _ in seen} == {os.getpid()}


def test_unscorable_items_make_one_warning_for_the_whole_run(
    tmp_path: Path, small_batches: None, caplog: pytest.LogCaptureFixture
) -> None:
    data = [{"id": f"q{i}", "input": f"Say {i}", "expected": None} for i in range(40)]  # nothing to score against
    with caplog.at_level(logging.WARNING):
        Experiment(data, {"small": SimulatedModel.profile("sim/small")}, "exact", run_dir=tmp_path / "run",
                   progress=False, processes=2).run()  # fmt: skip
    warned = [r.getMessage() for r in caplog.records if "unscorable" in r.getMessage()]
    assert len(warned) == 1 and "40 item(s) unscorable" in warned[0], warned


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: {"live": OpenAICompatible("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key_env=None)}, "live"),
        (lambda: {"retried": Retrying(SimulatedModel.profile("sim/small"))}, "wraps 'sim/small' in Retrying"),
        (
            lambda: {
                "fb": Fallback([SimulatedModel.profile("sim/small"), Retrying(SimulatedModel.profile("sim/large"))])
            },
            r"strategies\['fb'\] wraps",
        ),
    ],
    ids=["live model", "wrapper", "wrapper inside a strategy"],
)
def test_what_cannot_run_in_processes_is_refused_up_front(tmp_path: Path, make, problem: str) -> None:
    with pytest.raises(ValueError, match=rf"processes=2: .*{problem}"):
        Experiment(dataset(4), make(), "exact", run_dir=tmp_path / "run", progress=False, processes=2)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"processes": 0}, "at least 1"), ({"processes": 2, "max_spend_usd": 1.0}, "spend cap")],
)
def test_bad_process_settings_name_the_problem(tmp_path: Path, kwargs: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Experiment(dataset(4), strategies(), "exact", run_dir=tmp_path / "run", progress=False, **kwargs)


def test_a_worker_that_dies_stops_the_run_keeping_what_finished(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = Experiment._answer_batch

    async def dies_on_its_third_batch(self: Experiment, plan, batch):  # type: ignore[no-untyped-def]
        if int(batch[1][0].item.id[1:]) >= 20 and os.getpid() != parent:  # a later batch, in a worker
            os._exit(3)
        return await answer(self, plan, batch)

    parent = os.getpid()
    monkeypatch.setattr(Experiment, "_answer_batch", dies_on_its_third_batch)
    with pytest.raises(RuntimeError, match=r"worker process \d exited \(code 3\).*run again to resume"):
        run(tmp_path, "run", 2)
    kept = Results.load(tmp_path / "run").items
    assert 0 < len(kept) < 180

    monkeypatch.setattr(Experiment, "_answer_batch", answer)
    resumed = run(tmp_path, "run", 2)
    assert len(resumed.items) == 180 and not resumed.items.duplicated(["strategy", "item_id"]).any()


KILLED_ITEMS = 600
KILLED_PARENT = textwrap.dedent(
    """
    import os, signal, sys
    from orchestra_lab import Experiment, SimulatedModel
    from orchestra_lab.experiments import _processes

    _processes.BATCH = 96  # a batch's answer is larger than a pipe's buffer: a worker sending it waits
    rows = []

    def die_midway(row):
        rows.append(row)
        if len(rows) == 100:
            os.kill(os.getpid(), signal.SIGKILL)

    data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(N_ITEMS)]
    strategies = {"small": SimulatedModel.profile("sim/small"), "large": SimulatedModel.profile("sim/large")}
    Experiment(data, strategies, "exact", run_dir=sys.argv[1], progress=False, processes=2, on_result=die_midway).run()
    """
)


def test_a_parent_killed_mid_run_keeps_every_written_batch_and_resumes(tmp_path: Path) -> None:
    """Also: its workers stop (one blocked sending to a dead parent would hold the test's output pipe open)."""
    script, run_dir = tmp_path / "child.py", tmp_path / "run"
    script.write_text(f"N_ITEMS = {KILLED_ITEMS}\n" + KILLED_PARENT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, str(script), str(run_dir)], env=env, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    kept = Results.load(run_dir)
    assert 100 <= len(kept.items) < 2 * KILLED_ITEMS  # every batch written before the kill (on_result runs after)
    finished = set(zip(kept.items["strategy"], kept.items["item_id"]))

    strategies = {"small": SimulatedModel.profile("sim/small"), "large": SimulatedModel.profile("sim/large")}
    data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(KILLED_ITEMS)]
    resumed = Experiment(data, strategies, "exact", run_dir=run_dir, progress=False, processes=2).run()
    assert len(resumed.items) == 2 * KILLED_ITEMS and not resumed.items.duplicated(["strategy", "item_id"]).any()
    assert not list(run_dir.glob("*.tmp"))  # the segments the killed run's workers left uncommitted are gone
    asked = Counter(zip(resumed.calls["strategy"], resumed.calls["item_id"]))
    assert all(asked[key] == 1 for key in finished)  # a finished item was not asked again


def test_an_error_that_cannot_travel_arrives_as_its_traceback() -> None:
    class Unpicklable(Exception):
        def __reduce__(self):  # type: ignore[no-untyped-def]
            raise TypeError("no")

    try:
        raise Unpicklable("deep inside a worker")
    except Unpicklable as err:
        sent = _processes._sendable(err)
    assert isinstance(sent, RuntimeError) and "deep inside a worker" in str(sent) and "Traceback" in str(sent)
