"""The notebooks are the front door: each opens in Colab, installs itself there from a source the user controls,
takes papermill parameters, and is stored with clean outputs (no errors, no local paths, no secrets, no widget
state). Their outputs are checked by ``pytest --nbval-lax notebooks/``; here we check how they are put together,
and that papermill can run one with a parameter override and get its ``summary.csv``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pandas as pd
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
_SYNC_SPEC = importlib.util.spec_from_file_location(
    "sync_notebooks", NOTEBOOK_DIR.parent / "scripts" / "sync_notebooks.py"
)
sync = importlib.util.module_from_spec(_SYNC_SPEC)
_SYNC_SPEC.loader.exec_module(sync)
EXPECTED = {
    "quickstart",
    "routing",
    "learned_routing",
    "fallback_reliability",
    "ensembles",
    "chains",
    "replay",
    "real_providers",
    "streaming",
    "runs",
}
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


def test_notebooks_are_in_sync_with_the_sync_script() -> None:
    assert sync.out_of_sync(sync.repository_url()) == [], "run python scripts/sync_notebooks.py"


def test_badges_appear_only_for_a_real_repository_url(tmp_path: Path) -> None:
    assert sync.repository_url() is None  # pyproject.toml has no [project.urls] Repository yet: no badge
    assert not any("colab.research.google.com" in nb.cells[0].source for nb in NOTEBOOKS.values())
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project.urls]\nRepository = "https://github.com/someone/orchestra_lab"\n')
    url = sync.repository_url(pyproject)
    assert sync.badge("routing", url) == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/someone/orchestra_lab/blob/main/notebooks/routing.ipynb)"
    )
    stored = json.loads((NOTEBOOK_DIR / "routing.ipynb").read_text(encoding="utf-8"))
    badged = sync.synced(stored, "routing", url)
    assert sync.badge("routing", url) in "".join(badged["cells"][0]["source"])
    assert sync.render(sync.synced(badged, "routing", None)) == sync.render(stored)  # and back, nothing else moved
    pyproject.write_text('[project.urls]\nRepository = "https://example.com/placeholder"\n')
    assert sync.repository_url(pyproject) is None


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
def test_install_cell_never_names_a_package_index_name_and_comes_before_any_import(name: str) -> None:
    cells = _code_cells(NOTEBOOKS[name])
    install = cells[1].source
    assert install == sync.INSTALL_CELL
    assert 'ORCHESTRA_LAB_SOURCE = ""' in install
    assert "orchestra-lab" not in install.replace("orchestra-lab on a package index", "")
    assert not any("import orchestra_lab" in c.source for c in cells[:2])


def _run_install_cell(python: str, source: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cell = sync.INSTALL_CELL.replace('ORCHESTRA_LAB_SOURCE = ""', f"ORCHESTRA_LAB_SOURCE = {source!r}", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))} | {"PIP_NO_DEPS": "1"}
    return subprocess.run([python, "-c", cell], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_install_cell_does_nothing_where_orchestra_lab_is_importable(tmp_path: Path) -> None:
    done = _run_install_cell(sys.executable, "not-a-source", Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "orchestra_lab is installed\n"


@pytest.mark.timeout(300)
def test_install_cell_in_a_fresh_virtualenv_installs_a_wheel_and_refuses_names(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(repo)],
                   check=True, capture_output=True)  # fmt: skip
    [wheel] = wheels.glob("orchestra_lab-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")

    for refused in ("", "orchestra-lab", "orchestra_lab==0.1", "-r requirements.txt"):
        done = _run_install_cell(python, refused, tmp_path)
        assert done.returncode != 0 and "is not a wheel, folder or https/git URL" in done.stderr, refused
    installed = _run_install_cell(python, str(wheel), tmp_path)  # dependencies left out: only the cell is tested
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout == f"installed orchestra_lab from {wheel}\n"
    again = _run_install_cell(python, str(wheel), tmp_path)
    assert again.stdout == "orchestra_lab is installed\n"


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
