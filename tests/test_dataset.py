"""Dataset loading: formats, column mapping, validation errors (file, line, field), shipped datasets, fuzzing."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra_lab._answer_key import AnswerKey
from orchestra_lab.experiments.dataset import Dataset, DatasetError, Item, list_datasets, load_dataset
from orchestra_lab.types import Request

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def jsonl(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


def error_of(source: object, **kwargs: object) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        load_dataset(source, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- formats ---------------------------------------------------------------------------------------------------------


def test_jsonl_keeps_json_types_and_moves_extra_fields_to_metadata(tmp_path):
    path = write(
        tmp_path,
        "qs.jsonl",
        jsonl(
            {"id": "a", "input": "2+2?", "expected": 4, "category": "add", "difficulty": 0.2, "source": "me"},
            {"id": "b", "input": "who?", "expected": {"name": "Asha"}, "metadata": {"lang": "en"}},
        ),
    )
    ds = load_dataset(path)
    assert ds.name == "qs" and ds.source == str(path) and len(ds) == 2
    assert ds[0] == Item("a", "2+2?", 4, "add", 0.2, {"source": "me"})
    assert ds[1].expected == {"name": "Asha"} and ds[1].metadata == {"lang": "en"}


def test_csv_keeps_expected_as_text_and_parses_a_metadata_column(tmp_path):
    path = write(
        tmp_path,
        "qs.csv",
        "id,input,expected,difficulty,metadata,note\n"
        'q1,"Say ""hi""",42,3,"{""choices"": [""a"", ""b""]}",x\n'
        "q2,Next?,,,,\n",
    )
    first, second = load_dataset(path)
    assert first.input == 'Say "hi"' and first.expected == "42"
    assert first.difficulty == pytest.approx(0.5) and first.metadata == {
        "choices": ["a", "b"],
        "note": "x",
        "difficulty_level": 3,
    }
    assert second.expected is None and second.difficulty is None and second.metadata == {}


def test_csv_line_numbers_count_physical_lines_of_multiline_cells(tmp_path):
    path = write(tmp_path, "qs.csv", 'id,input\na,"two\nlines"\nb,\n')
    err = error_of(path)
    assert (err.path, err.line, err.field) == (str(path), 4, "input")


def test_parquet(tmp_path):
    path = tmp_path / "qs.parquet"
    pd.DataFrame({"id": ["a", "b"], "input": ["x?", "y?"], "expected": [1.5, 2.0], "difficulty": [1, 5]}).to_parquet(
        path
    )
    ds = load_dataset(path)
    assert [i.expected for i in ds] == [1.5, 2.0]
    assert [i.difficulty for i in ds] == pytest.approx([0.1, 0.9])


def test_dataframe_and_list_sources_treat_nan_as_missing():
    frame = pd.DataFrame({"input": ["a?", "b?"], "category": ["x", math.nan], "difficulty": [0.5, math.nan]})
    ds = load_dataset(frame, name="frame")
    assert ds.source == "<DataFrame>" and [i.id for i in ds] == ["row1", "row2"]
    assert ds[1].category is None and ds[1].difficulty is None and ds[1].metadata == {}
    assert load_dataset([{"input": "q"}]).source == "<list>"


def test_column_mapping_and_id_column(tmp_path):
    path = write(tmp_path, "qa.csv", "qid,question,answer,topic\n7,What?,That,misc\n")
    ds = load_dataset(path, columns={"input": "question", "expected": "answer", "category": "topic"}, id_column="qid")
    assert ds[0] == Item("7", "What?", "That", "misc", None, {})
    with pytest.raises(ValueError, match="not dataset fields"):
        load_dataset(path, columns={"prompt": "question"})
    with pytest.raises(ValueError, match="contradicts"):
        load_dataset(path, columns={"id": "qid"}, id_column="other")


