"""Replay throughput: strategies evaluated over recorded outcomes, every call logged; and vectorized sweeps.

Synthetic recorded outcomes (``RecordedOutcomes.from_arrays``, numpy, seeded): ``--items`` multiple-choice items
answered by four models (``small``, ``medium``, ``large`` and ``flaky``, which has no recorded answer for 10% of the
items), with a recorded confidence for ``small`` and a difficulty per item. Five strategies replay them, one
request per item, awaited one after the other inside a ``CallLog``:

  single     ReplayModel(large)
  threshold  ThresholdRouter(difficulty, strong=large, weak=small, threshold=0.5)
  fallback   Fallback([flaky, large])             (flaky fails on its missing items)
  cascade    Cascade([(small, 0.7), large])       (scorer: the recorded confidence of the answer)
  ensemble   Ensemble([small, medium, large], MajorityVote())

Figures: logged rows per second (every row: strategy rows, leaf rows, failed attempts) -- target >= 20,000/s --
and leaf calls per second; the baseline is a bare Python loop of dict lookups giving the same answers. Requests
are built before timing (fresh ones per strategy). Then ``threshold_sweep`` and ``cascade_sweep`` over
``--thresholds`` thresholds (target < 1 s each), against a naive per-threshold numpy loop. The replayed cascade and
router are also checked against the sweeps: same total cost at the same threshold.

    python benchmarks/bench_replay.py            # 10,000 items, 100 thresholds
    python benchmarks/bench_replay.py --quick
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from _common import Figure, Report, Target, fmt, parser, start, versions

from orchestra_lab import CallLog, Model, ReplayModel, Request, Response
from orchestra_lab.experiments.replay import RecordedOutcomes, cascade_sweep, threshold_sweep
from orchestra_lab.strategies import (
    Acceptance,
    AcceptanceTest,
    Cascade,
    Ensemble,
    Fallback,
    MajorityVote,
    ThresholdRouter,
)

MODELS = ("small", "medium", "large", "flaky")
SKILL = {"small": 0.55, "medium": 0.7, "large": 0.85, "flaky": 0.8}
COST = {"small": 0.0001, "medium": 0.0008, "large": 0.004, "flaky": 0.002}
LETTERS = np.array(list("ABCD"), dtype=object)
ROUTER_THRESHOLD = 0.5
CASCADE_THRESHOLD = 0.7
T = TypeVar("T")
BARE = "the time of a bare dict-lookup loop"


@dataclass(frozen=True)
class Recorded:
    """The synthetic outcomes plus what the strategies read per item: difficulty and small's confidence."""

    outcomes: RecordedOutcomes
    difficulty: np.ndarray
    confidence: np.ndarray  # small's stated confidence per item

    @property
    def item_ids(self) -> list[str]:
        return self.outcomes.item_ids


def synthetic(n_items: int, seed: int = 0) -> Recorded:
    """Seeded outcomes: a model is right with probability skill * (1.2 - difficulty); wrong answers are another
    letter; ``flaky`` has no recorded answer for 10% of the items."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(0, 1, n_items)
    truth = rng.integers(0, 4, n_items)
    scores, costs, responses = [], [], []
    for m in MODELS:
        right = rng.uniform(0, 1, n_items) < np.clip(SKILL[m] * (1.2 - difficulty), 0, 1)
        letter = np.where(right, truth, (truth + rng.integers(1, 4, n_items)) % 4)
        text = LETTERS[letter]
        if m == "flaky":
            text = np.where(rng.uniform(0, 1, n_items) < 0.1, None, text)
        scores.append(right.astype(float))
        costs.append(np.full(n_items, COST[m]) * rng.uniform(0.5, 1.5, n_items))
        responses.append(text)
    small_right = scores[0].astype(bool)
    confidence = np.clip(np.where(small_right, 0.8, 0.5) + rng.normal(0, 0.15, n_items), 0, 1)
    outcomes = RecordedOutcomes.from_arrays(
        [f"q{i}" for i in range(n_items)],
        MODELS,
        scores=np.column_stack(scores),
        costs=np.column_stack(costs),
        responses=np.column_stack(responses),
        name="synthetic",
    )
    return Recorded(outcomes, difficulty, confidence)


class RecordedConfidence(AcceptanceTest):
    """Accept a stage's answer by the confidence recorded for the item (as RouterBench-style tables carry)."""

    def __init__(self, confidence: dict[str, float]) -> None:
        self.confidence = confidence

    async def score(self, request: Request, response: Response) -> Acceptance:
        return Acceptance(self.confidence[request.item_id or ""], "recorded confidence")

    def __repr__(self) -> str:
        return "RecordedConfidence()"


