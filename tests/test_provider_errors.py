"""Provider errors and request shapes: quota errors, wait hints, Gemini's top-level fields and key errors, params
the model rejects, and the CallTimeoutError rename."""

from __future__ import annotations

import warnings

import pytest
from fake_server import FakeProviderServer, Reply

from orchestra_lab import CallLog, Request, Retrying
from orchestra_lab._capabilities import UnsupportedParamWarning
from orchestra_lab.errors import AuthError, CallTimeoutError, QuotaExceededError, RateLimitError
from orchestra_lab.models._failures import duration_seconds, wait_hint
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.base import Model
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible
from orchestra_lab.models.simulated import SimulatedModel
from orchestra_lab.strategies import LLMRouter, Route


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(env, "test-key-" + env.lower())


def openai(server: FakeProviderServer, model: str = "gpt-4o-mini") -> OpenAICompatible:
    return OpenAICompatible(model, base_url=server.openai_url)


def gemini(server: FakeProviderServer, model: str = "gemini-2.5-flash") -> Gemini:
    return Gemini(model, base_url=server.gemini_url)


def anthropic(server: FakeProviderServer, model: str) -> Anthropic:
    return Anthropic(model, base_url=server.anthropic_url)


# -- 5. quota errors are not retried ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [openai, gemini], ids=["openai", "gemini"])
def test_out_of_quota_is_sent_once_through_retrying(fake_server: FakeProviderServer, make: object) -> None:
    fake_server.set_default("429-quota")
    model = Retrying(make(fake_server), max_attempts=4, base_delay_s=0.01)  # type: ignore[operator]
    with CallLog() as log, pytest.raises(QuotaExceededError, match="billing") as info:
        model.complete("hi")
    assert fake_server.requests == 1  # was 4, with 2.5 s of waits between them
    assert (info.value.error_type, info.value.retryable, info.value.status) == ("quota", False, 429)
    assert log.to_frame()["error_type"].tolist() == ["quota"]


def test_a_per_minute_gemini_limit_is_still_a_retryable_rate_limit(fake_server: FakeProviderServer) -> None:
    fake_server.script(["429-retryinfo"])
    with pytest.raises(RateLimitError) as info:
        gemini(fake_server).complete("hi")
    assert type(info.value) is RateLimitError and info.value.retryable


# -- 6. wait hints ---------------------------------------------------------------------------------------------


def test_gemini_retry_info_delay_is_the_retry_hint(fake_server: FakeProviderServer) -> None:
    fake_server.script(["429-retryinfo"])
    with pytest.raises(RateLimitError) as info:
        gemini(fake_server).complete("hi")
    assert info.value.retry_after == 13.0  # was None


def test_openai_ratelimit_reset_of_the_exhausted_limit_is_the_retry_hint(fake_server: FakeProviderServer) -> None:
    fake_server.script(["429-retryinfo"])  # tokens exhausted, reset in 6m0s; requests reset in 1s
    with pytest.raises(RateLimitError) as info:
        openai(fake_server).complete("hi")
    assert info.value.retry_after == 360.0  # was None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("13.250s", 13.25), ("", None), ("5x", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_retry_after_header_wins_over_the_other_hints() -> None:
    headers = {"retry-after": "2", "x-ratelimit-reset-requests": "30s"}
    assert wait_hint(headers, None) == 2.0
    assert wait_hint({"x-ratelimit-reset-requests": "30s", "x-ratelimit-reset-tokens": "5s"}, None) == 30.0


# -- 7. Gemini request shape and key errors --------------------------------------------------------------------