def test_ids_are_made_from_row_numbers_only_when_the_file_has_no_ids(tmp_path):
    assert [i.id for i in load_dataset(write(tmp_path, "a.jsonl", jsonl({"input": "x"}, {"input": "y"})))] == [
        "row1",
        "row2",
    ]
    err = error_of(write(tmp_path, "b.jsonl", jsonl({"id": "a", "input": "x"}, {"input": "y"})))
    assert (err.line, err.field) == (2, "id") and "missing id" in str(err)


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"id": "a", "input": "x"}\n\n   \n{"id": "b"}\n')
    err = error_of(path)
    assert (err.line, err.field) == (4, "input")


# -- validation errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "line", "field", "words"),
    [
        ("a.csv", "id,question\nq1,hi\n", 2, "input", "missing required field 'input'"),
        ("a.csv", "id,input\nq1,hi\nq2,   \n", 3, "input", "empty input"),
        ("a.csv", "id,input,difficulty\nq1,hi,hard\n", 2, "difficulty", "must be a number"),
        ("a.csv", "id,input,difficulty\nq1,hi,7\n", 2, "difficulty", "out of range"),
        ("a.csv", "id,input,difficulty\nq1,hi,1.5\n", 2, "difficulty", "out of range"),
        ("a.csv", "id,input\nq1,hi\nq1,again\n", 3, "id", "duplicate id 'q1' (first at line 2)"),
        ("a.csv", "id,input\nq1,hi,extra\n", 2, None, "3 cells but the header has 2 columns"),
        ("a.csv", "id,input,id\n", 1, None, "repeated"),
        ("a.csv", "", 1, None, "empty"),
        ("a.csv", "id,input,metadata\nq1,hi,not json\n", 2, "metadata", "JSON object"),
        ("a.csv", 'id,input,metadata\nq1,hi,"[1, 2]"\n', 2, "metadata", "must be an object"),
        ("a.jsonl", '{"id": "a", "input": "x"}\n{"id": "b", "input": \n', 2, None, "invalid JSON"),
        ("a.jsonl", '{"id": "a", "input": "x"}\n[1, 2]\n', 2, None, "expected a JSON object, got list"),
        ("a.jsonl", '{"id": "a", "input": 5}\n', 1, "input", "must be text"),
        ("a.jsonl", '{"id": "a", "input": "x", "difficulty": true}\n', 1, "difficulty", "must be a number"),
        ("a.jsonl", '{"id": "a", "input": "x", "difficulty": Infinity}\n', 1, "difficulty", "out of range"),
        ("a.jsonl", '{"id": ["a"], "input": "x"}\n', 1, "id", "must be text or an integer"),
        ("a.jsonl", '{"input": "x", "note": 1, "metadata": {"note": 2}}\n', 1, "metadata", "both as a column"),
        ("a.jsonl", "\n\n", None, None, "empty"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, name, content, line, field, words):
    path = write(tmp_path, name, content)
    err = error_of(path)
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert words in str(err) and str(path) in str(err)
    if line is not None:
        assert f"line {line}" in str(err)


def test_mapped_field_is_named_by_the_files_column(tmp_path):
    err = error_of(write(tmp_path, "a.csv", "id,prompt\nq1,\n"), columns={"input": "prompt"})
    assert (err.line, err.field) == (2, "prompt") and "empty input" in str(err)
    err = error_of(write(tmp_path, "b.csv", "id,text\nq1,x\n"), columns={"input": "prompt"})
    assert "column 'prompt', mapped from 'input'" in str(err) and "'text'" in str(err)


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = write(tmp_path, "a.jsonl", b'{"id": "a", "input": "x"}\n{"id": "b", "input": "caf\xe9"}\n')
    err = error_of(path)
    assert err.line == 2 and "not valid UTF-8" in str(err) and "0xe9" in str(err)


def test_duplicates_can_be_suffixed(tmp_path):
    path = write(
        tmp_path, "a.jsonl", jsonl({"id": "a", "input": "1"}, {"id": "a", "input": "2"}, {"id": "a", "input": "3"})
    )
    assert [i.id for i in load_dataset(path, on_duplicate="suffix")] == ["a", "a#2", "a#3"]
    with pytest.raises(ValueError, match="on_duplicate"):
        load_dataset(path, on_duplicate="keep")  # type: ignore[arg-type]


def test_missing_file_unknown_type_bad_parquet_and_bad_source(tmp_path):
    err = error_of(tmp_path / "nope.csv")
    assert "no such file, nor a shipped dataset" in str(err) and "arithmetic" in str(err)
    assert "unsupported file type '.txt'" in str(error_of(write(tmp_path, "a.txt", "x")))
    assert "cannot read Parquet" in str(error_of(write(tmp_path, "a.parquet", b"not parquet")))
    with pytest.raises(TypeError, match="cannot load a dataset from int"):
        load_dataset(5)  # type: ignore[arg-type]


def test_dataframe_errors_name_the_row():
    err = error_of(pd.DataFrame({"input": ["ok", "  "]}))
    assert (err.path, err.line, err.field) == ("<DataFrame>", 2, "input") and "row 2" in str(err)


# -- difficulty levels -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "difficulty", "level"),
    [(1, 0.1, 1), (5, 0.9, 5), ("3", 0.5, 3), (0, 0.0, None), (1.0, 1.0, None), ("0.25", 0.25, None)],
)
def test_integer_levels_map_to_the_unit_interval(raw, difficulty, level):
    item = load_dataset([{"input": "x", "difficulty": raw}])[0]
    assert item.difficulty == pytest.approx(difficulty)
    assert item.metadata.get("difficulty_level") == level


