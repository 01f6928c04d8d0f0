from __future__ import annotations

import base64
import json
import re
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

from orchestra_lab._secrets import Secret
from orchestra_lab.experiments.exports import export, html_report, json_records, latex_table, markdown_table, table_of

matplotlib.use("Agg")

FORMATS = ["csv", "json", "parquet", "md", "tex", "html"]


def _items() -> pd.DataFrame:
    rows = []
    for strategy, cost in [("small", 0.0001), ("large", 0.02)]:
        for i, (category, score) in enumerate([("math", 1.0), ("math", 0.0), ("trivia", 1.0)]):
            failed = strategy == "small" and i == 1
            rows.append(
                {
                    "strategy": strategy,
                    "item_id": f"q{i}",
                    "repeat": 0,
                    "category": category,
                    "difficulty": 0.5,
                    "input": "What is 2+2?\nAnswer | briefly",
                    "expected": "4",
                    "output": None if failed else "4",
                    "score": score,
                    "status": "error" if failed else "ok",
                    "error_type": "timeout" if failed else None,
                    "cost_usd": np.nan if failed else cost,
                    "cost_inr": np.nan if failed else cost * 88,
                    "latency_s": 0.1 * (i + 1),
                    "calls": 1,
                    "cache_hits": 0,
                    "call_id": f"{strategy}-{i}",
                }
            )
    frame = pd.DataFrame(rows)
    return frame.astype({"strategy": "category", "category": "category"})


def _summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [3, 3],
            "score_mean": [0.6667, 0.6667],
            "score_ci_lo": [0.3, 0.3],
            "score_ci_hi": [1.0, 1.0],
            "cost_usd_per_item": [0.0001, 0.02],
            "cost_inr_per_item": [0.0088, 1.76],
            "cost_usd_per_correct": [0.00015, np.inf],
            "latency_p95": [0.29, 0.29],
        },
        index=pd.Index(["small", "large"], name="strategy"),
    )


class FakeResults:
    """What the runner's Results offers the exports: .summary(), .items and .info."""

    def __init__(self) -> None:
        self.items = _items()
        self.info = {"run_id": "run-1", "dataset": "toy"}

    def summary(self) -> pd.DataFrame:
        return _summary()


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Text-like columns (object, str, category) as object with None for missing; numbers as they are."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) or isinstance(out[column].dtype, pd.CategoricalDtype):
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), None)
    return out


# -- round trips -------------------------------------------------------------------------------------------------


def test_csv_round_trips_the_items(tmp_path):
    items = _items()
    text = {"expected": str, "output": str}  # CSV has no types: "4" would read back as the number 4
    back = pd.read_csv(export(items, tmp_path / "items.csv"), dtype=text)
    pd.testing.assert_frame_equal(_normalized(back), _normalized(items))


def test_parquet_round_trips_the_items_with_their_dtypes(tmp_path):
    items = _items()
    back = pd.read_parquet(export(items, tmp_path / "items.parquet"))
    pd.testing.assert_frame_equal(back, items)


def test_json_round_trips_the_items_as_sorted_records(tmp_path):
    items = _items()
    records = json.loads(export(items, tmp_path / "items.json").read_text())
    assert all(list(record) == sorted(record) for record in records)
    back = pd.DataFrame(records)[list(items.columns)]
    pd.testing.assert_frame_equal(_normalized(back), _normalized(items))


def test_json_writes_iso_timestamps_and_null_for_missing_and_infinite():
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(["2025-01-02T03:04:05Z", None]),
            "x": [np.inf, np.nan],
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    assert json.loads(json_records(frame)) == [
        {"at": "2025-01-02T03:04:05+00:00", "n": 1, "x": None},
        {"at": None, "n": None, "x": None},
    ]


def test_a_results_object_exports_its_summary_with_the_strategy_as_a_column(tmp_path):
    back = pd.read_csv(export(FakeResults(), tmp_path / "summary.csv"))
    assert back["strategy"].tolist() == ["small", "large"]
    assert back.drop(columns="strategy").columns.tolist() == _summary().columns.tolist()
    assert back["cost_usd_per_item"].tolist() == [0.0001, 0.02]


