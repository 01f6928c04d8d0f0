"""A run directory on disk: ``run.json`` (the config), the finished items and the call log, crash-safe.

Items and calls are each a table of Parquet segments plus a JSON-lines write-ahead tail (``items.jsonl``,
``calls.jsonl``; see :mod:`orchestra_lab._segments`): rows are appended to the tail as they finish, and
:func:`compact` moves the tails into segments every :data:`COMPACT_ROWS` call rows and at the end of a run. A run
directory written before the segments existed (tails only) reads the same way.

>>> import tempfile, pathlib
>>> run_dir = pathlib.Path(tempfile.mkdtemp())
>>> store = ItemStore(run_dir)
>>> store.append({"strategy": "s", "item_id": "q1", "repeat": 0, "expected": [1, 2], "score": 1.0})
>>> store.compact()
>>> store.frame()[["item_id", "expected"]].values.tolist(), store.finished, ItemStore(run_dir).finished
([['q1', [1, 2]]], set(), {('s', 'q1', 0)})
>>> store.close()
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import operator
import os
import uuid
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .._jsonl import AppendFile, cut_torn_tail, json_lines, json_text, read_records
from .._segments import Segments, release_arrow_memory

__all__ = [
    "COMPACT_ROWS",
    "CONFIG_FORMAT",
    "ITEMS_FILE",
    "MERGE_SEGMENTS",
    "RUNS_DIR",
    "RUN_FILE",
    "BatchSegments",
    "ItemStore",
    "check_resumable",
    "compact",
    "convert",
    "dataset_hash",
    "git_commit",
    "locate_run",
    "read_config",
    "read_item_rows",
    "read_items",
    "versions",
    "write_config",
]

RUNS_DIR = "orchestra_runs"
ITEMS_FILE = "items.jsonl"
ITEMS_TABLE = "items"
RUN_FILE = "run.json"
COMPACT_ROWS: int | None = 100_000  # call rows in the tail that make a run compact (None: never, tails only)
# A table of more segments is merged into one at the end of a run. Up to this many read as fast as one: a 100,000
# x 4 run's Results.load takes 0.9-1.2 s from its 49 + 49 segments and 1.0-1.2 s from 1 + 1, and the merge took
# 1.7 s of its end.
MERGE_SEGMENTS = 64

# Arrow types of the item columns with a fixed type; "expected" (any JSON value) and columns of mixed types are
# stored as JSON text, named in the segment's metadata.
_ITEM_TYPES = {
    "repeat": "int64", "seed": "int64", "difficulty": "float64", "score": "float64", "cost_usd": "float64",
    "cost_inr": "float64", "latency_s": "float64", "calls": "int64", "cache_hits": "int64", "finished_at": "float64",
}  # fmt: skip
_STRING_COLUMNS = dict.fromkeys(
    ("strategy", "item_id", "category", "input", "output", "status", "error_type", "error", "call_id"), "string"
)
_JSON_COLUMNS = b"orchestra_lab.json_columns"


class ItemStore:
    """The finished item rows of a run directory: appended to ``items.jsonl`` (and flushed) one by one, compacted
    into ``items-NNNNNN.parquet`` segments; ``finished`` holds the (strategy, item id, repeat) keys done when the
    store was opened -- what a resumed run skips (rows appended since are not added: a run asks each job once).
    Without a run directory (``None``) the rows are kept in memory only."""

    def __init__(self, run_dir: Path | None) -> None:
        self._segments: Segments | None = None
        self._tail: list[dict[str, Any]] = []
        self._file: Any = None
        self.finished: set[tuple[str, str, int]] = set()
        if run_dir is None:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self._segments = Segments(run_dir, ITEMS_TABLE)
        self._segments.repair(fresh_tail=b"")
        path = self._segments.tail
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a torn last line is expected after a kill; it is dropped below
            self._tail = read_item_rows(path)
        cut_torn_tail(path)
        self.finished = {_key(row) for row in self._tail} | _segment_keys(self._segments)
        self._file = AppendFile(path)

    @property
    def segments(self) -> Segments:
        """The store's segments (a run directory's store only)."""
        if self._segments is None:
            raise ValueError("this item store has no run directory")
        return self._segments

    @property
    def on_disk(self) -> bool:
        """Whether the rows are written to a run directory (else kept in memory only)."""
        return self._segments is not None

    def append(self, row: dict[str, Any]) -> None:
        self.extend([row])

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """:meth:`append` each of ``rows``, written to the run directory at once."""
        if self._file is not None and rows:
            self._file.write(json_lines(rows))
        self._tail.extend(rows)

    def compact(self, *, merge: bool = False) -> None:
        """Move the rows of the tail into the next segment; with ``merge``, then rewrite the segments as one."""
        if self._tail:
            self._rewrite(_items_table(self._tail), rewrite=False)
        if merge:
            self._file.close()
            as_json = sorted({name for meta in self._segments.metadata() for name in _json_columns(meta)})
            self._segments.merge(fresh_tail=b"", metadata={_JSON_COLUMNS: json.dumps(as_json).encode()})
            self._file = AppendFile(self._segments.tail)

    def adopt_segment(self, number: int) -> None:
        """Make segment ``number`` -- item rows another process wrote with :meth:`BatchSegments.write_batch` -- the next
        segment; the tail must hold no rows (compact first)."""
        if self._segments is None or self._tail:
            raise ValueError("adopt_segment: needs a run directory and an empty tail (compact first)")
        self._segments.commit_pending(number)

    def keep(self, predicate: Any) -> int:
        """Keep only the rows for which ``predicate(frame)`` (a boolean Series) holds, as one new segment (which
        supersedes the others atomically); returns how many rows were dropped."""
        frame = self.frame()
        if frame.empty:
            return 0
        kept = frame[predicate(frame)]
        if len(kept) == len(frame):
            return 0
        self._rewrite(_items_table(kept), rewrite=True)
        self.finished = {(s, str(i), int(r)) for s, i, r in zip(kept["strategy"], kept["item_id"], kept["repeat"])}
        return len(frame) - len(kept)

    def frame(self) -> Any:
        """Every row (segments, then the tail) as a DataFrame, before typing (see ``items_frame``)."""
        if self._segments is None:
            return _records_frame(self._tail)
        return _concat(_segment_frame(self._segments), _records_frame(self._tail))

    def close(self) -> None:
        """Close the tail; the rows stay readable (:meth:`frame`), the finished keys are forgotten."""
        if self._file is not None:
            self._file.close()
        self.finished = set()

    def _rewrite(self, table: Any, *, rewrite: bool) -> None:
        self._file.close()
        self._segments.compact(table, fresh_tail=b"", rewrite=rewrite)
        self._tail = []
        self._file = AppendFile(self._segments.tail)


def compact(store: ItemStore, log: Any, *, merge: bool = False) -> None:
    """Move both tails of a run into segments: the items, then the calls; with ``merge``, then rewrite each table of
    more than :data:`MERGE_SEGMENTS` segments as one -- the two at once, in two threads (Parquet reads and writes
    run outside the GIL: on two cores the end of a large run waits for the larger merge only)."""
    store.compact()
    log.compact()
    due = [table for table in (store, log) if merge and len(table.segments.paths()) > MERGE_SEGMENTS]
    if not due:
        return
    with ThreadPoolExecutor(len(due), thread_name_prefix="orchestra-lab-merge") as pool:
        merging = [pool.submit(table.compact, merge=True) for table in due]
        for future in merging:
            future.result()  # an error in either is raised here, once both have stopped


@dataclass(frozen=True)
class BatchSegments:
    """Where the batches of a run answered in worker processes go: batch ``k``'s calls and items become segments
    ``calls_next + k`` and ``items_next + k``, written by the worker (:meth:`write_batch`) and committed in batch
    order by the parent (:meth:`commit_batch`), so the run directory holds them in job order. Planned by
    :meth:`of` once the tails are compacted."""

    run_dir: Path
    calls_next: int
    calls_first: int
    items_next: int
    items_first: int

    @classmethod
    def of(cls, store: ItemStore, log: Any) -> BatchSegments:
        """Compact both tails (the segments come after their rows), then plan the numbers."""
        compact(store, log)
        (calls_next, calls_first), (items_next, items_first) = log.segments.numbers(), store.segments.numbers()
        return cls(log.segments.run_dir, calls_next, calls_first, items_next, items_first)

    def write_batch(self, index: int, log: Any, rows: list[dict[str, Any]]) -> int:
        """In a worker: write batch ``index``'s call rows (``log``) and item rows as pending segments; returns
        the number of call rows."""
        from ..calllog.log import CALLS_TABLE

        Segments(self.run_dir, CALLS_TABLE).write_pending(log.tail_arrow(), self.calls_next + index, self.calls_first)
        Segments(self.run_dir, ITEMS_TABLE).write_pending(_items_table(rows), self.items_next + index, self.items_first)
        return len(log)

    def commit_batch(self, index: int, store: ItemStore, log: Any, calls: int) -> None:
        """In the parent, batches in order: make batch ``index``'s segments part of the run (the calls first: an
        item is finished once its row is in)."""
        log.adopt_segment(self.calls_next + index, calls)
        store.adopt_segment(self.items_next + index)


def convert(run_dir: str | Path) -> tuple[int, int]:
    """Compact a run directory's tails into Parquet segments -- e.g. one written before segments existed, or by a
    run that was stopped -- and return (item rows, call rows). Safe to repeat; resuming the run still works.

    >>> import tempfile
    >>> from orchestra_lab import SimulatedModel
    >>> from orchestra_lab.experiments import Experiment
    >>> run_dir = tempfile.mkdtemp()
    >>> _ = Experiment([{"id": "q", "input": "Hi"}], [SimulatedModel.profile("sim/tiny")], scorer="exact",
    ...                run_dir=run_dir, progress=False).run()
    >>> convert(run_dir)
    (1, 1)
    """
    from ..calllog import CallLog

    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).exists():
        raise FileNotFoundError(f"{run_dir / RUN_FILE}: no run here (expected {RUN_FILE} in the run directory)")
    store, log = ItemStore(run_dir), CallLog(run_dir)
    try:
        compact(store, log, merge=True)
        return len(store.finished), len(log)
    finally:
        store.close()
        log.close()


def read_items(run_dir: Path, columns: list[str] | None = None) -> Any:
    """The item rows of a run directory as a DataFrame (before typing), without writing to it; only ``columns``
    (those present) when given."""
    segments = Segments(run_dir, ITEMS_TABLE)
    tail = [] if segments.tail_is_compacted() else read_item_rows(segments.tail)
    if columns is not None:
        tail = [{k: row[k] for k in columns if k in row} for row in tail]
    return _concat(_segment_frame(segments, columns), _records_frame(tail))


def read_item_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an ``items.jsonl`` (a partly written last line, left by a killed process, is skipped)."""
    return [data for _, data in read_records(path)]


