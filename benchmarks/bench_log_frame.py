"""A million call rows to a DataFrame: ``CallLog.to_frame`` time and peak memory, against a plain ``pd.DataFrame``.

Rows are *directly appended tuples*: each child process builds ``--rows`` realistic row tuples in schema order (an
experiment's pattern: per item a fallback strategy row, its leaf answer and every tenth a failed attempt; unique
call ids, shared model names, answers from a pool) and appends them with ``CallLog.append`` -- the call path's own
fast path -- so building them stays out of the figures. Then, timed: ``log.to_frame()`` (schema dtypes), or the
baseline ``pd.DataFrame(rows, columns=COLUMNS)`` (no dtypes) on the same tuples. Each runs in its own process, so
the peak memory (``ru_maxrss``) is that method's alone: the figure is the process peak (rows + frame), with the
conversion's own increment beside it. Best of ``--repeats`` processes each. Targets: < 3 s and < 1.5 GB.

    python benchmarks/bench_log_frame.py            # 1,000,000 rows
    python benchmarks/bench_log_frame.py --quick
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

from _common import Figure, Target, fmt, parser, python, start, versions

MB = 1024 * 1024
METHODS = ("to_frame", "baseline")


def row_tuples(n_rows: int) -> list[tuple[Any, ...]]:
    """``n_rows`` rows in :data:`COLUMNS` order: per item a strategy row, its leaf answer, and every tenth item a
    failed attempt before it."""
    from orchestra_lab.calllog.schema import COLUMNS, DEFAULTS, INDEX

    def template(**fields: Any) -> list[Any]:
        values = DEFAULTS | {"run_id": "bench-run", "strategy": "fallback", "tokens_estimated": False} | fields
        return [values[c] for c in COLUMNS]

    strategy = template(
        kind="strategy",
        name="fallback",
        requested_model="fallback",
        provider="strategy",
        source="strategy",
        decision="openai/gpt-4o-mini",
    )
    leaf = template(
        kind="model",
        name="openai/gpt-4o-mini",
        caller="fallback",
        requested_model="gpt-4o-mini",
        served_model="gpt-4o-mini-2024-07-18",
        provider="openai",
        source="live",
        http_status=200,
    )
    failed = template(
        kind="model",
        name="groq/llama-3.1-8b-instant",
        caller="fallback",
        provider="openai",
        requested_model="llama-3.1-8b-instant",
        source="live",
        status="error",
        error_type="rate_limit",
        error="groq llama-3.1-8b-instant: HTTP 429 Too Many Requests: Rate limit reached",
        http_status=429,
    )
    answers = [f"The answer is {i}. It follows from the question's numbers." for i in range(1000)]
    reasons = [f"#1 openai/gpt-4o-mini answered after {i} ms" for i in range(100)]
    col = INDEX
    rows: list[tuple[Any, ...]] = []
    started = time.time()
    item = 0
    while len(rows) < n_rows:
        parent = f"{item:08x}{'p':>08}"
        answer = answers[item % len(answers)]
        calls = [(failed, f"{item:08x}{'f':>08}")] if item % 10 == 0 else []
        calls += [(leaf, f"{item:08x}{'l':>08}"), (strategy, parent)]
        for shape, call_id in calls:
            row = shape.copy()
            row[col["call_id"]] = call_id
            row[col["parent_id"]] = None if shape is strategy else parent
            row[col["item_id"]] = f"item-{item}"
            row[col["input_tokens"]] = 40 + item % 50
            row[col["output_tokens"]] = None if shape is failed else 5 + item % 20
            row[col["cost_usd"]] = 0.0 if shape is failed else 1.2e-5 + item % 7 * 1e-6
            row[col["cost_inr"]] = row[col["cost_usd"]] * 83.0
            row[col["latency_s"]] = 0.2 + item % 13 / 10
            row[col["started_at"]] = started + item * 0.01
            row[col["prompt_hash"]] = f"{item * 2654435761 % 2**64:016x}"
            if shape is not failed:
                row[col["response_text"]] = answer
            if shape is strategy:
                row[col["reason"]] = reasons[item % len(reasons)]
                row[col["score"]] = float(item % 2)
            rows.append(tuple(row))
        item += 1
    return rows[:n_rows]


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def child(method: str, n_rows: int) -> None:
    """Build the rows, convert them with ``method`` once, print the measurements as JSON."""
    import pandas as pd

    from orchestra_lab import CallLog
    from orchestra_lab.calllog.schema import COLUMNS

    rows = row_tuples(n_rows)
    log = CallLog()
    for row in rows:
        log.append(row)
    convert = log.to_frame if method == "to_frame" else lambda: pd.DataFrame(rows, columns=list(COLUMNS))
    rss_before = current_rss()
    cpu0, t0 = time.process_time(), time.perf_counter()
    frame = convert()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if frame.shape != (n_rows, len(COLUMNS)):
        raise AssertionError(f"{method}: frame has shape {frame.shape}")
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    measured = {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak": peak, "before": rss_before}
    print(json.dumps(measured | {"frame_bytes": frame_bytes}))


def measure(method: str, n_rows: int) -> dict[str, float]:
    script = [python(), __file__, "--child", method, "--rows", str(n_rows)]
    out = subprocess.run(script, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=2, help="processes per method; the fastest is kept")
    p.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    if args.quick:
        args.rows, args.repeats = 3000, 1
    report = start("bench_log_frame", args)
    report.note(versions("pandas", "numpy", "pyarrow"))
    runs = {m: [measure(m, args.rows) for _ in range(args.repeats)] for m in METHODS}
    best = {m: min(r, key=lambda x: x["seconds"]) for m, r in runs.items()}
    ours, base = best["to_frame"], best["baseline"]
    report.add(
        Figure(
            "log_frame.to_frame.seconds",
            f"CallLog.to_frame, {args.rows:,} rows",
            ours["seconds"],
            "s",
            ours["seconds"] / base["seconds"],
            "pd.DataFrame(tuples) (time)",
            Target("<", 3.0),
        )
    )
    report.add(
        Figure(
            "log_frame.to_frame.peak_mb",
            f"peak RSS of the process (rows + frame), {args.rows:,} rows",
            ours["peak"] / MB,
            "MB",
            ours["peak"] / base["peak"],
            "pd.DataFrame(tuples) process peak",
            Target("<", 1536),
        )
    )
    for method, m in best.items():
        report.note(
            f"{method}: {m['seconds']:.3f} s ({m['cpu_seconds']:.3f} s CPU); RSS {fmt(m['before'] / MB)} MB with the"
            f" rows, peak {fmt(m['peak'] / MB)} MB (+{fmt((m['peak'] - m['before']) / MB)} MB converting);"
            f" frame {fmt(m['frame_bytes'] / MB)} MB deep"
        )
    report.write(args.json)


if __name__ == "__main__":
    sys.exit(main())
