"""Streaming end to end (issue #13): provider SSE against the local fake server with faults, the one API (sync
and async), call-log timing and partial rows, virtual streams, cache hits and strategies' TTFT composition."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import tempfile

import pytest

from orchestra_lab import CallLog, FunctionModel, SimulatedModel, answer_key
from orchestra_lab.errors import BadResponseError, CallTimeoutError, RateLimitError, ServerError, StrategyError
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible
from orchestra_lab.pricing import Price
from orchestra_lab.runtime import Cached, ResponseCache
from orchestra_lab.strategies import Chain, Fallback, Step
from orchestra_lab.strategies.routing import ClassifierRouter, Route
from orchestra_lab.streaming import StreamStalledError
from orchestra_lab.types import StreamChunk

from .fake_server import FakeProviderServer

PRICE = Price(1.0, 2.0, "test", "")
PROMPT = "say alpha beta gamma delta epsilon"
ANSWER = "echo: " + PROMPT


@pytest.fixture(scope="module")
def server():
    with FakeProviderServer(hang_s=3.0) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(server):
    server.reset()
    yield


def make(dialect: str, server: FakeProviderServer, **options):
    options.setdefault("price", PRICE)
    if dialect == "openai":
        return OpenAICompatible("m", base_url=server.openai_url, api_key_env=None, **options)
    if dialect == "anthropic":
        return Anthropic("claude-x", base_url=server.anthropic_url, api_key_env=None, **options)
    return Gemini("gemini-x", base_url=server.gemini_url, api_key_env=None, **options)


DIALECTS = ["openai", "anthropic", "gemini"]


def collect(model, prompt=PROMPT, **params):
    stream = model.stream(prompt, **params)
    return list(stream), stream.response


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_provider_stream_yields_deltas_then_the_same_response_as_complete(server, dialect):
    model = make(dialect, server)
    with CallLog() as log:
        chunks, streamed = collect(model)
        whole = model.complete(PROMPT)
    assert "".join(c.text for c in chunks) == ANSWER == streamed.text == whole.text
    assert len(chunks) == len(ANSWER.split())  # one event per word: really incremental
    assert [c.t for c in chunks] == sorted(c.t for c in chunks)
    for field in ("served_model", "provider", "usage", "cost_usd", "requested_model", "source"):
        assert getattr(streamed, field) == getattr(whole, field), field
    assert 0 < streamed.ttft_s <= streamed.latency_s and whole.ttft_s is None
    frame = log.to_frame()
    assert frame["streamed"].tolist() == [True, False]
    assert frame["ttft_s"].iloc[0] == pytest.approx(streamed.ttft_s) and math.isnan(frame["ttft_s"].iloc[1])
    assert frame["output_tokens_per_s"].iloc[0] > 0
    assert server.received[0].body.get("stream") is True or ":streamGenerateContent" in server.received[0].path


def test_openai_asks_for_the_usage_chunk(server):
    collect(make("openai", server))
    assert server.last.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_stream_without_usage_gets_estimated_tokens_flagged(server, dialect):
    server.script(["no-usage"])
    with CallLog() as log:
        _, response = collect(make(dialect, server))
    assert response.usage.estimated and response.usage.output_tokens > 0
    row = log.to_frame().iloc[0]
    assert row["tokens_estimated"] and row["billing"] == "estimated"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_thinking_deltas_are_counted_not_shown(server, dialect):
    server.script(["sse-thinking"])
    chunks, response = collect(make(dialect, server))
    assert {c.kind for c in chunks} == {"thinking", "answer"}
    assert response.text == ANSWER and "think" not in response.text


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("fault", "error"),
    [("sse-disconnect", ServerError), ("sse-malformed", BadResponseError), ("sse-error", ServerError)],
)
def test_a_stream_broken_after_its_first_tokens_raises_typed_and_keeps_the_partial_row(server, dialect, fault, error):
    server.script([fault])
    received: list[StreamChunk] = []
    with CallLog() as log, pytest.raises(error):
        for chunk in make(dialect, server).stream(PROMPT):
            received.append(chunk)
    shown = "".join(c.text for c in received if c.kind == "answer")
    assert shown and ANSWER.startswith(shown) and shown != ANSWER
    row = log.to_frame().iloc[0]
    assert row["status"] == "error" and row["response_text"] == shown
    assert row["tokens_estimated"] and row["billing"] == "estimated" and row["output_tokens"] >= 1
    assert row["cost_usd"] > 0 and row["ttft_s"] > 0


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_stall_is_its_own_timeout_distinct_from_the_total(server, dialect):
    server.script(["sse-stall"])
    with CallLog() as log, pytest.raises(StreamStalledError, match="stalled"):
        collect(make(dialect, server, stall_timeout_s=0.2, timeout_s=30))
    assert log.to_frame().iloc[0]["error_type"] == "stall"
    server.script(["sse-stall"])
    with pytest.raises(CallTimeoutError) as total:
        collect(make(dialect, server, stall_timeout_s=10, timeout_s=0.4))
    assert not isinstance(total.value, StreamStalledError)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_429_before_the_stream_is_a_rate_limit_error(server, dialect):
    server.script(["429"])
    with CallLog() as log, pytest.raises(RateLimitError) as caught:
        collect(make(dialect, server))
    assert caught.value.retry_after == 1.0
    row = log.to_frame().iloc[0]
    assert row["http_status"] == 429 and row["status"] == "error" and math.isnan(row["ttft_s"])


def test_complete_on_a_model_configured_to_stream_gives_the_response_plus_timing(server):
    model = make("anthropic", server, streaming=True)
    with CallLog() as log:
        response = model.complete(PROMPT)
    assert response.text == ANSWER and 0 < response.ttft_s <= response.latency_s
    assert log.to_frame()["streamed"].tolist() == [True]


def test_breaking_out_early_closes_the_call_and_bills_the_partial_usage_as_estimated(server):
    server.script(["sse-stall"])  # the answer stops after two words: the stream is still open when we break

    async def main():
        with CallLog() as log:
            stream = make("openai", server).astream(PROMPT)
            async for chunk in stream:
                first = chunk
                break
            await stream.aclose()
        return first, log.to_frame()

    first, frame = asyncio.run(main())
    row = frame.iloc[0]
    assert len(frame) == 1 and row["status"] == "cancelled"
    assert row["billing"] == "estimated" and row["cost_usd"] > 0
    # the first token reaches the reader at once, so the row holds what was read by the break: "echo: " at least
    assert row["response_text"].startswith(first.text) and ANSWER.startswith(row["response_text"])


def test_cancelling_the_consumer_task_cancels_the_call(server):
    server.script(["sse-stall"])

    async def main():
        with CallLog() as log:
            stream = make("gemini", server).astream(PROMPT)

            async def consume():
                async for _ in stream:
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await stream.aclose()
        return log.to_frame()

    row = asyncio.run(main()).iloc[0]
    assert row["status"] == "cancelled" and row["billing"] == "estimated" and row["response_text"] == "echo: say "


def test_sync_stream_works_inside_a_running_loop():
    # In a subprocess: nest_asyncio2 patches asyncio for the whole process, as it does in a notebook kernel.
    script = """
