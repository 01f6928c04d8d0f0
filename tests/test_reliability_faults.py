"""Reliability under injected faults, end to end against the fake provider server.

- 500 items through ``Fallback([Retrying(Timed(flaky)), backup])`` with 30% faults of every kind on the flaky
  server: every item ends answered or with a logged final error, the call log has exactly one row per request each
  server received, and the logged cost equals what the servers' own records say was billed.
- ``Retry-After`` is honoured (recorded by an injected sleep), the circuit breaker keeps requests off the server
  while open and lets exactly one probe through after the cool-down (injected clock).
- A spend cap (``Experiment(max_spend_usd=...)`` and a bare ``with Budget(...)`` over concurrent calls) is never
  passed and refused calls are logged as budget errors.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Iterator

import pytest
from fake_server import FakeProviderServer, Received, answer_for

from orchestra_lab import (
    BudgetExceededError,
    CallLog,
    CircuitOpenError,
    OpenAICompatible,
    Price,
    RateLimitError,
    ServerError,
)
from orchestra_lab.experiments import Experiment
from orchestra_lab.runtime import Budget, CircuitBreaker, Retrying, Timed
from orchestra_lab.strategies import Fallback
from orchestra_lab.types import estimate_tokens

PRICE = Price(input_per_1m=3.0, output_per_1m=15.0, source="test")
USAGE = (100, 20)
FAULTS = (
    "429",  # with Retry-After: 0.01
    "429-bare",
    "500",
    "502",
    "503",
    "reset",
    "hang",  # outlasts the Timed timeout
    "truncated",
    "non-json",
    "html",
    "empty",  # no choices (usage still reported: billed)
    "no-usage",  # an answer without usage: estimated tokens
)
FAULT_RATE = 0.30
BACKUP_FAULT_RATE = 0.10
TIMEOUT_S = 1.5


@pytest.fixture
def flaky_server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(usage=USAGE, retry_after="0.01", hang_s=4.0) as server:
        server.set_rates({fault: FAULT_RATE / len(FAULTS) for fault in FAULTS}, seed=7)
        yield server


@pytest.fixture
def backup_server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(usage=(50, 10)) as server:
        server.set_rates({"503": BACKUP_FAULT_RATE}, seed=3)
        yield server


def model_on(server: FakeProviderServer, model: str, **options: object) -> OpenAICompatible:
    return OpenAICompatible(model, base_url=server.openai_url, api_key_env=None, price=PRICE, **options)  # type: ignore[arg-type]


def arithmetic_items(n: int) -> list[dict[str, object]]:
    return [{"id": f"q{i}", "input": f"What is {i} + {2 * i + 1}?", "expected": str(3 * i + 1)} for i in range(n)]


def billed_usd(received: list[Received], usage: tuple[int, int]) -> float:
    """What the server's own record says was billed: replies that reached the client and reported usage (an empty
    answer still reports it), plus estimated usage for answers that came without it."""
    total = 0.0
    for request in received:
        if request.behaviour in ("ok", "empty"):
            total += PRICE.cost(*usage)
        elif request.behaviour == "no-usage":
            messages = request.body["messages"]
            prompt_tokens = sum(estimate_tokens(m["content"]) for m in messages)
            total += PRICE.cost(prompt_tokens, estimate_tokens(answer_for(messages[-1]["content"])))
    return total


class RecordingSleep:
    """An injected sleep: records each wait, yields to the loop, does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def test_500_items_under_30_percent_faults_every_item_ends_and_the_books_balance(
    flaky_server: FakeProviderServer, backup_server: FakeProviderServer, tmp_path
) -> None:
    sleep = RecordingSleep()
    flaky = model_on(flaky_server, "flaky-1", timeout_s=5.0)
    backup = model_on(backup_server, "backup-1")
    strategy = Fallback(
        [Retrying(Timed(flaky, timeout_s=TIMEOUT_S), max_attempts=3, base_delay_s=0.001, sleep=sleep), backup]
    )
    data = arithmetic_items(500)
    experiment = Experiment(data, {"fb": strategy}, scorer="exact", concurrency=16, run_dir=tmp_path, progress=False)

    results = experiment.run()

    # every fault kind was injected, so every path below was exercised
    counts = flaky_server.counts
    assert all(counts[fault] > 0 for fault in FAULTS), counts
    assert backup_server.counts["503"] > 0

    # every item ends exactly once: the right answer, or a final error that the log holds too
    items = results.items.set_index("item_id")
    assert sorted(items.index) == sorted(d["id"] for d in data)
    calls = results.calls
    roots = calls[calls["parent_id"].isna()].set_index("call_id")
    for item in data:
        row = items.loc[item["id"]]
        if row["status"] == "ok":
            assert row["output"] == item["expected"] and row["score"] == 1.0
        else:
            assert row["status"] == "error" and row["score"] == 0.0
            assert row["error_type"] == "strategy" and "every model failed" in row["error"]
            root = roots.loc[row["call_id"]]
            assert root["status"] == "error" and root["error"] == row["error"]
    assert (items["status"] == "ok").mean() > 0.95

    # one attempt row per request each server received, and the failures typed as the server sent them
    leaves = calls[calls["kind"] == "model"]
    flaky_rows = leaves[leaves["name"] == flaky.name]
    backup_rows = leaves[leaves["name"] == backup.name]
    assert len(flaky_rows) == flaky_server.requests
    assert len(backup_rows) == backup_server.requests
    assert len(leaves) == len(flaky_rows) + len(backup_rows)
    by_type = flaky_rows["error_type"].value_counts()
    assert by_type.get("rate_limit", 0) == counts["429"] + counts["429-bare"]
    assert by_type.get("server", 0) == counts["500"] + counts["502"] + counts["503"] + counts["reset"]
    assert by_type.get("timeout", 0) == counts["hang"]
    assert by_type.get("bad_response", 0) == counts["truncated"] + counts["non-json"] + counts["html"] + counts["empty"]
    assert (flaky_rows["status"] == "ok").sum() == counts["ok"] + counts["no-usage"]
    assert flaky_rows["tokens_estimated"].sum() == counts["no-usage"]
    for _, attempts in flaky_rows.groupby("parent_id", observed=True)["attempt"]:
        assert sorted(attempts) == list(range(1, len(attempts) + 1))
    assert flaky_rows["attempt"].max() <= 3

    # cost only for what was billed, and the totals agree with the servers' records; a hang the client abandoned
    # may still be billed by the provider: its cost is unknown (NaN), and so is the cost of every call above it
    assert math.isclose(flaky_rows["cost_usd"].sum(), billed_usd(flaky_server.received, USAGE), rel_tol=1e-9)
    assert math.isclose(backup_rows["cost_usd"].sum(), billed_usd(backup_server.received, (50, 10)), rel_tol=1e-9)
    unbilled = flaky_rows[flaky_rows["error_type"].isin(["rate_limit", "server"])]
    assert (unbilled["cost_usd"] == 0).all()
    abandoned = flaky_rows[flaky_rows["error_type"] == "timeout"]
    assert abandoned["cost_usd"].isna().all() and (abandoned["billing"] == "unknown").all()
    assert (roots["cost_usd"].isna() == (roots["billing"] == "unknown")).all()
    known = roots[roots["billing"] != "unknown"]
    known_leaves = leaves[leaves["item_id"].isin(known["item_id"])]
    assert math.isclose(known["cost_usd"].sum(), known_leaves["cost_usd"].sum(), rel_tol=1e-9)
    assert math.isclose(results.items["cost_usd"].sum(), known["cost_usd"].sum(), rel_tol=1e-9)

    # retries waited (at least the 10 ms Retry-After when there was one), never on the wall clock
    assert len(sleep.waits) == (flaky_rows["attempt"] > 1).sum()
    assert sum(w == pytest.approx(0.01) for w in sleep.waits) > 0


