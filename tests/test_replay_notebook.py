"""The replay notebook's committed outputs come from what ships with orchestra_lab, not from RouterBench files."""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "replay.ipynb"


def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text("utf-8"))["cells"]


def _outputs_text(cell: dict) -> str:
    return "".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])
    )


def test_routerbench_is_read_only_from_a_parameter_that_is_empty_by_default():
    parameters = next(c for c in _cells() if "parameters" in c.get("metadata", {}).get("tags", []))
    assert 'routerbench_dir = ""' in "".join(parameters["source"])
    code = "".join("".join(c["source"]) for c in _cells() if c["cell_type"] == "code")
    assert "shared" not in code and "ORCHESTRA_LAB_ROUTERBENCH" not in code


def test_committed_outputs_come_from_the_simulated_table():
    outputs = "".join(_outputs_text(c) for c in _cells())
    assert "a table recorded from simulated models" in outputs
    assert "RouterBench:" not in outputs and "gpt-4" not in outputs and "mistral" not in outputs
