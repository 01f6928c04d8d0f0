"""Streaming overhead: time to first token (TTFT) and throughput of streamed answers, against a bare httpx client.

The local OpenAI-compatible server (``_server.py``, its own process, zero think time) streams ``--requests``
answers of 200 one-token server-sent events (then a usage chunk) at ``--concurrency`` through:

  (a) a raw ``httpx.AsyncClient.stream`` posting the same JSON, parsing each event and joining the deltas (the floor);
  (b) ``OpenAICompatible.astream`` (one call-log row per stream);
  (c) ``Fallback([primary, backup]).astream`` over two ``OpenAICompatible`` models, inside a ``CallLog`` (two rows
      per stream: fallback, leaf).

TTFT is timed by the consumer: from the call to its first answer text, as a chat user sees it. At concurrency 64
with zero think time the client's event loop is saturated, so TTFT there is mostly queueing and grows with the CPU
each stream costs; each round therefore also streams ``--unloaded`` answers one at a time, whose TTFT is the latency
a variant adds before the first token on an idle loop. Variants run in rotated order for ``--rounds`` rounds;
figures are medians over rounds. Targets: added TTFT p50 (variant's p50 less raw httpx's, same round) <= 1 ms, and
streams/s >= 0.9x raw httpx.

    python benchmarks/bench_streaming.py            # 1,000 streams at concurrency 64, 3 rounds
    python benchmarks/bench_streaming.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from _common import Figure, Report, Target, fmt, median_and_spread, parser, start, versions
from _server import STREAM_TOKEN, STREAM_TOKENS
from bench_live_overhead import bench_server

from orchestra_lab import CallLog, OpenAICompatible, Price, Request
from orchestra_lab.strategies import Fallback

PROMPT = "Count to two hundred."
ANSWER = STREAM_TOKEN * STREAM_TOKENS
PRICE = Price(0.15, 0.60, "benchmark")
RAW = "a_raw_httpx"

# one stream: its answer text, and the seconds from the call to the first answer text
Stream = Callable[[int], Awaitable[tuple[str, float]]]


@dataclass
class Variant:
    """One way of streaming, and its measurements (one per round)."""

    key: str
    label: str
    stream: Stream
    close: Callable[[], Awaitable[None]] | None = None
    rates: list[float] = field(default_factory=list)
    ttft_p50_ms: list[float] = field(default_factory=list)
    cpu_per_stream_us: list[float] = field(default_factory=list)
    unloaded_ttft_p50_ms: list[float] = field(default_factory=list)
    rows_per_call: list[float] = field(default_factory=list)


def raw_httpx(url: str) -> Variant:
    client = httpx.AsyncClient()  # httpx's default limits, the same orchestra_lab uses
    endpoint = f"{url}/v1/chat/completions"
    body = {
        "model": "bench-model",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    async def stream(i: int) -> tuple[str, float]:
        t0 = time.perf_counter()
        ttft = None
        pieces = []
        async with client.stream("POST", endpoint, json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:])["choices"]:
                    text = choice["delta"].get("content")
                    if text:
                        ttft = time.perf_counter() - t0 if ttft is None else ttft
                        pieces.append(text)
        return "".join(pieces), ttft if ttft is not None else float("nan")

    return Variant(RAW, "(a) raw httpx.AsyncClient.stream", stream, close=client.aclose)


def local_model(url: str, model: str) -> OpenAICompatible:
    return OpenAICompatible(model, base_url=f"{url}/v1", api_key_env=None, price=PRICE, name=f"bench/{model}")


def through(model: OpenAICompatible | Fallback) -> Stream:
    """Stream ``model``'s answer as a consumer does: ``async for chunk in model.astream(...)``."""

    async def stream(i: int) -> tuple[str, float]:
        t0 = time.perf_counter()
        ttft = None
        pieces = []
        async for chunk in model.astream(Request.of(PROMPT, item_id=str(i))):
            if chunk.kind == "answer" and chunk.text:
                ttft = time.perf_counter() - t0 if ttft is None else ttft
                pieces.append(chunk.text)
        return "".join(pieces), ttft if ttft is not None else float("nan")

    return stream


def single_model(url: str) -> Variant:
    return Variant("b_openai_compatible", "(b) OpenAICompatible.astream", through(local_model(url, "bench-model")))


def fallback(url: str) -> Variant:
    strategy = Fallback([local_model(url, "bench-primary"), local_model(url, "bench-backup")])
    return Variant("c_fallback", "(c) Fallback([primary, backup]).astream, call log on", through(strategy))


# -- running -----------------------------------------------------------------------------------------------------


async def drive(stream: Stream, n: int, concurrency: int) -> tuple[float, float, list[float]]:
    """Make ``n`` streams with ``concurrency`` workers; returns (wall seconds, process CPU seconds, each TTFT)."""
    todo = iter(range(n))
    ttfts: list[float] = []

    async def worker() -> None:
        for i in todo:
            text, ttft = await stream(i)
            if text != ANSWER:
                raise AssertionError(f"stream {i} answered {len(text)} characters, expected {len(ANSWER)}")
            ttfts.append(ttft)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, time.process_time() - cpu0, ttfts


