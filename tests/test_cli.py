"""The orchestra-lab command line: help, usage errors (one line, exit 2), run / sweep / collect / demo.

Three tests start kernels (papermill): a run, a failing run and a 2x2 sweep on 2 workers.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from orchestra_lab import sweep as nbruns
from orchestra_lab.cli import main

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "notebooks" / "_smoke.ipynb"


@pytest.mark.parametrize("command", ["demo", "run", "sweep", "collect"])
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"orchestra-lab {command}" in out


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_help_examples_name_real_notebooks_and_their_parameters(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(command, capsys)
    examples = [line.split() for line in text.splitlines() if line.strip().startswith(f"orchestra-lab {command} ")]
    assert examples
    for words in examples:
        notebook = REPO / words[2]
        declared = nbruns.declared_parameters(notebook)  # the notebook exists and has a parameters cell
        named = [words[i + 1] for i, word in enumerate(words) if word in ("-p", "--parameter")]
        assert set(named) <= set(declared), (words, sorted(declared))
    grids = [json.loads(line.strip()) for line in text.splitlines() if line.strip().startswith("{")]
    for grid in grids:  # the grid example belongs to the sweep examples' notebook
        assert set(grid) <= set(nbruns.declared_parameters(REPO / examples[0][2])), grid


def test_run_help_documents_the_comment_marker(capsys: pytest.CaptureFixture[str]) -> None:
    assert "# parameters" in " ".join(_help("run", capsys).split())


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "n_itemz", "3"], "unknown parameter 'n_itemz'; its parameters cell declares: n_items, accuracy"),
        (["-p", "n_items", "3.5"], "parameter 'n_items' expects int (its default is 4), got float 3.5"),
        (["-p", "accuracy", "high"], "parameter 'accuracy' expects float (its default is 0.5), got str 'high'"),
    ],
)
def test_run_rejects_bad_parameters_before_starting_a_kernel(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["run", str(SMOKE), *args, "-o", str(tmp_path / "out.ipynb")]) == 2
    err = _error_line(capsys)
    assert err.startswith("orchestra-lab: error: ")
    assert message in err
    assert not (tmp_path / "out.ipynb").exists()


def test_usage_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb: no such notebook" in _error_line(capsys)
    assert main(["sweep", str(SMOKE), "--grid", str(tmp_path / "grid.json")]) == 2
    assert "grid.json: no such grid file" in _error_line(capsys)
    assert main(["collect", str(tmp_path)]) == 2
    assert "no successful run" in _error_line(capsys)


def test_run_executes_the_notebook_with_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "executed.ipynb"
    summary_dir = tmp_path / "summary"
    code = main(["run", str(SMOKE), "-p", "n_items", "2", "-p", "label", "42", "-p", "output_dir", str(summary_dir),
                 "-o", str(out)])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    executed = nbformat.read(out, as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n_items = 2" in injected.source
    assert 'label = "42"' in injected.source  # a string default keeps the text as given
    assert pd.read_csv(summary_dir / "summary.csv").to_dict("records") == [
        {"strategy": 42, "items": 2, "correct": 1, "accuracy": 0.5}
    ]


def test_run_reports_a_failing_cell_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "partial.ipynb"
    code = main(["run", str(SMOKE), "-p", "n_items", "3", "-p", "output_dir", str(tmp_path), "-o", str(out)])
    assert code == 1
    err = _error_line(capsys)
    assert "raised ValueError: accuracy 0.5 of 3 items is not a whole number of items" in err
    assert f"(partial notebook: {out})" in err
    assert out.is_file()


def test_sweep_runs_every_combination_reports_failures_and_collects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"n_items": [2, 3], "accuracy": [0.5, 1.0]}))  # 3 items x 0.5 fails on purpose
    runs = tmp_path / "runs"

    code = main(["sweep", str(SMOKE), "--grid", str(grid), "--workers", "2", "--out", str(runs)])

    assert code == 1
    out = capsys.readouterr().out
    assert "3 ok, 1 failed" in out
    assert "FAILED  n_items=3_accuracy=0.5_" in out
    status = json.loads((runs / "sweep_status.json").read_text())
    assert (status["ok"], status["failed"], status["pending"]) == (3, 1, 0)
    [failed] = [run for run in status["runs"] if run["status"] == "failed"]
    assert failed["parameters"] == {"n_items": 3, "accuracy": 0.5}
    assert failed["error_type"] == "ValueError"
    assert "not a whole number of items" in failed["error"]
    assert Path(failed["notebook"]).is_file()
    for run in status["runs"]:
        if run["status"] == "ok":
            assert Path(run["notebook"]).is_file()
            assert Path(run["summary"]).is_file()

    table_file = tmp_path / "table.csv"
    assert main(["collect", str(runs), "-o", str(table_file)]) == 0
    assert "(3 rows; 1 failed run)" in capsys.readouterr().out
    table = pd.read_csv(table_file).sort_values(["n_items", "param_accuracy"])
    assert table[["n_items", "param_accuracy", "runs", "correct"]].values.tolist() == [
        [2, 0.5, 1, 1],
        [2, 1.0, 1, 2],
        [3, 1.0, 1, 3],
    ]
    rows_file = tmp_path / "rows.csv"
    assert main(["collect", str(runs), "--rows", "-o", str(rows_file)]) == 0
    assert pd.read_csv(rows_file)["run"].str.startswith("n_items=").all()


def _fake_runs(root: Path) -> Path:
    for slug, n in (("a", 1), ("b", 2)):
        (root / slug).mkdir(parents=True)
        (root / slug / "params.json").write_text(json.dumps({"n_items": n}))
        pd.DataFrame({"strategy": ["s|1"], "accuracy": [n / 4]}).to_csv(root / slug / "summary.csv", index=False)
    return root


def test_collect_writes_markdown_html_or_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _fake_runs(tmp_path / "runs")
    assert main(["collect", str(runs)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "| n_items | strategy | runs | accuracy | accuracy_sd | accuracy_ci_lo | accuracy_ci_hi |"
    assert printed[2] == "| 1 | s\\|1 | 1 | 0.25 |  |  |  |"  # one run per setting: no spread
    assert main(["collect", str(runs), "-o", str(tmp_path / "t.md")]) == 0
    assert (tmp_path / "t.md").read_text().splitlines() == printed
    assert main(["collect", str(runs), "-o", str(tmp_path / "t.html")]) == 0
    page = (tmp_path / "t.html").read_text()
    assert "<table>" in page and "<td>s|1</td>" in page.replace(' class="num"', "")
    capsys.readouterr()
    assert main(["collect", str(runs), "--rows"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "| run | n_items | strategy | accuracy |"
    assert main(["collect", str(runs), "-o", str(tmp_path / "t.xyz")]) == 2
    assert ".xyz" in _error_line(capsys)


def test_demo_forwards_its_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = []
    fake = types.ModuleType("orchestra_lab._demo")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "orchestra_lab._demo", fake)
    assert main(["demo", "--out", str(tmp_path), "--no-report"]) == 0
    assert main(["demo"]) == 0
    assert seen == [["--out", str(tmp_path), "--no-report"], []]


def test_demo_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "orchestra_lab._demo", None)  # as if the module were not installed
    assert main(["demo"]) == 2
    assert "the demo is not part of this installation" in _error_line(capsys)
