"""The call log: rows in memory, mirrored to a run directory as they happen.

>>> from orchestra_lab import CallLog, SimulatedModel
>>> with CallLog() as log:
...     _ = SimulatedModel.profile("sim/small")("What is 2+2?")
>>> log.to_frame()[["name", "source", "status"]].iloc[0].tolist()
['sim/small', 'simulated', 'ok']
"""

from __future__ import annotations

import contextvars
import html
import threading
import uuid
from pathlib import Path
from typing import Any

from .._jsonl import AppendFile, cut_torn_tail, json_line, json_lines, read_records
from .._segments import Segments
from ._store import RowStore
from .schema import COLUMNS, DEFAULTS

__all__ = ["CALLS_FILE", "CALLS_TABLE", "CallLog", "active_log", "default_log"]

CALLS_FILE = "calls.jsonl"
CALLS_TABLE = "calls"  # Parquet segments calls-NNNNNN.parquet, calls.jsonl their write-ahead tail
_HEADER = json_line({"_columns": COLUMNS})  # rows below it are arrays in this order
_SCORE_AT = COLUMNS.index("score")

_ACTIVE: contextvars.ContextVar[CallLog | None] = contextvars.ContextVar("orchestra_lab_log", default=None)


class CallLog:
    """Every call as one row (see :data:`~orchestra_lab.calllog.schema.SCHEMA`), optionally written to ``run_dir``.

    With ``run_dir``, each row is appended to ``run_dir/calls.jsonl`` as it happens, so a crashed kernel loses
    nothing; opening a ``CallLog`` on an existing run directory loads its rows and appends after them.
    :meth:`compact` moves the rows written so far into a Parquet segment (``calls-NNNNNN.parquet``, see
    :mod:`orchestra_lab._segments`) and out of memory; the frame and ``len`` still count them.
    Use it as a context manager to make it the log that calls record into.

    >>> import tempfile
    >>> from orchestra_lab import CallLog, SimulatedModel
    >>> run_dir = tempfile.mkdtemp()
    >>> with CallLog(run_dir) as log:
    ...     _ = SimulatedModel.profile("sim/tiny")("Hi")
    >>> log.close()
    >>> len(log), len(CallLog.load(run_dir))
    (1, 1)
    """

    def __init__(self, run_dir: str | Path | None = None, *, run_id: str | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._rows = RowStore()
        self._lock = threading.Lock()
        self._file = None
        self._tokens: list[contextvars.Token[CallLog | None]] = []
        self._segments: Segments | None = None
        self._compacted = 0  # rows in the segments
        if self.run_dir is not None:
            self._segments = Segments(self.run_dir, CALLS_TABLE)
            self._segments.repair(fresh_tail=_HEADER)
            self._rows = RowStore(_read_rows(self.run_dir / CALLS_FILE, repair=True))
            self._compacted = self._segments.rows()
            run_id = run_id or self._first_run_id() or self.run_dir.name
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._open_tail()
        self.run_id = run_id or uuid.uuid4().hex[:12]

    @classmethod
    def load(cls, run_dir: str | Path) -> CallLog:
        """Read a run directory written earlier, without writing to it (it may still be recording elsewhere).

        To record more calls into the run, open it with ``CallLog(run_dir)`` instead.
        """
        path = Path(run_dir) / CALLS_FILE
        if not cls.exists_in(run_dir):
            raise FileNotFoundError(f"{path}: no call log here (expected {CALLS_FILE} in the run directory)")
        log = cls()
        log.run_dir = Path(run_dir)
        log._segments = Segments(log.run_dir, CALLS_TABLE)
        log._compacted = log._segments.rows()
        stale = log._segments.tail_is_compacted()  # a crash mid-compaction: the last segment holds these rows
        log._rows = RowStore([] if stale else _read_rows(path, repair=False))
        log.run_id = log._first_run_id() or log.run_dir.name
        return log

    @classmethod
    def exists_in(cls, run_dir: str | Path) -> bool:
        """Whether ``run_dir`` holds a call log (a write-ahead tail or segments)."""
        return (Path(run_dir) / CALLS_FILE).exists() or bool(Segments(Path(run_dir), CALLS_TABLE).paths())

    # -- recording -------------------------------------------------------------------------------------------
    def append(self, record: tuple[Any, ...]) -> None:
        """Append one row given as a tuple in :data:`COLUMNS` order (the fast path calls use)."""
        with self._lock:
            self._rows.append(record)
            if self._file is not None:
                self._file.write(json_line(record))

    def extend(self, records: list[tuple[Any, ...]]) -> None:
        """Append rows given as tuples (:meth:`records` of another log), written to the run directory at once."""
        with self._lock:
            self._rows.extend(records)
            if self._file is not None and records:
                self._file.write(json_lines(records))

    def adopt_segment(self, number: int, rows: int) -> None:
        """Make segment ``number`` -- ``rows`` call rows another process wrote with
        :meth:`~orchestra_lab._segments.Segments.write_pending` (an experiment's worker) -- the log's next
        segment. The tail must hold no rows (compact first): they would be read after the segment's."""
        with self._lock:
            if len(self._rows):
                raise ValueError("adopt_segment: the tail holds rows; compact() first so the order is kept")
            self.segments.commit_pending(number)
            self._compacted += rows

    def set_score(self, call_id: str, score: float) -> None:
        """Attach a score to a recorded row (written to disk as a score line)."""
        with self._lock:
            if not self._rows.set_cell(call_id, _SCORE_AT, score):
                raise KeyError(f"no call {call_id!r} in this log")
            if self._file is not None:
                self._file.write(json_line({"call_id": call_id, "score": score, "_update": True}))

    def compact(self, *, merge: bool = False) -> None:
        """Move the rows in memory into the run directory's next Parquet segment (a run directory's log only);
        with ``merge``, then rewrite all segments as one (as a run does at its end when it has many).

        Crash-safe at every step (see :mod:`orchestra_lab._segments`). A row's score can no longer be set once
        compacted: compact between calls, not while one's score is pending (as :class:`Experiment` does).
        """
        if self._segments is None:
            raise ValueError("compact: this log has no run directory")
        with self._lock:
            self.close()
            if len(self._rows):
                self._segments.compact(self._rows.to_arrow(), fresh_tail=_HEADER)
                self._compacted += len(self._rows)
                self._rows = RowStore()
            if merge:
                self._segments.merge(fresh_tail=_HEADER)
            self._open_tail()

    # -- reading ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._compacted + len(self._rows)

    @property
    def segments(self) -> Segments:
        """The run directory's segments of the log (a run directory's log only)."""
        if self._segments is None:
            raise ValueError("this log has no run directory")
        return self._segments

    @property
    def compacted_rows(self) -> int:
        """Rows already moved into the run directory's Parquet segments (see :meth:`compact`)."""
        return self._compacted

    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts (a copy)."""
        if not self._compacted:
            with self._lock:  # reading moves the rows still batched into the columns: not while a row is appended
                return [dict(zip(COLUMNS, r)) for r in self._rows]
        frame = self.to_frame().astype(object)
        return frame.where(frame.notna(), None).to_dict("records")

    def records(self) -> list[tuple[Any, ...]]:
        """The rows not yet compacted as tuples in :data:`COLUMNS` order (all rows of a log without a run
        directory): what :meth:`extend` takes."""
        with self._lock:
            return list(self._rows)

    def to_frame(self) -> Any:
        """All rows as a pandas DataFrame with the schema's dtypes."""
        tail = self.tail_frame()
        if not self._compacted or self._segments is None:
            return tail
        from ._columnar import frame_of, to_arrow

        return frame_of(self._segments.read() + ([to_arrow(tail)] if len(tail) else []))

    def tail_arrow(self) -> Any:
        """The rows not yet compacted as an Arrow table in the segment schema (what a segment of them holds)."""
        with self._lock:
            return self._rows.to_arrow()

    def tail_frame(self) -> Any:
        """The rows not yet compacted into the run directory's segments, as a typed frame (all rows when the log
        has no segments)."""
        with self._lock:
            return self._rows.to_frame()

    def clear(self) -> None:
        """Forget the in-memory rows (the run directory's files are kept)."""
        with self._lock:
            self._rows = RowStore()
            self._compacted = 0
            self._segments = None

    # -- activation ------------------------------------------------------------------------------------------
    def __enter__(self) -> CallLog:
        self._tokens.append(_ACTIVE.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._tokens.pop())

    def close(self) -> None:
        """Close the run-directory file; the rows stay readable."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_tail(self) -> None:
        assert self.run_dir is not None
        self._file = AppendFile(self.run_dir / CALLS_FILE)
        if self._file.tell() == 0 or not _ends_with_header(self.run_dir / CALLS_FILE):
            self._file.write(_HEADER)

    def _first_run_id(self) -> Any:
        """The run id of the first row (``None`` when there is none)."""
        if self._compacted and self._segments is not None:
            return self._segments.read(columns=["run_id"])[0].column(0)[0].as_py()
        return self._rows.first(0)

    def __repr__(self) -> str:
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir else ""
        return f"CallLog(run_id={self.run_id!r}, rows={len(self)}{where})"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        head = f"<b>{html.escape(repr(self))}</b>"
        if frame.empty:
            return head
        cols = ["strategy", "kind", "name", "served_model", "status", "cost_usd", "latency_s", "response_text"]
        return head + frame[cols].tail(20).to_html(max_cols=len(cols), na_rep="")


_DEFAULT_LOG = CallLog(run_id="session")


def active_log() -> CallLog:
    """The log calls record into now: the innermost ``with CallLog()``, else the session's default log."""
    log = _ACTIVE.get()
    return _DEFAULT_LOG if log is None else log


def default_log() -> CallLog:
    """The session-wide log that calls made outside any ``with CallLog()`` block go to."""
    return _DEFAULT_LOG


def _ends_with_header(path: Path) -> bool:
    """Whether the file's last line is the current header (a fresh tail): no need to write it again."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - len(_HEADER) - 1))
        return f.read().endswith(_HEADER)


def _read_rows(path: Path, *, repair: bool) -> list[tuple[Any, ...]]:
    """Rows from a calls.jsonl: ``{"_columns": [...]}`` header lines, then one JSON array a row in that order;
    ``{"call_id", "score", "_update": true}`` lines attach scores. A torn last line (a crash mid-write) is skipped
    with a warning, and cut from the file when ``repair`` (before appending to it)."""
    rows: list[tuple[Any, ...]] = []
    index: dict[str, int] = {}
    columns: list[str] = list(COLUMNS)
    score_at = COLUMNS.index("score")
    for lineno, data in read_records(path):
        if isinstance(data, list):
            values = dict(zip(columns, data))
            row = tuple(values.get(name, DEFAULTS[name]) for name in COLUMNS)
            index[row[1]] = len(rows)
            rows.append(row)
        elif "_columns" in data:
            columns = list(data["_columns"])
        elif data.get("_update"):
            if data["call_id"] not in index:
                raise ValueError(f"{path}:{lineno}: a score for call {data['call_id']!r}, which is not in the log")
            i = index[data["call_id"]]
            rows[i] = (*rows[i][:score_at], data["score"], *rows[i][score_at + 1 :])
        else:
            raise ValueError(f"{path}:{lineno}: neither a row nor a header")
    if repair:
        cut_torn_tail(path)
    return rows
