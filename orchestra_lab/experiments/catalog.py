"""Every run findable and comparable: list the runs of a folder, load one by id, compare two, aggregate repeats.

>>> import tempfile
>>> from orchestra_lab import Experiment, SimulatedModel
>>> root = tempfile.mkdtemp()
>>> data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in range(6)]
>>> for run_id, profile in (("a", "sim/small"), ("b", "sim/large")):
...     _ = Experiment(data, {"m": SimulatedModel.profile(profile)}, run_dir=f"{root}/{run_id}", progress=False).run()
>>> table = runs(root)
>>> table[["run_id", "status", "items_done", "items_total", "best_strategy"]].values.tolist()
[['a', 'complete', 6, 6, 'm'], ['b', 'complete', 6, 6, 'm']]
>>> comparison = compare_runs(f"{root}/a", f"{root}/b")
>>> comparison.setup["what"].tolist()
["strategies['m']"]
>>> comparison.paired["strategy"].tolist(), int(comparison.paired["n"].iloc[0])
(['m'], 6)

Repeated runs aggregate with :func:`orchestra_lab.aggregate_runs` (in :mod:`orchestra_lab._compare_runs`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._rundir import RUN_FILE, RUNS_DIR, read_config, read_items
from .results import Results

__all__ = [
    "RUN_COLUMNS",
    "RUN_SCHEMA",
    "RunComparison",
    "compare_runs",
    "config_hash",
    "load_run",
    "run_dir_of",
    "run_name",
    "runs",
]

# name, meaning: the columns of runs()
RUN_SCHEMA: tuple[tuple[str, str], ...] = (
    ("run_id", "the run's id"),
    ("path", "its run directory"),
    ("created", "when the run was first started (UTC)"),
    ("dataset", "dataset name"),
    ("dataset_hash", "content hash of the dataset's items (empty for runs recorded before it was kept)"),
    ("strategies", "strategy keys, comma-separated"),
    (
        "config_hash",
        "hash of the setup: dataset, strategies' configuration, scorer, system, params (not the seeds: "
        "repeated runs of one setup share it)",
    ),
    ("git_commit", "git commit of the working directory the run was made in (+dirty: uncommitted changes)"),
    ("versions", "Python and package versions of the last session, e.g. 'orchestra_lab 0.1.0, pandas 2.2.3'"),
    ("items_done", "strategy x item x repeat rows finished"),
    ("items_total", "strategy x item x repeat rows the run asks for"),
    ("status", "complete, partial (stopped by the spend cap, or rows dropped), failed or interrupted"),
    ("errors", "finished rows whose strategy call failed"),
    ("cost_usd", "spend of the finished rows in USD (NaN when a price is unknown)"),
    ("cost_inr", "the same in INR"),
    ("best_strategy", "strategy with the best mean score"),
    ("best_score", "its mean score"),
)
RUN_COLUMNS: tuple[str, ...] = tuple(name for name, _ in RUN_SCHEMA)
_SETUP_KEYS = ("dataset", "strategies", "scorer", "system", "params", "seeds", "repeats")
_ITEM_FIELDS = ["strategy", "item_id", "repeat", "score", "status", "cost_usd", "cost_inr"]


def runs(root: str | Path = RUNS_DIR) -> pd.DataFrame:
    """One row per run directory under ``root`` (any depth), oldest first; columns :data:`RUN_SCHEMA`."""
    rows = [_run_row(path.parent) for path in sorted(Path(root).rglob(RUN_FILE))]
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    return frame.sort_values(["created", "run_id"], kind="stable").reset_index(drop=True)


def load_run(run: str | Path, root: str | Path = RUNS_DIR) -> Results:
    """The :class:`Results` of a run: a run directory, or a run id (or a unique prefix of one) under ``root``."""
    return Results.load(run_dir_of(run, root))


def run_dir_of(run: str | Path, root: str | Path = RUNS_DIR) -> Path:
    """The run directory of a path or of a run id (or unique id prefix) under ``root``."""
    path = Path(run)
    if (path / RUN_FILE).exists():
        return path
    if (Path(root) / path / RUN_FILE).exists():
        return Path(root) / path
    matches = [
        p.parent for p in Path(root).rglob(RUN_FILE) if str(read_config(p).get("run_id", "")).startswith(str(run))
    ]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs ({', '.join(m.name for m in matches)})"
        raise FileNotFoundError(f"{run!r}: {found} with that id or path under {str(root)!r}")
    return matches[0]


def config_hash(config: Mapping[str, Any]) -> str:
    """A short hash of a run's setup (what makes two runs' rows comparable), from its ``run.json``; runs that
    differ only in their seeds share it."""
    setup = {key: config.get(key) for key in _SETUP_KEYS if key not in ("seeds", "repeats")}
    setup["dataset"] = {k: v for k, v in (setup["dataset"] or {}).items() if k != "size"}
    return hashlib.sha256(json.dumps(setup, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunComparison:
    """Run ``b`` against run ``a``: what changed in the setup, how each strategy's summary moved, and a paired
    test per strategy both ran, over the (item, repeat) pairs both finished (difference = b - a)."""

    a: str
    b: str
    setup: pd.DataFrame  # what, a, b: the parts of run.json that differ
    summaries: pd.DataFrame  # per strategy and summary column: a, b, change
    paired: pd.DataFrame  # per common strategy: n, mean_a, mean_b, difference, ci_lo, ci_hi, mcnemar_p

    def __repr__(self) -> str:
        changed = "; ".join(f"{r.what}: {r.a!r} -> {r.b!r}" for r in self.setup.itertuples()) or "nothing"
        lines = [f"RunComparison({self.a!r} -> {self.b!r}); setup changed: {changed}"]
        for r in self.paired.itertuples():
            lines.append(
                f"  {r.strategy}: score {r.mean_a:.4f} -> {r.mean_b:.4f} ({r.difference:+.4f}, 95% CI "
                f"{r.ci_lo:+.4f} to {r.ci_hi:+.4f}, {r.n} paired items)"
            )
        return "\n".join(lines)


def compare_runs(a: str | Path | Results, b: str | Path | Results, root: str | Path = RUNS_DIR) -> RunComparison:
    """Compare run ``b`` with run ``a`` (run directories, run ids under ``root``, or loaded :class:`Results`)."""
    first, second = (x if isinstance(x, Results) else load_run(x, root) for x in (a, b))
    name_a, name_b = (run_name(r) for r in (first, second))
    setup = pd.DataFrame(list(_setup_changes(first.config, second.config)), columns=["what", "a", "b"])
    return RunComparison(name_a, name_b, setup, _summary_moves(first, second), _paired(first, second))


# -- helpers -------------------------------------------------------------------------------------------------------


def _run_row(run_dir: Path) -> dict[str, Any]:
    config = read_config(run_dir / RUN_FILE)
    items = read_items(run_dir, columns=_ITEM_FIELDS)
    for name in _ITEM_FIELDS:
        if name not in items.columns:
            items[name] = None
    scores = pd.to_numeric(items["score"], errors="coerce")
    means = scores.groupby(items["strategy"]).mean().dropna() if len(items) else pd.Series(dtype=float)
    dataset = config.get("dataset") or {}
    total = int(dataset.get("size") or 0) * len(config.get("strategies") or {}) * int(config.get("repeats") or 1)
    done = len(items.drop_duplicates(["strategy", "item_id", "repeat"])) if len(items) else 0
    return {
        "run_id": config.get("run_id", run_dir.name),
        "path": str(run_dir),
        "created": config.get("created_at"),
        "dataset": dataset.get("name"),
        "dataset_hash": dataset.get("hash"),
        "strategies": ", ".join(config.get("strategies") or {}),
        "config_hash": config_hash(config),
        "git_commit": config.get("git_commit"),
        "versions": ", ".join(f"{k} {v}" for k, v in (config.get("versions") or {}).items())
        or f"orchestra_lab {config.get('library_version')}",
        "items_done": done,
        "items_total": total,
        "status": _status(config.get("status"), done, total),
        "errors": int((items["status"] == "error").sum()),
        "cost_usd": float(pd.to_numeric(items["cost_usd"], errors="coerce").sum(skipna=False)),
        "cost_inr": float(pd.to_numeric(items["cost_inr"], errors="coerce").sum(skipna=False)),
        "best_strategy": means.idxmax() if len(means) else None,
        "best_score": float(means.max()) if len(means) else math.nan,
    }


def _status(recorded: str | None, done: int, total: int) -> str:
    """complete / partial / failed / interrupted; a run still marked running was killed (or is running now)."""
    if recorded in ("failed", "interrupted"):
        return recorded
    if done >= total > 0:
        return "complete"
    return "interrupted" if recorded == "running" else "partial"


def run_name(results: Results) -> str:
    """The run id of loaded results (else their run directory)."""
    return str(results.config.get("run_id") or results.run_dir or "results")


def _flat(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}[{key!r}]" if prefix else str(key))
    else:
        yield prefix, value


def _setup_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    left = dict(_flat({k: a.get(k) for k in _SETUP_KEYS if k in a or k in b}, ""))
    right = dict(_flat({k: b.get(k) for k in _SETUP_KEYS if k in a or k in b}, ""))
    for what in dict.fromkeys([*left, *right]):
        if left.get(what) != right.get(what):
            yield what, left.get(what), right.get(what)


def _summary_moves(a: Results, b: Results) -> pd.DataFrame:
    left, right = a.summary(), b.summary()
    common = [s for s in left.index if s in right.index]
    columns = ["n", "score_mean", "error_rate", "cost_usd_per_item", "cost_inr_per_item", "latency_p95_s"]
    parts = {
        "a": left.loc[common, columns],
        "b": right.loc[common, columns],
        "change": right.loc[common, columns] - left.loc[common, columns],
    }
    return pd.concat(parts, axis=1).swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False)


def _paired(a: Results, b: Results) -> pd.DataFrame:
    """A paired test per strategy both runs have: the two runs' rows as strategies of one :class:`Results`."""
    both = pd.concat([a.items.assign(strategy="a:" + a.items["strategy"]),
                      b.items.assign(strategy="b:" + b.items["strategy"])], ignore_index=True)  # fmt: skip
    combined = Results(both)
    rows = []
    for strategy in [s for s in a.strategies if s in b.strategies]:
        comparison = combined.compare(f"b:{strategy}", f"a:{strategy}")
        d = comparison.difference
        p = comparison.mcnemar.p_value if comparison.mcnemar is not None else math.nan
        rows.append((strategy, d.n, d.mean_a, d.mean_b, d.difference, d.ci_lo, d.ci_hi, p))
    columns = ["strategy", "n", "mean_b", "mean_a", "difference", "ci_lo", "ci_hi", "mcnemar_p"]
    return pd.DataFrame(rows, columns=columns)[["strategy", "n", "mean_a", "mean_b", "difference", "ci_lo", "ci_hi",
                                                  "mcnemar_p"]]  # fmt: skip
