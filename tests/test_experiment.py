"""Experiment: every strategy x item x repeat once, logged, scored, bounded, capped, and resumable after a stop."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from orchestra_lab import CallLog, FunctionModel, Request, ServerError, SimulatedModel
from orchestra_lab.experiments.results import Results
from orchestra_lab.experiments.run import Experiment

N_ITEMS = 12


def dataset(n: int = N_ITEMS, name: str = "arith") -> list[dict]:
    return [{"id": f"q{i}", "input": f"What is {i} + 1?", "expected": i + 1, "category": "add"} for i in range(n)]


def right_answer(request: Request) -> str:
    """The right answer to a ``dataset()`` question, worked out from the prompt (requests carry no answer key)."""
    return str(int(re.fullmatch(r"What is (\d+) \+ 1\?", request.prompt).group(1)) + 1)


def counting_model(name: str, answered: list, *, stop_after: int | None = None, stop_with: type = KeyboardInterrupt):
    """Answers right and records each answered (paid) call; raises ``stop_with`` once ``stop_after`` are answered."""

    async def answer(request: Request) -> str:
        await asyncio.sleep(0)  # a real suspension point, so other workers have calls in flight
        if stop_after is not None and len(answered) >= stop_after:
            raise stop_with()
        answered.append((name, request.item_id, request.seed))
        return right_answer(request)

    return FunctionModel(answer, name=name, cost_per_call=0.001)


def quiet(data, strategies, tmp_path: Path, **kwargs) -> Experiment:
    return Experiment(data, strategies, "exact", run_dir=tmp_path / "run", progress=False, **kwargs)


def test_every_strategy_item_repeat_runs_once_with_labels_scores_and_seeds(tmp_path):
    answered: list = []
    strategies = {"a": counting_model("model-a", answered), "b": counting_model("model-b", answered)}
    results = quiet(dataset(), strategies, tmp_path, seeds=[7, 8]).run()

    every = {(m, f"q{i}", s) for m in ("model-a", "model-b") for i in range(N_ITEMS) for s in (7, 8)}
    assert Counter(answered) == dict.fromkeys(every, 1)
    items = results.items
    assert len(items) == 2 * N_ITEMS * 2
    assert set(items["repeat"]) == {0, 1} and items.groupby("repeat")["seed"].unique().map(list).tolist() == [[7], [8]]
    assert (items["score"] == 1.0).all() and (items["status"] == "ok").all()
    roots = results.calls[results.calls["parent_id"].isna()].set_index("call_id")
    assert roots.loc[items["call_id"], "strategy"].astype(str).tolist() == items["strategy"].tolist()
    assert roots.loc[items["call_id"], "score"].tolist() == items["score"].tolist()  # set_score on the root row
    assert items["cost_usd"].tolist() == pytest.approx([0.001] * len(items))


def test_system_and_params_reach_every_request(tmp_path):
    seen: list[Request] = []

    def answer(request: Request) -> str:
        seen.append(request)
        return "x"

    model = FunctionModel(answer, name="f")
    quiet(dataset(3), [model], tmp_path, system="Be brief.", params={"temperature": 0.0}).run()
    assert {(r.system, r.temperature) for r in seen} == {("Be brief.", 0.0)}


def test_a_failing_strategy_gives_error_rows_with_score_zero_and_the_run_goes_on(tmp_path):
    def flaky(prompt: str) -> str:
        if "3 + 1" in prompt:
            raise ServerError("boom", status=503)
        return prompt.split()[2]

    results = quiet(dataset(5), {"flaky": FunctionModel(flaky, name="flaky")}, tmp_path).run()
    items = results.items.set_index("item_id")
    assert len(items) == 5
    assert items.loc["q3", ["status", "error_type", "score"]].tolist() == ["error", "server", 0.0]
    assert "boom" in items.loc["q3", "error"]
    assert (items.drop("q3")["status"] == "ok").all()


def test_a_failing_scorer_gives_score_error_rows_with_nan_scores(tmp_path):
    def broken_scorer(output: str, expected: object) -> bool:
        raise RuntimeError("scorer bug")

    model = SimulatedModel.profile("sim/small")
    results = Experiment(dataset(3), [model], broken_scorer, run_dir=tmp_path / "r", progress=False).run()
    assert set(results.items["status"]) == {"score_error"}
    assert results.items["score"].isna().all()
    assert set(results.items["error_type"]) == {"scorer"} and "scorer bug" in results.items["error"].iloc[0]


@pytest.mark.parametrize("stop_with", [KeyboardInterrupt, type("Crash", (BaseException,), {})])
def test_an_interrupted_run_resumes_without_paying_anything_twice(tmp_path, stop_with):
    answered: list = []
    first = {
        "a": counting_model("model-a", answered, stop_after=9, stop_with=stop_with),
        "b": counting_model("model-b", answered, stop_after=9, stop_with=stop_with),
    }
    with pytest.raises(stop_with):
        quiet(dataset(), first, tmp_path, concurrency=3, run_id="r1").run()
    assert len(answered) == 9
    first_calls = {row["call_id"] for row in CallLog.load(tmp_path / "run").rows()}
    assert len(Results.load(tmp_path / "run").items) == 9  # every answered call was a finished, written item

    second = {"a": counting_model("model-a", answered), "b": counting_model("model-b", answered)}
    results = quiet(dataset(), second, tmp_path, concurrency=3, run_id="r1").run()

    assert len(answered) == 2 * N_ITEMS and len(set(answered)) == 2 * N_ITEMS  # all paid once, none twice
    assert len(results.items) == 2 * N_ITEMS
    assert first_calls <= set(results.calls["call_id"])  # the first session's calls are kept in the log


def test_a_killed_process_loses_no_finished_work(tmp_path):
    ledger = tmp_path / "paid.txt"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from orchestra_lab import FunctionModel
        from orchestra_lab.experiments.run import Experiment

        def model(name):
            def answer(request):
                with open({str(ledger)!r}, "a") as f:
                    f.write(f"{{name}} {{request.item_id}}\\n")
                return str(int(request.prompt.split()[2]) + 1)  # "What is i + 1?": requests carry no answer
            return FunctionModel(answer, name=name)

        rows = []
        def die_after_five(row):
            rows.append(row)
            if len(rows) == 5:
                os._exit(3)

        data = [{{"id": f"q{{i}}", "input": f"What is {{i}} + 1?", "expected": i + 1}} for i in range({N_ITEMS})]
        Experiment(data, [model("a"), model("b")], "exact", run_dir={str(tmp_path / "run")!r}, concurrency=1,
                   progress=False, on_result=die_after_five).run()
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert killed.returncode == 3, killed.stderr
    assert len(ledger.read_text().splitlines()) == 5

    def model(name: str) -> FunctionModel:
        def answer(request: Request) -> str:
            with ledger.open("a") as f:
                f.write(f"{name} {request.item_id}\n")
            return right_answer(request)

        return FunctionModel(answer, name=name)

    results = quiet(dataset(), [model("a"), model("b")], tmp_path).run()
    paid = ledger.read_text().splitlines()
    assert len(paid) == 2 * N_ITEMS and len(set(paid)) == 2 * N_ITEMS
    assert len(results.items) == 2 * N_ITEMS and (results.items["score"] == 1).all()


@pytest.fixture
def tails_only(monkeypatch):
    """Runs that never compact: their rows stay in the JSON-lines tails, as a killed run leaves them."""
    from orchestra_lab.experiments import _rundir

    monkeypatch.setattr(_rundir, "COMPACT_ROWS", None)


def test_a_torn_last_item_line_is_dropped_and_that_item_asked_again(tmp_path, tails_only):
    answered: list = []
    quiet(dataset(3), [counting_model("m", answered)], tmp_path).run()
    items_file = tmp_path / "run" / "items.jsonl"
    lines = items_file.read_text().splitlines(keepends=True)
    items_file.write_text("".join(lines[:-1]) + lines[-1][:20])  # the process died while writing the last row

    results = quiet(dataset(3), [counting_model("m", answered)], tmp_path).run()
    assert [a[1] for a in answered] == ["q0", "q1", "q2", "q2"]
    assert len(results.items) == 3
    assert [json.loads(line)["item_id"] for line in items_file.read_text().splitlines()] == ["q0", "q1", "q2"]


def test_concurrency_bound_is_respected_and_used(tmp_path):
    active, peak = 0, 0

    async def slow(prompt: str) -> str:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return "x"

    quiet(dataset(), [FunctionModel(slow, name="slow")], tmp_path, concurrency=3).run()
    assert peak == 3


def test_progress_false_is_silent_and_progress_true_shows_a_bar(tmp_path, capfd):
    model = SimulatedModel.profile("sim/tiny")
    Experiment(dataset(4), [model], run_dir=tmp_path / "quiet", progress=False).run()
    assert capfd.readouterr() == ("", "")
    Experiment(dataset(4), [model], run_dir=tmp_path / "loud", progress=True).run()
    assert "4/4" in capfd.readouterr().err


def test_on_result_sees_every_row_as_it_is_written(tmp_path):
    seen: list[dict] = []
    results = quiet(dataset(4), [SimulatedModel.profile("sim/tiny")], tmp_path, on_result=seen.append).run()
    assert [row["item_id"] for row in seen] == results.items["item_id"].tolist() == ["q0", "q1", "q2", "q3"]


def test_spend_cap_stops_the_run_and_a_higher_cap_finishes_it_without_repeats(tmp_path):
    answered: list = []
    with pytest.warns(UserWarning, match="spend cap reached"):
        capped = quiet(dataset(), [counting_model("m", answered)], tmp_path, concurrency=1, max_spend_usd=0.0045).run()
    assert len(answered) == 4 and len(capped.items) == 4
    assert capped.items["cost_usd"].sum() <= 0.0045 and set(capped.items["status"]) == {"ok"}

    with pytest.warns(UserWarning, match="spend cap reached"):  # the cap counts earlier sessions' spend
        quiet(dataset(), [counting_model("m", answered)], tmp_path, max_spend_usd=0.0045).run()
    assert len(answered) == 4

    done = quiet(dataset(), [counting_model("m", answered)], tmp_path, max_spend_inr=1000.0).run()
    assert len(done.items) == N_ITEMS and len(set(answered)) == len(answered) == N_ITEMS


def test_resuming_with_another_dataset_is_refused(tmp_path):
    quiet(dataset(2), [SimulatedModel.profile("sim/tiny")], tmp_path).run()
    from orchestra_lab.experiments.dataset import load_dataset

    other = load_dataset(dataset(2), name="other")
    with pytest.raises(ValueError, match="dataset 'list', not 'other'"):
        quiet(other, [SimulatedModel.profile("sim/tiny")], tmp_path).run()


def test_run_id_names_the_default_run_dir_and_a_second_experiment_resumes_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    answered: list = []
    first = Experiment(dataset(3), [counting_model("m", answered)], run_id="demo", progress=False)
    assert first.run_dir == Path("orchestra_runs") / "demo"
    first.run()
    again = Experiment(dataset(3), [counting_model("m", answered)], run_id="demo", progress=False).run()
    assert len(answered) == 3 and len(again.items) == 3
    config = json.loads((tmp_path / "orchestra_runs" / "demo" / "run.json").read_text())
    assert config["dataset"] == {"name": "list", "size": 3, "hash": config["dataset"]["hash"]}
    assert len(config["dataset"]["hash"]) == 16 and config["status"] == "complete"
    assert config["scorer"] == "numeric"  # the default
    assert list(config["strategies"]) == ["m"] and len(config["sessions"]) == 2
    assert "library_version" in config and "created_at" in config


def test_bad_setups_are_refused_with_clear_errors(tmp_path):
    tiny = SimulatedModel.profile("sim/tiny")
    with pytest.raises(ValueError, match="two strategies are named 'sim/tiny'"):
        Experiment(dataset(2), [tiny, tiny])
    with pytest.raises(ValueError, match="one seed per repeat"):
        Experiment(dataset(2), [tiny], repeats=3, seeds=[1, 2])
    with pytest.raises(ValueError, match="not both"):
        Experiment(dataset(2), [tiny], max_spend_usd=1.0, max_spend_inr=80.0)
    with pytest.raises(TypeError, match=r"strategies\['x'\]: expected a Model"):
        Experiment(dataset(2), {"x": "sim/tiny"})


def test_a_wrapper_as_the_strategy_counts_every_attempt(tmp_path):
    """Retrying logs no row of its own: each attempt is top-level; the item row must add them up."""
    from orchestra_lab.runtime import Retrying

    flaky = SimulatedModel.profile("sim/medium").with_faults(server_error=0.5)
    retrying = Retrying(flaky, max_attempts=6, seed=0)  # simulated: waits are computed, not slept
    results = quiet(dataset(), {"retry": retrying}, tmp_path).run()
    calls = results.calls
    for row in results.items.itertuples():
        attempts = calls[(calls["item_id"] == row.item_id) & calls["parent_id"].isna()]
        assert row.cost_usd == pytest.approx(attempts["cost_usd"].sum())
        assert row.call_id == attempts["call_id"].iloc[-1]  # the last attempt is the outcome
        assert row.latency_s >= attempts["latency_s"].sum() - 1e-9  # every attempt, plus the waits between them
    assert (results.items["calls"] > 1).any()


def test_a_refusal_inside_an_ensemble_stops_the_run_and_leaves_the_item_to_resume(tmp_path):
    from orchestra_lab import Ensemble
    from orchestra_lab.runtime.budget import worst_case_cost

    medium = SimulatedModel.profile("sim/medium")
    data = [{"id": "q0", "input": "What is 3 + 4?", "expected": 7, "difficulty": 0.5}]
    cap = 2.5 * worst_case_cost(medium, Request.of(data[0]["input"], max_tokens=50))  # two members of three
    vote = {"vote": Ensemble.self_consistency(medium, n=3)}
    with pytest.warns(UserWarning, match="spend cap reached"):
        capped = quiet(data, vote, tmp_path, max_spend_usd=cap, params={"max_tokens": 50}).run()
    assert capped.items.empty  # not voted with two members and stored as finished
    assert capped.calls["error_type"].value_counts().to_dict() == {"budget": 2}  # the refused member and the vote
    done = quiet(data, vote, tmp_path, params={"max_tokens": 50}).run()
    assert done.items[["status", "calls"]].values.tolist() == [["ok", 3]]


def test_a_refused_judge_leaves_the_item_unscored_and_a_resumed_run_scores_it(tmp_path):
    from orchestra_lab.experiments.scorers import LLMJudge

    def make(cap: float | None) -> Experiment:
        judge = LLMJudge(SimulatedModel.profile("sim/large"))
        tiny = SimulatedModel.profile("sim/tiny")
        return Experiment(dataset(3), [tiny], judge, run_dir=tmp_path / "r", progress=False, max_spend_usd=cap)

    with pytest.warns(UserWarning, match="spend cap reached"):
        capped = make(0.0006).run()  # enough for the tiny answers, not for a large judge
    assert capped.items.empty
    assert capped.calls.loc[capped.calls["strategy"] == "judge", "error_type"].tolist() == ["budget"]
    done = make(None).run()
    assert set(done.items["status"]) == {"ok"} and done.items["score"].notna().all() and len(done.items) == 3


def test_unscorable_items_are_written_as_strict_json_and_read_back_as_nan(tmp_path, tails_only):
    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda token: pytest.fail(f"not JSON: {token}"))

    model = SimulatedModel.profile("sim/small")
    unscorable = Experiment(dataset(2), [model], lambda output, expected: None, run_dir=tmp_path / "r", progress=False)
    assert unscorable.run().items["score"].isna().all()
    rows = [strict(line) for line in (tmp_path / "r" / "items.jsonl").read_text().splitlines()]
    assert [row["score"] for row in rows] == [None, None]
    assert Results.load(tmp_path / "r").items["score"].isna().all()
    assert unscorable.run().items["score"].isna().all()  # resumed: read back from items.jsonl


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"params": {"temperature": 0.7}}, "params"),
        ({"system": "Be terse."}, "system"),
        ({"seeds": [2]}, "seeds"),
        ({"strategies": {"m": SimulatedModel.profile("sim/small", seed=9)}}, "strategy 'm'"),
    ],
)
def test_resuming_with_another_configuration_is_refused_naming_the_change(tmp_path, change, named):
    setup = {"strategies": {"m": SimulatedModel.profile("sim/small")}, "params": {"temperature": 0.0}, "seeds": [1]}
    quiet(dataset(2), **setup, tmp_path=tmp_path).run()
    with pytest.raises(ValueError, match=rf"{re.escape(named)} .*, not .*; use a new run_id"):
        quiet(dataset(2), **(setup | change), tmp_path=tmp_path).run()


def test_a_resumed_run_may_add_strategies_and_repeats(tmp_path):
    answered: list = []
    quiet(dataset(2), {"a": counting_model("a", answered)}, tmp_path, seeds=[1]).run()
    more = {"a": counting_model("a", answered), "b": counting_model("b", answered)}
    results = quiet(dataset(2), more, tmp_path, seeds=[1, 2]).run()
    assert len(results.items) == 2 * 2 * 2 and len(answered) == len(set(answered)) == 8


def test_error_rows_count_as_finished_until_forgotten(tmp_path):
    healthy: list[bool] = [False]

    def sometimes(prompt: str) -> str:
        if not healthy[0] and "1 + 1" in prompt:
            raise ServerError("down", status=503)
        return prompt.split()[2]

    experiment = quiet(dataset(3), {"m": FunctionModel(sometimes, name="m")}, tmp_path)
    assert experiment.run().items["status"].tolist() == ["ok", "error", "ok"]
    healthy[0] = True
    assert experiment.run().items["status"].tolist() == ["ok", "error", "ok"]  # paid for: not asked again
    assert experiment.forget_errors() == 1
    results = experiment.run()
    assert results.items.set_index("item_id").loc["q1", "status"] == "ok" and len(results.items) == 3
    assert experiment.forget_errors() == 0
