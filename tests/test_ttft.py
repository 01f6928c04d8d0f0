"""TTFT beyond the single call (issue #13): experiments run streamed, item rows and summary() carry TTFT, the
frontier plot can put TTFT on its axis, the dashboard shows it, the package exports the streaming types."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import orchestra_lab
from orchestra_lab import CallLog, SimulatedModel, answer_key, describe_schema
from orchestra_lab.errors import ServerError
from orchestra_lab.experiments import plots
from orchestra_lab.experiments.results import ITEMS_FILE, SUMMARY_COLUMNS, Results
from orchestra_lab.experiments.run import Experiment
from orchestra_lab.models.openai import OpenAICompatible
from orchestra_lab.pricing import Price
from orchestra_lab.strategies import Cascade, Fallback
from orchestra_lab.ui.dashboard import RunDashboard

matplotlib.use("Agg")

PRICE = Price(1.0, 1.0, "test")

DATA = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i, "difficulty": 0.3} for i in range(12)]


def _strategies() -> dict:
    small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    return {
        "small": small,
        "large": large,
        "fallback": Fallback([small.with_faults(server_error=0.5), large], name="fallback"),
        "cascade": Cascade([(small, 0.7), large], name="cascade"),
    }


def _run(stream: bool, strategies: dict | None = None) -> Results:
    experiment = Experiment(
        DATA, strategies or _strategies(), run_dir=tempfile.mkdtemp(), progress=False, stream=stream
    )
    return experiment.run()


# -- point 1: item rows and summary ---------------------------------------------------------------------------


def test_a_streamed_experiment_carries_each_top_level_calls_ttft_into_its_item_row():
    results = _run(stream=True)
    items, calls = results.items, results.calls
    top = calls[calls["parent_id"].isna()].set_index("call_id")
    ok = items[items["status"] == "ok"]
    assert ok["ttft_s"].notna().all() and (ok["ttft_s"] < ok["latency_s"] + 1e-12).all()
    assert ok["ttft_s"].tolist() == pytest.approx(top.loc[ok["call_id"], "ttft_s"].tolist())
    assert top["streamed"].all()


def test_streaming_an_experiment_leaves_answers_scores_costs_and_latencies_unchanged():
    streamed, plain = _run(stream=True), _run(stream=False)
    columns = ["strategy", "item_id", "output", "score", "status", "cost_usd", "latency_s", "calls"]
    key = ["strategy", "item_id"]
    pd.testing.assert_frame_equal(
        streamed.items[columns].sort_values(key).reset_index(drop=True),
        plain.items[columns].sort_values(key).reset_index(drop=True),
    )
    assert plain.items["ttft_s"].isna().all()  # not streamed: no TTFT, rather than a made-up one


def test_summary_has_ttft_p50_and_p95_per_strategy_composed_as_documented():
    results = _run(stream=True)
    summary = results.summary()
    assert {"ttft_p50_s", "ttft_p95_s"} <= set(SUMMARY_COLUMNS) and list(summary.columns) == list(SUMMARY_COLUMNS)
    for name, group in results.items.groupby("strategy"):
        assert summary.loc[name, "ttft_p50_s"] == pytest.approx(group["ttft_s"].median())
        assert summary.loc[name, "ttft_p95_s"] == pytest.approx(group["ttft_s"].quantile(0.95))
    # a single model's first token comes well before its last; a buffered cascade starts when it is final
    assert summary.loc["large", "ttft_p50_s"] < summary.loc["large", "latency_p50_s"]
    cascade = results.items[results.items["strategy"] == "cascade"]
    assert cascade["ttft_s"].tolist() == pytest.approx(cascade["latency_s"].tolist())


def test_summary_ttft_is_nan_for_rows_without_ttft_and_old_item_rows_still_load(tmp_path):
    old_rows = [
        {
            "strategy": "a",
            "item_id": f"q{i}",
            "repeat": 0,
            "score": 1.0,
            "status": "ok",
            "cost_usd": 0.001,
            "latency_s": 0.5,
            "calls": 1,
            "cache_hits": 0,
            "finished_at": 0.0,
        }
        for i in range(3)
    ]
    (tmp_path / ITEMS_FILE).write_text("".join(json.dumps(r) + "\n" for r in old_rows), encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "old"}), encoding="utf-8")
    (tmp_path / "calls.jsonl").write_text("", encoding="utf-8")
    results = Results.load(tmp_path)
    assert results.items["ttft_s"].isna().all() and results.items["ttft_s"].dtype == "float64"
    assert math.isnan(results.summary().loc["a", "ttft_p50_s"])


def test_experiment_stream_is_part_of_the_run_config():
    run_dir = tempfile.mkdtemp()
    Experiment(DATA[:2], _strategies(), run_dir=run_dir, progress=False, stream=True).run()
    assert json.loads((Path(run_dir) / "run.json").read_text())["stream"] is True


def test_a_streamed_experiment_logs_partial_rows_of_a_failed_member_like_a_stream_does():
    results = _run(stream=True, strategies={"fallback": _strategies()["fallback"]})
    leaves = results.calls[results.calls["kind"] == "model"]
    assert leaves["streamed"].all() and (leaves["status"] == "error").any()


# -- point 2: the frontier on TTFT ----------------------------------------------------------------------------


@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "score_mean": [0.6, 0.9, 0.88, 0.5],
            "score_ci_lo": [0.5, 0.8, 0.8, 0.4],
            "score_ci_hi": [0.7, 0.95, 0.94, 0.6],
            "cost_usd_per_item": [0.0001, 0.02, 0.004, 0.001],
            "latency_p50_s": [0.5, 2.0, 1.0, 0.6],
            "ttft_p50_s": [0.1, 0.3, 0.9, math.nan],
        },
        index=pd.Index(["small", "large", "cascade", "unstreamed"], name="strategy"),
    )


def test_the_frontier_can_put_ttft_on_its_latency_axis(summary):
    fig = plots.frontier(summary, latency="ttft_p50")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "TTFT p50 (s)"
    shown = {t.get_text(): t.xy for t in ax.texts}
    assert shown["small"][0] == 0.1 and shown["cascade"][0] == 0.9
    assert "unstreamed" not in shown and "unstreamed" in ax.get_title()  # no TTFT: named, not drawn
    front = ax.get_lines()[-1]  # small (0.1, 0.6) and large (0.3, 0.9); cascade is slower and worse than large
    assert list(front.get_xdata()) == [0.1, 0.3]


def test_the_frontier_on_total_latency_and_a_bad_axis_name(summary):
    assert plots.frontier(summary, latency="latency_p50").axes[0].get_xlabel() == "latency p50 (s)"
    with pytest.raises(ValueError, match="ttft_p50"):
        plots.frontier(summary, latency="ttft_p42")


def test_results_plot_frontier_passes_the_latency_axis_on():
    results = _run(stream=True, strategies={"small": SimulatedModel.profile("sim/small")})
    assert results.plot_frontier(latency="ttft_p95").axes[0].get_xlabel() == "TTFT p95 (s)"


# -- point 5: the dashboard --------------------------------------------------------------------------------------


def _row(latency: float, ttft: float | None) -> dict:
    return {"strategy": "s", "score": 1.0, "cost_usd": 0.01, "latency_s": latency, "ttft_s": ttft, "status": "ok"}


def test_the_dashboard_shows_ttft_next_to_latency():
    dashboard = RunDashboard({"s": 3})
    for latency, ttft in ((0.5, 0.1), (0.7, 0.3), (0.9, math.nan)):
        dashboard.update(_row(latency, ttft))
    dashboard.flush()
    assert dashboard.progress["s"].p50_ttft_s == pytest.approx(0.2)
    assert "p50 latency 0.7 s · p50 TTFT 0.2 s" in dashboard.text()


def test_the_dashboard_does_not_mention_ttft_when_nothing_was_streamed():
    dashboard = RunDashboard({"s": 1})
    dashboard.update(_row(0.5, None))
    dashboard.flush()
    assert "TTFT" not in dashboard.text()


# -- point 6: exports and docs ---------------------------------------------------------------------------------


def test_the_streaming_types_are_exported():
    from orchestra_lab.streaming import ResponseStream
    from orchestra_lab.types import StreamChunk

    assert orchestra_lab.StreamChunk is StreamChunk and orchestra_lab.ResponseStream is ResponseStream
    assert {"StreamChunk", "ResponseStream", "show_stream"} <= set(orchestra_lab.__all__)
    from orchestra_lab.ui import show_stream

    assert orchestra_lab.show_stream is show_stream


def test_the_call_log_and_item_schemas_describe_the_timing_columns():
    from orchestra_lab.experiments.results import ITEM_SCHEMA

    meaning = describe_schema().set_index("column")["meaning"]
    assert "first answer token" in meaning["ttft_s"] and "tokens per second" in meaning["output_tokens_per_s"]
    assert "streamed" in meaning["streamed"]
    assert "first answer token" in dict(ITEM_SCHEMA)["ttft_s"]


def test_the_readme_documents_ttft_s():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert "ttft_s" in readme and "ttft_p50_s" in readme and "stream=True" in readme


# -- point 4: the live display helper --------------------------------------------------------------------------


class _Handle:
    def __init__(self, shown: list[str]) -> None:
        self.shown = shown

    def update(self, view) -> None:
        self.shown.append(view.text())


@pytest.fixture
def notebook(monkeypatch) -> list[str]:
    """Pretend to be inside IPython: what the display handle showed, one entry per redraw."""
    import IPython
    import IPython.display

    shown: list[str] = []

    def display(view, display_id=False):
        assert display_id is True
        shown.append(view.text())
        return _Handle(shown)

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", display)
    return shown


def test_show_stream_redraws_a_display_handle_as_chunks_arrive_then_shows_ttft(notebook):
    from orchestra_lab.ui import show_stream

    small = SimulatedModel.profile("sim/small")
    with CallLog() as log, answer_key("q1", expected="Paris is the capital", difficulty=0.0):
        response = show_stream(small, "Capital of France?", item_id="q1", refresh_s=0.0)
    assert notebook[0].startswith("\n[sim/small · streaming…]")  # an empty cell first, then growing text
    answers = [shown.split("\n[")[0] for shown in notebook]
    assert answers == sorted(answers, key=len) and len(set(answers)) > 2
    assert notebook[-1].startswith("Paris is the capital\n") and f"TTFT {response.ttft_s:.3g} s" in notebook[-1]
    assert log.to_frame()["streamed"].all()


def test_show_stream_clears_the_answer_when_a_fallback_restarts(notebook):
    from orchestra_lab.types import StreamChunk
    from orchestra_lab.ui.stream_view import StreamView

    view = StreamView("fb")
    for chunk in (StreamChunk("par", "answer", 0.1), StreamChunk("", "reset", 0.2), StreamChunk("ok", "answer", 0.3)):
        view.take(chunk)
    assert view.text() == "ok\n[fb · restarted 1× · streaming…]"


def test_show_stream_shows_why_a_stream_stopped_and_raises(notebook):
    from orchestra_lab.errors import ServerError
    from orchestra_lab.ui import show_stream

    down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
    with pytest.raises(ServerError):
        show_stream(down, "hi")
    assert "stopped: ServerError" in notebook[-1]


def test_show_stream_prints_as_it_comes_outside_a_notebook(capsys):
    from orchestra_lab.ui import show_stream

    with answer_key("q1", expected="Paris is the capital", difficulty=0.0):
        show_stream(SimulatedModel.profile("sim/small"), "Capital of France?", item_id="q1", refresh_s=0.0)
    out = capsys.readouterr().out
    assert out.startswith("Paris is the capital\n[sim/small · TTFT ")


# -- point 3: the hot path the benchmark measures -----------------------------------------------------------------


def test_the_first_answer_chunk_reaches_the_consumer_before_the_rest_of_the_buffer_is_parsed():
    """A whole answer can arrive in one network read: the consumer must get its first token at once (what a user
    sees), not after the producer has parsed every event of that read (bench_streaming's idle-loop TTFT)."""
    import asyncio

    import httpx

    from orchestra_lab.models.openai import OpenAICompatible
    from orchestra_lab.pricing import Price

    events = [{"choices": [{"index": 0, "delta": {"content": f" t{i}"}, "finish_reason": None}]} for i in range(50)]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body))
    model = OpenAICompatible(
        "m", base_url="http://test/v1", api_key_env=None, transport=transport, price=Price(1.0, 1.0, "test")
    )

    async def first_chunk_and_backlog() -> tuple[str, int]:
        stream = model.astream("hi")
        chunk = await stream.__anext__()
        backlog = len(stream._chunks)  # chunks the producer made before the consumer ran
        async for _ in stream:
            pass
        return chunk.text, backlog

    text, backlog = asyncio.run(first_chunk_and_backlog())
    assert text == " t0" and backlog == 0


