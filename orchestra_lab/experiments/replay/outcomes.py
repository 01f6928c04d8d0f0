"""Recorded outcomes: what each model answered on each item (score, text, cost...), and the single-model and
oracle baselines over them.

>>> o = RecordedOutcomes.from_arrays(["a", "b"], ["m", "n"], scores=[[1, 0], [0, 1]], costs=[[1, 2], [1, 2]])
>>> o, models_by_cost(o)
(RecordedOutcomes('recorded', 2 items, 2 models, 0 missing scores), ['m', 'n'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..stats import nanmean
from ._calls import calls_frame, read_calls
from ._routerbench import OnDuplicate, read_routerbench, routerbench_files

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["RecordedOutcomes", "baselines", "models_by_cost"]

ArrayLike = Any  # anything np.asarray accepts


# -- the table -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class RecordedOutcomes:
    """Items x models of recorded outcomes. Arrays are ``(n_items, n_models)``, read-only.

    ``items`` is indexed by ``item_id`` with ``prompt`` and ``category`` columns (plus any the source had);
    ``scores`` and ``costs`` are float with NaN where nothing was recorded; ``responses`` holds the answer texts
    (``None`` where none was recorded); ``latencies`` and the token counts are optional (NaN cells allowed).
    ``costs`` are what the provider billed when the outcome was recorded.
    """

    items: pd.DataFrame
    models: tuple[str, ...]
    scores: np.ndarray
    costs: np.ndarray
    responses: np.ndarray
    latencies: np.ndarray | None = None
    input_tokens: np.ndarray | None = None
    output_tokens: np.ndarray | None = None
    name: str = "recorded"
    _columns: dict[str, int] = field(init=False, repr=False)
    _rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.items.index.is_unique:
            repeated = self.items.index[self.items.index.duplicated()][0]
            raise ValueError(f"{self.name}: item ids are not unique ({repeated!r} repeats)")
        absent = [c for c in ("prompt", "category") if c not in self.items.columns]
        if absent:
            raise ValueError(f"{self.name}: the items table has no {absent} column(s)")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"{self.name}: model names are not unique: {list(self.models)}")
        shape = (len(self.items), len(self.models))
        for array_name in ("scores", "costs", "responses", "latencies", "input_tokens", "output_tokens"):
            array = getattr(self, array_name)
            if array is None:
                continue
            if array.shape != shape:
                raise ValueError(f"{self.name}: {array_name} has shape {array.shape}, expected (items, models) {shape}")
            array.setflags(write=False)
        object.__setattr__(self, "_columns", {m: j for j, m in enumerate(self.models)})
        object.__setattr__(self, "_rows", {str(i): k for k, i in enumerate(self.items.index)})

    # -- building ----------------------------------------------------------------------------------------------
    @classmethod
    def from_routerbench(
        cls,
        path_or_paths: str | Path | Sequence[str | Path],
        *,
        on_duplicate: OnDuplicate = "error",
        name: str = "routerbench",
    ) -> RecordedOutcomes:
        """Load RouterBench-format CSVs: a file, a directory of ``*.csv`` or a list (rows are concatenated).

        One row per prompt with ``sample_id``, ``prompt``, ``eval_name`` and, for each model ``M``, the columns
        ``M`` (score), ``M|model_response`` and ``M|total_cost``. A blank score stays missing (NaN). A
        ``sample_id`` used by several rows is an error naming it; ``on_duplicate="suffix"`` keeps the first and
        renames the others ``id#2``, ``id#3``... (``items["sample_id"]`` keeps the original). ``category`` is the
        ``eval_name``; ``items`` also keeps the ``file`` and data ``row`` each prompt came from.
        """
        return cls._of(read_routerbench(routerbench_files(path_or_paths), on_duplicate), name)

    @classmethod
    def from_calls(cls, calls: Any, *, name: str = "calls") -> RecordedOutcomes:
        """Outcomes of our own runs: an items table (one row per model or strategy and item), a result with an
        ``.items`` table, or a :class:`~orchestra_lab.calllog.CallLog` (its top-level calls).

        Columns read (first name found): ``item_id``; ``model`` or ``strategy``; ``output``/``response_text``;
        ``score``; ``cost_usd``; ``latency_s``; ``input_tokens``; ``output_tokens``; ``prompt``/``input``;
        ``category``. Several rows for one item and model is an error (filter to one run first).
        """
        return cls._of(read_calls(calls_frame(calls)), name)

    @classmethod
    def from_arrays(
        cls,
        item_ids: Sequence[str],
        models: Sequence[str],
        *,
        scores: ArrayLike,
        costs: ArrayLike,
        responses: ArrayLike | None = None,
        latencies: ArrayLike | None = None,
        prompts: Sequence[str] | None = None,
        categories: Sequence[str | None] | None = None,
        name: str = "recorded",
    ) -> RecordedOutcomes:
        """Build from plain arrays (``responses`` default to the score as text, for quick experiments).

        >>> RecordedOutcomes.from_arrays(["a", "b"], ["m"], scores=[[1], [0]], costs=[[0.1], [0.1]])
        RecordedOutcomes('recorded', 2 items, 1 models, 0 missing scores)
        """
        score_array = np.asarray(scores, dtype=float)
        if responses is None:
            responses = np.where(np.isnan(score_array), None, score_array.astype(str))
        items = pd.DataFrame(
            {
                "prompt": list(prompts) if prompts is not None else [""] * len(item_ids),
                "category": list(categories) if categories is not None else [None] * len(item_ids),
            },
            index=pd.Index([str(i) for i in item_ids], name="item_id", dtype=object),
        )
        return cls(
            items=items,
            models=tuple(models),
            scores=score_array,
            costs=np.asarray(costs, dtype=float),
            responses=np.asarray(responses, dtype=object),
            latencies=None if latencies is None else np.asarray(latencies, dtype=float),
            name=name,
        )

    @classmethod
    def _of(cls, arrays: dict[str, Any], name: str) -> RecordedOutcomes:
        return cls(**arrays, name=name)

    # -- looking up --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    @property
    def item_ids(self) -> list[str]:
        return [str(i) for i in self.items.index]

    def column(self, model: str) -> int:
        """The column of ``model`` in the arrays."""
        try:
            return self._columns[model]
        except KeyError:
            raise KeyError(f"{self.name}: no model {model!r}; models are {list(self.models)}") from None

    def row(self, item_id: str) -> int | None:
        """The row of ``item_id`` in the arrays, ``None`` if the item was not recorded."""
        return self._rows.get(item_id)

    def missing(self) -> pd.DataFrame:
        """Per model: how many items have no score, no response, no cost.

        >>> RecordedOutcomes.from_arrays(["a", "b"], ["m"], scores=[[1], [np.nan]], costs=[[1], [1]]).missing()
        ... # doctest: +NORMALIZE_WHITESPACE
               missing_scores  missing_responses  missing_costs
        model
        m                   1                  1              0
        """
        frame = pd.DataFrame(
            {
                "missing_scores": np.isnan(self.scores).sum(axis=0),
                "missing_responses": pd.isna(self.responses).sum(axis=0),
                "missing_costs": np.isnan(self.costs).sum(axis=0),
            },
            index=pd.Index(self.models, name="model"),
        )
        return frame

    def select(self, *, models: Sequence[str] | None = None, items: ArrayLike | None = None) -> RecordedOutcomes:
        """A subset: some ``models`` (in that order) and/or ``items`` (ids, or a boolean mask over the rows).

        >>> o = RecordedOutcomes.from_arrays(["a", "b"], ["m", "n"], scores=[[1, 0], [0, 1]], costs=[[1, 2], [1, 2]])
        >>> o.select(models=["n"], items=o.items.index == "b").scores.tolist()
        [[1.0]]
        """
        cols = np.arange(len(self.models)) if models is None else np.array([self.column(m) for m in models], dtype=int)
        rows = np.arange(len(self)) if items is None else self._row_selection(items)

        def take(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[np.ix_(rows, cols)].copy()

        return replace(
            self,
            items=self.items.iloc[rows],
            models=tuple(self.models[j] for j in cols),
            scores=take(self.scores),
            costs=take(self.costs),
            responses=take(self.responses),
            latencies=take(self.latencies),
            input_tokens=take(self.input_tokens),
            output_tokens=take(self.output_tokens),
        )

    def _row_selection(self, items: ArrayLike) -> np.ndarray:
        selection = np.asarray(items)
        if selection.dtype == bool:
            if selection.shape != (len(self),):
                raise ValueError(f"{self.name}: the item mask has shape {selection.shape}, expected ({len(self)},)")
            return np.flatnonzero(selection)
        rows = [self.row(str(i)) for i in selection]
        unknown = [str(i) for i, r in zip(selection, rows) if r is None]
        if unknown:
            raise KeyError(f"{self.name}: no item(s) {unknown[:5]}")
        return np.array(rows, dtype=int)

    # -- converting --------------------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: one row per item and model (item_id, category, model, score, cost_usd, latency_s,
        response)."""
        n_items, n_models = self.scores.shape
        latencies = self.latencies if self.latencies is not None else np.full(self.scores.shape, np.nan)
        return pd.DataFrame(
            {
                "item_id": np.repeat(self.items.index.to_numpy(dtype=object), n_models),
                "category": np.repeat(self.items["category"].to_numpy(dtype=object), n_models),
                "model": np.tile(np.array(self.models, dtype=object), n_items),
                "score": self.scores.ravel(),
                "cost_usd": self.costs.ravel(),
                "latency_s": latencies.ravel(),
                "response": self.responses.ravel(),
            }
        )

    def to_dataset(self, name: str | None = None) -> Dataset:
        """The items as a :class:`~orchestra_lab.experiments.dataset.Dataset` to run strategies of
        :class:`~orchestra_lab.models.replay.ReplayModel` on. Each item's ``metadata["replay"]`` names this table,
        marking it as a replayed item (it has no ``expected``: score it with :class:`RecordedScore`).

        >>> o = RecordedOutcomes.from_arrays(["a"], ["m"], scores=[[1]], costs=[[1]], prompts=["2+2?"], name="t")
        >>> o.to_dataset()[0]
        Item(id='a', input='2+2?', expected=None, category=None, difficulty=None, metadata={'replay': 't'})
        """
        from ..dataset import Dataset, Item

        categories = self.items["category"].to_numpy(dtype=object)
        items = (
            Item(
                str(item_id),
                str(prompt),
                category=None if pd.isna(category) else str(category),
                metadata={"replay": self.name},
            )
            for item_id, prompt, category in zip(self.items.index, self.items["prompt"], categories)
        )
        return Dataset(items, name=name or self.name, source=f"replay:{self.name}")

    def __repr__(self) -> str:
        missing = int(np.isnan(self.scores).sum())
        size = f"{len(self)} items, {len(self.models)} models"
        return f"RecordedOutcomes({self.name!r}, {size}, {missing} missing scores)"


