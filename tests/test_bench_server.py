"""The streaming benchmark's server (benchmarks/_server.py): pacing asked for per request, same bytes either way.

Timing is not asserted here (the machine is noisy); the schedule is checked as numbers and the server's answers as
bytes, against the real server process on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

SERVER = Path(__file__).resolve().parents[1] / "benchmarks" / "_server.py"
STREAM_BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None,
    reason="bench extra not installed",
)


@pytest.fixture(scope="module")
def server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_server_module", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--lifetime", "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1/chat/completions"
    finally:
        proc.terminate()
        proc.wait(10)


def test_writes_are_scheduled_think_time_then_a_batch_of_tokens_apart(server: ModuleType) -> None:
    pacing = server.Pacing(think_ms=30, token_ms=2)
    offsets = pacing.write_offsets()
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offsets)}
    assert len(offsets) == len(server.STREAM_WRITES)
    assert offsets[0] == pytest.approx(0.030) and gaps == {round(2 * server.STREAM_BATCH / 1e3, 9)}
    assert pacing.duration_s == offsets[-1]


@pytest.mark.parametrize("think_ms, token_ms", [(-1, 0), (0, -0.5), (math.nan, 0), (0, math.inf)])
def test_pacing_refuses_what_is_not_a_duration(server: ModuleType, think_ms: float, token_ms: float) -> None:
    with pytest.raises(ValueError, match="milliseconds"):
        server.Pacing(think_ms, token_ms)


def test_no_pacing_sends_no_headers_and_reads_back_as_none(server: ModuleType) -> None:
    assert server.Pacing().headers() == {}
    assert server.Pacing.from_headers({}) == server.Pacing()
    assert server.Pacing.from_headers(server.Pacing(0, 5).headers()) == server.Pacing(0, 5)


def test_a_paced_stream_carries_the_same_bytes_as_an_unpaced_one(server: ModuleType, url: str) -> None:
    expected = b"".join(server.STREAM_WRITES)
    with httpx.Client() as client:
        unpaced = client.post(url, json=STREAM_BODY)
        paced = client.post(url, json=STREAM_BODY, headers=server.Pacing(think_ms=5, token_ms=0.1).headers())
    assert unpaced.status_code == paced.status_code == 200
    assert unpaced.content == paced.content == expected


@pytest.mark.parametrize("value", ["soon", "-3", "nan"])
def test_a_bad_pacing_header_gets_a_400(server: ModuleType, url: str, value: str) -> None:
    with httpx.Client() as client:
        response = client.post(url, json=STREAM_BODY, headers={server.THINK_HEADER: value})
    assert response.status_code == 400
    assert "think" in response.text or "float" in response.text