def _one_read_model(events: list[dict]) -> OpenAICompatible:
    """An OpenAI-compatible model whose whole SSE answer (``events``, then ``[DONE]``) arrives in one network read."""
    import httpx

    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body))
    return OpenAICompatible("m", base_url="http://test/v1", api_key_env=None, transport=transport, price=PRICE)


def _delta(**delta: str) -> dict:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def test_the_answer_deltas_of_one_read_reach_the_consumer_as_one_chunk_after_the_first_token():
    """One chunk per network read, not per event (bench_streaming's throughput): the first token alone (TTFT), then
    the read's other answer deltas joined; a thinking delta stays its own chunk, in order, never in the answer."""
    events = [_delta(content=f" t{i}") for i in range(30)] + [_delta(reasoning_content="hmm")]
    events += [_delta(content=f" u{i}") for i in range(5)] + [{"choices": [{"delta": {}, "finish_reason": "stop"}]}]
    with CallLog() as log:
        stream = _one_read_model(events).stream("hi")
        chunks = [(c.kind, c.text) for c in stream]
    tokens = "".join(f" t{i}" for i in range(30))
    assert chunks == [
        ("answer", " t0"),
        ("answer", tokens[3:]),
        ("thinking", "hmm"),
        ("answer", "".join(f" u{i}" for i in range(5))),
    ]
    assert stream.response.text == tokens + " u0 u1 u2 u3 u4" == log.to_frame()["response_text"].iloc[0]


