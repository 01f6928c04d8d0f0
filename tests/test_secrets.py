"""A canary API key must never reach a repr, an error, a log row, a file of the run directory or a cache key."""

from __future__ import annotations

import secrets
import traceback
from pathlib import Path

import pytest
from fake_server import FakeProviderServer

from orchestra_lab import CallLog, Request
from orchestra_lab.errors import AuthError, ModelError
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.base import Model
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible

ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "sk-canary-" + secrets.token_hex(16)
    for env in ENVS:
        monkeypatch.setenv(env, key)
    return key


def models(server: FakeProviderServer) -> list[Model]:
    return [
        OpenAICompatible("gpt-4o-mini", base_url=server.openai_url),
        Anthropic("claude-3-5-haiku", base_url=server.anthropic_url),
        Gemini("gemini-2.0-flash", base_url=server.gemini_url),
    ]


def texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


def test_canary_key_appears_nowhere(canary: str, fake_server: FakeProviderServer, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    seen: list[str] = []
    # per model: ok, 401 (the fake echoes the key it got), 500, missing usage, 429, truncated JSON
    fake_server.script(["ok", "401", "500", "no-usage", "429", "truncated"] * 3)
    with CallLog(run_dir) as log:
        for model in models(fake_server):
            seen.append(repr(model))
            for _ in range(6):
                try:
                    response = model.complete(Request.of("What is 2 + 2?", item_id="q"))
                except ModelError as err:
                    seen.extend(texts_of(err))
                else:
                    seen.extend([repr(response), str(response), response._repr_html_()])
        seen.append(log._repr_html_())
        log.to_frame().to_csv(run_dir / "calls.csv")
        log.to_frame().to_parquet(run_dir / "calls.parquet")
    log.close()

    received = fake_server.received
    assert len(received) == 18
    assert all(canary in " ".join(r.headers.values()) for r in received)  # the key was really sent
    frame = log.to_frame()
    assert list(frame["status"]).count("error") == 12
    assert frame["error"].str.contains(r"\*\*\*", regex=True).sum() == 3  # each 401 echoed the key, redacted
    for row in log.rows():
        assert canary not in repr(row)
    for text in seen:
        assert canary not in text
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"calls.jsonl", "calls.csv", "calls.parquet"}
    for path in files:
        assert canary.encode() not in path.read_bytes(), path.name


def test_missing_key_error_names_the_variable_not_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(AuthError, match="set the environment variable ANTHROPIC_API_KEY"):
        Anthropic("claude-3-5-haiku", base_url="http://127.0.0.1:9").complete("hi")


def test_fingerprint_and_prompt_hash_do_not_depend_on_the_key(
    canary: str, fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = Request.of("What is 2 + 2?", temperature=0.0)
    model = OpenAICompatible("gpt-4o-mini", base_url=fake_server.openai_url)
    with CallLog() as log:
        model.complete(request)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-other-" + secrets.token_hex(16))
        model.complete(request)
    hashes = list(log.to_frame()["prompt_hash"])
    assert hashes == [request.fingerprint(), request.fingerprint()]
    assert canary not in request.fingerprint()
    assert fake_server.received[0].headers["authorization"] != fake_server.received[1].headers["authorization"]
