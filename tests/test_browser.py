"""Real browser: JupyterLab + Debian's Chromium (Playwright) run a notebook whose RunDashboard must render.

Opt-in: runs when ``ORCHESTRA_LAB_BROWSER_TEST=1`` or ``CI=true``; skips, saying what is missing, without
chromium (/usr/bin/chromium), jupyterlab or playwright. Setup (as .ci/run does)::

    apt-get update && apt-get install -y chromium
    pip install jupyterlab playwright           # never `playwright install`: the system chromium is used

The screenshot lands in test-artifacts/browser/<name>.png. To check another notebook, add it to ``NOTEBOOKS`` with
the texts its widgets must show; a repository notebook is copied into a temporary root, so the run leaves the
repository untouched.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
TIME_BUDGET_S = 120.0


def dashboard_notebook(path: Path) -> None:
    """A notebook that shows a RunDashboard and feeds it 20 rows for each of two strategies."""
    cells = [
        "from orchestra_lab.ui import RunDashboard\n\n"
        'dashboard = RunDashboard({"cheap-router": 20, "strong-model": 20}, title="browser test")\n'
        "dashboard",
        "for i in range(20):\n"
        '    dashboard.update({"strategy": "cheap-router", "item_id": f"q{i}", "score": float(i % 4 != 0),\n'
        '                      "cost_usd": 0.0002, "latency_s": 0.3, "status": "ok"})\n'
        '    dashboard.update({"strategy": "strong-model", "item_id": f"q{i}", "score": 1.0,\n'
        '                      "cost_usd": 0.004, "latency_s": 1.2, "status": "error" if i == 7 else "ok"})\n'
        "dashboard.flush()",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, path)


def copy_of(relative: str) -> Callable[[Path], None]:
    """Write a repository notebook into the temporary root."""
    return lambda path: shutil.copyfile(REPO / relative, path)


# (name, how to write the notebook into the root, texts the rendered widgets must show)
NOTEBOOKS: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("dashboard", dashboard_notebook, ("browser test", "cheap-router", "accuracy 75.0%", "20/20", "1 error")),
    ("quickstart", copy_of("notebooks/quickstart.ipynb"), ("quickstart", "accuracy")),
]


def _skip_reason() -> str | None:
    if os.environ.get("ORCHESTRA_LAB_BROWSER_TEST") != "1" and os.environ.get("CI") != "true":
        return "browser test is opt-in: set ORCHESTRA_LAB_BROWSER_TEST=1 (CI=true runs it)"
    missing = [name for name in ("jupyterlab", "playwright") if importlib.util.find_spec(name) is None]
    if missing:
        return f"browser test needs the Python packages {', '.join(missing)} (pip install jupyterlab playwright)"
    if not Path("/usr/bin/chromium").exists():
        return "browser test needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.mark.timeout(TIME_BUDGET_S + 30)
@pytest.mark.parametrize(("name", "write", "expected"), NOTEBOOKS, ids=[n for n, _, _ in NOTEBOOKS])
def test_dashboard_renders_in_jupyterlab(
    name: str, write: Callable[[Path], None], expected: tuple[str, ...], tmp_path: Path
) -> None:
    from browser.driver import run_all_cells
    from browser.lab import Deadline, jupyterlab

    root, work = tmp_path / "root", tmp_path / "work"
    root.mkdir()
    work.mkdir()
    write(root / f"{name}.ipynb")
    deadline = Deadline(TIME_BUDGET_S)
    screenshot = ARTIFACTS / f"{name}.png"

    with jupyterlab(root, work, deadline) as lab:
        text = run_all_cells(lab, f"{name}.ipynb", expected, screenshot, deadline)

    assert all(t in text for t in expected), text
    assert screenshot.stat().st_size > 10_000
