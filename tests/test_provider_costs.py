"""Costs of real-provider calls, checked to the cent against hand computation (tests/fake_server.py shapes).

Hand figures use the built-in list prices (USD per 1M tokens): claude-sonnet-4-5 3 in / 0.30 cache read /
3.75 cache write / 15 out; gpt-5 1.25 in / 0.125 cached / 10 out; gemini-2.5-flash 0.30 in / 0.03 cached / 2.50
out; gemini-2.5-pro 1.25 / 10, above 200K input 2.50 / 15; text-embedding-3-small 0.02 in.
"""

from __future__ import annotations

import math
import warnings

import pytest
from fake_server import FakeProviderServer, Reply

from orchestra_lab import CallLog, Price, set_price
from orchestra_lab._sync import run_sync
from orchestra_lab.errors import AuthError, BadResponseError
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible
from orchestra_lab.pricing import UnknownPriceWarning, cost_usd, price_of, price_table
from orchestra_lab.strategies import OpenAIEmbeddings


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(env, "test-key-" + env.lower())


def sonnet(server: FakeProviderServer) -> Anthropic:
    return Anthropic("claude-sonnet-4-5", base_url=server.anthropic_url)


# -- 1. cached input -------------------------------------------------------------------------------------------


def test_anthropic_cache_read_is_input_at_the_cache_read_rate() -> None:
    with FakeProviderServer(usage=(12, 50), cached_tokens=9_000) as server:
        server.script(["cached"])
        r = sonnet(server).complete("hi")
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.cache_write_tokens) == (9_012, 9_000, 0)
    assert r.cost_usd == pytest.approx(0.003486, abs=1e-9)  # 12*3 + 9000*0.30 + 50*15 = 3486 / 1e6 (was 0.000786)


def test_anthropic_cache_write_is_input_at_the_cache_write_rate() -> None:
    with FakeProviderServer(usage=(12, 50), cached_tokens=9_000) as server:
        server.script(["cache-write"])
        r = sonnet(server).complete("hi")
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.cache_write_tokens) == (9_012, 0, 9_000)
    assert r.cost_usd == pytest.approx(0.034536, abs=1e-9)  # 12*3 + 9000*3.75 + 50*15 (was 0.000786)


def test_anthropic_one_hour_cache_writes_cost_twice_the_input_price(fake_server: FakeProviderServer) -> None:
    hour = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 9_000}
    usage = {"input_tokens": 12, "output_tokens": 50, "cache_creation_input_tokens": 9_000, "cache_creation": hour}
    body = {"model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "ok"}], "usage": usage}
    fake_server.script([Reply(200, body)])
    r = sonnet(fake_server).complete("hi")
    assert r.cost_usd == pytest.approx(0.054786, abs=1e-9)  # 12*3 + 9000*6 + 50*15 (the 5-minute rate: 0.034536)


def test_openai_cached_prompt_tokens_cost_the_cached_rate() -> None:
    with FakeProviderServer(usage=(2_000, 500), cached_tokens=8_000) as server:
        server.script(["cached"])
        r = OpenAICompatible("gpt-5", base_url=server.openai_url).complete("hi")
    assert (r.usage.input_tokens, r.usage.cached_input_tokens) == (10_000, 8_000)
    assert r.cost_usd == pytest.approx(0.0085, abs=1e-9)  # 2000*1.25 + 8000*0.125 + 500*10 (was 0.0175)


def test_gemini_cached_content_tokens_cost_the_cached_rate() -> None:
    with FakeProviderServer(usage=(2_000, 100), cached_tokens=8_000) as server:
        server.script(["cached"])
        r = Gemini("gemini-2.5-flash", base_url=server.gemini_url).complete("hi")
    assert (r.usage.input_tokens, r.usage.cached_input_tokens) == (10_000, 8_000)
    assert r.cost_usd == pytest.approx(0.00109, abs=1e-9)  # 2000*0.30 + 8000*0.03 + 100*2.50 (was 0.00325)


def test_cached_tokens_reach_the_call_log_total() -> None:
    with FakeProviderServer(usage=(12, 50), cached_tokens=9_000) as server, CallLog() as log:
        server.script(["cached"])
        sonnet(server).complete("hi")
    row = log.to_frame().iloc[0]
    assert (row["input_tokens"], row["cost_usd"]) == (9_012, pytest.approx(0.003486, abs=1e-9))


# -- 2. thinking tokens ----------------------------------------------------------------------------------------


def test_gemini_thinking_only_answer_bills_the_thoughts_as_output() -> None:
    with FakeProviderServer(usage=(700, 0), thinking_tokens=8_191) as server, CallLog() as log:
        server.script(["thinking-only"])
        with pytest.raises(BadResponseError, match="MAX_TOKENS") as info:
            Gemini("gemini-2.5-flash", base_url=server.gemini_url).complete("think hard")
    usage = info.value.usage
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (700, 8_191, 8_191)
    assert info.value.cost_usd == pytest.approx(0.0206875, abs=1e-9)  # 700*0.30 + 8191*2.50 (was 0.00021)
    assert log.to_frame().iloc[0]["cost_usd"] == pytest.approx(0.0206875, abs=1e-9)


def test_openai_reasoning_tokens_are_reported_inside_the_output() -> None:
    with FakeProviderServer(usage=(100, 0), thinking_tokens=4_000) as server:
        server.script(["thinking-only"])
        r = OpenAICompatible("gpt-5", base_url=server.openai_url).complete("think hard")
    assert (r.text, r.meta["finish_reason"]) == ("", "length")
    assert (r.usage.output_tokens, r.usage.reasoning_tokens) == (4_000, 4_000)
    assert r.cost_usd == pytest.approx(0.040125, abs=1e-9)  # 100*1.25 + 4000*10


def test_anthropic_thinking_only_answer_is_billed() -> None:
    with FakeProviderServer(usage=(100, 0), thinking_tokens=1_000) as server:
        server.script(["thinking-only"])
        with pytest.raises(BadResponseError, match="max_tokens") as info:
            sonnet(server).complete("think hard")
    assert info.value.cost_usd == pytest.approx(0.0153, abs=1e-9)  # 100*3 + 1000*15


# -- 3. price matching -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        ("gpt-5-pro", (15.00, 120.00)),  # was gpt-5's 1.25 / 10
        ("o3-mini", (1.10, 4.40)),  # was o3's 2 / 8
        ("claude-opus-4-6", (5.00, 25.00)),  # was opus-4-1's 15 / 75
        ("gpt-5-2025-08-07", (1.25, 10.00)),
        ("claude-opus-4-1-20250805", (15.00, 75.00)),
        ("gemini-2.0-flash-001", (0.10, 0.40)),
        ("claude-3-5-haiku-latest", (0.80, 4.00)),
        ("openai/gpt-4o-mini", (0.15, 0.60)),
    ],
)
def test_a_model_gets_its_own_price_or_its_snapshot_or_alias_price(model: str, rates: tuple[float, float]) -> None:
    price = price_of(model)
    assert price is not None and (price.input_per_1m, price.output_per_1m) == rates


