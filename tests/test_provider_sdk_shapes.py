"""Our request bodies and response parsers against the official SDKs' types (test-only dependencies: the SDKs are
never imported at run time). Requests are validated with the SDKs' typed params; responses are built with the
SDKs' response models, dumped to JSON and parsed by our models."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from fake_server import FakeProviderServer, Reply

from orchestra_lab import Request
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible

openai_params = pytest.importorskip("openai.types.chat.completion_create_params")
openai_chat = pytest.importorskip("openai.types.chat")
anthropic_params = pytest.importorskip("anthropic.types.message_create_params")
anthropic_types = pytest.importorskip("anthropic.types")
genai_types = pytest.importorskip("google.genai.types")
pydantic = pytest.importorskip("pydantic")


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(env, "test-key-" + env.lower())


def valid_typed_dict(schema: Any, body: dict[str, Any]) -> None:
    """``body`` has only fields of the TypedDict ``schema`` and validates against it."""
    assert set(body) <= set(schema.__annotations__), set(body) - set(schema.__annotations__)
    pydantic.TypeAdapter(schema).validate_python(body)


REQUEST = Request.of("What is 2 + 2?", system="Be brief.", temperature=0.0, max_tokens=50, top_p=0.9, stop="\n")


def sent_body(server: FakeProviderServer, model: Any, request: Request = REQUEST) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.complete(request)
    return server.last.body


# -- requests --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o-mini", "o3-mini", "gpt-5"])
def test_openai_request_is_valid_chat_completion_params(fake_server: FakeProviderServer, model: str) -> None:
    body = sent_body(fake_server, OpenAICompatible(model, base_url=fake_server.openai_url))
    valid_typed_dict(openai_params.CompletionCreateParamsNonStreaming, body)


@pytest.mark.parametrize("model", ["claude-3-5-haiku", "claude-sonnet-4-5", "claude-opus-4-7"])
@pytest.mark.parametrize("api_version", ["2023-06-01", "2026-10-21"])
def test_anthropic_request_is_valid_message_create_params(
    fake_server: FakeProviderServer, model: str, api_version: str
) -> None:
    anthropic = Anthropic(model, base_url=fake_server.anthropic_url, api_version=api_version)
    body = sent_body(fake_server, anthropic)
    if api_version < "2026-10-21":  # the SDK types the 2026-10-21 API, which removed the sampling params
        body = {k: v for k, v in body.items() if k not in ("temperature", "top_p", "top_k")}
    valid_typed_dict(anthropic_params.MessageCreateParamsNonStreaming, body)


def test_gemini_request_fields_are_valid_contents_and_generation_config(fake_server: FakeProviderServer) -> None:
    request = REQUEST.replace(
        extra={
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "toolConfig": {"functionCallingConfig": {"mode": "NONE"}},
            "responseMimeType": "text/plain",
            "thinkingConfig": {"thinkingBudget": 0},
        }
    )
    body = sent_body(fake_server, Gemini("gemini-2.5-flash", base_url=fake_server.gemini_url), request)
    for content in body["contents"]:
        genai_types.Content.model_validate(content)
    genai_types.Content.model_validate(body["systemInstruction"])
    genai_types.GenerationConfig.model_validate(body["generationConfig"])  # extra="forbid": no stray fields
    for setting in body["safetySettings"]:
        genai_types.SafetySetting.model_validate(setting)
    genai_types.ToolConfig.model_validate(body["toolConfig"])


# -- responses -------------------------------------------------------------------------------------------------


def test_openai_completion_built_by_the_sdk_is_parsed(fake_server: FakeProviderServer) -> None:
    completion = openai_chat.ChatCompletion(
        id="chatcmpl-1",
        object="chat.completion",
        created=0,
        model="gpt-5-2025-08-07",
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "4"}}],
        usage={
            "prompt_tokens": 10_000,
            "completion_tokens": 500,
            "total_tokens": 10_500,
            "prompt_tokens_details": {"cached_tokens": 8_000},
            "completion_tokens_details": {"reasoning_tokens": 400},
        },
    )
    fake_server.script([Reply(200, completion.model_dump(mode="json"))])
    r = OpenAICompatible("gpt-5", base_url=fake_server.openai_url).complete("2+2")
    assert (r.text, r.served_model, r.usage.cached_input_tokens, r.usage.reasoning_tokens) == (
        "4", "gpt-5-2025-08-07", 8_000, 400)  # fmt: skip
    assert r.cost_usd == pytest.approx(0.0085, abs=1e-9)  # 2000*1.25 + 8000*0.125 + 500*10


def test_anthropic_message_built_by_the_sdk_is_parsed(fake_server: FakeProviderServer) -> None:
    message = anthropic_types.Message(
        id="msg_1",
        type="message",
        role="assistant",
        model="claude-sonnet-4-5-20250929",
        content=[{"type": "text", "text": "4"}],
        stop_reason="end_turn",
        usage={"input_tokens": 12, "output_tokens": 50, "cache_read_input_tokens": 9_000,
               "cache_creation_input_tokens": 0},
    )  # fmt: skip
    fake_server.script([Reply(200, message.model_dump(mode="json"))])
    r = Anthropic("claude-sonnet-4-5", base_url=fake_server.anthropic_url).complete("2+2")
    assert (r.text, r.usage.input_tokens, r.usage.cached_input_tokens) == ("4", 9_012, 9_000)
    assert r.cost_usd == pytest.approx(0.003486, abs=1e-9)


def test_gemini_response_built_by_the_sdk_is_parsed(fake_server: FakeProviderServer) -> None:
    response = genai_types.GenerateContentResponse(
        candidates=[{"content": {"role": "model", "parts": [{"text": "4"}]}, "finish_reason": "STOP"}],
        usage_metadata={"prompt_token_count": 10_000, "cached_content_token_count": 8_000,
                        "candidates_token_count": 60, "thoughts_token_count": 40},
        model_version="gemini-2.5-flash-001",
    )  # fmt: skip
    fake_server.script([Reply(200, response.model_dump(mode="json", by_alias=True, exclude_none=True))])
    r = Gemini("gemini-2.5-flash", base_url=fake_server.gemini_url).complete("2+2")
    assert (r.text, r.usage.output_tokens, r.usage.reasoning_tokens, r.usage.cached_input_tokens) == (
        "4", 100, 40, 8_000)  # fmt: skip
    assert r.cost_usd == pytest.approx(0.00109, abs=1e-9)  # 2000*0.30 + 8000*0.03 + 100*2.50
