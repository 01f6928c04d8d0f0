"""The main job: ``orchestra-lab demo`` runs offline, prints the comparison, writes the report, and is repeatable."""

from __future__ import annotations

from orchestra_lab import _demo
from orchestra_lab.experiments import Results


def test_demo_prints_the_comparison_writes_the_report_and_is_deterministic(tmp_path, capsys):
    assert _demo.main(["--out", str(tmp_path / "a")]) == 0
    first = capsys.readouterr().out
    for name in ("sim/small", "sim/large", "router 30% large", "cascade small>medium>large", "vote 3x medium"):
        assert name in first
    assert (tmp_path / "a" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "a" / "frontier.png").read_bytes().startswith(b"\x89PNG")

    summary = Results.load(tmp_path / "a" / "run").summary()
    cascade, large, medium = (summary.loc[k] for k in ("cascade small>medium>large", "sim/large", "sim/medium"))
    assert cascade.cost_usd_per_item < large.cost_usd_per_item  # the cascade saves money...
    assert cascade.score_mean > medium.score_mean  # ...and beats the middle model: something worth showing

    assert _demo.main(["--out", str(tmp_path / "b"), "--no-report"]) == 0
    second = capsys.readouterr().out
    table = [line for line in first.splitlines() if "%" in line]
    assert table == [line for line in second.splitlines() if "%" in line]  # same table on a fresh run