# -- Retry-After -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "server_retry_after", "base_delay_s", "expected_waits"),
    [
        (["429", "429", "ok"], "0.5", 0.001, [0.5, 0.5]),  # the header is longer than the backoff: honoured
        (["429-ms", "ok"], "1", 0.001, [1.5]),  # retry-after-ms: 1500
        (["429", "ok"], "0.01", 0.2, [0.2]),  # the backoff is longer than the header: the backoff
        (["429-bare", "503", "ok"], "1", 0.1, [0.1, 0.2]),  # no header: plain exponential backoff
    ],
)
def test_retry_waits_honour_retry_after(
    script: list[str], server_retry_after: str, base_delay_s: float, expected_waits: list[float]
) -> None:
    sleep = RecordingSleep()
    with FakeProviderServer(retry_after=server_retry_after) as server, CallLog() as log:
        server.script(script)
        model = Retrying(model_on(server, "m"), base_delay_s=base_delay_s, jitter=0.0, sleep=sleep, max_attempts=5)
        response = model("What is 1 + 1?")
    assert response.text == "2"
    assert sleep.waits == pytest.approx(expected_waits)
    assert server.requests == len(script)
    assert log.to_frame()["attempt"].tolist() == list(range(1, len(script) + 1))
    # the caller's latency includes the waits it was told about
    assert response.latency_s >= sum(expected_waits)


