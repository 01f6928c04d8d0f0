"""The notebooks are the front door: each opens in Colab, installs itself there, takes papermill parameters, and is
stored with clean outputs (no errors, no local paths, no secrets, no widget state). Their outputs are checked by
``pytest --nbval-lax notebooks/``; here we check how they are put together, and that papermill can run one with a
parameter override and get its ``summary.csv``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = {
    "quickstart",
    "routing",
    "learned_routing",
    "fallback_reliability",
    "ensembles",
    "chains",
    "replay",
    "real_providers",
}
COLAB_LINK = "https://colab.research.google.com/github/orchestra-lab/orchestra_lab/blob/main/notebooks/{name}.ipynb"
MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_CHECK_OUTPUT", "# NBVAL_SKIP", "# NBVAL_RAISES_EXCEPTION")
ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:/(?:work|tmp|home|root|Users|private|var/folders)/|[A-Za-z]:\\\\)")
SECRET = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|gsk_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{30,})")
MAX_NOTEBOOK_BYTES = 400_000


def _notebooks() -> dict[str, nbformat.NotebookNode]:
    paths = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if not p.name.startswith("_"))
    return {p.stem: nbformat.read(p, as_version=4) for p in paths}


NOTEBOOKS = _notebooks()
NAMES = sorted(NOTEBOOKS)


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _output_text(cell: nbformat.NotebookNode) -> str:
    return json.dumps(cell.get("outputs", []), ensure_ascii=False)


def test_every_notebook_is_there() -> None:
    assert set(NOTEBOOKS) == EXPECTED


@pytest.mark.parametrize("name", NAMES)
def test_first_markdown_cell_has_the_colab_badge(name: str) -> None:
    first = NOTEBOOKS[name].cells[0]
    assert first.cell_type == "markdown"
    assert f"({COLAB_LINK.format(name=name)})" in first.source
    assert "colab-badge.svg" in first.source


@pytest.mark.parametrize("name", NAMES)
def test_first_code_cell_is_the_offline_parameters_cell(name: str) -> None:
    cell = _code_cells(NOTEBOOKS[name])[0]
    assert "parameters" in cell.metadata.get("tags", [])
    defaults = {}
    exec(cell.source, {}, defaults)  # literals only: safe, and proves the cell runs on its own
    assert defaults["output_dir"] is None
    assert isinstance(defaults["n_items"], int) and 0 < defaults["n_items"] <= 100
    assert isinstance(defaults["seed"], int)
    assert defaults.get("use_real_providers", False) is False


@pytest.mark.parametrize("name", NAMES)
def test_install_cell_is_guarded_for_colab_and_comes_before_any_import(name: str) -> None:
    cells = _code_cells(NOTEBOOKS[name])
    install = cells[1].source
    assert 'if "google.colab" in sys.modules:' in install
    pip_lines = [line for line in install.splitlines() if "pip install" in line]
    assert pip_lines == ["    %pip install -q orchestra-lab"], pip_lines
    assert not any("import orchestra_lab" in c.source for c in cells[:2])


@pytest.mark.parametrize("name", NAMES)
def test_stored_outputs_are_clean(name: str) -> None:
    nb = NOTEBOOKS[name]
    assert "widgets" not in nb.metadata, "widget state is stored in the notebook metadata"
    for cell in _code_cells(nb):
        outputs = _output_text(cell)
        assert '"output_type": "error"' not in outputs, f"stored error in: {cell.source[:80]!r}"
        assert not ABSOLUTE_PATH.search(outputs), f"local path in the output of: {cell.source[:80]!r}"
        assert not SECRET.search(outputs), f"something like a key in the output of: {cell.source[:80]!r}"
    assert (NOTEBOOK_DIR / f"{name}.ipynb").stat().st_size < MAX_NOTEBOOK_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_checked_cells_have_stored_outputs_and_markers_come_first(name: str) -> None:
    checked = 0
    for cell in _code_cells(NOTEBOOKS[name]):
        lines = cell.source.splitlines()
        assert not any(m in line for line in lines[1:] for m in MARKERS), f"marker not on line 1: {lines[0]!r}"
        if lines and lines[0] == "# NBVAL_CHECK_OUTPUT":
            checked += 1
            assert cell.outputs, f"checked cell without stored output: {cell.source[:80]!r}"
        if cell.execution_count is None:
            assert not cell.outputs
    if name != "real_providers":  # offline it has nothing deterministic to show
        assert checked >= 1


@pytest.mark.timeout(180)
def test_papermill_runs_quickstart_with_overrides_and_writes_the_summary(tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "out"
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / "quickstart.ipynb"),
        str(tmp_path / "quickstart.out.ipynb"),
        parameters={"n_items": 20, "seed": 3, "output_dir": str(out)},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    summary = pd.read_csv(out / "summary.csv", index_col="strategy")
    assert set(summary.index) == {
        "small",
        "medium",
        "large",
        "router 30% large",
        "cascade",
        "fallback",
        "vote 3x medium",
        "chain draft>refine",
    }
    assert (summary["n"] == 20).all()
    assert summary["score_mean"].between(0, 1).all()
    assert summary.loc["large", "cost_usd_per_item"] > summary.loc["small", "cost_usd_per_item"]
    assert (out / "report.html").stat().st_size > 1000
