"""The ``orchestra-lab`` command: the demo, running, sweeping and collecting parameterized notebooks, converting
run directories.

Exit codes: 0 success; 1 a notebook (or a sweep combination) failed while running; 2 bad usage or input (one line
on stderr, no traceback). The work is done by :mod:`orchestra_lab.sweep`; this module only parses and prints.

>>> main(["collect", "no/such/runs"])
2
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from . import __version__
from . import sweep as nbruns

__all__ = ["main"]

PROG = "orchestra-lab"
DEMO_MODULE = "orchestra_lab._demo"

_RUN_EXAMPLES = """examples:
  orchestra-lab run notebooks/quickstart.ipynb -p n_items 40 -p seed 1
  orchestra-lab run notebooks/routing.ipynb -p embedder hashing -p output_dir out/routing -o out/routing.ipynb

values are parsed like papermill's -p: true/false/None, numbers and JSON lists/objects become Python values, other
text stays a string (and a parameter whose default is a string always gets the text as given). Names and types are
checked against the notebook's parameters cell before the kernel starts: the cell tagged "parameters", or -- where
tags cannot be edited, as on Colab -- the code cell whose first line is the comment "# parameters". A notebook
whose kernel is not installed runs on this Python's kernel."""

_SWEEP_EXAMPLES = """examples:
  orchestra-lab sweep notebooks/quickstart.ipynb --grid grid.json --workers 2 --out runs/quickstart
  orchestra-lab sweep notebooks/quickstart.ipynb --grid grid.yaml --executor dask

grid.json maps each parameter to a list of values; every combination runs (a "seed" list repeats each setting):
  {"n_items": [40, 80], "seed": [0, 1, 2]}

the notebook must declare an "output_dir" parameter and write summary.csv there. Each combination runs into
OUT/<combination>/out.ipynb; OUT/sweep_status.json lists failures (parameters, error, partial notebook). A failed
combination does not stop the others; the exit code is 1 if any failed. YAML grids need PyYAML; --executor dask needs
dask[distributed] (a local cluster of --workers threads, each running its own kernel)."""

_COLLECT_EXAMPLES = """examples:
  orchestra-lab collect runs/quickstart                  # Markdown on stdout: the comparison, then failed runs
  orchestra-lab collect runs/quickstart -o compare.html  # a report page with the plot; or .csv, .md, .json, .tex
  orchestra-lab collect runs/quickstart --rows -o rows.csv

compares the runs of a sweep: one row per setting of the swept parameters and strategy. Runs that differ only in
their "seed" are repeats: every numeric column of their summary.csv is averaged, and the headline columns
(score_mean, costs per item, latency_p95_s -- or all, when the summaries have none of them) get the standard
deviation over runs and a 95% interval (Student t). Failed runs are listed with their error. --rows writes every
run's rows instead, with the run's parameters as columns."""

_CONVERT_EXAMPLES = """examples:
  orchestra-lab convert orchestra_runs/20260101-120000-ab12cd
  orchestra-lab convert orchestra_runs/*

moves a run directory's JSON-lines rows (items.jsonl, calls.jsonl: all of them in a directory written before
Parquet segments existed, the last rows of a stopped run) into Parquet segments. Loading needs no conversion; a
converted run loads faster and takes less space, and can still be resumed."""