def test_retry_after_http_date_is_honoured() -> None:
    sleep = RecordingSleep()
    with FakeProviderServer() as server:
        server.script(["429-date", "ok"])
        Retrying(model_on(server, "m"), base_delay_s=0.001, jitter=0.0, sleep=sleep)("What is 1 + 1?")
    (wait,) = sleep.waits
    assert 0.9 <= wait <= 2.0  # an HTTP-date 2 s ahead, to the second


def test_retry_gives_up_when_retry_after_would_pass_the_total_wait_cap() -> None:
    sleep = RecordingSleep()
    with FakeProviderServer(retry_after="120") as server:
        server.script(["429", "ok"])
        model = Retrying(model_on(server, "m"), max_total_wait_s=60, max_delay_s=300, sleep=sleep)
        with pytest.raises(RateLimitError) as info:
            model("What is 1 + 1?")
    assert info.value.retry_after == 120
    assert sleep.waits == [] and server.requests == 1


# -- circuit breaker -------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_open_circuit_sends_nothing_until_the_cooldown_then_exactly_one_probe() -> None:
    clock = Clock()
    with FakeProviderServer(slow_s=0.2) as server, CallLog() as log:
        server.set_default("503")
        breaker = CircuitBreaker(model_on(server, "m"), failures=3, window_s=60, cooldown_s=30, clock=clock)
        model = Retrying(breaker, max_attempts=2, base_delay_s=0.001, sleep=RecordingSleep())

        for _ in range(2):  # 2 calls x 2 attempts: the 3rd failure opens the circuit, the 4th attempt is refused
            with pytest.raises((ServerError, CircuitOpenError)):
                model("What is 1 + 1?")
        assert breaker.state == "open" and server.requests == 3

        for now in (1000.0, 1010.0, 1029.9):  # open: refused at once, the server hears nothing, not retried
            clock.now = now
            with pytest.raises(CircuitOpenError):
                model("What is 1 + 1?")
        assert server.requests == 3

        clock.now = 1000.0 + 30.0  # cool-down over: a burst of 8 concurrent calls, the server answers slowly
        server.set_default("slow")

        async def burst() -> list[object]:
            return await asyncio.gather(
                *(breaker.acomplete("What is 2 + 2?") for _ in range(8)), return_exceptions=True
            )

        outcomes = asyncio.run(burst())
        assert server.requests == 4  # exactly one probe reached the server
        assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
        assert sum(isinstance(o, CircuitOpenError) for o in outcomes) == 7
        assert breaker.state == "closed"

        assert model("What is 2 + 2?").text == "4"  # closed again: calls go through
        assert server.requests == 5

    frame = log.to_frame()
    refused = frame[frame["error_type"] == "circuit_open"]
    assert len(refused) == 1 + 3 + 7 and (refused["cost_usd"] == 0).all()
    assert len(frame[frame["error_type"] != "circuit_open"]) == server.requests