import asyncio
from orchestra_lab import CallLog, SimulatedModel, answer_key
model = SimulatedModel.profile("sim/small")

async def notebook_cell():  # a running loop, and the user iterates the sync stream
    with CallLog() as log, answer_key("q", expected="four is it", difficulty=0.0):
        stream = model.stream("2+2?", item_id="q")
        pieces = [chunk.text for chunk in stream]
    return "".join(pieces), stream.response.text, len(pieces) > 1, log.to_frame()["streamed"].tolist()

print(asyncio.run(notebook_cell()))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "('four is it', 'four is it', True, [True])"


# -- offline models ----------------------------------------------------------------------------------------------


def test_a_simulated_stream_is_virtual_paced_by_its_profile_and_matches_complete():
    large = SimulatedModel.profile("sim/large")
    with answer_key("q", expected="forty two is the answer", difficulty=0.0):
        whole = large.complete("q?", item_id="q")
        chunks, streamed = collect(large, "q?", item_id="q")
    assert streamed.text == whole.text and streamed.latency_s == whole.latency_s and streamed.cost_usd == whole.cost_usd
    profile, tokens = large.latency, whole.usage.output_tokens
    expected_ttft = whole.latency_s * profile.ttft_s / (profile.ttft_s + profile.per_token_s * tokens)
    assert chunks[0].t == pytest.approx(expected_ttft) == streamed.ttft_s
    assert len(chunks) > 1 and chunks[-1].t < streamed.latency_s


def test_a_function_model_streams_its_answer_whole_when_done():
    chunks, response = collect(FunctionModel(str.upper, name="up"), "hi")
    assert [c.text for c in chunks] == ["HI"] and response.ttft_s == chunks[0].t == response.latency_s


