"""Where the data files shipped with orchestra_lab live (the wheel's ``_datasets`` or the repository's ``datasets``).

Low in the layers so that both datasets (experiments) and shipped models (e.g. the language identifier's seed set)
can find them.

>>> shipped_file("arithmetic").name
'arithmetic.jsonl'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_SUFFIXES", "is_shipped_file", "shipped_file", "shipped_folders"]

DATA_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def shipped_folders() -> list[Path]:
    """The folders that hold shipped data, installed copy first."""
    package = Path(__file__).resolve().parent
    return [folder for folder in (package / "_datasets", package.parent / "datasets") if folder.is_dir()]


def is_shipped_file(path: Path) -> bool:
    """A data file (not a generator script or a hidden file)."""
    return path.suffix.lower() in DATA_SUFFIXES and not path.name.startswith(("_", "."))


def shipped_file(name: str) -> Path | None:
    """The shipped data file called ``name`` (without suffix), if there is one."""
    for folder in shipped_folders():
        for path in sorted(folder.iterdir()):
            if path.stem == name and is_shipped_file(path):
                return path
    return None
