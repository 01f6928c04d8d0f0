"""orchestra_lab.sweep: parameter parsing/validation, grids, slugs, collect -- and one sweep on a Dask executor.

The papermill runs through the process pool are in test_cli.py (via the command line); here only the Dask one.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from orchestra_lab import sweep as nbruns
from orchestra_lab.sweep import ParameterError

SMOKE = Path(__file__).resolve().parents[1] / "notebooks" / "_smoke.ipynb"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-2", -2),
        ("0.25", 0.25),
        ("1e3", 1000.0),
        ("True", True),
        ("false", False),
        ("None", None),
        ("[1, 2]", [1, 2]),
        ('{"a": [1]}', {"a": [1]}),
        ('"7"', "7"),
        ("sim/small", "sim/small"),
        ("", ""),
    ],
)
def test_parse_value_like_papermill_plus_json(text: str, value: object) -> None:
    assert nbruns.parse_value(text) == value
    assert type(nbruns.parse_value(text)) is type(value)


def test_parse_value_rejects_broken_json() -> None:
    with pytest.raises(ParameterError, match=r"value '\[1,' looks like JSON"):
        nbruns.parse_value("[1,")


def test_declared_parameters_reads_the_parameters_cell() -> None:
    assert nbruns.declared_parameters(SMOKE) == {
        "n_items": 4,
        "accuracy": 0.5,
        "label": "smoke",
        "output_dir": "out/smoke",
    }


def test_declared_parameters_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope.ipynb: no such notebook"):
        nbruns.declared_parameters(tmp_path / "nope.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ParameterError, match=r"broken.ipynb: not a readable notebook"):
        nbruns.declared_parameters(broken)


DECLARED = {"n": 3, "rate": 0.5, "name": "x", "flag": False, "models": ["a"], "anything": None}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nn": 1}, r"unknown parameter 'nn'; its parameters cell declares: n, rate, name, flag, models, anything"),
        ({"n": 1.5}, r"parameter 'n' expects int \(its default is 3\), got float 1.5"),
        ({"n": True}, r"parameter 'n' expects int .* got bool True"),
        ({"flag": 1}, r"parameter 'flag' expects bool .* got int 1"),
        ({"name": 5}, r"parameter 'name' expects str .* got int 5"),
        ({"models": "a"}, r"parameter 'models' expects list .* got str 'a'"),
    ],
)
def test_check_parameters_names_the_bad_parameter(values: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        nbruns.check_parameters(DECLARED, values, "nb.ipynb")


def test_check_parameters_accepts_fitting_values() -> None:
    checked = nbruns.check_parameters(
        DECLARED, {"n": 5, "rate": 2, "flag": True, "models": ["b", "c"], "anything": {"k": 1}}, "nb.ipynb"
    )
    assert checked == {"n": 5, "rate": 2.0, "flag": True, "models": ["b", "c"], "anything": {"k": 1}}
    assert type(checked["rate"]) is float


def test_check_parameters_without_a_parameters_cell_says_so() -> None:
    with pytest.raises(ParameterError, match="declares: nothing \\(no cell tagged 'parameters'\\)"):
        nbruns.check_parameters({}, {"n": 1}, "nb.ipynb")


def test_parse_parameters_keeps_text_for_string_defaults() -> None:
    assert nbruns.parse_parameters([("name", "007"), ("n", "007"), ("flag", "true")], DECLARED) == {
        "name": "007",
        "n": 7,
        "flag": True,
    }


def test_load_grid_json_and_yaml(tmp_path: Path) -> None:
    pytest.importorskip("yaml", reason="YAML grids need the optional PyYAML")
    (tmp_path / "g.json").write_text('{"model": ["a", "b"], "n": 3}')
    (tmp_path / "g.yaml").write_text("model: [a, b]\nn: 3\n")
    expected = {"model": ["a", "b"], "n": [3]}
    assert nbruns.load_grid(tmp_path / "g.json") == expected
    assert nbruns.load_grid(tmp_path / "g.yaml") == expected


_NEEDS_YAML = pytest.mark.skipif(importlib.util.find_spec("yaml") is None, reason="needs the optional PyYAML")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("g.json", '{"a": [1],\n "b": }', r"g.json: line 2: invalid JSON"),
        ("g.json", "[1, 2]", r"g.json: a grid is a non-empty mapping"),
        ("g.json", "{}", r"a grid is a non-empty mapping"),
        ("g.json", '{"a": []}', r"parameter 'a' has an empty list of values"),
        ("g.toml", "a = 1", r"grid files must be .json, .yaml or .yml"),
        pytest.param("g.yml", "a: [1\n", r"g.yml: invalid YAML", marks=_NEEDS_YAML),
    ],
)
def test_load_grid_errors_name_the_file_and_problem(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ParameterError, match=message):
        nbruns.load_grid(tmp_path / name)


def test_yaml_grid_without_pyyaml_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "g.yaml").write_text("a: [1]\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match="YAML grids need PyYAML"):
        nbruns.load_grid(tmp_path / "g.yaml")


def test_combinations_and_unique_safe_slugs() -> None:
    combos = nbruns.combinations({"model": ["a/b", "a-b"], "n": [1, 2]})
    assert combos[:2] == [{"model": "a/b", "n": 1}, {"model": "a/b", "n": 2}]
    slugs = [nbruns.combo_slug(c) for c in combos]
    assert len(set(slugs)) == 4
    assert all("/" not in s and len(s) <= 90 for s in slugs)
    assert nbruns.combo_slug({"prompt": "x" * 500}).startswith("prompt=xxx")
    assert len(nbruns.combo_slug({"prompt": "x" * 500})) <= 90


def test_sweep_checks_everything_before_starting_a_kernel(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown parameter 'n_itemz'"):
        nbruns.sweep(SMOKE, {"n_itemz": [1]}, tmp_path / "runs")
    with pytest.raises(ParameterError, match=r"parameter 'accuracy' expects float .* got str 'high'"):
        nbruns.sweep(SMOKE, {"accuracy": [0.5, "high"]}, tmp_path / "runs")
    with pytest.raises(ParameterError, match=r"combination \{'n_items': 2\} comes up twice"):
        nbruns.sweep(SMOKE, {"n_items": [2, 3, 2]}, tmp_path / "runs")
    with pytest.raises(ParameterError, match="'output_dir' is set by the sweep"):
        nbruns.sweep(SMOKE, {"output_dir": ["x"]}, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_sweep_needs_an_output_dir_parameter(tmp_path: Path) -> None:
    notebook = json.loads(SMOKE.read_text())
    notebook["cells"][1]["source"] = "n_items = 4\n"
    path = tmp_path / "no_output_dir.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.raises(ParameterError, match="must declare an 'output_dir' parameter"):
        nbruns.sweep(path, {"n_items": [1]}, tmp_path / "runs")


def _fake_run(root: Path, slug: str, parameters: dict, summary: pd.DataFrame | None) -> None:
    run_dir = root / slug
    run_dir.mkdir(parents=True)
    (run_dir / "params.json").write_text(json.dumps(parameters))
    if summary is not None:
        summary.to_csv(run_dir / "summary.csv", index=False)


def test_collect_adds_parameters_and_leaves_out_failed_runs(tmp_path: Path) -> None:
    summary = pd.DataFrame({"strategy": ["a", "b"], "accuracy": [0.5, 0.75]})
    _fake_run(tmp_path, "r1", {"n_items": 2, "strategy": "x"}, summary)
    _fake_run(tmp_path, "r2", {"n_items": 3, "strategy": "y"}, summary)
    _fake_run(tmp_path, "r3", {"n_items": 4, "strategy": "z"}, summary)  # wrote a summary, then failed
    status = {"runs": [{"slug": s, "status": "failed" if s == "r3" else "ok"} for s in ("r1", "r2", "r3")]}
    (tmp_path / "sweep_status.json").write_text(json.dumps(status))

    table = nbruns.collect(tmp_path)

    assert list(table.columns) == ["run", "n_items", "param_strategy", "strategy", "accuracy"]
    assert table["run"].tolist() == ["r1", "r1", "r2", "r2"]
    assert table["n_items"].tolist() == [2, 2, 3, 3]
    assert table["param_strategy"].tolist() == ["x", "x", "y", "y"]


def test_collect_with_nothing_to_collect_says_where_it_looked(tmp_path: Path) -> None:
    _fake_run(tmp_path, "r1", {"n": 1}, None)
    with pytest.raises(FileNotFoundError, match=r"no successful run with a .*/<run>/summary.csv"):
        nbruns.collect(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such runs directory"):
        nbruns.collect(tmp_path / "missing")


def test_sweep_on_a_dask_executor(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask executor needs the optional extra: dask[distributed]")
    done = []
    with nbruns.dask_executor(workers=2) as executor:
        result = nbruns.sweep(
            SMOKE, {"n_items": [2], "accuracy": [0.5, 0.25]}, tmp_path, executor=executor, on_done=done.append
        )
    assert [run.status for run in result.runs] == ["ok", "failed"]
    assert sorted(run.slug for run in done) == sorted(run.slug for run in result.runs)
    failed = result.failed[0]
    assert (failed.error_type, failed.parameters) == ("ValueError", {"n_items": 2, "accuracy": 0.25}), failed.error
    assert "not a whole number of items" in failed.error
    assert Path(failed.notebook).is_file()  # the partial notebook is kept
    assert pd.read_csv(tmp_path / result.runs[0].slug / "summary.csv")["correct"].tolist() == [1]


def _smoke_copy(tmp_path: Path, *, kernel: str | None = None, marker_comment: bool = False) -> Path:
    """The smoke notebook with another kernelspec name, or its parameters cell marked by a comment, not a tag."""
    notebook = json.loads(SMOKE.read_text(encoding="utf-8"))
    if kernel is not None:
        notebook["metadata"]["kernelspec"]["name"] = kernel
    if marker_comment:
        cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
        cell["metadata"]["tags"].remove("parameters")
        cell["source"] = ["# parameters\n", *cell["source"]]
    path = tmp_path / "copy.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def test_a_notebook_whose_kernel_is_not_installed_runs_on_this_interpreter(tmp_path: Path) -> None:
    notebook = _smoke_copy(tmp_path, kernel="no-such-kernel-anywhere")
    nbruns.run_notebook(notebook, tmp_path / "out.ipynb", {"n_items": 2, "output_dir": str(tmp_path / "s")})
    assert pd.read_csv(tmp_path / "s" / "summary.csv")["correct"].tolist() == [1]  # before: NoSuchKernel


def test_kernel_choice_keeps_an_installed_or_requested_kernel() -> None:
    assert nbruns.kernel_for({"kernelspec": {"name": "python3"}}, None) is None  # the notebook's own
    assert nbruns.kernel_for({"kernelspec": {"name": "python3"}}, "mine") == "mine"
    assert nbruns.kernel_for({"kernelspec": {"name": "no-such-kernel-anywhere"}}, None) == "python3"
    assert nbruns.kernel_for({}, None) == "python3"


def test_a_first_line_parameters_comment_marks_the_parameters_cell(tmp_path: Path) -> None:
    notebook = _smoke_copy(tmp_path, marker_comment=True)
    assert nbruns.declared_parameters(notebook)["n_items"] == 4
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        nbruns.run_notebook(notebook, tmp_path / "out.ipynb", {"nope": 1})
    out = nbruns.run_notebook(notebook, tmp_path / "out.ipynb", {"n_items": 2, "output_dir": str(tmp_path / "s")})
    executed = json.loads(out.read_text())
    injected = next(c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert "n_items = 2" in "".join(injected["source"])
    assert pd.read_csv(tmp_path / "s" / "summary.csv")["items"].tolist() == [2]
    assert "parameters" not in json.loads(notebook.read_text())["cells"][1]["metadata"]["tags"]  # source untouched


def test_a_tagged_cell_wins_over_a_comment_marker(tmp_path: Path) -> None:
    notebook = json.loads(SMOKE.read_text(encoding="utf-8"))
    notebook["cells"].insert(1, {"cell_type": "code", "metadata": {}, "source": ["# parameters\n", "other = 1\n"],
                                 "outputs": [], "execution_count": None})  # fmt: skip
    path = tmp_path / "both.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert "other" not in nbruns.declared_parameters(path)


def _seeded_runs(root: Path) -> None:
    """2 settings of n_items x 3 seeds, 2 strategies each; seed 2 of n_items=40 failed (its error in the status)."""
    runs = []
    for n_items in (20, 40):
        for seed in (0, 1, 2):
            slug = f"n{n_items}_s{seed}"
            failed = (n_items, seed) == (40, 2)
            error = {"error_type": "ValueError", "error": "boom"} if failed else {"error_type": None, "error": None}
            parameters = {"n_items": n_items, "seed": seed}
            runs.append({"slug": slug, "parameters": parameters, "status": "failed" if failed else "ok", **error})
            summary = pd.DataFrame(
                {
                    "strategy": ["small", "large"],
                    "score_mean": [0.5 + 0.1 * seed, 0.8 + n_items / 1000],
                    "score_ci_lo": [0.4, 0.7],
                    "score_ci_hi": [0.6, 0.9],
                    "cost_usd_per_item": [0.0001, 0.01],
                    "cost_inr_per_item": [0.0088, 0.88],
                }
            )
            _fake_run(root, slug, {"n_items": n_items, "seed": seed}, None if failed else summary)
    (root / "sweep_status.json").write_text(
        json.dumps({"grid": {"n_items": [20, 40], "seed": [0, 1, 2]}, "runs": runs})
    )


def test_compare_groups_by_setting_and_strategy_and_aggregates_seeds(tmp_path: Path) -> None:
    _seeded_runs(tmp_path)
    comparison = nbruns.compare(tmp_path)
    table = comparison.table.set_index(["n_items", "strategy"])
    assert len(table) == 4  # before: collect stacked 10 rows of 5 runs
    small20 = table.loc[(20, "small")]
    assert small20["runs"] == 3
    assert small20["score_mean"] == pytest.approx(0.6)
    assert small20["score_mean_sd"] == pytest.approx(0.1)
    half_width = 4.303 * 0.1 / 3**0.5  # t(0.975, 2 df)
    assert (small20["score_mean_ci_lo"], small20["score_mean_ci_hi"]) == pytest.approx(
        (0.6 - half_width, 0.6 + half_width), abs=1e-3
    )
    assert table.loc[(40, "small"), "runs"] == 2
    assert table.loc[(40, "large"), "score_mean_sd"] == pytest.approx(0.0)
    assert "seed" not in comparison.table.columns
    assert comparison.settings == ["n_items"]
    assert comparison.failed.to_dict("records") == [
        {"run": "n40_s2", "n_items": 40, "seed": 2, "error_type": "ValueError", "error": "boom"}
    ]


def test_compare_lists_a_run_without_summary_as_failed(tmp_path: Path) -> None:
    summary = pd.DataFrame({"strategy": ["a"], "accuracy": [0.5]})
    _fake_run(tmp_path, "r1", {"n": 1}, summary)
    _fake_run(tmp_path, "r2", {"n": 2}, None)  # no status file, no summary: died before writing one
    comparison = nbruns.compare(tmp_path)
    assert comparison.table[["n", "strategy", "runs", "accuracy"]].to_dict("records") == [
        {"n": 1, "strategy": "a", "runs": 1, "accuracy": 0.5}
    ]
    assert comparison.failed[["run", "error_type"]].to_dict("records") == [
        {"run": "r2", "error_type": "MissingSummary"}
    ]


def test_comparison_report_draws_one_legend_entry_per_strategy_and_setting(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    _seeded_runs(tmp_path)
    comparison = nbruns.compare(tmp_path)
    fig = comparison.plot()
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == sorted(
        ["small · n_items=20", "large · n_items=20", "small · n_items=40", "large · n_items=40", "Pareto frontier"]
    )
    assert not ax.texts  # no text labels piled on the points
    page = comparison.html(title="sweep")
    assert "Failed runs" in page and "boom" in page and page.count("data:image/png") == 1
