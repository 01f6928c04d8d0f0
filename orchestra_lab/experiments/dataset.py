"""Datasets: items to run strategies on, loaded from CSV, JSONL, Parquet, a DataFrame, a list of dicts or by name.

An :class:`Item` is one question (``input``) with what a good answer is (``expected``), a ``category``, a
``difficulty`` in [0, 1] and free ``metadata``. A :class:`Dataset` is an immutable sequence of items with unique ids.

>>> from orchestra_lab.experiments.dataset import load_dataset
>>> ds = load_dataset([{"id": "q1", "input": "2 + 2?", "expected": 4, "difficulty": 2}], name="tiny")
>>> ds[0].expected, ds[0].difficulty, ds[0].metadata["difficulty_level"]
(4, 0.3, 2)
>>> len(load_dataset("arithmetic")) > 100
True

File rules (the same for every format):

- Fields: ``input`` (required, non-empty text), ``id``, ``expected``, ``category``, ``difficulty``, ``metadata``
  (an object; in CSV a cell holding a JSON object). Any other column goes into ``metadata``.
  ``columns={"input": "question", "expected": "answer"}`` maps our field names to the file's column names.
- ``id``: when the file has no id column at all, ids are made from the row number (``row1``, ``row2``...); when it
  has one, every row needs an id. Duplicate ids are an error, or with ``on_duplicate="suffix"`` become ``id#2``...
- ``difficulty``: a number in [0, 1], or an integer level 1-5, mapped to (level - 0.5) / 5 (0.1 ... 0.9) with the
  level kept in ``metadata["difficulty_level"]``. So ``1`` is level 1 (0.1); write ``1.0`` for the hardest.
- ``expected``: JSONL and Parquet keep their types (numbers, objects); a CSV cell stays a string.
- Blank text, null and NaN count as missing; CSV columns with an empty header (a saved index) are ignored.
- Errors are :class:`DatasetError` naming the file, the 1-based line (the CSV header is line 1; for Parquet, a
  DataFrame or a list it is the row number) and the field.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import json
import math
import numbers
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from .._answer_key import AnswerKey
from .._shipped import DATA_SUFFIXES, is_shipped_file, shipped_file, shipped_folders
from ..types import Request

__all__ = ["FIELDS", "Dataset", "DatasetError", "Item", "list_datasets", "load_dataset"]

if TYPE_CHECKING:
    import pandas as pd

FIELDS = ("id", "input", "expected", "category", "difficulty", "metadata")
TRUTH = frozenset({"expected", "difficulty", "difficulty_level", "choices"})  # metadata a request never carries
SUFFIXES = DATA_SUFFIXES


class DatasetError(ValueError):
    """Bad dataset input; ``path``, ``line`` (1-based) and ``field`` say where, when known.

    >>> str(DatasetError("empty input", path="qs.csv", line=3, field="input"))
    'qs.csv, line 3, field input: empty input'
    """

    def __init__(self, problem: str, *, path: str | None = None, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = [part for part in (path, line and f"{_line_word(path)} {line}", field and f"field {field}") if part]
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


def _line_word(path: str | None) -> str:
    return "line" if path and Path(path).suffix.lower() in (".csv", ".jsonl", ".ndjson") else "row"


@dataclass(frozen=True, slots=True)
class Item:
    """One dataset item.

    Its request (:meth:`to_request`) carries the question, the ``category`` and the free ``metadata`` -- never the
    truth (:data:`TRUTH`: expected answer, difficulty, choices), which is the item's :attr:`answer_key`.

    >>> item = Item("q1", "What is 6 x 7?", expected=42, category="multiplication", metadata={"choices": [42, 24]})
    >>> r = item.to_request(system="Answer with a number.", temperature=0)
    >>> r.item_id, r.prompt, r.metadata, r.temperature
    ('q1', 'What is 6 x 7?', {'category': 'multiplication'}, 0)
    >>> item.answer_key
    AnswerKey(item_id='q1', expected=42, difficulty=None, choices=('42', '24'))
    """

    id: str
    input: str
    expected: Any = None
    category: str | None = None
    difficulty: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_request(self, *, system: str | None = None, **params: Any) -> Request:
        """The request that asks a model this item: its input, with ``category`` and the metadata that is not
        truth in ``request.metadata``."""
        metadata = {k: v for k, v in self.metadata.items() if k not in TRUTH}
        if self.category is not None:
            metadata["category"] = self.category
        return Request.of(self.input, system=system, item_id=self.id, metadata=metadata, **params)

    @property
    def answer_key(self) -> AnswerKey:
        """The truth about this item, for scorers and simulated models (an experiment runs the item inside it)."""
        difficulty = self.difficulty if self.difficulty is not None else self.metadata.get("difficulty")
        choices = self.metadata.get("choices")
        picks = tuple(str(c) for c in choices) if choices else None
        return AnswerKey(self.id, self.expected, difficulty, picks)


class Dataset(Sequence[Item]):
    """An immutable, named sequence of items with unique ids.

    >>> ds = Dataset([Item("a", "1+1?", 2, "add"), Item("b", "2*3?", 6, "mul")], name="mini")
    >>> len(ds), ds[1].id, ds[:1].name, ds.by_id("b").expected
    (2, 'b', 'mini', 6)
    >>> [i.id for i in ds.filter(lambda item: item.category == "mul")]
    ['b']
    """

    def __init__(self, items: Iterable[Item], *, name: str, source: str = "<list>", card: str | None = None) -> None:
        self._items: tuple[Item, ...] = tuple(items)
        self._index = {item.id: i for i, item in enumerate(self._items)}
        if len(self._index) != len(self._items):
            repeated = sorted(k for k, n in Counter(item.id for item in self._items).items() if n > 1)
            raise ValueError(f"dataset {name!r}: duplicate ids {repeated[:5]}")
        self.name = name
        self.source = source
        self.card = card

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> Dataset: ...
    def __getitem__(self, index: int | slice) -> Item | Dataset:
        if isinstance(index, slice):
            return self._subset(self._items[index])
        return self._items[index]

    def by_id(self, item_id: str) -> Item:
        """The item with this id (``KeyError`` if there is none)."""
        try:
            return self._items[self._index[item_id]]
        except KeyError:
            raise KeyError(f"dataset {self.name!r} has no item {item_id!r}") from None

    def sample(self, n: int, seed: int = 0) -> Dataset:
        """``n`` items drawn without replacement (the same ``seed`` gives the same items), in dataset order."""
        if not 0 <= n <= len(self):
            raise ValueError(f"sample: n={n} but dataset {self.name!r} has {len(self)} items")
        chosen = sorted(random.Random(seed).sample(range(len(self)), n))
        return self._subset(self._items[i] for i in chosen)

    def filter(self, predicate: Callable[[Item], bool]) -> Dataset:
        """The items for which ``predicate(item)`` is true."""
        return self._subset(item for item in self._items if predicate(item))

    def categories(self) -> Counter[str | None]:
        """How many items each category has."""
        return Counter(item.category for item in self._items)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: id, input, expected, category, difficulty, then one column per metadata key."""
        import pandas as pd

        meta_keys = list(dict.fromkeys(k for item in self._items for k in item.metadata))
        rows = [
            {"id": i.id, "input": i.input, "expected": i.expected, "category": i.category, "difficulty": i.difficulty}
            | {k: i.metadata.get(k) for k in meta_keys}
            for i in self._items
        ]
        return pd.DataFrame(rows, columns=["id", "input", "expected", "category", "difficulty", *meta_keys])

    def _subset(self, items: Iterable[Item]) -> Dataset:
        return Dataset(items, name=self.name, source=self.source, card=self.card)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} items, source={self.source!r})"

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{html.escape(str(c))}: {n}" for c, n in self.categories().most_common())
        head = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _preview_cells(i)) + "</tr>"
            for i in self._items[:5]
        )
        return (
            f"<div><b>{html.escape(self.name)}</b> · {len(self)} items · <small>{html.escape(self.source)}</small>"
            f"<br><small>categories: {counts}</small><table><tr><th>id</th><th>input</th><th>expected</th>"
            f"<th>category</th><th>difficulty</th></tr>{head}</table></div>"
        )


