"""Interrupted experiments resume without paying twice: a child process runs an experiment against the fake
server (which lives in this test process and counts requests per item), is killed midway (SIGKILL, or SIGINT as
from Ctrl-C), and a new child resumes from the same run directory."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from fake_server import FakeProviderServer

from orchestra_lab.experiments import Results

N_ITEMS = 80
KILL_AFTER_REQUESTS = 30

CHILD = textwrap.dedent(
    """
    import sys
    from orchestra_lab import OpenAICompatible, Price
    from orchestra_lab.experiments import Experiment

    url, run_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(n)]
    model = OpenAICompatible("m", base_url=url, api_key_env=None, price=Price(1.0, 2.0))
    results = Experiment(data, {"m": model}, scorer="exact", concurrency=4, run_dir=run_dir, progress=False).run()
    print("finished", len(results.items))
    """
)


def item_of_prompt(prompt: str) -> str:
    return f"q{int(prompt.split()[2])}"


def requests_per_item(server: FakeProviderServer) -> Counter[str]:
    return Counter(item_of_prompt(r.body["messages"][-1]["content"]) for r in server.received)


def finished_items(run_dir: Path) -> list[str]:
    """Item ids of the complete lines of items.jsonl (a torn last line is what a kill can leave)."""
    path = run_dir / "items.jsonl"
    if not path.exists():
        return []
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.endswith("\n"):
            ids.append(json.loads(line)["item_id"])
    return ids


def start_child(script: Path, server: FakeProviderServer, run_dir: Path) -> subprocess.Popen[str]:
    command = [sys.executable, str(script), server.openai_url, str(run_dir), str(N_ITEMS)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_requests(server: FakeProviderServer, child: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 30
    while server.requests < count:
        assert child.poll() is None, f"the child ended early: {child.communicate()}"
        assert time.monotonic() < deadline, "the child made too few requests in 30 s"
        time.sleep(0.005)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_run_resumes_without_asking_any_finished_item_again(sig: signal.Signals, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    run_dir = tmp_path / "run"
    with FakeProviderServer(slow_s=0.04) as server:
        server.set_default("slow")
        child = start_child(script, server, run_dir)
        wait_for_requests(server, child, KILL_AFTER_REQUESTS)
        child.send_signal(sig)
        _, err = child.communicate(timeout=30)
        assert child.returncode != 0
        if sig == signal.SIGINT:
            assert "KeyboardInterrupt" in err

        done_before = finished_items(run_dir)
        asked_before = requests_per_item(server)
        assert 0 < len(done_before) < N_ITEMS
        assert len(set(done_before)) == len(done_before)
        assert set(done_before) <= set(asked_before)

        resumed = start_child(script, server, run_dir)
        out, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
        assert out.strip() == f"finished {N_ITEMS}"

        asked = requests_per_item(server)
    # nothing that had finished was asked again
    assert all(asked[item] == 1 for item in done_before), {i: asked[i] for i in done_before if asked[i] != 1}
    # what was in flight at the kill was asked at most once more; everything else exactly once
    in_flight = set(asked_before) - set(done_before)
    assert len(in_flight) <= 4  # the concurrency
    assert all(asked[item] == (2 if item in in_flight else 1) for item in asked)
    assert set(asked) == {f"q{i}" for i in range(N_ITEMS)}

    results = Results.load(run_dir)
    assert sorted(results.items["item_id"]) == sorted(f"q{i}" for i in range(N_ITEMS))  # each item exactly once
    assert (results.items["status"] == "ok").all()
    assert (results.items["output"] == results.items["expected"].astype(str)).all()
    calls = results.calls
    answered = calls[calls["status"] == "ok"]
    assert set(results.items["call_id"]) <= set(answered["call_id"])
    ok_per_item = answered["item_id"].value_counts()
    assert all(ok_per_item[item] == 1 for item in done_before)
    assert len(calls) <= len(server.received) + len(in_flight)
    cancelled = calls[calls["status"] == "cancelled"]
    if sig == signal.SIGINT:  # Ctrl-C: the calls in flight are logged as cancelled, at no cost
        assert 1 <= len(cancelled) <= 4 and not set(cancelled["item_id"]) & set(done_before)
        assert (cancelled["cost_usd"].fillna(0) == 0).all()
    else:  # a hard kill leaves no trace of the calls in flight
        assert cancelled.empty


def test_resume_after_a_kill_mid_write_drops_the_torn_lines(tmp_path: Path) -> None:
    """A kill while a row was being written leaves a last line without its newline in items.jsonl and calls.jsonl:
    resuming drops both torn lines, re-asks only that unfinished item and leaves files that parse line by line."""
    from orchestra_lab import FunctionModel
    from orchestra_lab.experiments import Experiment

    asked: Counter[str] = Counter()

    def add(prompt: str) -> str:
        asked[prompt] += 1
        return str(int(prompt.split()[2]) + 1000)

    model = FunctionModel(add, name="adder", cost_per_call=0.001)
    data = [{"id": f"q{i}", "input": f"What is {i} + 1000?", "expected": str(i + 1000)} for i in range(10)]
    Experiment(data[:6], {"m": model}, scorer="exact", run_dir=tmp_path, progress=False).run()
    with open(tmp_path / "items.jsonl", "a", encoding="utf-8") as f:
        f.write('{"strategy": "m", "item_id": "q7", "repeat": 0, "output": "10')
    with open(tmp_path / "calls.jsonl", "a", encoding="utf-8") as f:
        f.write('{"run_id": "x", "call_id": "torn", "status": "o')

    with pytest.warns(UserWarning, match="ignoring a partly written last row"):
        results = Experiment(data, {"m": model}, scorer="exact", run_dir=tmp_path, progress=False).run()

    assert sorted(results.items["item_id"]) == sorted(d["id"] for d in data)
    assert set(asked.values()) == {1}  # the six finished items were not asked again
    assert (results.items["score"] == 1.0).all()
    for name in ("items.jsonl", "calls.jsonl"):
        lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
        assert all(json.loads(line) for line in lines)
    assert "torn" not in set(Results.load(tmp_path).calls["call_id"])
    assert math.isclose(results.items["cost_usd"].sum(), 0.01)
