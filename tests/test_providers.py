"""The HTTP providers against a real local HTTP server (tests/fake_server.py): shapes, errors, timeouts, loops."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import pytest
from fake_server import FakeProviderServer, Reply

from orchestra_lab import CallLog, Price, Request
from orchestra_lab.errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    CallTimeoutError,
    ModelError,
    RateLimitError,
    ServerError,
)
from orchestra_lab.models._failures import retry_after_seconds
from orchestra_lab.models._http import http_client
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.base import Model
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import PRESETS, OpenAICompatible
from orchestra_lab.pricing import price_of
from orchestra_lab.types import Message

KEYS = {
    "OPENAI_API_KEY": "sk-test-openai-0000",
    "ANTHROPIC_API_KEY": "sk-ant-test-0000",
    "GEMINI_API_KEY": "AIza-test-0000",
}
ModelFactory = Callable[..., Model]


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    for env, value in KEYS.items():
        monkeypatch.setenv(env, value)


def openai_model(server: FakeProviderServer, **kw: object) -> Model:
    return OpenAICompatible("gpt-4o-mini", base_url=server.openai_url, **kw)  # type: ignore[arg-type]


def anthropic_model(server: FakeProviderServer, **kw: object) -> Model:
    return Anthropic("claude-3-5-haiku", base_url=server.anthropic_url, **kw)  # type: ignore[arg-type]


def gemini_model(server: FakeProviderServer, **kw: object) -> Model:
    return Gemini("gemini-2.0-flash", base_url=server.gemini_url, **kw)  # type: ignore[arg-type]


FACTORIES = {"openai": openai_model, "anthropic": anthropic_model, "gemini": gemini_model}


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest, fake_server: FakeProviderServer) -> ModelFactory:
    """A factory for one provider's model pointed at the fake server (each test runs for all three)."""
    factory = FACTORIES[request.param]
    return lambda **kw: factory(fake_server, **kw)


def expected_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    price = price_of(model)
    assert price is not None
    return (input_tokens * price.input_per_1m + output_tokens * price.output_per_1m) / 1e6


# -- success paths ---------------------------------------------------------------------------------------------


def test_every_provider_answers_with_text_served_model_usage_and_cost(make: ModelFactory) -> None:
    m = make()
    r = m.complete("What is 17 + 25?")
    assert r.text == "42"
    assert r.served_model == m.requested_model + "-fake-001"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.estimated) == (100, 20, False)
    assert r.cost_usd == pytest.approx(expected_cost(m.requested_model, 100, 20))
    assert r.provider == m.provider and r.source == "live"
    assert r.meta["http_status"] == 200
    assert 0 < r.latency_s < 5


def test_openai_sends_chat_completions_body_and_bearer_key(fake_server: FakeProviderServer) -> None:
    request = Request.of("What is 2 + 2?", system="Be brief.", temperature=0.0, max_tokens=50, seed=7, stop="\n")
    openai_model(fake_server).complete(request.replace(extra={"response_format": {"type": "text"}}))
    sent = fake_server.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer " + KEYS["OPENAI_API_KEY"]
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}],
        "temperature": 0.0,
        "max_completion_tokens": 50,
        "seed": 7,
        "stop": ["\n"],
        "response_format": {"type": "text"},
    }


def test_anthropic_sends_system_top_level_default_max_tokens_and_version(fake_server: FakeProviderServer) -> None:
    anthropic_model(fake_server).complete(Request.of("Hi", system="Be brief.", top_p=0.9, seed=3, stop=["END"]))
    sent = fake_server.last
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEYS["ANTHROPIC_API_KEY"]
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {  # seed is not an Anthropic param: it is left out
        "model": "claude-3-5-haiku",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
        "top_p": 0.9,
        "stop_sequences": ["END"],
    }
    anthropic_model(fake_server).complete("Hi", max_tokens=12)
    assert fake_server.last.body["max_tokens"] == 12


