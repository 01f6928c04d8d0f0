"""Fuzzing with hypothesis (bounded examples): bad input fails with the library's own errors, never a stray
KeyError / TypeError / IndexError / RecursionError.

- the dataset loaders on random bytes, JSONL and CSV content, and random lists of dicts -> only ``DatasetError``;
- the provider response parsers on random JSON-ish bodies (directly, and over HTTP with random statuses, bodies and
  ``Retry-After`` headers through the fake server) -> only ``ModelError`` subclasses;
- ``retry_after_seconds`` on random header values -> ``None`` or a finite, non-negative number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_server import FakeProviderServer, Reply
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra_lab import Anthropic, CallLog, Gemini, ModelError, OpenAICompatible, Price, Response
from orchestra_lab.experiments.dataset import Dataset, DatasetError, load_dataset
from orchestra_lab.models._failures import retry_after_seconds
from orchestra_lab.models._http import HttpModel

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]  # fixtures here are safe to share
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=_QUIET)
FUZZ_FEWER = settings(max_examples=60, deadline=None, suppress_health_check=_QUIET)

# -- strategies ------------------------------------------------------------------------------------------------

SHAPE_KEYS = [
    "id", "input", "expected", "category", "difficulty", "metadata",  # dataset fields
    "choices", "message", "content", "refusal", "finish_reason", "usage", "prompt_tokens", "completion_tokens",
    "model", "type", "text", "stop_reason", "input_tokens", "output_tokens",
    "candidates", "parts", "thought", "finishReason", "usageMetadata", "promptTokenCount", "candidatesTokenCount",
    "thoughtsTokenCount", "promptFeedback", "blockReason", "modelVersion", "error",
]  # fmt: skip
keys = st.sampled_from(SHAPE_KEYS) | st.text(max_size=4)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["text", "user", "assistant", "2", "0.5", "3", "", " "])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)
json_objects = st.dictionaries(keys, json_values, max_size=5)


def lines_of(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, max_size=6).map("\n".join)


jsonl_texts = lines_of(json_values.map(json.dumps) | st.text(max_size=20))
csv_cells = st.sampled_from(
    ["id", "input", "expected", "difficulty", "metadata", "", '"', '""', "1", "0.5", "{}"]
) | st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
csv_texts = lines_of(st.lists(csv_cells, max_size=5).map(",".join))


# -- dataset loaders -------------------------------------------------------------------------------------------


def load_or_dataset_error(source: object) -> None:
    try:
        loaded = load_dataset(source)  # type: ignore[arg-type]
    except DatasetError:
        return
    assert isinstance(loaded, Dataset) and len(loaded) > 0
    assert len({item.id for item in loaded}) == len(loaded)
    assert all(isinstance(item.input, str) and item.input.strip() for item in loaded)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".jsonl", ".csv", ".parquet", ".ndjson"]))
def test_loaders_on_random_bytes_raise_only_dataset_errors(scratch: Path, data: bytes, suffix: str) -> None:
    path = scratch / f"random{suffix}"
    path.write_bytes(data)
    load_or_dataset_error(path)


@FUZZ
@given(text=jsonl_texts)
def test_jsonl_loader_on_random_content_raises_only_dataset_errors(scratch: Path, text: str) -> None:
    path = scratch / "random.jsonl"
    path.write_text(text, encoding="utf-8")
    load_or_dataset_error(path)


@FUZZ
@given(text=csv_texts)
def test_csv_loader_on_random_content_raises_only_dataset_errors(scratch: Path, text: str) -> None:
    path = scratch / "random.csv"
    path.write_text(text, encoding="utf-8")
    load_or_dataset_error(path)


@FUZZ_FEWER
@given(rows=st.lists(json_objects, max_size=4))
def test_list_of_dicts_loader_raises_only_dataset_errors(rows: list[dict]) -> None:
    load_or_dataset_error(rows)


# -- provider parsers ------------------------------------------------------------------------------------------

PROVIDERS = {
    "openai": lambda url, **kw: OpenAICompatible("m", base_url=url + "/v1", api_key_env=None, price=Price(1, 2), **kw),
    "anthropic": lambda url, **kw: Anthropic("m", base_url=url, api_key_env=None, price=Price(1, 2), **kw),
    "gemini": lambda url, **kw: Gemini("m", base_url=url + "/v1beta", api_key_env=None, price=Price(1, 2), **kw),
}


def answer_or_model_error(model: HttpModel) -> None:
    with CallLog() as log:
        try:
            response = model("What is 1 + 1?")
        except ModelError as err:
            assert err.latency_s is not None
            assert log.rows()[-1]["status"] == "error"
            return
    assert isinstance(response, Response) and isinstance(response.text, str)
    assert all(isinstance(n, int) and n >= 0 for n in (response.usage.input_tokens, response.usage.output_tokens))
    assert log.rows()[-1]["status"] == "ok"


@pytest.fixture
def canned_reply() -> Iterator[tuple[list[dict], httpx.MockTransport]]:
    """A transport answering 200 with the body put in the returned list (no network)."""
    bodies: list[dict] = [{}]
    yield bodies, httpx.MockTransport(lambda request: httpx.Response(200, content=json.dumps(bodies[0])))


@FUZZ
@given(body=json_objects, provider=st.sampled_from(sorted(PROVIDERS)))
def test_parsers_on_random_bodies_raise_only_model_errors(
    canned_reply: tuple[list[dict], httpx.MockTransport], body: dict, provider: str
) -> None:
    bodies, transport = canned_reply
    bodies[0] = body
    answer_or_model_error(PROVIDERS[provider]("http://unused.invalid", transport=transport))


@settings(max_examples=40, deadline=None, suppress_health_check=_QUIET)
@given(
    provider=st.sampled_from(sorted(PROVIDERS)),
    choices=st.lists(json_objects, max_size=2),
    message=json_objects,
)
def test_openai_like_shapes_with_random_insides(
    canned_reply: tuple[list[dict], httpx.MockTransport], provider: str, choices: list[dict], message: dict
) -> None:
    """Well-formed outer shapes with random insides reach deeper into the parsers than random bodies do."""
    bodies, transport = canned_reply
    bodies[0] = {
        "openai": {"choices": [{"message": message}, *choices], "usage": message},
        "anthropic": {"content": [message, *choices], "usage": message},
        "gemini": {"candidates": [{"content": {"parts": [message, *choices]}}], "usageMetadata": message},
    }[provider]
    answer_or_model_error(PROVIDERS[provider]("http://unused.invalid", transport=transport))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as fake:
        yield fake


bodies = (
    json_objects.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=60)
    | st.sampled_from([b"", b"null", b"[]", b"{", b"<html>oops</html>", b"[" * 5000 + b"]" * 5000])
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30) | st.sampled_from(
    ["1", "-5", "1e400", "nan", "inf", "0.01", "Wed, 21 Oct 2015 07:28:10 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"]
)


@FUZZ_FEWER
@given(
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 529, 599]),
    body=bodies,
    retry_after=header_values,
    provider=st.sampled_from(sorted(PROVIDERS)),
)
def test_http_replies_of_any_status_and_body_raise_only_model_errors(
    server: FakeProviderServer, status: int, body: bytes, retry_after: str, provider: str
) -> None:
    headers = {"Retry-After": retry_after, "retry-after-ms": retry_after}
    server.script([Reply(status, b"" if status == 204 else body, headers)])
    answer_or_model_error(PROVIDERS[provider](server.url))


@FUZZ
@given(value=header_values, millis=st.none() | header_values)
def test_retry_after_parsing_never_raises(value: str, millis: str | None) -> None:
    headers = {"Retry-After": value} | ({} if millis is None else {"retry-after-ms": millis})
    seconds = retry_after_seconds(headers, now=1_700_000_000.0)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_absurdly_deep_json_is_a_model_error_not_a_recursion_error(
    server: FakeProviderServer, provider: str, status: int
) -> None:
    """Found by fuzzing: ``json.loads`` raises RecursionError (not ValueError) on deep nesting."""
    server.script([Reply(status, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"})])
    with pytest.raises(ModelError) as info:
        PROVIDERS[provider](server.url)("What is 1 + 1?")
    assert info.value.status == status and len(str(info.value)) < 400