def read_config(path: Path) -> dict[str, Any]:
    """The ``run.json`` of a run directory."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def _key(row: Mapping[str, Any]) -> tuple[str, str, int]:
    return (row["strategy"], str(row["item_id"]), int(row["repeat"]))


def _segment_keys(segments: Segments) -> set[tuple[str, str, int]]:
    keys: set[tuple[str, str, int]] = set()
    for table in segments.read(columns=["strategy", "item_id", "repeat"]):
        columns = [table.column(i).to_pylist() for i in range(3)]
        keys.update(zip(columns[0], columns[1], columns[2]))
    return keys


def _records_frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _concat(*frames: Any) -> Any:
    import pandas as pd

    present = [f for f in frames if len(f)]
    if len(present) <= 1:
        return present[0] if present else pd.DataFrame()
    return pd.concat(present, ignore_index=True)


def _items_table(rows: Any) -> Any:
    """Item rows (dicts, or a frame of them) as an Arrow table, typed the same in every segment so they merge:
    the known columns by name (``expected``: JSON text), a column the store does not know (a newer version's) by
    its values -- numbers as float64, text as strings, all missing as null, anything else as JSON text. The JSON
    columns are named in the table's metadata."""
    import pyarrow as pa

    arrays, as_json = {}, []
    for name, values in _columns_of(rows).items():
        kind = _ITEM_TYPES.get(name) or _STRING_COLUMNS.get(name) or _unknown_column_type(name, values)
        if kind == "json":
            as_json.append(name)
            arrays[name] = pa.array([None if v is None else json_text(v) for v in values], pa.string())
        else:
            arrays[name] = pa.array(values, type=kind, from_pandas=True)  # NaN stored as null, as in the JSON lines
    return pa.table(arrays).replace_schema_metadata({_JSON_COLUMNS: json.dumps(as_json).encode()})


def _unknown_column_type(name: str, values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if name == "expected":
        return "json"
    if not present:
        return "null"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string" if all(isinstance(v, str) for v in present) else "json"


def _columns_of(rows: Any) -> dict[str, list[Any]]:
    """Column name -> values (``None`` where a row lacks it) of a list of dicts or a frame."""
    if not isinstance(rows, list):
        frame = rows.astype(object).where(rows.notna(), None)
        return {str(name): frame[name].tolist() for name in frame.columns}
    if not rows:
        return {}
    names = list(rows[0])
    if len(names) > 1 and all(len(row) == len(names) for row in rows):  # the usual case, transposed at C speed
        with contextlib.suppress(KeyError):  # a row with other names: the general case below
            return dict(zip(names, map(list, zip(*map(operator.itemgetter(*names), rows)))))
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}


def _json_columns(metadata: dict[bytes, bytes] | None) -> list[str]:
    """The columns of an items segment stored as JSON text, as its schema ``metadata`` names them."""
    return json.loads((metadata or {}).get(_JSON_COLUMNS, b"[]"))


def _loose(column: Any) -> bool:
    """Whether pandas reads the JSON-lines rows of this column as objects: all missing, or integers with gaps."""
    import pyarrow as pa

    return column.null_count == len(column) or (column.null_count > 0 and pa.types.is_integer(column.type))


def _segment_frame(segments: Segments, columns: list[str] | None = None) -> Any:
    """The segments' rows as one frame (only ``columns`` when given), JSON columns decoded (each text once)."""
    import pandas as pd
    import pyarrow as pa

    tables = segments.read()
    if columns is not None:
        tables = [t.select([c for c in columns if c in t.column_names]) for t in tables]
    if not tables:
        return pd.DataFrame()
    as_json = sorted({name for table in tables for name in _json_columns(table.schema.metadata)})
    table = pa.concat_tables(tables, promote_options="default")
    as_json = [c for c in as_json if c in table.column_names]
    loose = [f.name for f in table.schema if f.name not in as_json and _loose(table.column(f.name))]
    frame = table.drop_columns(as_json + loose).to_pandas()
    for name in loose:  # as the JSON lines give them: None for missing, not NaN in a float column
        frame[name] = pd.Series(table.column(name).to_pylist(), dtype=object)
    for name in as_json:
        encoded = table.column(name).combine_chunks().dictionary_encode()
        decoded = [json.loads(text) for text in encoded.dictionary.to_pylist()]
        frame[name] = [None if i is None else decoded[i] for i in encoded.indices.to_pylist()]
    frame = frame[list(table.column_names)]
    del tables, table
    release_arrow_memory()
    return frame


def _json_default(value: Any) -> Any:
    return str(value)


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2, default=_json_default, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def dataset_hash(dataset: Any) -> str:
    """A short content hash of a dataset's items (ids, inputs, expected answers, categories, difficulties).

    >>> from orchestra_lab.experiments.dataset import Dataset, Item
    >>> a = Dataset([Item("q", "2+2?", 4)], name="a")
    >>> dataset_hash(a) == dataset_hash(Dataset([Item("q", "2+2?", 4)], name="b")) != dataset_hash(a.filter(bool)[:0])
    True
    """
    digest = hashlib.sha256()
    for item in dataset:
        fields = (item.id, item.input, item.expected, item.category, item.difficulty)
        digest.update("\x1f".join(map(repr, fields)).encode("utf-8", "backslashreplace") + b"\x1e")
    return digest.hexdigest()[:16]


def git_commit(where: str | Path = ".") -> str | None:
    """The git commit checked out in ``where`` (``None`` outside a repository or without git), ``+dirty`` when
    tracked files have uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=5, check=True)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape a run's numbers."""
    import platform
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in ("orchestra_lab", "numpy", "pandas", "pyarrow"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def check_resumable(previous: Mapping[str, Any], config: Mapping[str, Any], path: Path) -> None:
    """A run resumes only with the setup its rows were made with (so rows stay comparable): the same dataset,
    scorer, system prompt, params, seeds of the repeats both have, and the configuration of each strategy key both
    have (:func:`~orchestra_lab._fingerprint.model_config`, functions by name)."""
    now = json.loads(json.dumps(config, default=_json_default))  # compared as run.json stores it
    changes = [
        f"{what} {before!r}, not {after!r}" for what, before, after in _setup_pairs(previous, now) if before != after
    ]
    if changes:
        raise ValueError(
            f"{path}: run {config['run_id']!r} was made with {'; '.join(changes)}; "
            "use a new run_id (or run_dir) for a different setup"
        )


def _setup_pairs(previous: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(what, before, now) for each part of the setup the previous ``run.json`` records."""
    if "dataset" in previous:
        yield "dataset", previous["dataset"].get("name"), now["dataset"]["name"]
    for what in ("scorer", "system", "params"):
        if what in previous:
            yield what, previous[what], now[what]
    if "seeds" in previous:
        before, after = _seed_per_repeat(previous), _seed_per_repeat(now)
        common = min(len(before), len(after))  # repeats may be added or left out
        yield "seeds", before[:common], after[:common]
    for key, before in comparable_strategies(previous).items():
        if key in now["strategies"]:
            yield f"strategy {key!r}", before, now["strategies"][key]


def _seed_per_repeat(config: Mapping[str, Any]) -> list[int | None]:
    seeds = config.get("seeds")
    return list(seeds) if seeds is not None else [None] * int(config.get("repeats", 1))


# run.json "strategies" hold model_config(code=False): functions compared by name, as a notebook re-run defines
# them again; earlier versions held repr() (not compared).
CONFIG_FORMAT = 2


def comparable_strategies(previous: Mapping[str, Any]) -> Mapping[str, str]:
    """The strategy configurations of an earlier ``run.json`` that can be compared with today's: none from a run
    directory written before they were fingerprinted with :func:`~orchestra_lab._fingerprint.model_config`."""
    if previous.get("config_format") == CONFIG_FORMAT:
        return previous.get("strategies", {})
    if previous.get("strategies"):
        warnings.warn(
            "this run directory was written by an older orchestra_lab: its strategies' configurations cannot be "
            "checked against today's; resume it only with the same strategies",
            stacklevel=4,
        )
    return {}


class RunDirDefault(enum.Enum):
    """The type of :data:`DEFAULT_RUN_DIR`: ``run_dir`` left out (``None`` means no run directory)."""

    RUN_DIR = "./orchestra_runs/<run_id>"


DEFAULT_RUN_DIR = RunDirDefault.RUN_DIR  # run_dir left out: a run directory under ./orchestra_runs


def locate_run(run_id: str | None, run_dir: str | Path | RunDirDefault | None) -> tuple[str, Path | None]:
    """(run_id, run_dir): given, read from an existing ``run.json``, or made (``./orchestra_runs/<run_id>``);
    no run directory for ``run_dir=None``."""
    if run_dir is None:
        return run_id or _new_run_id(), None
    if run_dir is not DEFAULT_RUN_DIR:
        path = Path(run_dir)
        if run_id is None and (path / RUN_FILE).exists():
            run_id = read_config(path / RUN_FILE).get("run_id")
        return run_id or path.name, path
    run_id = run_id or _new_run_id()
    return run_id, Path(RUNS_DIR) / run_id


def _new_run_id() -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
