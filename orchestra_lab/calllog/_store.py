"""Row storage behind :class:`~orchestra_lab.calllog.log.CallLog`, built for a million rows.

Rows are stored column by column, so building the DataFrame needs no transposition. Low-cardinality
(``category``) columns are interned as small integer codes (a dict look-up per cell), and missing floats are
stored as NaN, so every column converts at numpy speed: about a second for a million rows. Rows arrive as tuples
and wait in a small batch; a batch is moved into the columns a column at a time (a C-level transposition and one
comprehension per column: a fraction of a per-cell loop at every append), when it is full or before any read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from .schema import COLUMNS, DTYPES

_PLAIN, _CATEGORY, _FLOAT = 0, 1, 2
_KINDS = tuple(
    _CATEGORY if DTYPES[name] == "category" else _FLOAT if DTYPES[name].startswith(("float", "datetime")) else _PLAIN
    for name in COLUMNS
)
_CALL_ID_AT = COLUMNS.index("call_id")
_PLAIN_AT = tuple(i for i, kind in enumerate(_KINDS) if kind == _PLAIN)
_FLOAT_AT = tuple(i for i, kind in enumerate(_KINDS) if kind == _FLOAT)
_CATEGORY_AT = tuple(i for i, kind in enumerate(_KINDS) if kind == _CATEGORY)
_BATCH = 1024  # rows kept as tuples before they are moved into the columns


class _Codes(dict):  # type: ignore[type-arg]
    """A category column's value -> code table: a value seen for the first time gets the next code."""

    def __missing__(self, value: Any) -> int:
        code = self[value] = len(self)
        return code


