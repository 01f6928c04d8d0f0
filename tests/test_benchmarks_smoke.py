"""The benchmark scripts run at tiny sizes (``--quick``), exit 0 and print their figure lines.

Timings are not checked here: the figures are measured by running the scripts themselves (benchmarks/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

FIGURES = {
    "bench_replay.py": [
        *(
            f"replay.{s}.{what}"
            for s in ("single", "threshold", "fallback", "cascade", "ensemble")
            for what in ("rows_per_s", "leaf_calls_per_s")
        ),
        "replay.all.rows_per_s",
        "replay.all.rows_per_cpu_s",
        "sweep.threshold_router.seconds",
        "sweep.cascade.seconds",
    ],
    "bench_import.py": ["import.orchestra_lab.seconds", "import.orchestra_lab.net_seconds"],
    "bench_cache.py": ["cache.hits_per_s.sequential", "cache.hits_per_s.gather"],
    "bench_log_frame.py": ["log_frame.to_frame.seconds", "log_frame.to_frame.peak_mb"],
    "bench_mcnemar.py": ["mcnemar.p_value.seconds"],
    "bench_experiment.py": [
        f"experiment.300.{what}"
        for what in ("item_runs_per_s", "item_runs_per_s_processes", "run_dir_mb", "load_seconds", "peak_rss_mb")
    ],
    "bench_live_overhead.py": [
        f"live.{v}{cpu}" for v in ("a_raw_httpx", "b_openai_compatible", "c_fallback_router") for cpu in ("", ".cpu")
    ],
    "bench_streaming.py": [
        f"streaming.{v}.{what}"
        for v in ("a_raw_httpx", "b_openai_compatible", "c_fallback")
        for what in (
            "ttft_p50_ms",
            "streams_per_s",
            "cpu_per_stream_us",
            "paced_ttft_p50_ms",
            "paced_ttft_p95_ms",
            "paced_cpu_load",
        )
    ]
    + [
        f"streaming.{v}.added_ttft_p50_ms{load}"
        for v in ("b_openai_compatible", "c_fallback")
        for load in ("", "_saturated", "_unloaded")
    ],
}


def run_quick(script: str, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done, json.loads(out.read_text(encoding="utf-8"))


def figure_keys(stdout: str) -> list[str]:
    return [line.removeprefix("FIGURE ").split(":")[0] for line in stdout.splitlines() if line.startswith("FIGURE ")]


@pytest.mark.parametrize(
    "script",
    [
        "bench_replay.py",
        "bench_import.py",
        "bench_cache.py",
        "bench_log_frame.py",
        "bench_mcnemar.py",
        "bench_streaming.py",
        "bench_experiment.py",
    ],
)
def test_script_prints_its_figure_lines(script: str, tmp_path: Path) -> None:
    done, report = run_quick(script, tmp_path)
    printed = figure_keys(done.stdout)
    assert printed == FIGURES[script]
    assert [f["key"] for f in report["figures"]] == printed
    for figure in report["figures"]:
        assert figure["status"] in ({"PASS", "MISS"} if figure["target"] else {"-"}), figure
        assert figure["value"] == figure["value"], figure  # a number, not NaN
        assert figure["value"] >= 0 or "added_ttft" in figure["key"], figure  # a difference can be below 0


@pytest.mark.skipif(find_spec("uvicorn") is None or find_spec("starlette") is None, reason="bench extra not installed")
def test_live_overhead_prints_its_figure_lines_and_says_why_litellm_is_skipped(tmp_path: Path) -> None:
    done, report = run_quick("bench_live_overhead.py", tmp_path, "--no-litellm")
    assert figure_keys(done.stdout) == FIGURES["bench_live_overhead.py"]
    assert "NOTE (d) LiteLLM Router skipped: --no-litellm given" in done.stdout
    target = next(f for f in report["figures"] if f["key"] == "live.c_fallback_router")
    assert target["target"] == "ratio >= 0.9" and target["baseline"] == "raw httpx"


def test_run_all_collects_the_figures_into_a_table(tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "cache", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `cache.")]
    assert len(rows) == 2 and all("hits/s" in r and "value >= 5000" in r for r in rows)
    assert [r["script"] for r in json.loads(out.read_text(encoding="utf-8"))] == ["bench_cache"]