def strategies(data: Recorded) -> dict[str, Model]:
    replay = {m: ReplayModel(data.outcomes, m) for m in MODELS}
    confidence = dict(zip(data.item_ids, data.confidence.tolist()))
    return {
        "single": replay["large"],
        "threshold": ThresholdRouter(
            lambda r: r.metadata["difficulty"], strong=replay["large"], weak=replay["small"], threshold=ROUTER_THRESHOLD
        ),
        "fallback": Fallback([replay["flaky"], replay["large"]]),
        "cascade": Cascade(
            [(replay["small"], CASCADE_THRESHOLD), replay["large"]], scorer=RecordedConfidence(confidence)
        ),
        "ensemble": Ensemble([replay["small"], replay["medium"], replay["large"]], MajorityVote()),
    }


# -- the bare dict-lookup baseline -------------------------------------------------------------------------------

Lookup = dict[str, tuple[str, float]]


def lookups(data: Recorded) -> dict[str, Lookup]:
    """Per model: item id -> (answer, cost), only where an answer was recorded."""
    o = data.outcomes
    out: dict[str, Lookup] = {}
    for m in MODELS:
        j = o.column(m)
        out[m] = {
            i: (str(t), float(c)) for i, t, c in zip(o.item_ids, o.responses[:, j], o.costs[:, j]) if t is not None
        }
    return out


def bare_loops(data: Recorded) -> dict[str, Callable[[], float]]:
    """For each strategy, a plain loop over the items giving the same answers; each returns the total cost."""
    t = lookups(data)
    small, medium, large, flaky = t["small"], t["medium"], t["large"], t["flaky"]
    items = data.item_ids
    difficulty = dict(zip(items, data.difficulty.tolist()))
    confidence = dict(zip(items, data.confidence.tolist()))

    def single() -> float:
        return sum(large[i][1] for i in items)

    def threshold() -> float:
        return sum((large if difficulty[i] >= ROUTER_THRESHOLD else small)[i][1] for i in items)

    def fallback() -> float:
        total = 0.0
        for i in items:
            answer = flaky.get(i)
            total += answer[1] if answer is not None else large[i][1]
        return total

    def cascade() -> float:
        total = 0.0
        for i in items:
            total += small[i][1]
            if confidence[i] < CASCADE_THRESHOLD:
                total += large[i][1]
        return total

    def ensemble() -> float:
        total = 0.0
        for i in items:
            votes = [small[i], medium[i], large[i]]
            Counter(v[0] for v in votes).most_common(1)
            total += sum(v[1] for v in votes)
        return total

    return {"single": single, "threshold": threshold, "fallback": fallback, "cascade": cascade, "ensemble": ensemble}


# -- replaying ---------------------------------------------------------------------------------------------------


def requests_for(data: Recorded) -> list[Request]:
    return [
        Request.of("Which option is right?", item_id=i, metadata={"difficulty": d})
        for i, d in zip(data.item_ids, data.difficulty.tolist())
    ]


@dataclass
class Replayed:
    seconds: float
    cpu_seconds: float  # process CPU time: what a busy shared machine's other load does not inflate
    rows: int
    leaf_rows: int
    cost_usd: float


async def replay(strategy: Model, requests: Sequence[Request]) -> Replayed:
    with CallLog() as log:
        cpu0, t0 = time.process_time(), time.perf_counter()
        cost = 0.0
        for request in requests:
            cost += (await strategy.acomplete(request)).cost_usd or 0.0
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    kind = log.to_frame()["kind"]
    return Replayed(seconds, cpu_seconds, len(log), int((kind == "model").sum()), cost)


def replay_figures(data: Recorded, repeats: int, report: Report) -> dict[str, float]:
    """Replay every strategy ``repeats`` times (best run kept); returns each strategy's total cost."""
    bare = bare_loops(data)
    costs: dict[str, float] = {}
    total_rows, total_seconds, total_cpu, total_bare = 0, 0.0, 0.0, 0.0
    for name, strategy in strategies(data).items():
        runs = [asyncio.run(replay(strategy, requests_for(data))) for _ in range(repeats)]
        best = min(runs, key=lambda r: r.seconds)
        bare_s = min(_seconds(bare[name]) for _ in range(repeats))
        costs[name] = best.cost_usd
        bare_cost = bare[name]()
        if not np.isclose(best.cost_usd, bare_cost):
            raise AssertionError(f"{name}: replay cost {best.cost_usd} != bare loop cost {bare_cost}")
        ratio = best.seconds / bare_s
        report.add(
            Figure(
                f"replay.{name}.rows_per_s",
                f"{name}: logged rows per second",
                best.rows / best.seconds,
                "rows/s",
                ratio,
                BARE,
                Target(">=", 20_000),
            )
        )
        report.add(
            Figure(
                f"replay.{name}.leaf_calls_per_s",
                f"{name}: leaf (replayed model) calls per second",
                best.leaf_rows / best.seconds,
                "calls/s",
                ratio,
                BARE,
            )
        )
        per_item = best.seconds / len(data.item_ids) * 1e6
        report.note(
            f"{name}: {best.rows} rows ({best.leaf_rows} leaf) for {len(data.item_ids)} items in {best.seconds:.3f} s"
            f" = {fmt(per_item)} us/item ({fmt(best.rows / best.cpu_seconds)} rows per CPU second);"
            f" bare loop {bare_s * 1e3:.2f} ms"
        )
        total_rows += best.rows
        total_seconds += best.seconds
        total_cpu += best.cpu_seconds
        total_bare += bare_s
    report.add(
        Figure(
            "replay.all.rows_per_s",
            "all five strategies: logged rows per second",
            total_rows / total_seconds,
            "rows/s",
            total_seconds / total_bare,
            BARE,
            Target(">=", 20_000),
        )
    )
    report.add(
        Figure(
            "replay.all.rows_per_cpu_s",
            "all five strategies: logged rows per CPU second (process time, steadier on a busy machine)",
            total_rows / total_cpu,
            "rows/CPU-s",
        )
    )
    return costs