class RowStore:
    """Append-only rows (with in-place updates of single cells) and their conversion to a typed DataFrame."""

    def __init__(self, rows: Iterable[tuple[Any, ...]] = ()) -> None:
        self._columns: list[list[Any]] = [[] for _ in COLUMNS]
        self._codes: list[dict[Any, int] | None] = [_Codes() if kind == _CATEGORY else None for kind in _KINDS]
        self._batch: list[tuple[Any, ...]] = []
        for row in rows:
            self.append(row)

    def append(self, record: tuple[Any, ...]) -> None:
        batch = self._batch
        batch.append(record)
        if len(batch) >= _BATCH:
            self._flush()

    def extend(self, records: Iterable[tuple[Any, ...]]) -> None:
        """Append many rows (tuples in :data:`COLUMNS` order)."""
        self._batch.extend(records)
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        """Move the batched rows into the columns (NaN for missing floats, codes for categories)."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        nan = math.nan
        for i, (kind, values) in enumerate(zip(_KINDS, zip(*batch))):
            if kind == _PLAIN:
                self._columns[i].extend(values)
            elif kind == _FLOAT:
                self._columns[i].extend([nan if v is None else v for v in values])
            else:
                self._columns[i].extend(map(self._codes[i].__getitem__, values))  # type: ignore[union-attr]

    def __len__(self) -> int:
        return len(self._columns[0]) + len(self._batch)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """The rows as tuples, category values decoded and missing floats as ``None``."""
        self._flush()
        decoded = [_decoder(kind, codes, column) for kind, codes, column in zip(_KINDS, self._codes, self._columns)]
        return zip(*decoded)

    def set_cell(self, call_id: str, column: int, value: Any) -> bool:
        """Set one (non-category) cell of the latest row with ``call_id``; False when there is none."""
        batch = self._batch  # the newest rows
        for i in range(len(batch) - 1, -1, -1):
            if batch[i][_CALL_ID_AT] == call_id:
                batch[i] = (*batch[i][:column], value, *batch[i][column + 1 :])
                return True
        ids = self._columns[_CALL_ID_AT]
        for i in range(len(ids) - 1, -1, -1):
            if ids[i] == call_id:
                self._columns[column][i] = math.nan if value is None and _KINDS[column] == _FLOAT else value
                return True
        return False

    def first(self, column: int) -> Any:
        """The decoded value of ``column`` in the first row (``None`` when empty)."""
        for row in self:
            return row[column]
        return None

    def to_frame(self) -> Any:
        """All rows as a DataFrame with the schema's dtypes."""
        import numpy as np
        import pandas as pd

        self._flush()
        data: dict[str, Any] = {}
        for name, kind, codes, values in zip(COLUMNS, _KINDS, self._codes, self._columns):
            dtype = DTYPES[name]
            if kind == _CATEGORY:
                data[name] = _categorical(np.asarray(values, dtype=np.int64), codes)  # type: ignore[arg-type]
            elif dtype.startswith("datetime"):
                seconds = np.asarray(values, dtype="float64")
                data[name] = pd.to_datetime(seconds, unit="s", utc=True).astype(dtype)
            elif kind == _FLOAT:
                data[name] = np.asarray(values, dtype="float64")
            elif dtype in ("bool", "int16"):  # never missing
                data[name] = np.asarray(values, dtype=dtype)
            else:
                data[name] = _nullable(values, dtype)
        return pd.DataFrame(data, columns=list(COLUMNS))

    def to_arrow(self) -> Any:
        """All rows as an Arrow table in the call-log segment schema -- ``to_arrow(to_frame())`` without pandas
        between (1.6x as fast: what a run directory's compaction writes)."""
        import pyarrow as pa

        from ._columnar import arrow_schema

        self._flush()
        schema = arrow_schema()
        arrays = [
            _arrow_column(kind, codes, values, field.type)
            for kind, codes, values, field in zip(_KINDS, self._codes, self._columns, schema)
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_column(kind: int, codes: dict[Any, int] | None, values: list[Any], arrow_type: Any) -> Any:
    """One column of :meth:`RowStore.to_arrow`: categories as a dictionary array, NaN and ``None`` as null."""
    import numpy as np
    import pyarrow as pa

    if kind == _CATEGORY:  # Parquet takes no null in a dictionary: None is a masked index
        present = [value for value in codes if value is not None]  # type: ignore[union-attr]
        position = {value: k for k, value in enumerate(present)}
        remap = np.array([position.get(value, -1) for value in codes] or [-1], dtype=np.int32)  # type: ignore[union-attr]
        indices = remap[np.asarray(values, dtype=np.int64)]
        missing = indices < 0
        indices[missing] = 0
        labels = pa.array([str(value) for value in present], pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(indices, mask=missing if missing.any() else None), labels)
    if pa.types.is_timestamp(arrow_type):
        import pandas as pd

        seconds = np.asarray(values, dtype="float64")  # converted as to_frame converts them: the same nanoseconds
        return pa.array(pd.to_datetime(seconds, unit="s", utc=True), type=arrow_type)
    if kind == _FLOAT:
        return pa.array(np.asarray(values, dtype="float64"), type=arrow_type, from_pandas=True)
    return pa.array(values, type=arrow_type)


def _nullable(values: list[Any], dtype: str) -> Any:
    """A ``string`` / ``Int64`` / ``Int16`` array with missing values; built by pyarrow when it is installed
    (three times faster than pandas' own element checks), else by pandas."""
    import pandas as pd

    try:
        import pyarrow as pa

        if dtype == "string":
            return pd.arrays.ArrowStringArray(pa.array(values, type=pa.string()))
        return pd.api.types.pandas_dtype(dtype).__from_arrow__(pa.array(values, type=dtype.lower()))
    except (ImportError, TypeError, ValueError):  # no pyarrow, or a value of another type: pandas converts it
        return pd.array(values, dtype=dtype)


def _decoder(kind: int, codes: dict[Any, int] | None, column: list[Any]) -> Iterable[Any]:
    if kind == _CATEGORY:
        values = list(codes)  # type: ignore[arg-type]
        return (values[code] for code in column)
    if kind == _FLOAT:
        return (None if v != v else v for v in column)
    return column


def _categorical(codes: Any, table: dict[Any, int]) -> Any:
    """Codes in first-seen order -> a Categorical with sorted categories and ``None`` as missing."""
    import numpy as np
    import pandas as pd

    present = sorted(str(v) for v in table if v is not None)
    position = {value: k for k, value in enumerate(present)}
    remap = np.array([-1 if v is None else position[str(v)] for v in table] or [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=present)
