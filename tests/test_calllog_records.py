"""One call record type built in one place; per-item totals from the span tree; new usage columns; billing of
abandoned calls; deadlines through retries in computed time; the layering of the package."""

from __future__ import annotations

import ast
import contextlib
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from orchestra_lab import CallLog, CallTimeoutError, Experiment, FunctionModel, Price, SimulatedModel
from orchestra_lab.calllog import context
from orchestra_lab.calllog.schema import COLUMNS, DTYPES
from orchestra_lab.models.base import Model
from orchestra_lab.runtime import Budget, Cached, ResponseCache, Retrying, Timed
from orchestra_lab.strategies import Fallback
from orchestra_lab.types import Request, Response, Usage

PACKAGE = Path(__file__).resolve().parents[1] / "orchestra_lab"


# -- one record type --------------------------------------------------------------------------------------------


def test_a_call_is_one_slotted_record_whose_fields_are_the_schema():
    from orchestra_lab.calllog.record import CallRecord

    assert hasattr(CallRecord, "__slots__") and not hasattr(context, "record_call")
    names = [name for name in CallRecord.__dataclass_fields__ if not name.startswith("_")]
    assert tuple(names[: len(COLUMNS)]) == COLUMNS


def test_wrappers_and_the_cache_add_facts_to_the_one_record(tmp_path):
    from orchestra_lab.calllog.record import CallRecord

    seen: list[CallRecord] = []
    cached = Cached(SimulatedModel.profile("sim/small"), ResponseCache(tmp_path))
    with CallLog() as log:
        cached("What is 2 + 2?")
        cached("What is 2 + 2?")
        seen.append(context.current_span())
    rows = log.rows()
    assert [r["kind"] for r in rows] == ["model", "cache"] and rows[1]["cache_hit"] and rows[1]["billing"] == "known"
    assert seen == [None]


def test_the_experiment_uses_a_call_log_and_reads_item_totals_off_the_span_tree(tmp_path):
    from orchestra_lab.experiments import run

    assert not any(isinstance(v, type) and issubclass(v, CallLog) for v in vars(run).values() if v is not CallLog)
    flaky = SimulatedModel.profile("sim/small").with_faults(server_error=0.5)
    strategies = {
        "retried": Retrying(flaky, max_attempts=4),  # a wrapper as the strategy: every attempt is top level
        "fallback": Fallback([flaky, SimulatedModel.profile("sim/large")]),
        "cached": Cached(SimulatedModel.profile("sim/tiny"), ResponseCache(tmp_path / "cache")),
    }
    data = [{"id": f"q{i % 3}-{i}", "input": f"What is {i % 3} + 1?", "expected": i % 3 + 1} for i in range(12)]
    results = Experiment(data, strategies, run_dir=tmp_path / "run", progress=False).run()
    calls = results.calls
    for row in results.items.to_dict("records"):
        mine = calls[(calls["item_id"] == row["item_id"]) & (calls["strategy"] == row["strategy"])]
        parents = set(mine["parent_id"].dropna())
        leaves = mine[~mine["call_id"].isin(parents)]
        assert row["calls"] == len(leaves) and row["cache_hits"] == int(leaves["cache_hit"].sum())
        tops = mine[mine["parent_id"].isna()]
        assert row["cost_usd"] == pytest.approx(tops["cost_usd"].sum(), rel=1e-12, abs=0)
        assert row["call_id"] == tops["call_id"].iloc[-1]


def test_one_config_fingerprint_for_the_cache_and_the_run(tmp_path):
    from orchestra_lab import _fingerprint
    from orchestra_lab.runtime import cache

    model = Fallback([SimulatedModel.profile("sim/tiny", seed=3), SimulatedModel.profile("sim/small")])
    Experiment([{"id": "q", "input": "1 + 1?", "expected": 2}], {"m": model}, run_dir=tmp_path, progress=False).run()
    stored = pd.read_json(tmp_path / "run.json", typ="series")["strategies"]["m"]
    assert stored == _fingerprint.model_config(model, code=False)
    assert not hasattr(cache, "_render_model")


