"""The sync API works in plain Python, inside a running loop (Jupyter, Colab), and across fresh loops."""

from __future__ import annotations

import asyncio

from orchestra_lab import CallLog, FunctionModel, SimulatedModel


def test_sync_call_in_plain_python_reuses_one_private_loop():
    from orchestra_lab import _sync

    model = SimulatedModel.profile("sim/small")
    model("a")
    first = _sync._private_loop()
    model("b")
    assert _sync._private_loop() is first and not first.is_running()


def test_sync_call_inside_a_running_loop():
    model = SimulatedModel.profile("sim/small")

    async def notebook_cell() -> str:
        # what a Jupyter cell does: a running loop, and the user calls the sync API
        return model("What is 2+2?").text + "|" + model.complete("again").text

    text = asyncio.run(notebook_cell())
    assert "|" in text


def test_async_api_twice_from_fresh_loops():
    model = FunctionModel(lambda p: p.upper(), name="up")
    assert asyncio.run(model.acomplete("a")).text == "A"
    assert asyncio.run(model.acomplete("b")).text == "B"


def test_async_function_model_and_nested_sync_keep_the_log_context():
    async def slow_upper(prompt: str) -> str:
        await asyncio.sleep(0)
        return prompt.upper()

    model = FunctionModel(slow_upper)

    async def cell() -> None:
        model("x")
        await model.acomplete("y")

    with CallLog() as log:
        asyncio.run(cell())
    assert [r["response_text"] for r in log.rows()] == ["X", "Y"]
