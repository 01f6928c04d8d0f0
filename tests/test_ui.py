"""orchestra_lab.ui: the run dashboard and the results explorer, headless (widget state and HTML, no browser)."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import ipywidgets
import pandas as pd
import pytest

from orchestra_lab import SimulatedModel
from orchestra_lab.calllog import call_tree
from orchestra_lab.experiments.run import Experiment
from orchestra_lab.pricing import usd_to_inr
from orchestra_lab.ui import ResultsExplorer, RunDashboard, call_tree_html, filter_items
from orchestra_lab.ui._compat import IPYWIDGETS_MAJOR, tooltip
from orchestra_lab.ui.dashboard import StrategyProgress, money


def row(strategy: str = "cheap", score: float | None = 1.0, cost: float | None = 0.01, latency: float = 0.5,
        status: str = "ok") -> dict:  # fmt: skip
    return {"strategy": strategy, "item_id": "q", "score": score, "cost_usd": cost, "latency_s": latency,
            "status": status}  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeScheduler:
    """Records scheduled callbacks; the returned handle can be cancelled like a threading.Timer."""

    class Handle:
        def __init__(self, callback) -> None:
            self.callback, self.cancelled = callback, False

        def cancel(self) -> None:
            self.cancelled = True

    def __init__(self) -> None:
        self.handles: list[FakeScheduler.Handle] = []

    def __call__(self, delay: float, callback) -> Handle:
        self.handles.append(self.Handle(callback))
        return self.handles[-1]

    def live(self) -> list:
        return [h for h in self.handles if not h.cancelled]


# -- dashboard -------------------------------------------------------------------------------------------------


def test_progress_counts_scores_costs_latencies_and_errors() -> None:
    progress = StrategyProgress(total=4)
    for r in (row(score=1.0, latency=0.2), row(score=0.0, latency=0.4, status="error"), row(score=math.nan, cost=None,
              latency=0.9), row(score=None, cost=math.nan, latency=1.0)):  # fmt: skip
        progress.add(r)
    assert (progress.done, progress.errors, progress.scored) == (4, 1, 2)
    assert progress.accuracy == 0.5
    assert progress.cost_usd == pytest.approx(0.02)
    assert progress.unknown_costs == 2
    assert progress.p50_latency_s == pytest.approx(0.65)
    text = progress.describe()
    assert "<b>4</b>/4" in text and "accuracy 50.0%" in text and "≥ $0.02" in text and "1 error" in text


def test_money_shows_usd_and_inr() -> None:
    assert money(0.0) == "$0.00 (₹0.00)"
    assert money(2.0) == "$2.00 (₹176.00)"
    assert money(0.000123, lower_bound=True) == "≥ $0.000123 (₹0.0108)"


def test_dashboard_shows_each_strategy_with_accuracy_cost_and_latency() -> None:
    dashboard = RunDashboard({"cheap": 3, "strong": 2}, title="demo run")
    for r in (row("cheap", 1.0), row("cheap", 0.0, status="error"), row("strong", 1.0, cost=0.1)):
        dashboard.update(r)
    dashboard.flush()
    assert dashboard.bar("cheap").value == 2 and dashboard.bar("cheap").max == 3
    assert dashboard.bar("strong").value == 1 and dashboard.bar("strong").max == 2
    lines = dashboard.text().splitlines()
    assert lines[0] == "demo run · 3 results · 2 strategies · total cost $0.12 (₹10.56)"
    assert lines[1] == "2/3 · accuracy 50.0% · cost $0.02 (₹1.76) · p50 latency 0.5 s · 1 error"
    assert lines[2].startswith("1/2 · accuracy 100.0%")
    bars = [child.children[0] for child in dashboard.widget.children[1].children]
    assert [bar.description for bar in bars] == ["cheap", "strong"]
    assert {bar.style.description_width for bar in bars} == {"7ch"}  # one width: the bars line up


def test_dashboard_marks_finished_strategies_and_grows_for_unknown_totals() -> None:
    dashboard = RunDashboard({"a": 1})
    dashboard.update(row("a"))
    dashboard.update(row("surprise"))
    dashboard.update(row("surprise"))
    dashboard.flush()
    assert dashboard.bar("a").bar_style == "success"
    assert (dashboard.bar("surprise").value, dashboard.bar("surprise").max) == (2, 2)
    assert dashboard.bar("surprise").bar_style == ""
    assert "2/? ·" in dashboard.text()


def test_dashboard_redraws_at_most_every_refresh_interval() -> None:
    clock, scheduler = FakeClock(), FakeScheduler()
    dashboard = RunDashboard({"cheap": 10_000}, refresh_s=0.2, clock=clock, schedule=scheduler)
    draws = []
    original = dashboard._draw
    dashboard._draw = lambda: (draws.append(clock.now), original())  # type: ignore[method-assign]

    for i in range(10_000):  # 10k rows arriving over one second
        clock.now = i * 1e-4
        dashboard.update(row())

    assert len(draws) == 4  # at 0.2, 0.4, 0.6 and 0.8 s (the constructor drew at 0)
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(draws))
    assert dashboard.bar("cheap").value < 10_000  # rows after the last redraw are not shown yet...
    [trailing] = scheduler.live()  # ...but one trailing redraw is scheduled
    trailing.callback()
    assert dashboard.bar("cheap").value == 10_000
    assert "10000/10000" in dashboard.text()


def test_dashboard_update_is_cheap_enough_for_10k_rows_a_second() -> None:
    dashboard = RunDashboard({"cheap": 10_000, "strong": 10_000})
    rows = [row("cheap" if i % 2 else "strong", latency=i % 7) for i in range(10_000)]
    start = time.perf_counter()
    for r in rows:
        dashboard.update(r)
    elapsed = time.perf_counter() - start
    dashboard.flush()
    assert elapsed < 1.0, f"10k updates took {elapsed:.2f} s"
    assert dashboard.bar("cheap").value == 5_000


def test_trailing_redraw_happens_on_a_real_timer() -> None:
    dashboard = RunDashboard(refresh_s=0.05)
    dashboard.update(row())
    dashboard.update(row())  # within refresh_s of the first: deferred
    deadline = time.monotonic() + 5
    while "2/?" not in dashboard.text() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dashboard.bar("cheap").value == 2


def test_attach_hooks_on_result_keeps_an_existing_callback_and_sets_totals() -> None:
    class FakeExperiment:
        def __init__(self) -> None:
            self.strategies = {"cheap": object(), "strong": object()}
            self.dataset = [1, 2, 3]
            self.repeats = 2
            self.seen: list = []
            self.on_result = self.seen.append

    experiment = FakeExperiment()
    dashboard = RunDashboard()
    assert dashboard.attach(experiment) is experiment
    experiment.on_result(row("cheap"))
    dashboard.flush()
    assert experiment.seen == [row("cheap")]
    assert dashboard.progress["cheap"].done == 1
    assert dashboard.progress["strong"].total == 6


def test_attach_to_a_real_experiment_counts_every_row(tmp_path: Path) -> None:
    data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i, "difficulty": 0.5} for i in range(6)]
    experiment = Experiment(
        data,
        {"small": SimulatedModel.profile("sim/small"), "large": SimulatedModel.profile("sim/large")},
        run_dir=tmp_path,
        progress=False,
    )
    dashboard = RunDashboard()
    dashboard.attach(experiment)
    results = experiment.run()
    dashboard.flush()
    for strategy in ("small", "large"):
        progress = dashboard.progress[strategy]
        assert (progress.done, progress.total) == (6, 6)
        scores = results.items.loc[results.items["strategy"] == strategy, "score"]
        assert progress.accuracy == pytest.approx(scores.mean())


def test_compat_tooltip_keyword_fits_the_installed_ipywidgets() -> None:
    bar = ipywidgets.IntProgress(**tooltip("hover text"))
    name = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert getattr(bar, name) == "hover text"


# -- explorer --------------------------------------------------------------------------------------------------


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    items = pd.DataFrame(
        {
            "strategy": ["cascade", "cascade", "single"],
            "item_id": ["q1", "q2", "q1"],
            "repeat": [0, 0, 0],
            "input": ["What is 2+2?", "Capital of France?", "What is 2+2?"],
            "expected": ["4", "Paris", "4"],
            "output": ["4", "<script>alert(1)</script>", "5"],
            "score": [1.0, 0.0, 0.0],
            "status": ["ok", "ok", "error"],
            "cost_usd": [0.003, 0.001, 0.002],
            "latency_s": [1.5, 0.2, 0.9],
            "call_id": ["c1", "c4", "c6"],
        }
    )
    calls = pd.DataFrame(
        {
            "call_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "parent_id": [None, "c1", "c1", None, "c4", None],
            "item_id": ["q1", "q1", "q1", "q2", "q2", "q1"],
            "strategy": ["cascade", "cascade", "cascade", "cascade", "cascade", "single"],
            "name": ["cascade", "sim/small", "sim/large", "cascade", "sim/small", "sim/medium"],
            "kind": ["strategy", "model", "model", "strategy", "model", "model"],
            "served_model": ["sim/large", "sim/small", "sim/large", "sim/small", "sim/small", "sim/medium"],
            "status": ["ok", "ok", "ok", "ok", "ok", "error"],
            "error": [None, None, None, None, None, "server error 503"],
            "cost_usd": [0.003, 0.001, 0.002, 0.001, 0.001, math.nan],
            "latency_s": [1.5, 0.5, 1.0, 0.2, 0.2, 0.9],
            "decision": ["escalate", None, None, "accept", None, None],
            "reason": ["confidence 0.4 < 0.7", None, None, None, None, None],
            "response_text": ["4", "5", "4", "<script>alert(1)</script>", "<script>alert(1)</script>", None],
        }
    )
    return items, calls


def test_filter_items_by_strategy_status_and_model(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    assert filter_items(items, calls).index.tolist() == [0, 1, 2]
    assert filter_items(items, calls, strategies=["cascade"]).index.tolist() == [0, 1]
    assert filter_items(items, calls, status="error").index.tolist() == [2]
    assert filter_items(items, calls, models=["sim/large"]).index.tolist() == [0]
    assert filter_items(items, calls, models=["sim/small", "sim/medium"]).index.tolist() == [0, 1, 2]


def test_call_tree_follows_parent_links(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, calls = frames
    root = call_tree(calls, "c1")
    assert [child.row["name"] for child in root.children] == ["sim/small", "sim/large"]
    assert [node.row["call_id"] for node in root.walk()] == ["c1", "c2", "c3"]
    with pytest.raises(KeyError, match="nope"):
        call_tree(calls, "nope")
    page = call_tree_html([root])
    assert page.count("<ul>") == 2  # the root list and its children's
    assert "decision: escalate" in page and "reason: confidence 0.4 &lt; 0.7" in page
    assert "<b>cascade</b> (strategy, served by sim/large)" in page
    assert "$0.002 (₹0.176)" in page


def test_explorer_filters_update_the_table_and_item_choices(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    explorer = ResultsExplorer(items, calls)
    assert explorer.strategy.options == ("cascade", "single")
    assert explorer.model.options == ("sim/large", "sim/medium", "sim/small")
    assert explorer.status.options == ("(all)", "error", "ok")
    assert "3 matching item rows" in explorer.table.value
    assert "&lt;script&gt;" in explorer.table.value and "<script>" not in explorer.table.value

    explorer.strategy.value = ("single",)
    assert "1 matching item rows" in explorer.table.value
    assert [value for _, value in explorer.item.options] == [2]
    assert explorer.item.value == 2
    assert "server error 503" in explorer.tree.value and "cost unknown" in explorer.tree.value

    explorer.strategy.value = ()
    explorer.status.value = "ok"
    explorer.model.value = ("sim/large",)
    assert [value for _, value in explorer.item.options] == [0]

    explorer.status.value = "error"
    assert explorer.item.options == () and explorer.item.value is None
    assert "0 matching item rows" in explorer.table.value
    assert explorer.tree.value == "<i>no matching item</i>"


def test_explorer_shows_the_picked_items_prompt_answer_and_call_tree(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    explorer = ResultsExplorer(items, calls)
    explorer.item.value = 1
    tree = explorer.tree.value
    assert "<dt>input</dt><dd>Capital of France?</dd>" in tree
    assert "<dt>expected</dt><dd>Paris</dd>" in tree
    assert "<script>" not in tree and tree.count("&lt;script&gt;") == 3  # output, and two answers in the tree
    assert "decision: accept" in tree
    explorer.item.value = 0
    assert "decision: escalate" in explorer.tree.value


def test_explorer_without_call_log_or_call_ids(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, _ = frames
    explorer = ResultsExplorer(items.drop(columns=["call_id"]))
    assert explorer.model.options == ()
    assert explorer.widget.children[0].children == (explorer.strategy, explorer.status)  # no model filter
    assert "no calls logged for this item" in explorer.tree.value


def test_explorer_caps_the_table(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    explorer = ResultsExplorer(pd.concat([items] * 10, ignore_index=True), calls, max_rows=5)
    assert "30 matching item rows, first 5 shown" in explorer.table.value
    assert explorer.table.value.count("<tr") == 6  # header + 5 rows
    assert len(explorer.item.options) == 5


def test_explorer_table_shows_input_category_and_costs_in_rupees(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    explorer = ResultsExplorer(items.assign(category=["math", "geo", "math"]), calls)
    table = explorer.table.value
    assert "<th>input</th>" in table and "Capital of France?" in table
    assert "<th>category</th>" in table and "geo" in table
    assert f"$0.003 (₹{usd_to_inr(0.003):.4g})" in table
    explorer.item.value = 1
    assert "<dt>category</dt><dd>geo</dd>" in explorer.tree.value


def test_filter_by_a_field_containing_text(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    assert filter_items(items, field="input", contains="france").index.tolist() == [1]
    assert filter_items(items, field="output", contains="").index.tolist() == [0, 1, 2]
    explorer = ResultsExplorer(items, calls)
    assert "input" in explorer.field.options and "output" in explorer.field.options
    explorer.field.value = "expected"
    explorer.contains.value = "4"
    assert [value for _, value in explorer.item.options] == [0, 2]


def test_explorer_has_a_static_html_view_next_to_the_widget(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items, calls = frames
    explorer = ResultsExplorer(items, calls)
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    static = bundle["text/html"]
    assert "3 matching item rows" in static and "What is 2+2?" in static and "decision: escalate" in static
    assert "<script" not in static
    assert "ResultsExplorer" in bundle["text/plain"]
