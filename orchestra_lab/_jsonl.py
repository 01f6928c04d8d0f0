"""Append-only JSON-lines files (``calls.jsonl``, ``items.jsonl``) that survive a process killed mid-write.

A row is encoded by :func:`json_line` (orjson: a tenth of the standard encoder's time) and written with one
unbuffered ``write`` (:class:`AppendFile`): once written it is in the operating system's hands, so a killed process
loses nothing it finished.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> with AppendFile(path) as rows:
...     rows.write(json_line({"a": 1}) + json_line({"a": 2}) + b'{"a": ')  # the process died mid third row
>>> cut_torn_tail(path)
>>> [data for _, data in read_records(path)]
[{'a': 1}, {'a': 2}]
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["AppendFile", "cut_torn_tail", "json_line", "json_lines", "json_text", "read_records"]

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_line(value: Any) -> bytes:
    """``value`` as one line of strict JSON (UTF-8, newline-terminated): NaN and infinities (an unknown cost, an
    unscorable item) as null, numpy numbers as numbers, any other object as its ``str``.

    >>> json_line({"score": float("nan"), "expected": [1.0, float("inf")], "n": 2**70})
    b'{"score":null,"expected":[1.0,null],"n":1180591620717411303424}\\n'
    """
    try:
        return orjson.dumps(value, default=_plain, option=_OPTIONS)
    except TypeError:  # an integer beyond 64 bits: the standard encoder writes it
        text = json.dumps(
            _nan_to_null(value), default=_plain, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        return text.encode() + b"\n"


def json_lines(values: Iterable[Any]) -> bytes:
    """:func:`json_line` of each value, joined: several rows for one write.

    >>> json_lines([[1], {"a": None}])
    b'[1]\\n{"a":null}\\n'
    """
    joined = bytearray()
    for value in values:  # appended as made: five times faster than keeping each line for a join
        joined += json_line(value)
    return bytes(joined)


def json_text(value: Any) -> str:
    """:func:`json_line` as text, without the newline (a JSON cell of a Parquet column).

    >>> json_text(["१", 2])
    '["१",2]'
    """
    return json_line(value)[:-1].decode()


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: a float or int subclass as the number, anything else as its text."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)


def _nan_to_null(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _nan_to_null(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_null(v) for v in value]
    return value


class AppendFile:
    """A JSON-lines file opened for appending, written without a user-space buffer: each :meth:`write` is one
    system call, so what was written survives the process being killed right after."""

    def __init__(self, path: str | Path) -> None:
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()

    def write(self, data: bytes) -> None:
        """Append ``data`` whole (a short write -- a signal, a full disk -- is continued, or raises)."""
        written = self._file.write(data)
        while written < len(data):
            written += self._file.write(memoryview(data)[written:])

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AppendFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _loads(line: bytes) -> Any:
    """One JSON line; orjson, or the standard parser for what only it accepts (``NaN`` written by old versions)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed JSON)`` for each non-blank line. A torn last line (a crash mid-write: that row never
    finished) is skipped with a warning; any other unreadable line is a ValueError naming file and line."""
    if not path.exists():
        return
    lines = path.read_bytes().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield lineno, _loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if lineno == len(lines):
                warnings.warn(f"{path}:{lineno}: ignoring a partly written last row", stacklevel=2)
                return
            raise ValueError(f"{path}:{lineno}: not a JSON row") from None


def cut_torn_tail(path: Path) -> None:
    """Cut a partly written last line (no final newline: the writer died mid-row) so appends start clean."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
