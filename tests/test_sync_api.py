"""The sync API works in plain Python, inside a running loop (Jupyter, Colab), and across fresh loops."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from orchestra_lab import CallLog, FunctionModel, SimulatedModel


def test_sync_call_in_plain_python_reuses_one_private_loop():
    from orchestra_lab import _sync

    model = SimulatedModel.profile("sim/small")
    model("a")
    first = _sync._private_loop()
    model("b")
    assert _sync._private_loop() is first and not first.is_running()


def test_sync_call_inside_a_running_loop():
    # In a subprocess: nest_asyncio2 patches asyncio for the whole process, as it does in a notebook kernel.
    script = """
import asyncio
from orchestra_lab import CallLog, Request, SimulatedModel, answer_key
model = SimulatedModel.profile("sim/small")
item = Request.of("What is 2+2?", item_id="q")

async def notebook_cell():  # what a Jupyter cell is: a running loop, and the user calls the sync API
    with CallLog() as log, answer_key("q", expected=4, difficulty=0.0):
        first, second = model(item).text, model.complete(item).text
    return first, second, len(log)

print(asyncio.run(notebook_cell()), asyncio.run(notebook_cell()))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "('4', '4', 2) ('4', '4', 2)"


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
