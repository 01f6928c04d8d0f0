"""Runtime wrappers around a real HTTP provider (the fake OpenAI-compatible server in tests/fake_server.py)."""

from __future__ import annotations

import pytest

from orchestra_lab import CallLog, CallTimeoutError, CircuitOpenError, Price, RateLimitError, ServerError
from orchestra_lab.runtime import Cached, CircuitBreaker, ResponseCache, Retrying, Timed

openai = pytest.importorskip("orchestra_lab.models.openai")

CANARY = "sk-" + "canary-live-0123456789abcdef"  # no key-shaped literal in the repo


def local_model(server, **kwargs):
    return openai.OpenAICompatible.vllm("some-model", base_url=server.openai_url, **kwargs)


def test_retries_honour_the_servers_retry_after(fake_server):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    fake_server.retry_after = "3"
    fake_server.script(["429", "500", "ok"])
    model = Retrying(local_model(fake_server), base_delay_s=0.1, jitter=0, sleep=record)
    with CallLog() as log:
        assert model("What is 6 * 7?").text == "42"
    assert fake_server.requests == 3 and waits == [3.0, 0.2]
    assert log.to_frame()["attempt"].tolist() == [1, 2, 3]
    assert log.to_frame()["http_status"].tolist()[:2] == [429, 500]


def test_a_hanging_server_times_out_on_the_wall_clock(fake_server):
    fake_server.script(["hang"])
    with CallLog() as log, pytest.raises(CallTimeoutError):
        Timed(local_model(fake_server), timeout_s=0.2)("What is 6 * 7?")
    assert log.rows()[0]["error_type"] == "timeout"


def test_an_open_circuit_sends_nothing(fake_server):
    fake_server.script(["500"] * 10)
    model = CircuitBreaker(local_model(fake_server), failures=2, cooldown_s=60)
    for expected in (ServerError, ServerError, CircuitOpenError, CircuitOpenError):
        with CallLog(), pytest.raises(expected):
            model("ping")
    assert fake_server.requests == 2


def test_cached_live_calls_go_out_once_and_keep_the_key_out_of_the_cache(fake_server, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNTIME_TEST_KEY", CANARY)
    live = openai.OpenAICompatible(
        "some-model", base_url=fake_server.openai_url, api_key_env="RUNTIME_TEST_KEY", price=Price(1.0, 2.0)
    )
    store = ResponseCache(tmp_path / "cache")
    cached = Cached(live, store)
    with CallLog():
        first = cached("What is 6 * 7?")
        second = cached("What is 6 * 7?")
    assert (first.text, second.text, second.cached, second.cost_usd) == ("42", "42", True, 0.0)
    assert second.served_model == first.served_model == "some-model-fake-001"
    assert fake_server.requests == 1
    assert CANARY in fake_server.received[0].headers.get("authorization", "")  # the key was really in play
    store.close()
    written = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"some-model-fake-001" in written and CANARY.encode() not in written


def test_a_retried_rate_limit_that_never_clears_is_raised(fake_server):
    async def no_wait(seconds: float) -> None:
        pass

    fake_server.script(["429"] * 3)
    with CallLog() as log, pytest.raises(RateLimitError):
        Retrying(local_model(fake_server), max_attempts=3, sleep=no_wait)("ping")
    assert fake_server.requests == 3 and len(log) == 3
