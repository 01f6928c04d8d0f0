"""Cache hits per second through the model interface: ``Cached(model, ResponseCache(tmpdir))`` with a warm cache.

A ``FunctionModel`` (``str.upper``) answers ``--prompts`` distinct prompts once (misses, untimed); then
``--calls`` requests cycling over those prompts are all hits, made one after the other (``await acomplete``) and
all at once (``asyncio.gather``), inside a ``CallLog`` (one ``kind="cache"`` row per hit). The baseline is the same
calls to the uncached ``FunctionModel`` (one row per call). Target: >= 5,000 hits/s.

    python benchmarks/bench_cache.py            # 5,000 hits over 500 prompts
    python benchmarks/bench_cache.py --quick
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence

from _common import Figure, Target, fmt, parser, start, versions

from orchestra_lab import Cached, CallLog, FunctionModel, Model, ResponseCache


async def sequential(model: Model, prompts: Sequence[str]) -> None:
    for prompt in prompts:
        await model.acomplete(prompt)


async def concurrent(model: Model, prompts: Sequence[str]) -> None:
    await asyncio.gather(*(model.acomplete(p) for p in prompts))


Driver = Callable[[Model, Sequence[str]], Awaitable[None]]


def calls_per_second(driver: Driver, model: Model, prompts: Sequence[str], repeats: int) -> tuple[float, float]:
    """The best of ``repeats`` runs as (calls per second, calls per CPU second); every call must leave one row."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        with CallLog() as log:
            cpu0, t0 = time.process_time(), time.perf_counter()
            asyncio.run(driver(model, prompts))
            best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - cpu0)
        if len(log) != len(prompts):
            raise AssertionError(f"{len(prompts)} calls left {len(log)} rows")
    return len(prompts) / best, len(prompts) / best_cpu


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=5000, help="timed hits per run")
    p.add_argument("--prompts", type=int, default=500, help="distinct prompts (cache entries)")
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement; the fastest is kept")
    args = p.parse_args()
    if args.quick:
        args.calls, args.prompts, args.repeats = 60, 20, 1
    report = start("bench_cache", args)
    report.note(versions("diskcache"))
    distinct = [f"Question {i}: what is {i} + {i}?" for i in range(args.prompts)]
    prompts = [distinct[i % len(distinct)] for i in range(args.calls)]
    plain = FunctionModel(str.upper, name="upper")
    with tempfile.TemporaryDirectory() as tmp:
        store = ResponseCache(tmp)
        cached = Cached(plain, store)
        with CallLog():
            asyncio.run(sequential(cached, distinct))  # warm: every prompt stored
        hits_before = store.hits
        for how, driver in (("sequential", sequential), ("gather", concurrent)):
            baseline, baseline_cpu = calls_per_second(driver, plain, prompts, args.repeats)
            hits, hits_cpu = calls_per_second(driver, cached, prompts, args.repeats)
            report.add(
                Figure(
                    f"cache.hits_per_s.{how}",
                    f"cache hits per second ({how})",
                    hits,
                    "hits/s",
                    hits / baseline,
                    "uncached FunctionModel calls",
                    Target(">=", 5000),
                )
            )
            report.note(
                f"{how}: uncached FunctionModel {fmt(baseline)} calls/s ({fmt(baseline_cpu)} per CPU second);"
                f" cached {fmt(hits)} hits/s ({fmt(hits_cpu)} per CPU second)"
            )
        expected = 2 * args.repeats * args.calls
        if store.hits - hits_before != expected or store.errors:
            raise AssertionError(
                f"expected {expected} hits and no errors, got {store.hits - hits_before}, {store.errors}"
            )
        store.close()
    report.write(args.json)


if __name__ == "__main__":
    main()