def _preview_cells(item: Item) -> list[str]:
    expected = json.dumps(item.expected, ensure_ascii=False, default=str)
    difficulty = "" if item.difficulty is None else f"{item.difficulty:.2f}"
    return [item.id, _shorten(item.input), _shorten(expected), str(item.category or ""), difficulty]


def _shorten(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- loading -----------------------------------------------------------------------------------------------------


def load_dataset(
    source: str | Path | pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    name: str | None = None,
    columns: Mapping[str, str] | None = None,
    id_column: str | None = None,
    on_duplicate: Literal["error", "suffix"] = "error",
) -> Dataset:
    """Load a dataset from a file (``.csv``, ``.jsonl``, ``.parquet``), a DataFrame, a list of dicts, or a shipped
    dataset's name (see :func:`list_datasets`). See the module docstring for the rules.

    ``columns`` maps our field names to the file's (``{"input": "question"}``); ``id_column`` is short for
    ``columns={"id": ...}``.

    >>> load_dataset([{"question": "Capital of France?", "answer": "Paris"}],
    ...              columns={"input": "question", "expected": "answer"})[0]
    Item(id='row1', input='Capital of France?', expected='Paris', category=None, difficulty=None, metadata={})
    """
    mapping = _column_mapping(columns, id_column)
    if on_duplicate not in ("error", "suffix"):
        raise ValueError(f"on_duplicate: {on_duplicate!r} is not 'error' or 'suffix'")
    label, rows, card = _read_source(source)
    if not rows:
        raise DatasetError("no rows: the dataset is empty", path=label)
    items = _build_items(rows, mapping, label, on_duplicate)
    return Dataset(items, name=name or _default_name(source, label), source=label, card=card)


def list_datasets() -> list[str]:
    """Names of the datasets shipped with orchestra_lab.

    >>> {"arithmetic", "intents", "extraction"} <= set(list_datasets())
    True
    """
    return sorted({p.stem for folder in shipped_folders() for p in folder.iterdir() if is_shipped_file(p)})


def _default_name(source: object, label: str) -> str:
    return Path(label).stem if isinstance(source, (str, Path)) else label.strip("<>")


def _column_mapping(columns: Mapping[str, str] | None, id_column: str | None) -> dict[str, str]:
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ValueError(f"columns: {unknown} are not dataset fields; map any of {list(FIELDS)} to your column names")
    if id_column is not None:
        if mapping.get("id", id_column) != id_column:
            raise ValueError(f"id_column={id_column!r} contradicts columns['id']={mapping['id']!r}")
        mapping["id"] = id_column
    return {f: mapping.get(f, f) for f in FIELDS}


Row = tuple[int, dict[str, Any]]  # (1-based line or row number, column -> value)


def _read_source(source: object) -> tuple[str, list[Row], str | None]:
    """(label for messages, rows, data card) of any supported source."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file() and isinstance(source, str):
            shipped = shipped_file(source)
            if shipped is not None:
                card = shipped.with_suffix(".md")
                return str(shipped), _read_file(shipped), card.read_text("utf-8") if card.is_file() else None
        if not path.is_file():
            raise DatasetError(f"no such file, nor a shipped dataset (shipped: {list_datasets()})", path=str(source))
        return str(path), _read_file(path), None
    if _is_dataframe(source):
        return "<DataFrame>", list(enumerate(source.to_dict("records"), start=1)), None  # type: ignore[attr-defined]
    if isinstance(source, Sequence) and all(isinstance(row, Mapping) for row in source):
        return "<list>", [(n, dict(row)) for n, row in enumerate(source, start=1)], None
    raise TypeError(
        f"cannot load a dataset from {type(source).__name__}: "
        "pass a path, a shipped dataset's name, a DataFrame or a list of dicts"
    )


def _is_dataframe(obj: object) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "to_dict")


def _read_file(path: Path) -> list[Row]:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DatasetError(f"unsupported file type {path.suffix!r}; use one of {sorted(SUFFIXES)}", path=str(path))
    if kind == "parquet":
        return _read_parquet(path)
    text = _decode(path.read_bytes(), str(path))
    return _read_csv(text, str(path)) if kind == "csv" else _read_jsonl(text, str(path))


def _decode(data: bytes, path: str) -> str:
    data = data.removeprefix(codecs.BOM_UTF8)  # not "utf-8-sig": its error offsets would not count the BOM
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DatasetError(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8", path=path, line=line
        ) from None


def _read_jsonl(text: str, path: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as err:
            raise DatasetError(f"invalid JSON: {err}", path=path, line=number) from None
        if not isinstance(value, dict):
            raise DatasetError(f"expected a JSON object, got {type(value).__name__}", path=path, line=number)
        rows.append((number, value))
    return rows


def _read_csv(text: str, path: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    limit = csv.field_size_limit(2**31 - 1)  # prompts can be long; restored below
    try:
        header = _csv_header(next(reader, None), path)
        rows: list[Row] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, _csv_row(header, cells, path, start)))
            start = reader.line_num + 1
    except csv.Error as err:
        raise DatasetError(f"malformed CSV: {err}", path=path, line=reader.line_num or 1) from None
    finally:
        csv.field_size_limit(limit)
    return rows


def _csv_header(cells: list[str] | None, path: str) -> list[str]:
    if not cells or not any(c.strip() for c in cells):
        raise DatasetError("the file is empty: expected a header line with column names", path=path, line=1)
    header = [c.strip() for c in cells]
    repeated = sorted(c for c, n in Counter(h for h in header if h).items() if n > 1)
    if repeated:
        raise DatasetError(f"column names repeated in the header: {repeated}", path=path, line=1)
    return header


def _csv_row(header: list[str], cells: list[str], path: str, line: int) -> dict[str, Any]:
    if len(cells) > len(header):
        raise DatasetError(f"{len(cells)} cells but the header has {len(header)} columns", path=path, line=line)
    return {column: cell for column, cell in zip(header, cells) if column}


def _read_parquet(path: Path) -> list[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dev dependency
        raise ImportError("reading Parquet needs pyarrow: pip install 'orchestra-lab[parquet]'") from None
    try:
        records = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises its own error types for unreadable files
        raise DatasetError(f"cannot read Parquet: {err}", path=str(path)) from None
    return list(enumerate(records, start=1))


# -- building items ------------------------------------------------------------------------------------------------


def _build_items(rows: list[Row], mapping: dict[str, str], path: str, on_duplicate: str) -> Iterator[Item]:
    has_id = any(_present(row.get(mapping["id"])) for _, row in rows)
    seen: dict[str, int] = {}
    for number, (line, row) in enumerate(rows, start=1):
        item = _build_item(row, mapping, path, line, default_id=None if has_id else f"row{number}")
        if item.id in seen:
            if on_duplicate == "error":
                raise DatasetError(
                    f"duplicate id {item.id!r} (first at {_line_word(path)} {seen[item.id]}); "
                    "pass on_duplicate='suffix' to keep both",
                    path=path,
                    line=line,
                    field=mapping["id"],
                )
            item = _with_suffix(item, seen)
        seen[item.id] = line
        yield item


def _with_suffix(item: Item, seen: Mapping[str, int]) -> Item:
    n = 2
    while f"{item.id}#{n}" in seen:
        n += 1
    return Item(f"{item.id}#{n}", item.input, item.expected, item.category, item.difficulty, item.metadata)


def _build_item(row: Mapping[str, Any], mapping: dict[str, str], path: str, line: int, default_id: str | None) -> Item:
    def fail(problem: str, our_field: str) -> DatasetError:
        return DatasetError(problem, path=path, line=line, field=mapping[our_field])

    item_id = _item_id(row.get(mapping["id"]), default_id, fail)
    if mapping["input"] not in row:
        raise fail(_missing_problem("input", mapping, row), "input")
    text = row[mapping["input"]]
    if not _present(text):
        raise fail("empty input", "input")
    if not isinstance(text, str):
        raise fail(f"input must be text, got {type(text).__name__}", "input")
    category = row.get(mapping["category"])
    difficulty, level = _difficulty(row.get(mapping["difficulty"]), fail)
    metadata = _metadata(row, mapping, fail)
    if level is not None:
        metadata.setdefault("difficulty_level", level)
    expected = row.get(mapping["expected"])
    return Item(
        id=item_id,
        input=text,
        expected=expected if _present(expected) else None,
        category=str(category) if _present(category) else None,
        difficulty=difficulty,
        metadata=metadata,
    )


def _present(value: Any) -> bool:
    """False for None, blank text, NaN and pandas.NA: what a file or frame uses for "no value"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    return not (isinstance(value, numbers.Real) and math.isnan(value)) and value is not _pandas_na()


def _pandas_na() -> Any:
    pandas = sys.modules.get("pandas")
    return getattr(pandas, "NA", None) if pandas is not None else None


def _missing_problem(our_field: str, mapping: dict[str, str], row: Mapping[str, Any]) -> str:
    column = mapping[our_field]
    mapped = f" (column {column!r}, mapped from {our_field!r})" if column != our_field else ""
    present = sorted(map(str, row))
    shown = ", ".join(map(repr, present[:8])) + (f" and {len(present) - 8} more" if len(present) > 8 else "")
    return f"missing required field {our_field!r}{mapped}; the row has {shown or 'no fields'}"


def _item_id(value: Any, default_id: str | None, fail: Callable[[str, str], DatasetError]) -> str:
    if default_id is not None:
        return default_id
    if not _present(value):
        raise fail("missing id (other rows have one: give every row an id, or none)", "id")
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        raise fail(f"id must be text or an integer, got {type(value).__name__}", "id")
    return str(value).strip()


_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _difficulty(value: Any, fail: Callable[[str, str], DatasetError]) -> tuple[float | None, int | None]:
    """(difficulty in [0, 1], level 1-5 if given as one)."""
    if not _present(value):
        return None, None
    is_integer = isinstance(value, numbers.Integral) or (isinstance(value, str) and _INTEGER_TEXT.fullmatch(value))
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise fail(f"difficulty must be a number in [0, 1] or a level 1-5, got {value!r}", "difficulty") from None
    if is_integer and 1 <= number <= 5:
        level = int(number)
        return round((level - 0.5) / 5, 6), level
    if not 0.0 <= number <= 1.0:  # also false for NaN
        raise fail(f"difficulty {value!r} is out of range: use a number in [0, 1] or a level 1-5", "difficulty")
    return number, None


def _metadata(
    row: Mapping[str, Any], mapping: dict[str, str], fail: Callable[[str, str], DatasetError]
) -> dict[str, Any]:
    given = row.get(mapping["metadata"])
    if isinstance(given, str) and _present(given):
        try:
            given = json.loads(given)
        except (ValueError, RecursionError):
            raise fail("metadata must hold a JSON object, got text that is not JSON", "metadata") from None
    if _present(given) and not isinstance(given, Mapping):
        raise fail(f"metadata must be an object, got {type(given).__name__}", "metadata")
    metadata = dict(given) if _present(given) else {}
    ours = set(mapping.values())
    for column, value in row.items():
        if column in ours or not _present(value):
            continue
        if column in metadata:
            raise fail(f"{column!r} is given both as a column and inside metadata", "metadata")
        metadata[str(column)] = value
    return metadata
