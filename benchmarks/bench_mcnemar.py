"""Exact McNemar p-value: the closed-form tail at a million discordant pairs against the old integer loop.

The figure is ``stats.mcnemar_p_value`` at ``--pairs`` discordant pairs split nearly evenly (the slowest case: the
tail to sum is widest); the baseline is the exact-integer loop the library used before, timed in the same run at
``--baseline-pairs`` (it grows with the square of the pairs, so a million would take minutes). Median of
``--repeats`` runs each; target < 50 ms.

    python benchmarks/bench_mcnemar.py
    python benchmarks/bench_mcnemar.py --quick
"""

from __future__ import annotations

import statistics

from _common import Figure, Target, fmt, median_and_spread, parser, start, timed

from orchestra_lab.experiments.stats import mcnemar_p_value


def integer_loop_p_value(b: int, c: int) -> float:
    """The old implementation: the binomial tail summed in exact Python integers (the baseline)."""
    n = b + c
    term = tail = 1
    for k in range(1, min(b, c) + 1):
        term = term * (n - k + 1) // k
        tail += term
    return min(1.0, 2 * tail / 2**n)


def near_even(pairs: int) -> tuple[int, int]:
    """Discordant counts ``(b, c)`` summing to ``pairs`` with ``b`` 0.1% below half: p-value about 0.05."""
    b = pairs // 2 - pairs // 1000
    return b, pairs - b


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=1_000_000, help="discordant pairs for the closed form")
    p.add_argument("--baseline-pairs", type=int, default=120_000, help="discordant pairs for the integer loop")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each")
    args = p.parse_args()
    if args.quick:
        args.pairs, args.baseline_pairs, args.repeats = 20_000, 2_000, 1
    report = start("bench_mcnemar", args)
    mcnemar_p_value(*near_even(args.pairs))  # warm up: numpy's first calls load code
    ours = [timed(lambda: mcnemar_p_value(*near_even(args.pairs))) for _ in range(args.repeats)]
    old = [timed(lambda: integer_loop_p_value(*near_even(args.baseline_pairs))) for _ in range(args.repeats)]
    ours_s, old_s = statistics.median(t for t, _ in ours), statistics.median(t for t, _ in old)
    report.add(
        Figure(
            "mcnemar.p_value.seconds",
            f"exact McNemar p-value at {args.pairs:,} discordant pairs",
            ours_s,
            "s",
            ours_s / old_s,
            f"integer loop at {args.baseline_pairs:,} pairs",
            Target("<", 0.05),
        )
    )
    closed_at_baseline = mcnemar_p_value(*near_even(args.baseline_pairs))
    report.note(
        f"closed form at {args.pairs:,} pairs: {median_and_spread([t for t, _ in ours])} s, p = {ours[0][1]:.6g}; "
        f"integer loop at {args.baseline_pairs:,} pairs: {median_and_spread([t for t, _ in old])} s, "
        f"p = {old[0][1]:.6g} (closed form there: {closed_at_baseline:.6g}, "
        f"relative difference {fmt(abs(closed_at_baseline - old[0][1]) / old[0][1])})"
    )
    report.write(args.json)


if __name__ == "__main__":
    main()