# -- text tables -------------------------------------------------------------------------------------------------


def test_markdown_table_aligns_numbers_and_escapes_pipes_and_newlines():
    frame = pd.DataFrame({"strategy": ["a|b"], "note": ["x\ny"], "score": [0.123456], "cost": [np.nan]})
    assert markdown_table(frame).splitlines() == [
        "| strategy | note | score | cost |",
        "| :--- | :--- | ---: | ---: |",
        "| a\\|b | x<br>y | 0.1235 |  |",
    ]


def test_latex_table_is_booktabs_with_escaped_cells():
    frame = pd.DataFrame({"strategy": ["50% & $x_1#"], "cost": [np.nan], "n": [1234567]})
    lines = latex_table(frame).splitlines()
    assert lines[:3] == [r"\begin{table}[htbp]", r"\centering", r"\begin{tabular}{lrr}"]  # no caption asked for
    assert lines[3] == r"\toprule" and lines[5] == r"\midrule" and lines[-3] == r"\bottomrule"
    assert lines[6] == r"50\% \& \$x\_1\# & -- & 1234567 \\"
    assert lines[-1] == r"\end{table}"


# -- HTML report -------------------------------------------------------------------------------------------------


def test_html_report_is_self_contained_with_table_info_and_inline_plots():
    page = html_report(FakeResults(), title="Toy run")
    assert "<h1>Toy run</h1>" in page
    assert "<dt>run_id</dt><dd>run-1</dd>" in page and "<dt>rows</dt><dd>6</dd>" in page
    assert "<th>strategy</th>" in page and "<td>small</td>" in page and "<td>large</td>" in page
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 3  # frontier, accuracy per category, latency
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page


def test_html_report_of_a_frame_draws_only_what_its_columns_allow():
    assert html_report(_summary()).count("data:image/png") == 1  # the frontier
    assert html_report(_items()).count("data:image/png") == 2  # by category and latency
    assert html_report(pd.DataFrame({"a": [1]})).count("data:image/png") == 0


# -- determinism, formats, secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_same_results_give_byte_identical_files(tmp_path, suffix):
    first = export(FakeResults(), tmp_path / f"first.{suffix}")
    second = export(FakeResults(), tmp_path / f"second.{suffix}")
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_size > 0


def test_format_is_inferred_from_the_suffix_or_named(tmp_path):
    out = export(_summary(), tmp_path / "table.txt", format="md")
    assert out.read_text().startswith("| strategy |")
    with pytest.raises(ValueError, match=r"table\.xlsx"):
        export(_summary(), tmp_path / "table.xlsx")
    with pytest.raises(ValueError, match="format='docx'"):
        export(_summary(), tmp_path / "table.txt", format="docx")


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"orchestra-lab\[parquet\]"):
        export(_summary(), tmp_path / "s.parquet")


def test_export_rejects_what_is_neither_a_frame_nor_results(tmp_path):
    with pytest.raises(TypeError, match="got list"):
        export([1, 2], tmp_path / "x.csv")


@pytest.mark.parametrize("suffix", FORMATS)
def test_exports_never_contain_a_registered_key(tmp_path, suffix):
    key = "sk-" + "test-export-0123456789"  # built at run time: no key-shaped literal in the repo
    Secret(key)
    items = _items()
    items["output"] = items["output"].astype(object)
    items.loc[0, "output"] = f"leaked {key}"
    path = export(items, tmp_path / f"items.{suffix}")
    assert key.encode() not in path.read_bytes()
    assert "leaked ***" in table_of(items)["output"].tolist()


def test_table_of_leaves_frames_without_keys_untouched():
    items = _items()
    assert table_of(items) is items
    assert table_of(items[items.status == "ok"]).columns.tolist() == items.columns.tolist()  # no "index" column
    assert table_of(_summary()).columns[0] == "strategy"