def test_failed_probe_reopens_for_another_full_cooldown() -> None:
    clock = Clock()
    with FakeProviderServer() as server:
        server.set_default("500")
        breaker = CircuitBreaker(model_on(server, "m"), failures=1, cooldown_s=30, clock=clock)
        with pytest.raises(ServerError):
            breaker("ping")
        clock.now += 30
        with pytest.raises(ServerError):  # the probe fails
            breaker("ping")
        assert server.requests == 2
        clock.now += 29
        with pytest.raises(CircuitOpenError):
            breaker("ping")
        assert server.requests == 2
        clock.now += 1
        server.set_default("ok")
        assert breaker("ping").text == "echo: ping"
        assert server.requests == 3


# -- spend caps ------------------------------------------------------------------------------------------------

SMALL_USAGE = (12, 5)  # within the worst case the budget reserves for these prompts with max_tokens=5


def test_experiment_spend_cap_is_never_passed_and_resuming_finishes_the_rest(tmp_path) -> None:
    per_call = PRICE.cost(*SMALL_USAGE)
    cap = 20.5 * per_call
    data = arithmetic_items(60)
    with FakeProviderServer(usage=SMALL_USAGE) as server:
        model = model_on(server, "m")

        def experiment(cap_usd: float | None) -> Experiment:
            return Experiment(
                data, {"m": model}, scorer="exact", concurrency=4, max_spend_usd=cap_usd,
                params={"max_tokens": 5}, run_dir=tmp_path, progress=False,
            )  # fmt: skip

        with pytest.warns(UserWarning, match="spend cap reached"):
            capped = experiment(cap).run()
        calls = capped.calls
        spent = calls.loc[calls["parent_id"].isna(), "cost_usd"].sum()
        assert spent <= cap
        assert len(capped.items) == server.requests <= 20  # every request that went out finished an item
        assert (capped.items["status"] == "ok").all()
        refused = calls[calls["error_type"] == "budget"]
        assert len(refused) >= 1 and (refused["cost_usd"] == 0).all()
        assert refused["error"].str.contains("budget of").all()
        assert math.isclose(spent, server.requests * per_call, rel_tol=1e-9)

        before = server.requests
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no cap: no warning
            finished = experiment(None).run()
        assert sorted(finished.items["item_id"]) == sorted(d["id"] for d in data)
        assert server.requests == len(data)  # nothing finished was asked again
        assert server.requests - before == len(data) - len(capped.items)


def test_bare_budget_over_concurrent_calls_never_passes_the_cap() -> None:
    per_call = PRICE.cost(*SMALL_USAGE)
    cap = 10.5 * per_call
    with FakeProviderServer(usage=SMALL_USAGE, slow_s=0.05) as server, CallLog() as log:
        server.set_default("slow")  # calls overlap: reservations, not just settled spend, must hold the line
        model = model_on(server, "m")

        async def many() -> list[object]:
            calls = (model.acomplete(f"What is {i} + 1?", max_tokens=5) for i in range(40))
            return await asyncio.gather(*calls, return_exceptions=True)

        with Budget(max_usd=cap) as budget:
            outcomes = asyncio.run(many())

    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert len(answered) + len(refused) == 40
    assert len(answered) == server.requests == budget.calls
    assert len(refused) == budget.refused > 0
    assert budget.spent_usd <= cap
    assert math.isclose(budget.spent_usd, len(answered) * per_call, rel_tol=1e-9)
    frame = log.to_frame()
    assert frame["cost_usd"].sum() <= cap
    assert (frame["error_type"] == "budget").sum() == len(refused)
    assert (frame.loc[frame["error_type"] == "budget", "cost_usd"] == 0).all()
