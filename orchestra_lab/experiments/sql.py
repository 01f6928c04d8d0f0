"""SQL over many runs without loading them into pandas: DuckDB reads the runs' Parquet segments in place.

:func:`query` answers one SQL statement over three tables:

- ``calls``: every call row of the runs, the columns of :func:`~orchestra_lab.calllog.schema.describe_schema`;
- ``items``: every item row, ``run_id`` then the columns of :data:`~orchestra_lab.experiments.results.ITEM_SCHEMA`
  (``expected`` as JSON text, ``finished_at`` in epoch seconds);
- ``runs``: one row per run, the columns of :data:`~orchestra_lab.experiments.catalog.RUN_SCHEMA`.

Rows still in a run's JSON-lines tails (a stopped run) are included. Needs the ``query`` extra
(``pip install "orchestra_lab[query]"``, i.e. duckdb).

    ol.query("SELECT strategy, date_trunc('day', started_at) AS day, sum(cost_usd) FROM calls "
             "WHERE parent_id IS NULL GROUP BY ALL ORDER BY day", runs=ol.runs().tail(30))
    ol.query("SELECT * FROM calls WHERE status = 'error' AND name = 'gpt-4o-mini'")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .._jsonl import json_text
from .._segments import Segments
from ..calllog import CallLog
from ..calllog.log import CALLS_TABLE
from ._rundir import ITEMS_TABLE, RUN_FILE, RUNS_DIR, read_config, read_item_rows
from .catalog import run_dir_of
from .catalog import runs as list_runs

__all__ = ["TABLES", "query"]

TABLES = ("calls", "items", "runs")


def query(sql: str, runs: Any = None, *, root: str | Path = RUNS_DIR) -> pd.DataFrame:
    """Run ``sql`` over the tables ``calls``, ``items`` and ``runs`` of ``runs`` (default: every run under
    ``root``): run directories or ids, a folder of runs, or a :func:`~orchestra_lab.experiments.catalog.runs`
    table (its ``path`` column). Returns the result as a DataFrame.

    >>> import tempfile
    >>> from orchestra_lab import Experiment, SimulatedModel
    >>> root = tempfile.mkdtemp()
    >>> data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(4)]
    >>> _ = Experiment(data, [SimulatedModel.profile("sim/small")], run_dir=f"{root}/r1", progress=False).run()
    >>> query("SELECT run_id, count(*) AS n FROM items GROUP BY run_id", root=root).values.tolist()
    [['r1', 4]]
    """
    try:
        import duckdb
    except ImportError as err:
        raise ImportError('ol.query needs duckdb: pip install "orchestra_lab[query]"') from err
    run_dirs = _run_dirs(runs, root)
    connection = duckdb.connect()
    try:
        catalog = list_runs(root) if not run_dirs else pd.concat([list_runs(d) for d in run_dirs], ignore_index=True)
        connection.register("runs", catalog)
        for name, parts in (("calls", _call_parts(run_dirs)), ("items", _item_parts(run_dirs))):
            _create_view(connection, name, parts)
        return connection.execute(sql).df()
    finally:
        connection.close()


def _run_dirs(runs: Any, root: str | Path) -> list[Path]:
    if runs is None:
        return sorted(p.parent for p in Path(root).rglob(RUN_FILE))
    if isinstance(runs, pd.DataFrame):
        return [Path(p) for p in runs["path"]]
    if isinstance(runs, (str, Path)):
        folder = Path(runs)
        if folder.is_dir() and not (folder / RUN_FILE).exists():
            return sorted(p.parent for p in folder.rglob(RUN_FILE))
        runs = [runs]
    return [run_dir_of(run, root) for run in _iterable(runs)]


def _iterable(runs: Any) -> Iterable[Any]:
    return runs if isinstance(runs, Iterable) else [runs]


def _call_parts(run_dirs: list[Path]) -> list[Any]:
    """Per run: its call segments (paths) and, when the tail holds rows, the tail as a frame."""
    parts: list[Any] = []
    for run_dir in run_dirs:
        segments = Segments(run_dir, CALLS_TABLE)
        parts += [str(p) for p in segments.paths()]
        if segments.tail.exists():
            tail = CallLog.load(run_dir).tail_frame()  # empty when the last segment holds the tail's rows
            if len(tail):
                parts.append(_plain(tail))
    return parts


def _item_parts(run_dirs: list[Path]) -> list[Any]:
    parts: list[Any] = []
    for run_dir in run_dirs:
        run_id = str(read_config(run_dir / RUN_FILE).get("run_id", run_dir.name))
        segments = Segments(run_dir, ITEMS_TABLE)
        parts += [(run_id, str(p)) for p in segments.paths()]
        if not segments.tail_is_compacted():
            rows = read_item_rows(segments.tail)
            if rows:
                frame = pd.DataFrame.from_records(rows)
                frame["expected"] = frame["expected"].map(lambda v: None if v is None else json_text(v))
                parts.append(_plain(frame).assign(run_id=run_id))
    return parts


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as text, so DuckDB unions them with the segments' strings."""
    categorical = frame.select_dtypes("category").columns
    return frame.astype(dict.fromkeys(categorical, "string"))


def _create_view(connection: Any, name: str, parts: list[Any]) -> None:
    selects = []
    for k, part in enumerate(parts):
        if isinstance(part, pd.DataFrame):
            connection.register(f"_{name}_{k}", part)
            selects.append(f"SELECT * FROM _{name}_{k}")
        elif isinstance(part, tuple):
            run_id, path = part
            selects.append(f"SELECT {_literal(run_id)} AS run_id, * FROM read_parquet({_literal(path)})")
        else:
            selects.append(f"SELECT * FROM read_parquet({_literal(part)})")
    if not selects:
        connection.execute(f"CREATE VIEW {name} AS SELECT NULL AS run_id WHERE false")
        return
    connection.execute(f"CREATE VIEW {name} AS " + " UNION ALL BY NAME ".join(selects))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
