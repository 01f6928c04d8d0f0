"""Run every benchmark, print one table of figures, and optionally write it into ``benchmarks/README.md``.

    python benchmarks/run_all.py                       # everything (about 10 minutes on 2 busy cores)
    python benchmarks/run_all.py --only replay cache   # some of them
    python benchmarks/run_all.py --write-readme        # and update the README's results table
    python benchmarks/run_all.py --quick               # smoke run, numbers meaningless

A script that fails makes the exit code 1; a missed target does not (it is a finding, shown as MISS).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, fmt, parser, python

SCRIPTS = {
    "live": "bench_live_overhead.py",
    "replay": "bench_replay.py",
    "import": "bench_import.py",
    "cache": "bench_cache.py",
    "log_frame": "bench_log_frame.py",
    "mcnemar": "bench_mcnemar.py",
    "streaming": "bench_streaming.py",
    "experiment": "bench_experiment.py",
}
README = BENCH_DIR / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def run(script: str, quick: bool, out: Path) -> dict[str, Any] | None:
    """Run one script (its output streams through); its JSON report, or None if it failed."""
    command = [python(), str(BENCH_DIR / script), "--json", str(out)] + (["--quick"] if quick else [])
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    if subprocess.run(command).returncode != 0:
        print(f"!! {script} failed", flush=True)
        return None
    return json.loads(out.read_text(encoding="utf-8"))


def table(reports: list[dict[str, Any]]) -> str:
    """The figures with a target, as a markdown table (figure, target, measured, vs baseline, result, date, machine)."""
    lines = [
        "| figure | target | measured | vs baseline (same run) | result | date | machine |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for report in reports:
        for f in report["figures"]:
            if f["target"] is None:
                continue
            ratio = f"{f['ratio']:.3g}x {f['baseline']}" if f["ratio"] is not None else "-"
            lines.append(
                f"| `{f['key']}` {f['label']} | {f['target']} | {fmt(f['value'])} {f['unit']} | {ratio} "
                f"| {f['status']} | {report['date']} | {report['machine_short']} |"
            )
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    block = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not block.search(readme):
        raise SystemExit(f"{README}: no {START} ... {END} block to replace")
    README.write_text(block.sub(lambda _: f"{START}\n{text}\n{END}", readme), encoding="utf-8")
    print(f"wrote the table into {README}")


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run only these benchmarks")
    p.add_argument("--write-readme", action="store_true", help="replace the results table in benchmarks/README.md")
    args = p.parse_args()
    chosen = args.only or list(SCRIPTS)
    reports, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            report = run(SCRIPTS[name], args.quick, Path(tmp) / f"{name}.json")
            if report is None:
                failed.append(name)
            else:
                reports.append(report)
    text = table(reports)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2), encoding="utf-8")
    if args.write_readme:
        write_readme(text)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