# -- layering ---------------------------------------------------------------------------------------------------

LAYERS = [
    [
        *("_secrets", "_jsonl", "_segments", "_sync", "_introspect", "_template", "_judging", "_notebook", "_answers"),
        *("_answer_key", "_thresholds", "_capabilities", "_shipped", "errors", "types", "pricing"),
        "streaming",
    ],
    ["calllog"],
    ["models"],
    ["_fingerprint"],
    ["runtime"],
    ["strategies"],
    ["experiments"],
    ["sweep", "ui", "_demo", "_compare_runs", "cli"],
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """orchestra_lab modules ``path`` imports (TYPE_CHECKING blocks left out)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(nodes: list[ast.stmt], nested: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse, nested)
                continue
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                if base.startswith("orchestra_lab"):
                    found.add(base)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("orchestra_lab"))
            if not top_level_only or not nested:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit(inner, nested or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))

    visit(tree.body, False)
    return found


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return -1 if not top or top == "__init__" else len(LAYERS)


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        if module == "orchestra_lab":
            continue  # the package front door re-exports everything, lazily
        assert _layer(module) < len(LAYERS), f"{module}: place its subpackage or module in LAYERS"
        for imported in _imports(path, top_level_only=False):
            if imported != "orchestra_lab" and _layer(imported) > _layer(module):
                upward.append(f"{module} -> {imported}")
    assert not upward, upward


def test_no_import_cycles_between_subpackages():
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        graph.setdefault(module, set()).update(i for i in _imports(path, top_level_only=True) if i != module)

    def package_of(name: str) -> str:
        return ".".join(name.split(".")[:2])

    edges = {(package_of(a), package_of(b)) for a, bs in graph.items() for b in bs if package_of(a) != package_of(b)}
    edges = {(a, b) for a, b in edges if a != "orchestra_lab" and b != "orchestra_lab"}
    cycles = [(a, b) for a, b in edges if (b, a) in edges]
    assert not cycles, cycles


FRONT_DOOR = 2  # ``import orchestra_lab`` loads the layers up to models (CallLog, the models), no higher


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_each_layer_imports_alone_in_a_fresh_interpreter(layer):
    """Importing a layer (after the package's front door) loads nothing above it."""
    names = [f"orchestra_lab.{n}" for n in LAYERS[layer] if (PACKAGE / n).exists() or (PACKAGE / f"{n}.py").exists()]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    above = [n for later in LAYERS[max(layer, FRONT_DOOR) + 1 :] for n in later]
    code += (
        f"higher = sorted(m for m in sys.modules if m.startswith('orchestra_lab.') and m.split('.')[1] in {above!r})\n"
    )
    code += "assert not higher, higher\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


# -- new usage columns ------------------------------------------------------------------------------------------


def test_usage_carries_prompt_cache_and_reasoning_tokens_and_adds_them():
    a = Usage(100, 50, cached_input_tokens=60, cache_write_tokens=10, reasoning_tokens=30)
    b = Usage(10, 5, reasoning_tokens=2)
    assert a + b == Usage(110, 55, False, 60, 10, 32)
    assert Usage(1, 2).cached_input_tokens is None


def test_the_new_columns_come_last_and_strategy_rows_sum_them():
    added = COLUMNS[COLUMNS.index("cached_input_tokens") :][:4]
    assert added == ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "billing")
    assert [DTYPES[c] for c in added] == ["Int64", "Int64", "Int64", "category"]

    class Thinker(Model):
        name = "thinker"

        async def _acomplete(self, request: Request) -> Response:
            usage = Usage(100, 40, cached_input_tokens=80, cache_write_tokens=20, reasoning_tokens=30)
            return Response("ok", requested_model=self.name, usage=usage, cost_usd=0.001)

    with CallLog() as log:
        Fallback([Thinker(), Thinker()])("hi")
        FunctionModel(str.upper)("hi")
    frame = log.to_frame()
    leaf, strategy, plain = frame.iloc[0], frame.iloc[1], frame.iloc[2]
    assert (leaf["cached_input_tokens"], leaf["cache_write_tokens"], leaf["reasoning_tokens"]) == (80, 20, 30)
    assert strategy["kind"] == "strategy" and strategy["reasoning_tokens"] == 30 and strategy["billing"] == "known"
    assert pd.isna(plain["reasoning_tokens"]) and plain["billing"] == "known"


def test_an_old_run_directory_without_the_new_columns_still_loads(tmp_path):
    old = [c for c in COLUMNS if c not in ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "billing")]
    row = {c: None for c in old} | {
        "run_id": "r",
        "call_id": "c1",
        "attempt": 1,
        "status": "ok",
        "cache_hit": False,
        "tokens_estimated": False,
        "input_tokens": 3,
        "cost_usd": 0.5,
    }
    (tmp_path / "calls.jsonl").write_text(
        pd.io.json.ujson_dumps({"_columns": old}) + "\n" + pd.io.json.ujson_dumps([row[c] for c in old]) + "\n"
    )
    frame = CallLog.load(tmp_path).to_frame()
    assert frame["input_tokens"].tolist() == [3] and pd.isna(frame["reasoning_tokens"].iloc[0])
    assert pd.isna(frame["billing"].iloc[0])