def test_an_error_event_inside_a_read_keeps_the_answer_deltas_read_before_it():
    """Joined deltas wait for the end of their read: an error event in the middle of it must not lose them."""
    events = [_delta(content=f" t{i}") for i in range(6)] + [{"error": {"type": "server_error", "message": "boom"}}]
    received = []
    with CallLog() as log, pytest.raises(ServerError, match="boom"):
        for chunk in _one_read_model(events).stream("hi"):
            received.append(chunk.text)
    row = log.to_frame().iloc[0]
    assert "".join(received) == " t0 t1 t2 t3 t4 t5" == row["response_text"] and row["billing"] == "estimated"


def test_a_streamed_experiment_keeps_its_spend_cap_like_an_unstreamed_one():
    def capped(stream: bool) -> Results:
        experiment = Experiment(
            DATA, {"large": SimulatedModel.profile("sim/large")}, run_dir=tempfile.mkdtemp(), progress=False,
            stream=stream, max_spend_usd=0.006, concurrency=1, params={"max_tokens": 200},
        )  # fmt: skip
        with pytest.warns(UserWarning, match="spend cap reached"):
            return experiment.run()

    streamed, plain = capped(True), capped(False)
    assert 0 < len(streamed.items) == len(plain.items) < len(DATA)
    assert streamed.items["cost_usd"].sum() == pytest.approx(plain.items["cost_usd"].sum())