async def measure(variant: Variant, n: int, concurrency: int, unloaded_n: int) -> None:
    with CallLog() as log:
        wall, cpu, ttfts = await drive(variant.stream, n, concurrency)
    p50 = statistics.median(ttfts) * 1e3
    variant.rates.append(n / wall)
    variant.ttft_p50_ms.append(p50)
    variant.cpu_per_stream_us.append(cpu / n * 1e6)
    variant.rows_per_call.append(len(log) / n)
    _, _, unloaded = await drive(variant.stream, unloaded_n, 1)
    variant.unloaded_ttft_p50_ms.append(statistics.median(unloaded) * 1e3)
    print(
        f"  {variant.label:<56} {fmt(n / wall):>6} streams/s  TTFT p50 {fmt(p50):>6} ms  "
        f"{fmt(cpu / n * 1e6):>6} us CPU/stream  unloaded TTFT p50 {fmt(variant.unloaded_ttft_p50_ms[-1])} ms",
        flush=True,
    )


async def run(variants: list[Variant], args: argparse.Namespace) -> None:
    n, concurrency, rounds, warmup = args.requests, args.concurrency, args.rounds, args.warmup
    for variant in variants:
        await drive(variant.stream, warmup, min(concurrency, warmup))  # connections opened, code warm
    for r in range(rounds):
        print(f"round {r + 1}/{rounds}: {n} streams of {STREAM_TOKENS} tokens at concurrency {concurrency}", flush=True)
        for variant in variants[r % len(variants) :] + variants[: r % len(variants)]:
            await measure(variant, n, concurrency, args.unloaded)
    for variant in variants:
        if variant.close is not None:
            await variant.close()


def figures(variants: list[Variant], report: Report) -> None:
    raw = variants[0]
    raw_rate, raw_ttft = statistics.median(raw.rates), statistics.median(raw.ttft_p50_ms)
    raw_cpu = statistics.median(raw.cpu_per_stream_us)
    for v in variants:
        rate, ttft = statistics.median(v.rates), statistics.median(v.ttft_p50_ms)
        cpu = statistics.median(v.cpu_per_stream_us)
        judged = v.key != RAW
        report.add(Figure(f"streaming.{v.key}.ttft_p50_ms", f"{v.label}: TTFT p50", ttft, "ms", ttft / raw_ttft,
                          "raw httpx"))  # fmt: skip
        report.add(
            Figure(
                f"streaming.{v.key}.streams_per_s",
                f"{v.label}: streams/s",
                rate,
                "streams/s",
                rate / raw_rate,
                "raw httpx",
                Target(">=", 0.9, on="ratio") if judged else None,
            )
        )
        report.add(Figure(f"streaming.{v.key}.cpu_per_stream_us", f"{v.label}: client CPU per stream", cpu,
                          "us/stream", cpu / raw_cpu, "raw httpx"))  # fmt: skip
        report.note(
            f"{v.label}: streams/s {median_and_spread(v.rates)}, TTFT p50 ms {median_and_spread(v.ttft_p50_ms)}, "
            f"{statistics.median(v.rows_per_call):g} log rows/stream"
        )
    for v in variants[1:]:
        added = statistics.median(a - b for a, b in zip(v.ttft_p50_ms, raw.ttft_p50_ms, strict=True))
        report.add(
            Figure(
                f"streaming.{v.key}.added_ttft_p50_ms",
                f"{v.label}: TTFT p50 added to raw httpx's (same round)",
                added,
                "ms",
                target=Target("<=", 1.0),
            )
        )
        unloaded = statistics.median(
            a - b for a, b in zip(v.unloaded_ttft_p50_ms, raw.unloaded_ttft_p50_ms, strict=True)
        )
        report.add(
            Figure(
                f"streaming.{v.key}.added_ttft_p50_ms_unloaded",
                f"{v.label}: TTFT p50 added to raw httpx's, one stream at a time",
                unloaded,
                "ms",
            )
        )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1000, help="streams per variant per round")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=64, help="untimed streams per variant first")
    p.add_argument("--unloaded", type=int, default=100, help="streams one at a time per variant per round")
    args = p.parse_args()
    if args.quick:
        args.requests, args.concurrency, args.rounds, args.warmup, args.unloaded = 16, 4, 1, 4, 4
    report = start("bench_streaming", args)
    report.note(versions("httpx", "uvicorn", "starlette", "httptools"))
    with bench_server(lifetime_s=60 if args.quick else 900) as url:
        variants = [raw_httpx(url), single_model(url), fallback(url)]
        asyncio.run(run(variants, args))
    figures(variants, report)
    report.write(args.json)


if __name__ == "__main__":
    main()
