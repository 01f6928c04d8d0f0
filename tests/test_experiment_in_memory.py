"""Experiment(run_dir=None): everything in memory, nothing written anywhere; leaving run_dir out keeps the default
run directory ./orchestra_runs/<run_id>."""

from __future__ import annotations

from pathlib import Path

from orchestra_lab import SimulatedModel
from orchestra_lab.experiments.results import Results
from orchestra_lab.experiments.run import RUNS_DIR, Experiment

DATA = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(5)]


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*"))


def test_run_dir_none_writes_nothing_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(DATA, [SimulatedModel.profile("sim/small")], run_dir=None, progress=False)
    results = experiment.run()
    assert files_under(tmp_path) == []
    assert experiment.run_dir is None and results.run_dir is None
    assert len(results.items) == 5 and (results.items["status"] == "ok").all()
    assert len(results.calls) == 5 and set(results.calls["run_id"]) == {experiment.run_id}
    assert results.config["run_id"] == experiment.run_id
    assert "run_dir=None" in repr(experiment)


def test_without_a_run_directory_nothing_resumes_and_nothing_is_left_to_forget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flaky = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
    experiment = Experiment(DATA, [flaky], run_dir=None, progress=False)
    first = experiment.run()
    assert (first.items["status"] == "error").all()
    assert experiment.forget_errors() == 0
    again = experiment.run()  # asked again from scratch: the calls of the first run are not carried over
    assert len(again.items) == 5 and len(again.calls) == len(first.calls)
    assert files_under(tmp_path) == []


def test_leaving_run_dir_out_keeps_the_default_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(DATA, [SimulatedModel.profile("sim/small")], progress=False)
    experiment.run()
    assert experiment.run_dir == Path(RUNS_DIR) / experiment.run_id
    assert len(Results.load(tmp_path / RUNS_DIR / experiment.run_id).items) == 5
