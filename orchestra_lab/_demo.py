"""``orchestra-lab demo``: the quickstart comparison, offline -- every strategy kind side by side.

Runs simulated models and strategies over the shipped arithmetic dataset, prints the summary table, writes an HTML
report and the cost-quality frontier plot, and says where they are. Deterministic: the same table every run.
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

from .experiments import Experiment, Results, export, load_dataset
from .models import SimulatedModel
from .models.base import Model
from .pricing import usd_inr
from .strategies import Cascade, Ensemble, Fallback, MajorityVote, SelfConfidence, ThresholdRouter
from .types import Request

_HARD_WORDS = re.compile(r"percent|%|fraction|ratio|interest|average|each|per\b", re.IGNORECASE)


def guess_difficulty(request: Request) -> float:
    """A text-only difficulty guess for routing: more numbers, more steps and harder words score higher.

    >>> guess_difficulty(Request.of("Sara has 3 apples and gets 4 more.")) < guess_difficulty(
    ...     Request.of("A 12% discount on 3 items of 450 each, then 1/4 of the rest as tax: what is left?"))
    True
    """
    text = request.prompt
    numbers = len(re.findall(r"\d+(?:[.,/]\d+)?", text))
    return numbers / 6 + 0.25 * len(_HARD_WORDS.findall(text)) + len(text) / 800


def quickstart_strategies(requests: list[Request]) -> dict[str, Model]:
    """Single models plus one strategy of each kind, built from the shipped simulated profiles."""
    small, medium, large = (SimulatedModel.profile(f"sim/{size}") for size in ("small", "medium", "large"))
    flaky_small = small.with_faults(rate_limit=0.15, server_error=0.05)
    with warnings.catch_warnings():  # tied difficulty guesses: the achieved share is printed by main()
        warnings.simplefilter("ignore", UserWarning)
        router = ThresholdRouter(guess_difficulty, strong=large, weak=small, name="router").calibrated(
            requests, strong_share=0.3
        )
    return {
        "sim/small": small,
        "sim/medium": medium,
        "sim/large": large,
        "router 30% large": router,
        "cascade small>medium>large": Cascade(
            [(small, 0.8), (medium, 0.8), large], scorer=SelfConfidence(), name="cascade"
        ),
        "fallback flaky-small>medium": Fallback([flaky_small, medium], name="fallback"),
        "vote 3x medium": Ensemble.self_consistency(medium, n=3, temperature=0.7, aggregator=MajorityVote()),
    }


def summary_table(results: Results) -> str:
    """The summary as a plain-text table for the terminal."""
    frame = results.summary()
    rows = [("strategy", "accuracy [95% CI]", "USD/item", "INR/item", "p50 s", "p95 s", "errors", "calls/item")]
    for name, r in frame.iterrows():
        rows.append(
            (
                str(name),
                f"{r.score_mean:.3f} [{r.score_ci_lo:.2f}, {r.score_ci_hi:.2f}]",
                f"{r.cost_usd_per_item:.6f}",
                f"{r.cost_inr_per_item:.4f}",
                f"{r.latency_p50_s:.2f}",
                f"{r.latency_p95_s:.2f}",
                f"{r.error_rate:.1%}",
                f"{r.calls_per_item:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchestra-lab demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("orchestra_demo"), help="output folder (default: %(default)s)")
    parser.add_argument("--dataset", default="arithmetic", help="shipped dataset or file (default: %(default)s)")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report and the plot")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset)
    strategies = quickstart_strategies([item.to_request() for item in dataset])
    experiment = Experiment(dataset, strategies, run_dir=args.out / "run", progress=args.progress)
    results = experiment.run()

    print(
        f"orchestra_lab demo: {len(strategies)} strategies x {len(dataset)} items of {dataset.name!r}, "
        f"offline (simulated models, computed latency; INR at {usd_inr():g}/USD)\n"
    )
    print(summary_table(results))
    calibration = strategies["router 30% large"].calibration
    print(
        f"\nrouter: calibrated to send {calibration.share:.1%} of the items to sim/large (the share closest to 30% "
        "that tied difficulty guesses allow)"
    )
    print(f"\ncall log and item results: {experiment.run_dir}")
    if not args.no_report:
        report = export(results, args.out / "report.html", title="orchestra_lab quickstart")
        plot = args.out / "frontier.png"
        results.plot_frontier().savefig(plot, dpi=120, metadata={"Software": None})
        print(f"HTML report: {report}\nfrontier plot: {plot}")
    return 0
