"""Append-only JSON-lines files (``calls.jsonl``, ``items.jsonl``) that survive a process killed mid-write.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> _ = path.write_text('{"a": 1}\\n{"a": 2}\\n{"a": ')  # the process died while writing the third row
>>> cut_torn_tail(path)
>>> [data for _, data in read_records(path)]
[{'a': 1}, {'a': 2}]
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed JSON)`` for each non-blank line. A torn last line (a crash mid-write: that row never
    finished) is skipped with a warning; any other unreadable line is a ValueError naming file and line."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError:
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