# -- Item and Dataset ------------------------------------------------------------------------------------------------


def test_item_to_request_carries_no_truth_and_the_answer_key_holds_it():
    metadata = {"choices": [3, 4], "difficulty_level": 2, "lang": "en"}
    item = Item("q1", "2+2?", expected=4, category="add", difficulty=0.3, metadata=metadata)
    request = item.to_request(system="Be brief.", max_tokens=5)
    assert isinstance(request, Request) and request.system == "Be brief." and request.max_tokens == 5
    assert request.item_id == "q1" and request.metadata == {"lang": "en", "category": "add"}
    assert item.answer_key == AnswerKey("q1", expected=4, difficulty=0.3, choices=("3", "4"))


def test_dataset_is_an_immutable_sequence_with_helpers():
    ds = Dataset([Item(str(i), f"q{i}", i, "even" if i % 2 == 0 else "odd") for i in range(10)], name="n")
    assert isinstance(ds[2:4], Dataset) and [i.id for i in ds[2:4]] == ["2", "3"]
    assert ds.sample(3, seed=1).name == "n" and [i.id for i in ds.sample(3, seed=1)] == [
        i.id for i in ds.sample(3, seed=1)
    ]
    sample = [int(i.id) for i in ds.sample(5, seed=2)]
    assert sample == sorted(sample) and len(set(sample)) == 5
    assert len(ds.filter(lambda item: item.category == "even")) == 5
    assert ds.by_id("7").expected == 7
    with pytest.raises(KeyError, match="no item 'x'"):
        ds.by_id("x")
    with pytest.raises(ValueError, match="n=11"):
        ds.sample(11)
    with pytest.raises(ValueError, match="duplicate ids"):
        Dataset([Item("a", "x"), Item("a", "y")], name="dup")
    with pytest.raises(AttributeError):
        ds[0].input = "changed"  # type: ignore[misc]


def test_to_frame_and_html():
    ds = load_dataset(
        [{"id": "a", "input": "<b>x</b>", "category": "c", "tag": 1}, {"id": "b", "input": "y"}], name="t"
    )
    frame = ds.to_frame()
    assert list(frame.columns) == ["id", "input", "expected", "category", "difficulty", "tag"]
    assert frame["tag"].tolist()[0] == 1 and pd.isna(frame["tag"].tolist()[1])
    html = ds._repr_html_()
    assert "<b>t</b>" in html and "2 items" in html and "c: 1" in html and "&lt;b&gt;x&lt;/b&gt;" in html


