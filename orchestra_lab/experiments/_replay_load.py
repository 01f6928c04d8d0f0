"""Readers behind :class:`~orchestra_lab.experiments.replay.RecordedOutcomes`: RouterBench CSVs and our own calls.

Each reader returns the pieces of a ``RecordedOutcomes``: an items table (index ``item_id``; ``prompt``,
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


Arrays = dict[str, Any]
"""What a reader found, as keyword arguments of :class:`~orchestra_lab.experiments.replay.RecordedOutcomes`:
items, models and per-cell arrays (NaN / None where nothing was recorded)."""


# -- RouterBench ---------------------------------------------------------------------------------------------
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


def read_routerbench(files: Sequence[Path], on_duplicate: OnDuplicate) -> Arrays:
    """Read RouterBench-format CSVs (one row per prompt) into one table of recorded outcomes."""
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


# -- our own calls -------------------------------------------------------------------------------------------
_ALIASES: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id",),
    "model": ("model", "strategy"),
    "output": ("output", "response_text", "text"),
    "score": ("score",),
    "cost": ("cost_usd", "cost"),
    "latency": ("latency_s", "latency"),
    "input_tokens": ("input_tokens",),
    "output_tokens": ("output_tokens",),
    "prompt": ("prompt", "input"),
    "category": ("category",),
}
_REQUIRED = ("item_id", "model")


def calls_frame(calls: Any) -> pd.DataFrame:
    """The rows to read: a DataFrame, an experiment result's ``.items`` table, or a call log's top-level rows."""
    if isinstance(calls, pd.DataFrame):
        frame = calls
    elif isinstance(getattr(calls, "items", None), pd.DataFrame):
        frame = calls.items
    elif callable(getattr(calls, "to_frame", None)):
        frame = calls.to_frame()
    else:
        raise TypeError(
            f"from_calls needs a DataFrame, an experiment result (with .items) or a CallLog, got {type(calls).__name__}"
        )
    if "parent_id" in frame.columns:  # a call log: keep the top-level calls, one per strategy and item
        frame = frame[frame["parent_id"].isna()]
    return frame


def read_calls(frame: pd.DataFrame) -> Arrays:
    """One cell per (item, model) row; the model is the ``model`` (or ``strategy``) column."""
    columns = {key: next((c for c in names if c in frame.columns), None) for key, names in _ALIASES.items()}
    for key in _REQUIRED:
        if columns[key] is None:
            raise ValueError(f"from_calls: no {key!r} column (looked for {list(_ALIASES[key])})")
    item_ids = frame[columns["item_id"]].astype(str).to_numpy()
    model_names = frame[columns["model"]].astype(str).to_numpy()
    pairs = pd.Series(list(zip(item_ids, model_names)))
    if pairs.duplicated().any():
        item, model = pairs[pairs.duplicated()].iloc[0]
        raise ValueError(
            f"from_calls: item {item!r} has several rows for {model!r} (several runs or repeats?); "
            "keep one row per item and model"
        )
    items_index = pd.Index(pd.unique(item_ids), name="item_id", dtype=object)
    models = tuple(pd.unique(model_names))
    rows = items_index.get_indexer(item_ids)
    cols = pd.Index(models).get_indexer(model_names)

    def grid(key: str, dtype: Any, fill: Any) -> np.ndarray | None:
        if columns[key] is None:
            return None
        out = np.full((len(items_index), len(models)), fill, dtype=dtype)
        values = frame[columns[key]].to_numpy(dtype=object)
        out[rows, cols] = [fill if _is_missing(v) else v for v in values]
        return out

    responses = grid("output", object, None)
    scores = grid("score", float, np.nan)
    costs = grid("cost", float, np.nan)
    shape = (len(items_index), len(models))
    items = pd.DataFrame(index=items_index)
    for key in ("prompt", "category"):
        items[key] = _first_per_item(frame, columns[key], item_ids, items_index)
    return dict(
        items=items,
        models=models,
        scores=np.full(shape, np.nan) if scores is None else scores,
        costs=np.full(shape, np.nan) if costs is None else costs,
        responses=np.full(shape, None, dtype=object) if responses is None else responses,
        latencies=grid("latency", float, np.nan),
        input_tokens=grid("input_tokens", float, np.nan),
        output_tokens=grid("output_tokens", float, np.nan),
    )


def _first_per_item(frame: pd.DataFrame, column: str | None, item_ids: np.ndarray, index: pd.Index) -> Any:
    if column is None:
        return None
    values = pd.Series(frame[column].to_numpy(dtype=object), index=item_ids)
    return values[~values.index.duplicated()].reindex(index).to_numpy(dtype=object)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