# -- baselines -------------------------------------------------------------------------------------------------
def baselines(outcomes: RecordedOutcomes, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Each single model and the oracle over them: ``quality``, ``cost_usd`` (total), ``scored``, ``missing_scores``.

    A model's quality is its mean score over the items it has a score for; its cost is the total over all items
    (a call whose score is missing was still billed). The oracle picks, per item, the cheapest model with the best
    score: its quality is the share of items some model gets right (for 0/1 scores; the mean best score in general)
    and it pays the cheapest correct model's cost, or the cheapest model's when none is correct. For the oracle a
    missing score counts as 0 (not correct); ``missing_scores`` says how many cells that was.
    """
    chosen = outcomes if models is None else outcomes.select(models=models)
    scores, costs = chosen.scores, chosen.costs
    missing = np.isnan(scores).sum(axis=0)
    singles = pd.DataFrame(
        {
            "quality": nanmean(scores, axis=0),
            "cost_usd": costs.sum(axis=0),
            "scored": len(chosen) - missing,
            "missing_scores": missing,
        },
        index=pd.Index(chosen.models, name="model"),
    )
    best, cost = _oracle_per_item(scores, costs)
    oracle_row = pd.DataFrame(
        {"quality": best.mean(), "cost_usd": cost.sum(), "scored": len(chosen), "missing_scores": missing.sum()},
        index=pd.Index(["oracle"], name="model"),
    )
    return pd.concat([singles, oracle_row])


def _oracle_per_item(scores: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    filled = np.nan_to_num(scores, nan=0.0)
    best = filled.max(axis=1)
    winners = (filled == best[:, None]) & ~np.isnan(scores)
    cheapest_winner = np.fmin.reduce(np.where(winners, costs, np.inf), axis=1)
    cheapest = np.fmin.reduce(costs, axis=1)
    return best, np.where(best > 0, cheapest_winner, cheapest)


def models_by_cost(outcomes: RecordedOutcomes) -> list[str]:
    """Model names from the cheapest to the dearest (total recorded cost), e.g. to pick weak/strong pairs.

    >>> o = RecordedOutcomes.from_arrays(["a"], ["big", "small"], scores=[[1, 0]], costs=[[3.0, 1.0]])
    >>> models_by_cost(o)
    ['small', 'big']
    """
    totals = np.nansum(outcomes.costs, axis=0)
    return [outcomes.models[j] for j in np.argsort(totals, kind="stable")]