_DEMO_EXAMPLES = """examples:
  orchestra-lab demo
  orchestra-lab demo --out demo-run --no-report"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (OSError, ValueError, ImportError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="orchestra_lab: run the demo, or run, sweep and collect parameterized notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = _subcommand(commands, "demo", "run the offline demo (simulated models) and write its report", _DEMO_EXAMPLES)
    demo.add_argument("--out", metavar="DIR", help="folder for the demo's run and report")
    demo.add_argument("--no-report", action="store_true", help="skip the HTML report")
    demo.set_defaults(command=_cmd_demo)

    run = _subcommand(commands, "run", "execute a notebook with parameters (papermill)", _RUN_EXAMPLES)
    run.add_argument("notebook", type=Path, help="the notebook to run")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable)",
    )
    run.add_argument("-o", "--output", type=Path, help="executed notebook (default: ./<name>.out.ipynb)")
    run.add_argument("--kernel", help="kernel name (default: the notebook's)")
    run.set_defaults(command=_cmd_run)

    sweep = _subcommand(commands, "sweep", "run a notebook for every combination of a parameter grid", _SWEEP_EXAMPLES)
    sweep.add_argument("notebook", type=Path, help="the notebook to run")
    sweep.add_argument("--grid", type=Path, required=True, help="grid file (.json, .yaml, .yml)")
    sweep.add_argument("--workers", type=_positive_int, default=2, help="runs at a time (default: 2)")
    sweep.add_argument("--out", type=Path, help="runs directory (default: ./<name>-runs)")
    sweep.add_argument(
        "--executor",
        choices=("process", "dask"),
        default="process",
        help="process pool (default) or a local Dask cluster",
    )
    sweep.add_argument("--kernel", help="kernel name (default: the notebook's)")
    sweep.set_defaults(command=_cmd_sweep)

    collect = _subcommand(commands, "collect", "compare the runs of a sweep by setting and strategy", _COLLECT_EXAMPLES)
    collect.add_argument("runs_dir", type=Path, help="a sweep's runs directory")
    collect.add_argument("-o", "--output", type=Path, help="table file; the format follows the suffix")
    collect.add_argument("--rows", action="store_true", help="every run's rows instead of the comparison")
    collect.set_defaults(command=_cmd_collect)

    convert = _subcommand(commands, "convert", "store run directories' rows as Parquet segments", _CONVERT_EXAMPLES)
    convert.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="a run directory (repeatable)")
    convert.set_defaults(command=_cmd_convert)
    return parser


def _subcommand(
    commands: argparse._SubParsersAction, name: str, summary: str, examples: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name, help=summary, description=summary, epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        demo = importlib.import_module(DEMO_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != DEMO_MODULE:
            raise
        raise ImportError("the demo is not part of this installation of orchestra_lab") from None
    argv = (["--out", args.out] if args.out else []) + (["--no-report"] if args.no_report else [])
    return demo.main(argv) or 0


def _cmd_run(args: argparse.Namespace) -> int:
    from papermill.exceptions import PapermillExecutionError

    declared = nbruns.declared_parameters(args.notebook)
    parameters = nbruns.parse_parameters(args.parameter, declared)
    output = args.output or Path(f"{args.notebook.stem}.out.ipynb")
    try:
        nbruns.run_notebook(args.notebook, output, parameters, kernel_name=args.kernel)
    except PapermillExecutionError as exc:
        print(
            f"{PROG}: {args.notebook}: cell {exc.cell_index} raised {exc.ename}: {_one_line(exc.evalue)} "
            f"(partial notebook: {output})",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {output}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    runs_dir = args.out or Path(f"{args.notebook.stem}-runs")
    grid = nbruns.load_grid(args.grid)
    pool = nbruns.dask_executor(args.workers) if args.executor == "dask" else nullcontext(None)
    with pool as executor:
        result = nbruns.sweep(
            args.notebook,
            grid,
            runs_dir,
            workers=args.workers,
            executor=executor,
            kernel_name=args.kernel,
            on_done=_print_run,
        )
    ok = len(result.runs) - len(result.failed)
    print(f"{ok} ok, {len(result.failed)} failed; status: {result.status_file}")
    return 1 if result.failed else 0


def _print_run(run: nbruns.RunStatus) -> None:
    print(run.describe(), flush=True)


def _cmd_collect(args: argparse.Namespace) -> int:
    if args.rows:
        table = nbruns.collect(args.runs_dir)
        if args.output is None:
            print(nbruns.markdown(table), end="")
        else:
            print(f"wrote {nbruns.write_table(table, args.output)} ({len(table)} rows)")
        return 0
    comparison = nbruns.compare(args.runs_dir)
    if args.output is None:
        print(comparison.markdown(), end="")
        return 0
    failed = len(comparison.failed)
    written = nbruns.write_comparison(comparison, args.output)
    print(f"wrote {written} ({len(comparison.table)} rows; {failed} failed run{'' if failed == 1 else 's'})")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .experiments._rundir import convert

    for run_dir in args.run_dirs:
        items, calls = convert(run_dir)
        print(f"converted {run_dir}: {items} item rows, {calls} call rows")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
