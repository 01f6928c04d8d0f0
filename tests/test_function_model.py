"""FunctionModel: sync functions run off the event loop (concurrent members are concurrent), async ones on it, and
the call log's context follows the function into its thread."""

from __future__ import annotations

import contextvars
import threading

from orchestra_lab import CallLog, FunctionModel
from orchestra_lab.strategies import Ensemble

MARKER: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def test_sync_members_of_an_ensemble_run_at_the_same_time() -> None:
    barrier = threading.Barrier(3, timeout=10)  # every wait passes only when all three functions wait together

    def member(name: str) -> FunctionModel:
        def answer(prompt: str) -> str:
            barrier.wait()
            return "42"

        return FunctionModel(answer, name=name)

    with CallLog() as log:
        response = Ensemble([member("a"), member("b"), member("c")]).complete("q")
    assert response.text == "42" and not barrier.broken
    assert log.to_frame().query("kind == 'strategy'").iloc[-1].reason.startswith("votes '42': 3")


def test_more_sync_members_than_the_default_thread_pool_still_run_at_the_same_time() -> None:
    members = 12  # asyncio's default executor has min(32, CPUs + 4) threads: 6 on a 2-core machine
    barrier = threading.Barrier(members, timeout=10)

    def answer(prompt: str) -> str:
        barrier.wait()
        return "42"

    response = Ensemble([FunctionModel(answer, name=f"m{i}") for i in range(members)]).complete("q")
    assert response.text == "42" and not barrier.broken


def test_sync_functions_run_in_a_worker_thread_and_async_ones_on_the_loop() -> None:
    threads: dict[str, threading.Thread] = {}

    def sync_fn(prompt: str) -> str:
        threads["sync"] = threading.current_thread()
        return prompt

    async def async_fn(prompt: str) -> str:
        threads["async"] = threading.current_thread()
        return prompt

    FunctionModel(sync_fn).complete("x")
    FunctionModel(async_fn).complete("x")
    assert threads["sync"] is not threading.current_thread()
    assert threads["async"] is threading.current_thread()


def test_the_context_and_call_log_span_follow_a_sync_function_into_its_thread() -> None:
    inner = FunctionModel(str.upper, name="inner")

    def outer(prompt: str) -> str:
        return f"{inner.complete(prompt).text} {MARKER.get()}"

    token = MARKER.set("seen")
    try:
        with CallLog() as log:
            response = FunctionModel(outer, name="outer").complete("hi")
    finally:
        MARKER.reset(token)
    assert response.text == "HI seen"
    frame = log.to_frame()
    assert frame.loc[frame.name == "inner", "parent_id"].tolist() == [response.call_id]