# -- shipped datasets ------------------------------------------------------------------------------------------------

SHIPPED = {"arithmetic": 200, "intents": 200, "extraction": 150, "languages": 195, "language_seed": 90}


@pytest.mark.parametrize(("name", "size"), SHIPPED.items())
def test_shipped_datasets_load_with_cards(name, size):
    ds = load_dataset(name)
    assert len(ds) == size and len({i.id for i in ds}) == size and len({i.input for i in ds}) == size
    assert ds.name == name and ds.card is not None and "Licence" in ds.card and f"{size} items" in ds.card
    assert all(i.difficulty is not None and 0 <= i.difficulty <= 1 and i.category for i in ds)


def test_list_datasets():
    assert set(SHIPPED) <= set(list_datasets())


def test_shipped_arithmetic_has_five_levels_of_numeric_answers():
    ds = load_dataset("arithmetic")
    levels = pd.Series([i.metadata["difficulty_level"] for i in ds]).value_counts().to_dict()
    assert levels == {1: 40, 2: 40, 3: 40, 4: 40, 5: 40}
    assert all(isinstance(i.expected, (int, float)) and i.metadata["answer_type"] == "number" for i in ds)


def test_shipped_intents_cover_languages_and_labels():
    ds = load_dataset("intents")
    assert {i.category for i in ds} == {"en", "hi", "hinglish"}
    choices = ds[0].metadata["choices"]
    assert len(choices) == 8 and {i.expected for i in ds} == set(choices)
    assert all(i.metadata["language"] == i.category and i.metadata["message"] in i.input for i in ds)
    assert any("\u0900" <= ch <= "\u097f" for ch in ds.filter(lambda i: i.category == "hi")[0].input)


def test_shipped_extraction_expects_objects_with_the_four_fields():
    ds = load_dataset("extraction")
    assert all(isinstance(i.expected, dict) and set(i.expected) == {"name", "date", "amount", "city"} for i in ds)
    assert all(i.expected["name"] in i.metadata["text"] and i.expected["city"] in i.metadata["text"] for i in ds)


def test_generator_output_matches_the_committed_files():
    spec = importlib.util.spec_from_file_location("datasets_generate", REPO / "datasets" / "_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files = module.build()
    assert set(files) == {f"{n}.{ext}" for n in SHIPPED for ext in ("jsonl", "md")}
    for file_name, text in files.items():
        assert (REPO / "datasets" / file_name).read_text("utf-8") == text, f"{file_name} is stale: run the generator"


# -- fuzzing: whatever the bytes, only DatasetError ------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(["id", "input", "expected", "category", "difficulty", "metadata", "other"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_dataset_error(path: Path) -> None:
    with contextlib.suppress(DatasetError):
        load_dataset(path, on_duplicate="suffix")


@FUZZ
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_fuzz_random_bytes_raise_only_dataset_error(tmp_path, data, suffix):
    _load_or_dataset_error(write(tmp_path, f"fuzz{suffix}", data))


@FUZZ
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40), max_size=6))
def test_fuzz_random_csv_lines_raise_only_dataset_error(tmp_path, lines):
    _load_or_dataset_error(write(tmp_path, "fuzz.csv", "id,input,expected,difficulty,metadata\n" + "\n".join(lines)))


@settings(FUZZ, max_examples=80)  # each example builds several JSON rows: fewer keep the file fast
@given(rows=st.lists(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6), max_size=5))
def test_fuzz_random_jsonl_objects_raise_only_dataset_error(tmp_path, rows):
    _load_or_dataset_error(write(tmp_path, "fuzz.jsonl", jsonl(*rows)))