@pytest.mark.parametrize("model", ["gpt-5-turbo-max", "claude-opus-4-1-preview", "o3-pro", "gemini-2.5-pro-x"])
def test_an_unlisted_neighbour_is_unknown_nan_with_one_warning(model: str) -> None:
    assert price_of(model) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(cost_usd(model, 10, 10)) and math.isnan(cost_usd(model, 10, 10))
    assert [w.category for w in caught] == [UnknownPriceWarning]


def test_gemini_25_pro_long_prompts_are_billed_at_the_long_context_tier() -> None:
    assert cost_usd("gemini-2.5-pro", 300_000, 1_000) == pytest.approx(0.765, abs=1e-9)  # 300k*2.50 + 1k*15
    assert cost_usd("gemini-2.5-pro", 200_000, 1_000) == pytest.approx(0.26, abs=1e-9)  # at the threshold: 1.25/10


def test_price_table_is_a_frame_with_every_rate_source_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestra_lab import pricing

    monkeypatch.setattr(pricing, "_OVERRIDES", {})  # the built-in rows only (other tests set prices)
    table = price_table()
    expected = ["model", "provider", "input_per_1m", "output_per_1m", "cached_input_per_1m", "cache_write_per_1m"]
    assert list(table.columns[:6]) == expected and {"source", "as_of"} <= set(table.columns)
    assert len(table) >= 30 and table["source"].str.startswith("https://").all() and table["as_of"].ne("").all()
    row = table.set_index("model").loc["claude-sonnet-4-5"]
    assert (row["provider"], row["cached_input_per_1m"], row["cache_write_per_1m"]) == ("anthropic", 0.30, 3.75)
    assert table.set_index("model").loc["gemini-2.5-pro", "long_context_above"] == 200_000


def test_set_price_takes_the_cache_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestra_lab import pricing

    monkeypatch.setattr(pricing, "_OVERRIDES", {})  # set_price is global: keep this test's price to itself
    set_price("house-model", Price(2.0, 8.0, "internal", "2026-12", cached_input_per_1m=0.2, cache_write_per_1m=3.0))
    assert cost_usd("house-model", 1_000, 0, cached_input_tokens=500, cache_write_tokens=500) == pytest.approx(0.0016)
    with pytest.raises(ValueError, match="negative"):
        set_price("house-model", Price(1.0, 1.0, cached_input_per_1m=-0.1))


# -- 4. embeddings ---------------------------------------------------------------------------------------------


def test_openai_embeddings_are_logged_calls_with_usage_and_cost(fake_server: FakeProviderServer) -> None:
    embedder = OpenAIEmbeddings("text-embedding-3-small", base_url=fake_server.openai_url)
    with CallLog() as log:
        vectors = run_sync(embedder.embed(["a banana split", "oreo"]))
    assert len(vectors) == 2
    frame = log.to_frame()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["status"], row["input_tokens"], row["output_tokens"]) == ("ok", 4, 0)
    assert row["cost_usd"] == pytest.approx(4 * 0.02 / 1e6)


def test_openai_embeddings_without_a_key_raise_the_auth_error_and_send_nothing(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    embedder = OpenAIEmbeddings("text-embedding-3-small", base_url=fake_server.openai_url)
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        run_sync(embedder.embed(["a"]))
    assert fake_server.requests == 0
