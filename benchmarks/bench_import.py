"""Import time: ``import orchestra_lab`` against ``import pandas, httpx``, each in fresh interpreters.

Runs alternate between the commands (``--runs`` each, after one untimed run each to warm the file cache);
the figure is the ratio of medians (target <= 1.3x). Also: a bare ``python -c pass`` for scale, which heavy modules
``import orchestra_lab`` leaves in ``sys.modules``, and the slowest imports under ``orchestra_lab`` by
``-X importtime`` (cumulative), to say where import time goes.

    python benchmarks/bench_import.py            # 15 runs each
    python benchmarks/bench_import.py --quick
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from _common import Figure, Target, fmt, median_and_spread, parser, python, start, versions

OURS = "import orchestra_lab"
PEERS = "import pandas, httpx"
EMPTY = "pass"
HEAVY = ("matplotlib", "ipywidgets", "IPython", "papermill", "diskcache", "pandas", "numpy", "nest_asyncio2", "tqdm")


def run_seconds(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([python(), "-c", code], check=True)
    return time.perf_counter() - t0


def heavy_modules_loaded() -> list[str]:
    probe = f"import json, sys; {OURS}; print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    out = subprocess.run([python(), "-c", probe], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def slowest_imports(prefix: str, top: int) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the ``top`` modules named ``prefix...`` with the largest cumulative
    time under ``-X importtime``."""
    err = subprocess.run([python(), "-X", "importtime", "-c", OURS], check=True, capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if name.startswith(prefix):
            rows.append((name, int(self_us) / 1e3, int(cumulative_us) / 1e3))
    rows.sort(key=lambda r: -r[2])
    return rows[:top]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15, help="timed runs of each command")
    args = p.parse_args()
    if args.quick:
        args.runs = 1
    report = start("bench_import", args)
    report.note(versions("pandas", "httpx", "numpy"))
    samples: dict[str, list[float]] = {OURS: [], PEERS: [], EMPTY: []}
    if not args.quick:
        for code in samples:  # warm the file cache
            run_seconds(code)
    for _ in range(args.runs):
        for code, times in samples.items():
            times.append(run_seconds(code))
    medians = {code: statistics.median(times) for code, times in samples.items()}
    for code, times in samples.items():
        report.note(f"python -c {code!r}: seconds median (min-max) {median_and_spread(times)}")
    report.add(
        Figure(
            "import.orchestra_lab.seconds",
            "python -c 'import orchestra_lab' (fresh process, median)",
            medians[OURS],
            "s",
            medians[OURS] / medians[PEERS],
            "'import pandas, httpx'",
            Target("<=", 1.3, on="ratio"),
        )
    )
    report.add(
        Figure(
            "import.orchestra_lab.net_seconds",
            "import orchestra_lab minus interpreter start-up",
            medians[OURS] - medians[EMPTY],
            "s",
            (medians[OURS] - medians[EMPTY]) / (medians[PEERS] - medians[EMPTY]),
            "'import pandas, httpx' minus start-up",
        )
    )
    loaded = heavy_modules_loaded()
    report.note(
        f"heavy modules in sys.modules after {OURS!r}: {', '.join(loaded) or 'none'} (checked: {', '.join(HEAVY)})"
    )
    lazy = [m for m in ("matplotlib", "ipywidgets", "IPython", "papermill", "diskcache") if m in loaded]
    if lazy:
        report.note(f"loaded eagerly though only some features need them: {', '.join(lazy)}")
    for name, self_ms, cumulative_ms in slowest_imports("orchestra_lab", 8):
        report.note(f"-X importtime: {name}: {fmt(cumulative_ms)} ms cumulative, {fmt(self_ms)} ms self")
    report.write(args.json)


if __name__ == "__main__":
    main()
