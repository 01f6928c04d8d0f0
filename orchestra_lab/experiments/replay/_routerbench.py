"""Reading RouterBench-format CSVs (one row per prompt) into the pieces of a
:class:`~orchestra_lab.experiments.replay.RecordedOutcomes`: an items table (index ``item_id``; ``prompt``,
``category`` and extra columns), the model names and ``(n_items, n_models)`` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

OnDuplicate = Literal["error", "suffix"]

_ROUTERBENCH_ITEM_COLUMNS = ("sample_id", "prompt", "eval_name")
_RESPONSE_SUFFIX = "|model_response"
_COST_SUFFIX = "|total_cost"
_DUPLICATE_MARK = "#"


def routerbench_files(path_or_paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The CSV files named: a file, a directory (its ``*.csv``, sorted) or a list of either."""
    paths = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths)
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise FileNotFoundError(f"{path}: no .csv files in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    if not files:
        raise ValueError("from_routerbench: no paths given")
    return files


def read_routerbench(files: Sequence[Path], on_duplicate: OnDuplicate) -> dict[str, Any]:
    """Read RouterBench-format CSVs into one table: ``RecordedOutcomes`` keyword arguments (NaN / None where
    nothing was recorded)."""
    if on_duplicate not in ("error", "suffix"):
        raise ValueError(f"on_duplicate: {on_duplicate!r} is not 'error' or 'suffix'")
    frames = [_read_csv(file) for file in files]
    models = _models_of(frames[0], files[0])
    for frame, file in zip(frames[1:], files[1:]):
        other = _models_of(frame, file)
        if set(other) != set(models):
            raise ValueError(
                f"{file}: models differ from {files[0].name}: "
                f"missing {sorted(set(models) - set(other))}, extra {sorted(set(other) - set(models))}"
            )
    scores = np.vstack([_numeric(frame, list(models), file) for frame, file in zip(frames, files)])
    costs = np.vstack([_numeric(frame, [m + _COST_SUFFIX for m in models], file) for frame, file in zip(frames, files)])
    responses = np.vstack([frame[[m + _RESPONSE_SUFFIX for m in models]].to_numpy(dtype=object) for frame in frames])
    responses[pd.isna(responses)] = None
    items = _routerbench_items(frames, files, on_duplicate)
    return {"items": items, "models": models, "scores": scores, "costs": costs, "responses": responses}


def _read_csv(file: Path) -> pd.DataFrame:
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in _ROUTERBENCH_ITEM_COLUMNS if c not in frame.columns]
    if missing:
        expected = list(_ROUTERBENCH_ITEM_COLUMNS)
        raise ValueError(f"{file}: missing column(s) {missing}; a RouterBench CSV has {expected}")
    return frame


def _models_of(frame: pd.DataFrame, file: Path) -> tuple[str, ...]:
    models = tuple(c for c in frame.columns if "|" not in c and c + _RESPONSE_SUFFIX in frame.columns)
    if not models:
        raise ValueError(f"{file}: no model columns (expected 'M' next to 'M{_RESPONSE_SUFFIX}' for each model M)")
    for model in models:
        if model + _COST_SUFFIX not in frame.columns:
            raise ValueError(f"{file}: model {model!r} has no '{model}{_COST_SUFFIX}' column")
    return models


def _numeric(frame: pd.DataFrame, columns: list[str], file: Path) -> np.ndarray:
    raw = frame[columns]
    parsed = raw.apply(pd.to_numeric, errors="coerce")
    bad = raw.notna().to_numpy() & parsed.isna().to_numpy()
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ValueError(f"{file}: column {columns[col]!r}, data row {row + 1}: {raw.iat[row, col]!r} is not a number")
    return parsed.to_numpy(dtype=float)


def _routerbench_items(frames: list[pd.DataFrame], files: Sequence[Path], on_duplicate: OnDuplicate) -> pd.DataFrame:
    extra = ["oracle_model_to_route_to"]
    parts = []
    for frame, file in zip(frames, files):
        part = pd.DataFrame(
            {
                "sample_id": frame["sample_id"].to_numpy(dtype=object),
                "prompt": frame["prompt"].to_numpy(dtype=object),
                "category": frame["eval_name"].to_numpy(dtype=object),
                "file": file.name,
                "row": np.arange(1, len(frame) + 1),
            }
        )
        for column in extra:
            if column in frame.columns:
                part[column] = frame[column].to_numpy(dtype=object)
        parts.append(part)
    items = pd.concat(parts, ignore_index=True)
    blank = items["sample_id"].isna()
    if blank.any():
        first = items[blank].iloc[0]
        raise ValueError(f"{first['file']}: data row {first['row']}: blank sample_id")
    items.index = pd.Index(_unique_ids(items, on_duplicate), name="item_id", dtype=object)
    return items


def _unique_ids(items: pd.DataFrame, on_duplicate: OnDuplicate) -> list[str]:
    ids = items["sample_id"].astype(str)
    duplicated = ids.duplicated(keep=False)
    if not duplicated.any():
        return ids.tolist()
    if on_duplicate == "error":
        shared = ids[duplicated]
        first = shared.iloc[0]
        where = items.loc[ids == first, ["file", "row"]]
        places = ", ".join(f"{f} data row {r}" for f, r in where.itertuples(index=False))
        raise ValueError(
            f"sample_id {first!r} is shared by {len(where)} rows ({places}); {shared.nunique()} sample_id(s) are "
            f"duplicated in all. Pass on_duplicate='suffix' to keep each as '{first}{_DUPLICATE_MARK}2', ..."
        )
    occurrence = ids.groupby(ids).cumcount() + 1
    suffixed = ids.where(occurrence == 1, ids + _DUPLICATE_MARK + occurrence.astype(str))
    if suffixed.duplicated().any():
        clash = suffixed[suffixed.duplicated()].iloc[0]
        raise ValueError(f"on_duplicate='suffix': the new id {clash!r} is already a sample_id")
    return suffixed.tolist()
