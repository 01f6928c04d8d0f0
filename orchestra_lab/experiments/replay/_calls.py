"""Reading our own runs (an items table, an experiment result, a call log) into the pieces of a
:class:`~orchestra_lab.experiments.replay.RecordedOutcomes`: one cell per (item, model) row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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


def read_calls(frame: pd.DataFrame) -> dict[str, Any]:
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