# -- abandoned live calls (#11.9) and budget messages (#11.12) ----------------------------------------------------


def _local(server, **kwargs):
    openai = pytest.importorskip("orchestra_lab.models.openai")
    return openai.OpenAICompatible.vllm(
        "some-model", base_url=server.openai_url, price=Price(input_per_1m=1.0, output_per_1m=4.0), **kwargs
    )


def test_a_live_call_abandoned_at_the_client_timeout_has_an_unknown_cost(fake_server):
    fake_server.hang_s = 0.6
    fake_server.script(["hang"])
    with CallLog() as log, pytest.raises(CallTimeoutError):
        _local(fake_server, timeout_s=0.2)("What is 6 * 7?")
    row = log.to_frame().iloc[0]
    assert row["error_type"] == "timeout" and math.isnan(row["cost_usd"]) and row["billing"] == "unknown"


def test_a_live_call_cancelled_by_timed_has_an_unknown_cost_and_its_strategy_too(fake_server):
    fake_server.hang_s = 0.6
    fake_server.script(["hang"])
    with CallLog() as log, pytest.raises(CallTimeoutError):
        Timed(Fallback([_local(fake_server)]), timeout_s=0.2)("What is 6 * 7?")
    leaf, strategy = (row for _, row in log.to_frame().iterrows())
    assert math.isnan(leaf["cost_usd"]) and leaf["billing"] == "unknown"
    assert math.isnan(strategy["cost_usd"]) and strategy["billing"] == "unknown"


def test_the_budget_counts_abandoned_calls_so_the_server_never_bills_past_the_cap(fake_server):
    price = Price(input_per_1m=1.0, output_per_1m=4.0)
    fake_server.hang_s, fake_server.usage = 0.4, (10, 20)  # within the budget's worst case for these requests
    fake_server.set_rates({"hang": 0.5, "ok": 0.5}, seed=3)
    model = _local(fake_server, timeout_s=0.1)
    budget = Budget(max_usd=0.0005)
    with CallLog(), budget:
        for i in range(60):
            with contextlib.suppress(Exception):
                model(f"Question {i}", max_tokens=20)
    fake_server.stop()  # hangs still running are answered now: the server bills them
    answered = fake_server.counts["ok"] + fake_server.counts["hang"]
    billed = answered * price.cost(*fake_server.usage)
    assert budget.refused > 0 and billed <= budget.cap_usd
    assert budget.spent_usd <= budget.cap_usd