def test_a_cache_hit_replays_as_a_stream_flagged_as_a_hit():
    cached = Cached(SimulatedModel.profile("sim/small"), ResponseCache(tempfile.mkdtemp()))
    with CallLog() as log:
        _, first = collect(cached, "What is 2 + 2?")
        chunks, again = collect(cached, "What is 2 + 2?")
    assert again.cached and again.text == first.text == "".join(c.text for c in chunks)
    frame = log.to_frame()
    assert frame["kind"].tolist() == ["model", "cache"] and frame["streamed"].all()


# -- strategies --------------------------------------------------------------------------------------------------


def _sim(name: str, **faults: float) -> SimulatedModel:
    model = SimulatedModel.profile(name)
    return model.with_faults(**faults) if faults else model


def test_fallback_ttft_includes_the_failed_attempts():
    down, large = _sim("sim/small", server_error=1.0), _sim("sim/large")
    with CallLog() as log, answer_key("q", expected="4", difficulty=0.0):
        _, response = collect(Fallback([down, large]), "2+2?", item_id="q")
        alone = large.stream("2+2?", item_id="q")
        list(alone)
    frame = log.to_frame()
    failed_latency = frame.query("name == 'sim/small'")["latency_s"].iloc[0]
    assert response.ttft_s == pytest.approx(failed_latency + alone.response.ttft_s)
    assert frame.query("kind == 'strategy'")["ttft_s"].iloc[0] == pytest.approx(response.ttft_s)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_fallback_restarts_mid_stream_on_the_next_member_and_logs_the_partial_row(server, dialect):
    server.script(["sse-disconnect", "ok"])
    fb = Fallback([make(dialect, server, name="first"), make(dialect, server, name="second")])
    with CallLog() as log:
        chunks, response = collect(fb)
    kinds = [c.kind for c in chunks]
    assert "reset" in kinds
    after_reset = "".join(c.text for c in chunks[kinds.index("reset") + 1 :])
    assert after_reset == response.text == ANSWER and response.served_model.startswith(make(dialect, server).model)
    rows = log.to_frame().set_index("name")
    assert rows.loc["first", "status"] == "error" and rows.loc["first", "billing"] == "estimated"
    assert rows.loc["first", "response_text"] and rows.loc["second", "status"] == "ok"
    assert rows.loc["fallback", "billing"] == "estimated"  # the partial attempt's cost is estimated
    assert rows.loc["fallback", "ttft_s"] >= rows.loc["second", "ttft_s"]


def test_fallback_with_mid_stream_fail_stops_after_a_partial_answer(server):
    server.script(["sse-error", "ok"])
    fb = Fallback([make("openai", server, name="a"), make("openai", server, name="b")], mid_stream="fail")
    with pytest.raises(StrategyError, match="mid_stream='fail'"):
        collect(fb)
    assert server.requests == 1


def test_fallback_error_before_the_first_token_falls_back_transparently(server):
    server.script(["429", "ok"])
    fb = Fallback([make("openai", server, name="a"), make("openai", server, name="b")])
    chunks, response = collect(fb)
    assert "reset" not in {c.kind for c in chunks} and response.text == ANSWER


def test_router_ttft_is_decision_time_plus_the_chosen_members():
    small, large = _sim("sim/small"), _sim("sim/large")
    router = ClassifierRouter(lambda p: "hard", [Route("hard", large)], default=small)
    with answer_key("q", expected="4", difficulty=0.0):
        _, routed = collect(router, "2+2?", item_id="q")
        _, alone = collect(large, "2+2?", item_id="q")
    assert routed.ttft_s == pytest.approx(alone.ttft_s)  # a classifier decides in no computed time


def test_chain_ttft_is_the_earlier_steps_plus_the_last_steps_first_token():
    first, last = _sim("sim/small"), _sim("sim/large")
    chain = Chain([Step("draft", first), Step("final", last, "Improve: {draft}")])
    with CallLog() as log, answer_key("q", expected="4", difficulty=0.0):
        _, response = collect(chain, "2+2?", item_id="q")
    rows = log.to_frame().set_index("name")
    assert response.ttft_s == pytest.approx(rows.loc["sim/small", "latency_s"] + rows.loc["sim/large", "ttft_s"])
    assert math.isnan(rows.loc["sim/small", "ttft_s"])  # earlier steps are not streamed


def test_a_strategy_without_a_streaming_path_starts_its_answer_when_it_is_final():
    from orchestra_lab.strategies import Cascade

    cascade = Cascade([(_sim("sim/small"), 0.5), _sim("sim/large")])
    with answer_key("q", expected="4", difficulty=0.0):
        chunks, response = collect(cascade, "2+2?", item_id="q")
    assert len(chunks) == 1 and response.ttft_s == response.latency_s
