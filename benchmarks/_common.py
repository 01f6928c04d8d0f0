"""What the benchmark scripts share: the command line, figure lines, timing and the machine note.

Every script prints its results as ``FIGURE`` lines -- the measured value, its ratio to a baseline measured in the
same run (the machine is shared and noisy, so ratios travel better than absolute numbers), the target and
PASS/MISS -- and with ``--json PATH`` also writes them as JSON for ``run_all.py``.

>>> f = Figure("demo.speed", "calls/s through the demo", 1500.0, "calls/s", ratio=0.95, baseline="raw loop",
...            target=Target(">=", 0.9, on="ratio"))
>>> f.line()
'FIGURE demo.speed: 1,500 calls/s | 0.95x raw loop | target ratio >= 0.9 | PASS'
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


@dataclass(frozen=True)
class Target:
    """A goal on a figure's ``value`` or its ``ratio``: ``op`` is ``">="``, ``"<="`` or ``"<"``."""

    op: Literal[">=", "<=", "<"]
    threshold: float
    on: Literal["value", "ratio"] = "value"

    def met(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<=":
            return value <= self.threshold
        return value < self.threshold

    def __str__(self) -> str:
        return f"{self.on} {self.op} {self.threshold:g}"


@dataclass
class Figure:
    """One measured figure, its ratio to the run's baseline, and the target it is judged against (if any)."""

    key: str
    label: str
    value: float
    unit: str
    ratio: float | None = None
    baseline: str | None = None
    target: Target | None = None

    @property
    def status(self) -> str:
        if self.target is None:
            return "-"
        measured = self.ratio if self.target.on == "ratio" else self.value
        return "PASS" if measured is not None and self.target.met(measured) else "MISS"

    def line(self) -> str:
        parts = [f"FIGURE {self.key}: {fmt(self.value)} {self.unit}"]
        parts.append(f"{fmt(self.ratio)}x {self.baseline}" if self.ratio is not None else "no baseline")
        parts.append(f"target {self.target}" if self.target is not None else "no target")
        parts.append(self.status)
        return " | ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = None if self.target is None else str(self.target)
        data["status"] = self.status
        return data


def fmt(value: float) -> str:
    """A number for humans: thousands separators for big ones, 3 significant digits for small ones.

    >>> fmt(23456.7), fmt(0.012345), fmt(12.5)
    ('23,457', '0.0123', '12.5')
    """
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass
class Report:
    """The figures and notes of one script run; prints as it goes and can be written as JSON."""

    script: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"NOTE {text}", flush=True)

    def write(self, path: str | None) -> None:
        if path is None:
            return
        data = {
            "script": self.script,
            "date": datetime.date.today().isoformat(),
            "machine": machine_note(),
            "machine_short": machine_note(short=True),
            "figures": [f.as_dict() for f in self.figures],
            "notes": self.notes,
        }
        Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every script shares: ``--quick`` (tiny sizes, for the smoke test) and ``--json PATH``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, measures nothing real")
    p.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    return p


def start(script: str, args: argparse.Namespace) -> Report:
    """Print the header (machine, versions) and return the run's report."""
    print(f"# {script} -- {datetime.datetime.now():%Y-%m-%d %H:%M} -- {machine_note()}", flush=True)
    if args.quick:
        print("# --quick: tiny sizes, the numbers mean nothing", flush=True)
    return Report(script)


def machine_note(*, short: bool = False) -> str:
    """CPUs, Python, OS and the load average (a busy shared machine shows there)."""
    loads = os.getloadavg() if hasattr(os, "getloadavg") else None
    if short:
        return f"{os.cpu_count()} CPUs, py{platform.python_version()}, load {loads[0]:.1f}" if loads else "n/a"
    load = ", ".join(f"{x:.1f}" for x in loads) if loads else "n/a"
    return (
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, load avg {load}"
    )


def versions(*distributions: str) -> str:
    """``name version`` for each installed distribution (``name missing`` otherwise)."""
    from importlib import metadata

    out = []
    for name in distributions:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} missing")
    return ", ".join(out)


def median_and_spread(samples: Sequence[float]) -> str:
    """``median (min-max, n=k)`` of repeated measurements."""
    return f"{fmt(statistics.median(samples))} ({fmt(min(samples))}-{fmt(max(samples))}, n={len(samples)})"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took, and what it returned."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def python() -> str:
    """The interpreter running the benchmarks (children run under the same one)."""
    return sys.executable