def test_gemini_request_level_fields_go_at_the_top_level(fake_server: FakeProviderServer) -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    tools = [{"googleSearch": {}}]
    gemini(fake_server).complete(
        "hi",
        temperature=0.2,
        safetySettings=safety,
        tools=tools,
        cachedContent="cachedContents/abc",
        labels={"team": "lab"},
        responseMimeType="text/plain",
    )
    body = fake_server.last.body
    assert body["safetySettings"] == safety and body["tools"] == tools  # were inside generationConfig
    assert (body["cachedContent"], body["labels"]) == ("cachedContents/abc", {"team": "lab"})
    assert body["generationConfig"] == {"temperature": 0.2, "responseMimeType": "text/plain"}


def test_gemini_api_key_invalid_is_an_auth_error(fake_server: FakeProviderServer) -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}
    ]
    body = {"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT", "details": details}}
    fake_server.script([Reply(400, body)])
    with pytest.raises(AuthError, match="API key not valid") as info:  # was BadRequestError
        gemini(fake_server).complete("hi")
    assert info.value.status == 400


# -- 8. params the model rejects are not sent ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "params", "sent"),
    [
        ("openai", "o3-mini", {"temperature": 0.0, "max_tokens": 5}, {"max_completion_tokens": 5}),
        ("openai", "gpt-5-mini-2025-08-07", {"temperature": 0.0, "top_p": 0.5}, {}),
        ("openai", "gpt-4o", {"temperature": 0.0}, {"temperature": 0.0}),
        ("anthropic", "claude-opus-4-7", {"temperature": 0.0, "top_p": 0.9, "top_k": 5}, {}),
        ("anthropic", "claude-sonnet-4-5", {"temperature": 0.0, "top_p": 0.9}, {"temperature": 0.0}),
        ("anthropic", "claude-3-5-haiku", {"temperature": 0.0, "top_p": 0.9}, {"temperature": 0.0, "top_p": 0.9}),
    ],
)
def test_params_the_model_rejects_are_left_out(
    fake_server: FakeProviderServer, provider: str, model: str, params: dict, sent: dict
) -> None:
    make = {"openai": openai, "anthropic": anthropic}[provider]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedParamWarning)
        make(fake_server, model).complete("hi", **params)  # type: ignore[operator]
    body = fake_server.last.body
    names = ("temperature", "top_p", "top_k", "max_completion_tokens")
    assert {k: body[k] for k in names if k in body} == sent


def test_a_dropped_param_warns_once_per_model(fake_server: FakeProviderServer) -> None:
    model: Model = openai(fake_server, "o4-mini")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.complete("hi", temperature=0.0)
        model.complete("hi", temperature=0.0)
    dropped = [w for w in caught if issubclass(w.category, UnsupportedParamWarning)]
    assert len(dropped) == 1 and "'temperature'" in str(dropped[0].message)


def test_anthropic_new_api_version_sends_no_sampling_params(fake_server: FakeProviderServer) -> None:
    model = Anthropic("claude-3-5-haiku", base_url=fake_server.anthropic_url, api_version="2026-10-21")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedParamWarning)
        model.complete("hi", temperature=0.0, top_k=3)
    assert "temperature" not in fake_server.last.body and "top_k" not in fake_server.last.body


def test_a_router_keeps_the_callers_temperature_and_defaults_to_zero() -> None:
    small = SimulatedModel.profile("sim/small")
    router = LLMRouter(small, [Route("a", small, description="anything")], default=small)
    assert router.router_request(Request.of("q")).temperature == 0.0
    assert router.router_request(Request.of("q", temperature=0.7)).temperature == 0.7  # was forced to 0.0


# -- 10.4 CallTimeoutError -------------------------------------------------------------------------------------


def test_timeout_error_is_a_deprecated_alias_of_call_timeout_error() -> None:
    import orchestra_lab
    from orchestra_lab import errors

    with pytest.warns(DeprecationWarning, match="CallTimeoutError"):
        alias = errors.TimeoutError
    with pytest.warns(DeprecationWarning):
        top_level = orchestra_lab.TimeoutError
    assert alias is top_level is CallTimeoutError
    assert CallTimeoutError is not TimeoutError and "TimeoutError" not in orchestra_lab.__all__