def _seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- sweeps --------------------------------------------------------------------------------------------------------


def naive_threshold_sweep(data: Recorded, cuts: np.ndarray) -> np.ndarray:
    o = data.outcomes
    w, s = o.column("small"), o.column("large")
    return np.array([np.where(data.difficulty >= t, o.costs[:, s], o.costs[:, w]).sum() for t in cuts])


def naive_cascade_sweep(data: Recorded, cuts: np.ndarray) -> np.ndarray:
    o = data.outcomes
    w, s = o.column("small"), o.column("large")
    return np.array([(o.costs[:, w] + np.where(data.confidence >= t, 0.0, o.costs[:, s])).sum() for t in cuts])


def best_time(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The fastest of ``repeats`` runs of ``fn`` and its result."""
    results = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        results.append((time.perf_counter() - t0, value))
    return min(results, key=lambda r: r[0])


def sweep_figures(data: Recorded, n_thresholds: int, repeats: int, replayed: dict[str, float], report: Report) -> None:
    o = data.outcomes
    cuts = np.linspace(0.0, 1.0, n_thresholds - 1)  # plus the replayed strategy's own threshold, last
    router_cuts, cascade_cuts = np.append(cuts, ROUTER_THRESHOLD), np.append(cuts, CASCADE_THRESHOLD)
    t_sweep, curve = best_time(
        lambda: threshold_sweep(o, data.difficulty, weak="small", strong="large", thresholds=router_cuts), repeats
    )
    t_naive, naive = best_time(lambda: naive_threshold_sweep(data, router_cuts), repeats)
    _check_same(curve.cost_usd, naive, "threshold_sweep vs naive loop")
    _check_same(curve.cost_usd[-1], replayed["threshold"], "threshold_sweep vs replayed ThresholdRouter")
    report.add(
        Figure(
            "sweep.threshold_router.seconds",
            f"threshold_sweep, {len(router_cuts)} thresholds x {len(o)} items",
            t_sweep,
            "s",
            t_sweep / t_naive,
            "naive per-threshold numpy loop (time)",
            Target("<", 1.0),
        )
    )
    gate = data.confidence
    t_sweep, curve = best_time(lambda: cascade_sweep(o, ["small", "large"], gate, cascade_cuts), repeats)
    t_naive, naive = best_time(lambda: naive_cascade_sweep(data, cascade_cuts), repeats)
    _check_same(curve.cost_usd, naive, "cascade_sweep vs naive loop")
    _check_same(curve.cost_usd[-1], replayed["cascade"], "cascade_sweep vs replayed Cascade")
    report.add(
        Figure(
            "sweep.cascade.seconds",
            f"cascade_sweep (2 stages), {len(cascade_cuts)} thresholds x {len(o)} items",
            t_sweep,
            "s",
            t_sweep / t_naive,
            "naive per-threshold numpy loop (time)",
            Target("<", 1.0),
        )
    )
    report.note("sweeps agree with the naive loops and with the replayed ThresholdRouter and Cascade (total cost)")


def _check_same(got: np.ndarray | float, expected: np.ndarray | float, what: str) -> None:
    if not np.allclose(got, expected):
        raise AssertionError(f"{what}: {got} != {expected}")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--thresholds", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement; the fastest is kept")
    args = p.parse_args()
    if args.quick:
        args.items, args.thresholds, args.repeats = 200, 10, 1
    report = start("bench_replay", args)
    report.note(versions("numpy", "pandas"))
    data = synthetic(args.items)
    replayed = replay_figures(data, args.repeats, report)
    sweep_figures(data, args.thresholds, args.repeats, replayed, report)
    report.write(args.json)


if __name__ == "__main__":
    main()