def test_anthropic_text_is_the_concatenated_text_blocks(fake_server: FakeProviderServer) -> None:
    blocks = [
        {"type": "thinking", "thinking": "hmm"},
        {"type": "text", "text": "Hello, "},
        {"type": "text", "text": "world"},
    ]
    body = {
        "model": "claude-3-5-haiku-x",
        "content": blocks,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    fake_server.script([Reply(200, body)])
    r = anthropic_model(fake_server).complete("Hi")
    assert (r.text, r.served_model, r.meta["finish_reason"]) == ("Hello, world", "claude-3-5-haiku-x", "end_turn")


def test_gemini_sends_contents_system_instruction_generation_config_and_key_in_header(
    fake_server: FakeProviderServer,
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "What is 3 * 4?"},
    ]
    r = gemini_model(fake_server).complete(messages, temperature=0.5, max_tokens=30, top_p=0.8, seed=1, stop=["x"])
    assert r.text == "12"
    sent = fake_server.last
    assert sent.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert "key" not in sent.path.lower() and KEYS["GEMINI_API_KEY"] not in sent.path
    assert sent.headers["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
    assert sent.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {"role": "user", "parts": [{"text": "What is 3 * 4?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 30, "topP": 0.8, "seed": 1, "stopSequences": ["x"]},
    }


def test_gemini_falls_back_to_google_api_key(fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google-fallback")
    gemini_model(fake_server).complete("Hi")
    assert fake_server.last.headers["x-goog-api-key"] == "AIza-google-fallback"


def test_gemini_counts_thinking_tokens_as_output(fake_server: FakeProviderServer) -> None:
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 40}
    parts = [{"text": "thinking...", "thought": True}, {"text": "4"}]
    fake_server.script([Reply(200, {"candidates": [{"content": {"parts": parts}}], "usageMetadata": usage})])
    r = gemini_model(fake_server).complete("2+2")
    assert (r.text, r.usage.input_tokens, r.usage.output_tokens) == ("4", 10, 45)


def test_price_override_replaces_the_table(make: ModelFactory) -> None:
    r = make(price=Price(1.0, 2.0)).complete("hi")
    assert r.cost_usd == pytest.approx((100 * 1.0 + 20 * 2.0) / 1e6)


def test_missing_usage_is_estimated_and_flagged(make: ModelFactory, fake_server: FakeProviderServer) -> None:
    fake_server.script(["no-usage"])
    m = make()
    r = m.complete("What is 10 - 4?")
    assert r.text == "6"
    assert r.usage.estimated is True
    assert (r.usage.input_tokens, r.usage.output_tokens) == (4, 1)  # estimate_tokens: ~4 characters a token
    assert r.cost_usd == pytest.approx(expected_cost(m.requested_model, 4, 1))


@pytest.mark.parametrize(
    ("service", "base_url", "key_env"),
    [
        ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        ("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        ("ollama", "http://localhost:11434/v1", None),
        ("vllm", "http://localhost:8000/v1", None),
        ("llamacpp", "http://localhost:8080/v1", None),
        ("lmstudio", "http://localhost:1234/v1", None),
    ],
)
def test_presets_configure_url_key_name_and_local_price(service: str, base_url: str, key_env: str | None) -> None:
    m = getattr(OpenAICompatible, service)("some-model")
    assert (m.base_url, m.api_key_env, m.name, m.provider) == (base_url, key_env, f"{service}/some-model", "openai")
    assert (m.price is not None and m.price.cost(10**6, 10**6) == 0.0) == (key_env is None)
    assert set(PRESETS) == {"openai", "groq", "together", "openrouter", "ollama", "vllm", "llamacpp", "lmstudio"}


def test_local_preset_sends_no_key_and_costs_nothing(fake_server: FakeProviderServer) -> None:
    r = OpenAICompatible.ollama("llama3.2", base_url=fake_server.openai_url).complete("2*21")
    assert (r.text, r.cost_usd) == ("42", 0.0)
    assert "authorization" not in fake_server.last.headers
    assert fake_server.last.body["model"] == "llama3.2"


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown service 'nope'.*groq"):
        OpenAICompatible.preset("nope", "m")


@pytest.mark.parametrize("timeout_s", [0, -1.0, "5"])
def test_timeout_must_be_positive_seconds(timeout_s: object) -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        Gemini("gemini-2.0-flash", timeout_s=timeout_s)  # type: ignore[arg-type]


def test_repr_shows_the_key_env_name_never_the_key() -> None:
    text = repr(OpenAICompatible("gpt-4o-mini"))
    assert "api_key_env='OPENAI_API_KEY'" in text
    assert KEYS["OPENAI_API_KEY"] not in text


def test_a_colab_key_is_read_at_the_first_call_only(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestra_lab import _secrets

    lookups: list[str] = []
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setattr(_secrets, "_colab_secret", lambda name: lookups.append(name) or "sk-colab-secret-0000")
    model = openai_model(fake_server)
    assert lookups == []  # not read when the model is built
    for _ in range(3):
        model.complete("Hi")
    assert lookups == ["OPENAI_API_KEY"]
    assert [r.headers["authorization"] for r in fake_server.received] == ["Bearer sk-colab-secret-0000"] * 3


def test_a_missing_key_is_looked_up_again_at_the_next_call(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    model = openai_model(fake_server)
    for _ in range(2):
        with pytest.raises(AuthError, match="OPENAI_API_KEY"):
            model.complete("Hi")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-set-later-0000")
    model.complete("Hi")
    assert fake_server.last.headers["authorization"] == "Bearer sk-set-later-0000"


# -- errors ----------------------------------------------------------------------------------------------------


def test_missing_key_raises_auth_error_naming_the_variable(
    make: ModelFactory, monkeypatch: pytest.MonkeyPatch, fake_server: FakeProviderServer
) -> None:
    m = make()
    monkeypatch.delenv(m.api_key_env)  # type: ignore[attr-defined]
    with pytest.raises(AuthError, match=m.api_key_env) as info:  # type: ignore[attr-defined]
        m.complete("hi")
    assert info.value.provider == m.provider
    assert fake_server.requests == 0


@pytest.mark.parametrize(
    ("behaviour", "error", "status"),
    [
        ("401", AuthError, 401),
        ("403", AuthError, 403),
        ("429", RateLimitError, 429),
        ("408", CallTimeoutError, 408),
        ("400", BadRequestError, 400),
        ("404", BadRequestError, 404),
        ("422", BadRequestError, 422),
        ("500", ServerError, 500),
        ("502", ServerError, 502),
        ("503", ServerError, 503),
        ("529", ServerError, 529),
        ("reset", ServerError, None),
    ],
)
def test_failures_map_to_typed_errors(
    make: ModelFactory, fake_server: FakeProviderServer, behaviour: str, error: type[ModelError], status: int | None
) -> None:
    fake_server.script([behaviour])
    m = make()
    with pytest.raises(error) as info:
        m.complete("hi")
    err = info.value
    assert type(err) is error
    assert (err.status, err.provider, err.model) == (status, m.provider, m.requested_model)
    assert err.retryable == (error in (RateLimitError, ServerError, CallTimeoutError))
    assert err.latency_s is not None and err.latency_s < 5
    assert m.provider in str(err)
    assert fake_server.requests == 1


def test_error_message_has_a_short_redacted_body_snippet_and_no_headers(fake_server: FakeProviderServer) -> None:
    fake_server.script(["401", Reply(400, {"error": {"message": "bad field " + "x" * 1000}})])
    m = openai_model(fake_server)
    with pytest.raises(AuthError) as auth:
        m.complete("hi")
    assert "Incorrect API key provided: ***" in str(auth.value)  # the fake echoed the key; it was redacted
    assert KEYS["OPENAI_API_KEY"] not in str(auth.value)
    with pytest.raises(BadRequestError) as bad:
        m.complete("hi")
    message = str(bad.value)
    assert "bad field xxx" in message
    assert len(message) < 300
    assert "authorization" not in message.lower() and "bearer" not in message.lower()


def test_html_error_page_is_shown_as_text(fake_server: FakeProviderServer) -> None:
    fake_server.script(["502"])
    with pytest.raises(ServerError, match="502 Bad Gateway") as info:
        openai_model(fake_server).complete("hi")
    assert "<" not in str(info.value)


@pytest.mark.parametrize(
    ("behaviour", "low", "high"), [("429", 1.0, 1.0), ("429-ms", 1.5, 1.5), ("429-date", 0.5, 2.01)]
)
def test_retry_after_is_read_from_every_form(
    make: ModelFactory, fake_server: FakeProviderServer, behaviour: str, low: float, high: float
) -> None:
    fake_server.script([behaviour])
    with pytest.raises(RateLimitError) as info:
        make().complete("hi")
    assert info.value.retry_after is not None
    assert low <= info.value.retry_after <= high


def test_rate_limit_without_retry_after_has_none(make: ModelFactory, fake_server: FakeProviderServer) -> None:
    fake_server.script(["429-bare"])
    with pytest.raises(RateLimitError) as info:
        make().complete("hi")
    assert info.value.retry_after is None


def test_retry_after_parser_edge_cases() -> None:
    now = 1_000_000.0
    assert retry_after_seconds({"Retry-After": "0"}) == 0.0
    assert retry_after_seconds({"Retry-After": "-5"}) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "nan"}) is None
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    past = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert retry_after_seconds({"retry-after": past}, now=now) == 0.0


def test_hang_past_the_timeout_is_a_timeout_error(make: ModelFactory, fake_server: FakeProviderServer) -> None:
    fake_server.script(["hang"])
    m = make(timeout_s=0.2)
    started = time.perf_counter()
    with pytest.raises(CallTimeoutError, match=r"0\.2 s") as info:
        m.complete("hi")
    took = time.perf_counter() - started
    assert 0.15 < took < 1.0
    assert info.value.latency_s == pytest.approx(took, abs=0.1)
    assert m.complete("What is 1 + 1?").text == "2"  # the next call is fine


def test_slow_answer_within_the_timeout_succeeds(make: ModelFactory, fake_server: FakeProviderServer) -> None:
    fake_server.slow_s = 0.1
    fake_server.script(["slow"])
    r = make(timeout_s=2.0).complete("What is 5 * 5?")
    assert r.text == "25"
    assert r.latency_s >= 0.1


@pytest.mark.parametrize("behaviour", ["truncated", "non-json", "html", "empty"])
def test_malformed_bodies_are_bad_response_errors_naming_provider_and_status(
    make: ModelFactory, fake_server: FakeProviderServer, behaviour: str
) -> None:
    fake_server.script([behaviour])
    m = make()
    with pytest.raises(BadResponseError) as info:
        m.complete("hi")
    message = str(info.value)
    assert m.provider in message and "HTTP 200" in message
    assert info.value.status == 200
    assert not isinstance(info.value.__cause__, KeyError)
    if behaviour == "html":
        assert "Sign in to the network" in message and "<title>" not in message


def test_empty_answers_say_why(fake_server: FakeProviderServer) -> None:
    fake_server.script(["empty", "empty", "empty"])
    with pytest.raises(BadResponseError, match="no choices"):
        openai_model(fake_server).complete("hi")
    with pytest.raises(BadResponseError, match="stop_reason='refusal'"):
        anthropic_model(fake_server).complete("hi")
    with pytest.raises(BadResponseError, match="blocked: SAFETY") as info:
        gemini_model(fake_server).complete("hi")
    assert info.value.usage.input_tokens == 100  # the prompt was billed: the error carries usage and cost
    assert info.value.cost_usd == pytest.approx(expected_cost("gemini-2.0-flash", 100, 0))


@pytest.mark.parametrize(
    "body", [{"choices": [{"message": None}]}, {"choices": "nope"}, {"choices": [{"message": {}}]}, []]
)
def test_odd_openai_shapes_never_leak_key_errors(fake_server: FakeProviderServer, body: object) -> None:
    fake_server.script([Reply(200, body)])
    with pytest.raises(BadResponseError, match="openai gpt-4o-mini: HTTP 200"):
        openai_model(fake_server).complete("hi")


def test_connection_refused_is_a_server_error() -> None:
    with FakeProviderServer() as server:
        url = server.openai_url
    with pytest.raises(ServerError, match=r"connection to http://127\.0\.0\.1"):
        OpenAICompatible.vllm("m", base_url=url, timeout_s=2.0).complete("hi")


def test_base_url_without_scheme_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError, match="check base_url"):
        OpenAICompatible.vllm("m", base_url="localhost:8000/v1").complete("hi")


# -- event loops -----------------------------------------------------------------------------------------------


def test_asyncio_run_twice_uses_a_fresh_client_per_loop_and_closes_it(fake_server: FakeProviderServer) -> None:
    m = anthropic_model(fake_server)
    clients = []

    async def call(prompt: str) -> str:
        clients.append(await http_client())
        return (await m.acomplete(prompt)).text

    assert asyncio.run(call("1 + 2")) == "3"
    assert asyncio.run(call("2 + 3")) == "5"
    assert fake_server.requests == 2
    # a loop that asyncio.run made and closed had its client closed with it (once nest_asyncio2 has patched
    # asyncio.run on Python < 3.12, asyncio.run reuses one loop, and so one client)
    assert clients[0] is clients[1] or clients[0].is_closed


def test_sync_call_inside_a_running_loop(fake_server: FakeProviderServer) -> None:
    # In a subprocess: making a running loop re-entrant patches asyncio for the whole process (pure-Python tasks),
    # which would slow every later test in this one.
    script = textwrap.dedent(
        """
        import asyncio, sys
        from orchestra_lab.models.openai import OpenAICompatible

        m = OpenAICompatible.vllm("m", base_url=sys.argv[1])

        async def notebook_cell():
            return m.complete("What is 8 + 8?").text

        print(asyncio.run(notebook_cell()))
        print(asyncio.run(m.acomplete("1 + 1")).text, asyncio.run(m.acomplete("2 + 2")).text)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, fake_server.openai_url], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["16", "2", "4"]
    assert fake_server.requests == 3


def test_concurrent_calls_share_the_loop_client(make: ModelFactory, fake_server: FakeProviderServer) -> None:
    m = make()

    async def many() -> list[str]:
        responses = await asyncio.gather(*(m.acomplete(f"{i} + 1") for i in range(12)))
        return [r.text for r in responses]

    assert asyncio.run(many()) == [str(i + 1) for i in range(12)]
    assert fake_server.requests == 12


# -- the call log ----------------------------------------------------------------------------------------------


def test_log_rows_carry_provider_served_model_status_cost_tokens_latency(
    make: ModelFactory, fake_server: FakeProviderServer
) -> None:
    fake_server.script(["ok", "429", "no-usage"])
    m = make()
    with CallLog() as log:
        m.complete(Request.of("What is 1 + 1?", item_id="q1"))
        with pytest.raises(RateLimitError):
            m.complete("hi")
        m.complete("What is 2 + 2?")
    frame = log.to_frame()
    ok, limited, estimated = (frame.iloc[i] for i in range(3))
    assert (ok["provider"], ok["served_model"], ok["requested_model"], ok["name"]) == (
        m.provider,
        m.requested_model + "-fake-001",
        m.requested_model,
        m.name,
    )
    assert (ok["http_status"], ok["input_tokens"], ok["output_tokens"], ok["source"], ok["item_id"]) == (
        200,
        100,
        20,
        "live",
        "q1",
    )
    assert ok["cost_usd"] == pytest.approx(expected_cost(m.requested_model, 100, 20))
    assert ok["latency_s"] > 0 and not ok["tokens_estimated"]
    assert (limited["status"], limited["error_type"], limited["http_status"], limited["cost_usd"]) == (
        "error",
        "rate_limit",
        429,
        0.0,
    )
    assert limited["latency_s"] > 0
    assert bool(estimated["tokens_estimated"]) and not math.isnan(estimated["cost_usd"])


def test_message_objects_are_sent_in_order(fake_server: FakeProviderServer) -> None:
    request = Request((Message("user", "a"), Message("assistant", "b"), Message("user", "c")))
    openai_model(fake_server).complete(request)
    assert [m["content"] for m in fake_server.last.body["messages"]] == ["a", "b", "c"]


# -- the fake server itself -----------------------------------------------------------------------------------


def test_fake_server_rates_are_seeded_and_counted(fake_server: FakeProviderServer) -> None:
    m = OpenAICompatible.vllm("m", base_url=fake_server.openai_url)

    def outcomes() -> list[str]:
        seen = []
        for _ in range(30):
            try:
                seen.append(m.complete("hi").text)
            except ModelError as err:
                seen.append(err.error_type)
        return seen

    fake_server.set_rates({"503": 0.3, "429-bare": 0.2}, seed=7)
    first = outcomes()
    counts = fake_server.counts
    fake_server.reset()
    fake_server.set_rates({"503": 0.3, "429-bare": 0.2}, seed=7)
    assert outcomes() == first
    assert first.count("server") == counts["503"] > 0
    assert first.count("rate_limit") == counts["429-bare"] > 0
    assert counts["ok"] == first.count("echo: hi") == 30 - counts["503"] - counts["429-bare"]


def test_fake_server_script_runs_before_the_default_and_rejects_unknown_names(fake_server: FakeProviderServer) -> None:
    with pytest.raises(ValueError, match="unknown fake-server behaviour 'teapot'"):
        fake_server.script(["teapot"])
    fake_server.script(["500"]).set_default("no-usage")
    m = OpenAICompatible.vllm("m", base_url=fake_server.openai_url)
    with pytest.raises(ServerError):
        m.complete("hi")
    assert m.complete("hi").usage.estimated
    assert [r.behaviour for r in fake_server.received] == ["500", "no-usage"]
