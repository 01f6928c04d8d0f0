"""The call-log schema as Arrow: call rows to Parquet segments and back to the typed DataFrame.

Everything here follows :data:`~orchestra_lab.calllog.schema.SCHEMA`: a column added at its end is stored and read
with no change here, and a segment written before the column existed reads it as the column's default.
``category`` columns are dictionary-encoded (each distinct value stored once per segment).

>>> from orchestra_lab.calllog._store import RowStore
>>> from orchestra_lab.calllog.schema import COLUMNS, DEFAULTS
>>> row = tuple(DEFAULTS[c] for c in COLUMNS)
>>> frame = RowStore([row]).to_frame()
>>> frame_of([to_arrow(frame)]).dtypes.equals(frame.dtypes)
True
"""

from __future__ import annotations

from typing import Any

from .._segments import release_arrow_memory
from .schema import COLUMNS, DEFAULTS, DTYPES

__all__ = ["arrow_schema", "frame_of", "to_arrow"]


def _arrow_type(dtype: str) -> Any:
    import pyarrow as pa

    if dtype.startswith("datetime"):
        return pa.timestamp("ns", tz="UTC")
    types = {
        "category": pa.dictionary(pa.int32(), pa.string()),
        "string": pa.large_string(),
        "bool": pa.bool_(),
        "float64": pa.float64(),
        "Float64": pa.float64(),
    }
    for bits in (16, 32, 64):
        types[f"int{bits}"] = types[f"Int{bits}"] = getattr(pa, f"int{bits}")()
    if dtype not in types:
        raise ValueError(f"call-log dtype {dtype!r} has no Arrow type here: add it to _arrow_type")
    return types[dtype]


def arrow_schema() -> Any:
    """The Arrow schema of a call-log segment."""
    import pyarrow as pa

    return pa.schema([pa.field(name, _arrow_type(DTYPES[name])) for name in COLUMNS])


def to_arrow(frame: Any) -> Any:
    """A typed call-log frame (``CallLog.to_frame()``) as an Arrow table in :func:`arrow_schema`."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False).replace_schema_metadata(None)


def frame_of(tables: list[Any]) -> Any:
    """Segments (Arrow tables, oldest first) as one frame with the schema's dtypes; a column a segment lacks (it
    was written before the column was added) holds the column's default. Empties ``tables`` (to free memory)."""
    import pyarrow as pa

    schema = arrow_schema()
    table = pa.concat_tables([_aligned(t, schema) for t in tables] or [schema.empty_table()]).unify_dictionaries()
    tables.clear()  # ``table`` holds the only references: converting frees each column as it goes
    frame = table.to_pandas(types_mapper=_mapper(), split_blocks=True, self_destruct=True)
    del table
    for name in COLUMNS:
        frame[name] = _typed(frame[name], DTYPES[name])
    release_arrow_memory()
    return frame


def _aligned(table: Any, schema: Any) -> Any:
    import pyarrow as pa

    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.array([DEFAULTS[field.name]] * table.num_rows, type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _mapper() -> Any:
    import pandas as pd
    import pyarrow as pa

    return {pa.large_string(): pd.StringDtype("pyarrow"), pa.int64(): pd.Int64Dtype()}.get


def _typed(column: Any, dtype: str) -> Any:
    """``column`` converted to the schema's ``dtype``; categories sorted, as :class:`RowStore` gives them."""
    import pandas as pd

    if dtype == "category":
        categories = column.cat.categories
        ordered = sorted(categories)
        return column if list(categories) == ordered else column.cat.reorder_categories(ordered)
    if dtype == "string":
        return column.astype(pd.StringDtype("pyarrow")) if str(column.dtype) != "string" else column
    return column if str(column.dtype) == dtype else column.astype(dtype)
