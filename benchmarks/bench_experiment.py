"""A replay ``Experiment`` end to end: item-runs per second, run directory size, ``Results.load`` time, peak RSS.

Synthetic recorded outcomes (``bench_replay.synthetic``, seeded) for ``--items`` items; four strategies replay
them: ``weak`` (ReplayModel small), ``strong`` (ReplayModel large), ``fallback`` (Fallback([flaky, large]), flaky
has no answer for 10% of the items) and ``vote`` (Ensemble([small, medium, large], MajorityVote())), scored with
``RecordedScore``. Each size runs in its own processes, so each peak RSS is its own:

  bare        the same strategies awaited item by item in an in-memory ``CallLog`` (no run directory, no scoring):
              the call path alone -- the baseline of the throughput ratio
  experiment  ``Experiment(...).run()`` into a fresh run directory (columnar store), then ``Results.load`` of it
              with its ``calls`` (read on first use); the load's baseline is ``pyarrow.parquet.read_table`` +
              ``to_pandas`` of the same segments
  parallel    the same experiment with ``processes=--processes`` (default: the machine's cores, at least 2): the
              jobs answered in forked worker processes, which write their batches as segments the parent
              commits in job order (its peak RSS and the workers' largest are both printed)
  legacy      (sizes <= --legacy-max only) the same experiment writing JSONL only, as before the columnar store:
              the baseline of the directory size

Targets at 100,000 items x 4 strategies: >= 25,000 item-runs/s (judged on the faster of one process and
``--processes``); directory <= 80 MB; load <= 1.5 s; peak RSS <= 1 GB (one process).

    python benchmarks/bench_experiment.py                 # 10,000 and 100,000 items
    python benchmarks/bench_experiment.py --quick
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Figure, Report, Target, fmt, parser, python, start, versions

TARGET_ITEMS = 100_000
STRATEGIES = ("weak", "strong", "fallback", "vote")


def strategies(outcomes: Any) -> dict[str, Any]:
    from orchestra_lab import Ensemble, Fallback, MajorityVote, ReplayModel

    replay = {m: ReplayModel(outcomes, m) for m in ("small", "medium", "large", "flaky")}
    return {
        "weak": replay["small"],
        "strong": replay["large"],
        "fallback": Fallback([replay["flaky"], replay["large"]]),
        "vote": Ensemble([replay["small"], replay["medium"], replay["large"]], MajorityVote()),
    }


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bare(n_items: int) -> dict[str, float]:
    import asyncio

    from bench_replay import synthetic

    from orchestra_lab import CallLog, Request

    data = synthetic(n_items)
    models = strategies(data.outcomes)
    requests = [[Request.of("Which option is right?", item_id=i) for i in data.item_ids] for _ in models]

    async def replay() -> int:
        with CallLog() as log:
            for model, batch in zip(models.values(), requests):
                for request in batch:
                    await model.acomplete(request)
        return len(log)

    t0 = time.perf_counter()
    rows = asyncio.run(replay())
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def experiment(n_items: int, legacy: bool, processes: int = 1) -> dict[str, float]:
    import warnings

    from bench_replay import synthetic

    from orchestra_lab import Experiment, RecordedScore, Results
    from orchestra_lab.experiments import _rundir

    if legacy:
        _rundir.COMPACT_ROWS = None  # JSONL only, as before the columnar store
    data = synthetic(n_items)
    run_dir = Path(tempfile.mkdtemp(prefix="bench_experiment_")) / "run"
    experiment = Experiment(
        data.outcomes.to_dataset(),
        strategies(data.outcomes),
        scorer=RecordedScore(data.outcomes),
        run_dir=run_dir,
        progress=False,
        processes=processes,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unscorable items (flaky's blanks never reach the scorer; none expected)
        results = experiment.run()
    seconds = time.perf_counter() - t0
    item_runs = len(results.items)
    del results
    out = {"seconds": seconds, "item_runs": item_runs, "bytes": directory_bytes(run_dir)}
    t0 = time.perf_counter()
    loaded = Results.load(run_dir)
    out["rows"] = len(loaded.calls)  # the calls are read on first use: counted in the load time
    out["load_seconds"] = time.perf_counter() - t0
    del loaded
    if not legacy:
        import pyarrow.parquet as pq

        segments = sorted(str(p) for p in run_dir.glob("*.parquet"))
        t0 = time.perf_counter()
        for path in segments:
            pq.read_table(path).to_pandas()
        out["raw_read_seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = peak_rss_mb()
    out["workers_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    shutil.rmtree(run_dir.parent)
    return out


def child(mode: str, n_items: int, processes: int = 1) -> dict[str, float]:
    """Run one measurement in a fresh process (its own peak RSS); returns its JSON figures."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    command = [python(), __file__, "--child", mode, "--items", str(n_items), "--processes", str(processes)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} {n_items}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures_for(n_items: int, legacy_max: int, processes: int, report: Report) -> None:
    judged = n_items >= TARGET_ITEMS
    base = child("bare", n_items)
    run = child("experiment", n_items)
    parallel = child("parallel", n_items, processes) if processes > 1 else None
    item_runs = run["item_runs"]
    bare_per_s = item_runs / base["seconds"]
    speed = item_runs / run["seconds"]
    parallel_speed = item_runs / parallel["seconds"] if parallel else 0.0
    tag = f"experiment.{n_items // 1000}k" if n_items >= 1000 else f"experiment.{n_items}"

    def target(op: str, value: float, judge: bool = True) -> Target | None:
        return Target(op, value) if judged and judge else None  # type: ignore[arg-type]

    report.add(
        Figure(f"{tag}.item_runs_per_s", f"{n_items:,} items x 4 strategies: item-runs/s end to end, one process",
               speed, "item-runs/s", speed / bare_per_s, "the bare call path (item-runs/s)",
               target(">=", 25_000, speed >= parallel_speed))
    )  # fmt: skip
    if parallel:
        report.add(
            Figure(f"{tag}.item_runs_per_s_processes", f"the same with processes={processes}", parallel_speed,
                   "item-runs/s", parallel_speed / bare_per_s, "the bare call path (item-runs/s)",
                   target(">=", 25_000, parallel_speed > speed))
        )  # fmt: skip
        report.note(
            f"processes={processes}: {parallel['seconds']:.2f} s ({parallel_speed / speed:.2f}x one process), parent "
            f"peak RSS {parallel['peak_rss_mb']:.0f} MB, largest worker {parallel['workers_peak_rss_mb']:.0f} MB"
        )
    legacy = child("legacy", n_items) if n_items <= legacy_max else None
    mb = run["bytes"] / 1e6
    report.add(
        Figure(f"{tag}.run_dir_mb", "run directory size", mb, "MB",
               run["bytes"] / legacy["bytes"] if legacy else None,
               "the JSONL-only directory of the same run" if legacy else None, target("<=", 80))
    )  # fmt: skip
    report.add(
        Figure(f"{tag}.load_seconds", "Results.load of the run directory", run["load_seconds"], "s",
               run["load_seconds"] / run["raw_read_seconds"], "raw pyarrow read_table + to_pandas of its segments",
               target("<=", 1.5))
    )  # fmt: skip
    report.add(Figure(f"{tag}.peak_rss_mb", "peak RSS of the experiment process (run + load)", run["peak_rss_mb"],
                      "MB", target=target("<=", 1024)))  # fmt: skip
    report.note(
        f"{n_items:,} items: {item_runs:,} item-runs, {run['rows']:,} call rows in {run['seconds']:.2f} s; bare call "
        f"path {base['seconds']:.2f} s ({fmt(base['rows'] / base['seconds'])} rows/s), "
        f"peak {base['peak_rss_mb']:.0f} MB"
    )
    if legacy:
        report.note(
            f"{n_items:,} items, JSONL-only store: {legacy['seconds']:.2f} s ({fmt(item_runs / legacy['seconds'])} "
            f"item-runs/s), {legacy['bytes'] / 1e6:.1f} MB, load {legacy['load_seconds']:.2f} s, "
            f"peak {legacy['peak_rss_mb']:.0f} MB"
        )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--items", type=int, nargs="+", default=[10_000, TARGET_ITEMS])
    p.add_argument("--legacy-max", type=int, default=10_000, help="run the JSONL-only baseline up to this size")
    p.add_argument("--processes", type=int, default=max(2, os.cpu_count() or 1), help="workers of the parallel run")
    p.add_argument("--child", choices=["bare", "experiment", "parallel", "legacy"], help=argparse_hidden())
    args = p.parse_args()
    if args.child:
        n = args.items[0]
        if args.child == "bare":
            out = bare(n) | {"peak_rss_mb": peak_rss_mb()}
        else:
            out = experiment(n, args.child == "legacy", args.processes if args.child == "parallel" else 1)
        print(json.dumps(out))
        return
    if args.quick:
        args.items, args.legacy_max = [300], 300
    report = start("bench_experiment", args)
    report.note(versions("numpy", "pandas", "pyarrow"))
    for n in args.items:
        figures_for(n, args.legacy_max, args.processes, report)
    report.write(args.json)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