def test_a_run_stopped_by_an_unknown_price_says_so(tmp_path):
    class Unpriced(Model):
        name = "mystery-model-9000"

        async def _acomplete(self, request: Request) -> Response:
            return Response("?", requested_model=self.name, cost_usd=math.nan)

    data = [{"id": "q", "input": "1 + 1?", "expected": 2}]
    experiment = Experiment(data, [Unpriced()], run_dir=tmp_path, progress=False, max_spend_usd=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiment.run()
    messages = [str(w.message) for w in caught]
    assert any("price unknown" in m and "set_price" in m and "mystery-model-9000" in m for m in messages), messages
    assert not any("spend cap reached" in m for m in messages)


# -- deadlines through retries in computed time (#12.11) ----------------------------------------------------------


class CountingSim(SimulatedModel):
    calls = 0

    async def _acomplete(self, request: Request) -> Response:
        type(self).calls += 1
        return await super()._acomplete(request)


def test_timed_retries_in_computed_time_start_no_attempt_past_the_deadline():
    CountingSim.calls = 0
    sim = CountingSim(**SimulatedModel.profile("sim/small").with_faults(server_error=0.6).get_config())
    timed = Timed(Retrying(sim, max_attempts=6, base_delay_s=1.0, jitter=0), timeout_s=2.0)
    outcomes = []
    with CallLog() as log:
        for i in range(6):
            try:
                outcomes.append(timed(f"Question {i}?").latency_s)
            except CallTimeoutError as err:
                outcomes.append(err.latency_s)
    frame = log.to_frame()
    assert len(frame) == CountingSim.calls  # one row a real call: no synthetic timeout row
    assert all(latency <= 2.0 for latency in outcomes) and 2.0 in outcomes
    assert (frame["latency_s"] <= 2.0).all()


def test_an_experiment_counts_only_the_calls_timed_retries_made(tmp_path):
    CountingSim.calls = 0
    sim = CountingSim(**SimulatedModel.profile("sim/small").with_faults(server_error=0.6).get_config())
    timed = Timed(Retrying(sim, max_attempts=6, base_delay_s=1.0, jitter=0), timeout_s=2.0)
    data = [{"id": f"q{i}", "input": f"Question {i}?", "expected": "x"} for i in range(6)]
    results = Experiment(data, {"t": timed}, run_dir=tmp_path, progress=False).run()
    assert results.items["calls"].sum() == CountingSim.calls == len(results.calls)


def _run_without_loop(coro):
    """Drive a coroutine that never waits (replayed models) to its end, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the call waited")


def test_finished_calls_leave_no_reference_cycles_for_the_garbage_collector():
    """A finished call's record, response and error are freed by reference counting: the cyclic collector finds
    nothing to collect after a fallback whose first attempt failed (cycles made every call cost GC time)."""
    import gc

    from orchestra_lab import ReplayModel
    from orchestra_lab.experiments.replay import RecordedOutcomes

    outcomes = RecordedOutcomes.from_arrays(
        ["q1"], ["flaky", "large"], scores=[[1.0, 1.0]], costs=[[0.1, 0.2]], responses=[[None, "B"]]
    )
    fallback = Fallback([ReplayModel(outcomes, "flaky"), ReplayModel(outcomes, "large")])
    request = Request.of("Which one?", item_id="q1")
    with CallLog() as log:
        _run_without_loop(fallback.acomplete(request))  # warm up: first-call caches are no cycles of a call
        gc.disable()
        try:
            gc.collect()
            response = _run_without_loop(fallback.acomplete(request))
            unreachable = gc.collect()
        finally:
            gc.enable()
    assert (response.text, response.cost_usd, len(log)) == ("B", pytest.approx(0.2), 6)
    assert unreachable == 0
