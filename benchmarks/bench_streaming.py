"""Streaming overhead: time to first token (TTFT) and throughput of streamed answers, against a bare httpx client.

The local OpenAI-compatible server (``_server.py``, its own process) streams answers of 200 one-token
server-sent events (then a usage chunk) through:

  (a) a raw ``httpx.AsyncClient.stream`` posting the same JSON, parsing each event and joining the deltas (the floor);
  (b) ``OpenAICompatible.astream`` (one call-log row per stream);
  (c) ``Fallback([primary, backup]).astream`` over two ``OpenAICompatible`` models, inside a ``CallLog`` (two rows
      per stream: fallback, leaf).

TTFT is timed by the consumer: from the call to its first answer text, as a chat user sees it. Each round runs the
variants in rotated order through three phases; figures are medians, and ratios to raw httpx the median of the
ratios paired in time (the same window or round), so that the shared machine's drift cancels:

1. **Saturated** (throughput): ``--windows`` windows per round of ``--requests`` streams at ``--concurrency`` with
   zero think time, the variants rotated window by window (one long phase per variant, as before, left each
   variant at the mercy of the minute it ran in: the same code measured 0.67x and 1.24x raw httpx's CPU per
   stream). The client's event loop is the bottleneck, so streams/s is judged here (target >= 0.9x raw httpx).
   TTFT here is information only: it is the time a stream's first read waits in the loop's queue behind the other
   streams' reads, so it grows with every microsecond of CPU a stream costs and swings by tens of ms.
2. **Unloaded**: ``--unloaded`` streams one at a time (zero think time): the TTFT a variant adds on an idle loop.
3. **Paced** (TTFT, judged): ``--paced-requests`` streams at ``--concurrency``, the server pacing each like a real
   provider (``--think-ms`` to the first token, then ``--token-ms`` per token; every variant asks for it with the
   same ``_server.Pacing`` headers). The workers' first streams start spread over one stream's duration, as users
   arrive, instead of all at the same instant. A chat user at this concurrency meets a loop with room to spare
   (the client's CPU load, CPU s per wall s, is printed to show it), so TTFT measures what the layer adds before
   the first token, not queueing. TTFT p50/p95 count the streams started once every worker is running (the
   ramp-up left out); the CPU load is over that same steady window. Target: added TTFT p50 (the variant's p50 less
   raw httpx's, same round; median over rounds) <= 1 ms.

    python benchmarks/bench_streaming.py            # 3 rounds: 8 x 200 saturated + 256 paced streams, concurrency 64
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
from _server import STREAM_TOKEN, STREAM_TOKENS, Pacing
from bench_live_overhead import bench_server

from orchestra_lab import CallLog, OpenAICompatible, Price, Request
from orchestra_lab.strategies import Fallback

PROMPT = "Count to two hundred."
ANSWER = STREAM_TOKEN * STREAM_TOKENS
PRICE = Price(0.15, 0.60, "benchmark")
RAW = "a_raw_httpx"
UNPACED = Pacing()

# one stream: its answer text, and the seconds from the call to the first answer text
Stream = Callable[[int], Awaitable[tuple[str, float]]]


@dataclass
class Variant:
    """One way of streaming (unpaced and paced), and its measurements (one per round)."""

    key: str
    label: str
    stream: Stream
    paced: Stream
    close: Callable[[], Awaitable[None]] | None = None
    rates: list[float] = field(default_factory=list)
    ttft_p50_ms: list[float] = field(default_factory=list)
    cpu_per_stream_us: list[float] = field(default_factory=list)
    unloaded_ttft_p50_ms: list[float] = field(default_factory=list)
    rows_per_call: list[float] = field(default_factory=list)
    paced_ttft_p50_ms: list[float] = field(default_factory=list)
    paced_ttft_p95_ms: list[float] = field(default_factory=list)
    paced_cpu_load: list[float] = field(default_factory=list)


def raw_httpx(url: str, pacing: Pacing) -> Variant:
    client = httpx.AsyncClient()  # httpx's default limits; each variant has a client (a pool) of its own
    endpoint = f"{url}/v1/chat/completions"
    body = {
        "model": "bench-model",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    def streaming(headers: dict[str, str]) -> Stream:
        async def stream(i: int) -> tuple[str, float]:
            t0 = time.perf_counter()
            ttft = None
            pieces = []
            async with client.stream("POST", endpoint, json=body, headers=headers) as response:
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

        return stream

    return Variant(
        RAW,
        "(a) raw httpx.AsyncClient.stream",
        streaming(UNPACED.headers()),
        streaming(pacing.headers()),
        client.aclose,
    )


def local_model(url: str, model: str, pacing: Pacing, client: httpx.AsyncClient) -> OpenAICompatible:
    return OpenAICompatible(
        model,
        base_url=f"{url}/v1",
        api_key_env=None,
        price=PRICE,
        name=f"bench/{model}",
        headers=pacing.headers(),
        client=client,
    )


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


def single_model(url: str, pacing: Pacing) -> Variant:
    client = httpx.AsyncClient()  # a pool of its own, as raw httpx has: no variant inherits another's connections

    def model(p: Pacing) -> Stream:
        return through(local_model(url, "bench-model", p, client))

    return Variant("b_openai_compatible", "(b) OpenAICompatible.astream", model(UNPACED), model(pacing), client.aclose)


def fallback(url: str, pacing: Pacing) -> Variant:
    client = httpx.AsyncClient()

    def strategy(p: Pacing) -> Stream:
        members = [local_model(url, "bench-primary", p, client), local_model(url, "bench-backup", p, client)]
        return through(Fallback(members))

    return Variant(
        "c_fallback",
        "(c) Fallback([primary, backup]).astream, call log on",
        strategy(UNPACED),
        strategy(pacing),
        client.aclose,
    )


# -- running -----------------------------------------------------------------------------------------------------


def checked(i: int, text: str) -> None:
    if text != ANSWER:
        raise AssertionError(f"stream {i} answered {len(text)} characters, expected {len(ANSWER)}")


def clocks() -> tuple[float, float]:
    """(wall seconds, process CPU seconds) now."""
    return time.perf_counter(), time.process_time()


async def drive(stream: Stream, n: int, concurrency: int) -> tuple[float, float, list[float]]:
    """Make ``n`` streams with ``concurrency`` workers; returns (wall seconds, process CPU seconds, each TTFT)."""
    todo = iter(range(n))
    ttfts: list[float] = []

    async def worker() -> None:
        for i in todo:
            text, ttft = await stream(i)
            checked(i, text)
            ttfts.append(ttft)

    t0, cpu0 = clocks()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    t1, cpu1 = clocks()
    return t1 - t0, cpu1 - cpu0, ttfts


async def drive_paced(stream: Stream, n: int, concurrency: int, period_s: float) -> tuple[float, list[float]]:
    """Make ``n`` paced streams with ``concurrency`` workers, the w-th starting ``w * period_s / concurrency`` in.

    Returns the client's CPU load (CPU s per wall s) and the TTFTs of the streams, both over the steady window: from
    the start of the ``concurrency``-th stream (every worker running) until a worker finds no stream left to make.
    """
    todo = iter(range(n))
    ttfts: list[float] = []
    window: list[tuple[float, float]] = []  # clocks() at its start and at its end

    async def worker(w: int) -> None:
        await asyncio.sleep(w * period_s / concurrency)
        for i in todo:
            if i == concurrency - 1:
                window.append(clocks())
            text, ttft = await stream(i)
            checked(i, text)
            if i >= concurrency:
                ttfts.append(ttft)
        if len(window) == 1:
            window.append(clocks())

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    (t0, cpu0), (t1, cpu1) = window
    return (cpu1 - cpu0) / (t1 - t0), ttfts


async def measure_saturated(variant: Variant, n: int, concurrency: int) -> None:
    """One window of the saturated phase: ``n`` streams at ``concurrency``."""
    with CallLog() as log:
        wall, cpu, ttfts = await drive(variant.stream, n, concurrency)
    variant.rates.append(n / wall)
    variant.ttft_p50_ms.append(statistics.median(ttfts) * 1e3)
    variant.cpu_per_stream_us.append(cpu / n * 1e6)
    variant.rows_per_call.append(len(log) / n)


async def measure_unloaded(variant: Variant, n: int, windows: int) -> None:
    """The unloaded phase, and the round's saturated windows summed up in one line."""
    _, _, unloaded = await drive(variant.stream, n, 1)
    variant.unloaded_ttft_p50_ms.append(statistics.median(unloaded) * 1e3)
    rate, p50, cpu = (statistics.median(xs[-windows:]) for xs in (variant.rates, variant.ttft_p50_ms,
                                                                   variant.cpu_per_stream_us))  # fmt: skip
    print(
        f"  {variant.label:<56} {fmt(rate):>6} streams/s  TTFT p50 (queueing) {fmt(p50):>6} ms  "
        f"{fmt(cpu):>6} us CPU/stream  unloaded TTFT p50 {fmt(variant.unloaded_ttft_p50_ms[-1])} ms",
        flush=True,
    )


async def measure_paced(variant: Variant, n: int, concurrency: int, period_s: float) -> None:
    with CallLog():
        load, ttfts = await drive_paced(variant.paced, n, concurrency, period_s)
    p50, p95 = statistics.median(ttfts) * 1e3, percentile_95(ttfts) * 1e3
    variant.paced_ttft_p50_ms.append(p50)
    variant.paced_ttft_p95_ms.append(p95)
    variant.paced_cpu_load.append(load)
    print(
        f"  {variant.label:<56} TTFT p50 {fmt(p50):>6} ms  p95 {fmt(p95):>6} ms  client CPU load {load:.0%}",
        flush=True,
    )


def percentile_95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def run(variants: list[Variant], pacing: Pacing, args: argparse.Namespace) -> None:
    n, concurrency, rounds, warmup = args.requests, args.concurrency, args.rounds, args.warmup
    for variant in variants:  # connections opened, code warm
        await drive(variant.stream, warmup, min(concurrency, warmup))
        await drive(variant.paced, warmup, min(concurrency, warmup))
    for r in range(rounds):
        order = rotated(variants, r)
        print(f"round {r + 1}/{rounds}, saturated: {args.windows} windows of {n} streams of {STREAM_TOKENS} tokens "
              f"at concurrency {concurrency}, no think time (medians of the round's windows)", flush=True)  # fmt: skip
        for w in range(args.windows):
            for variant in rotated(variants, r * args.windows + w):
                await measure_saturated(variant, n, concurrency)
        for variant in order:
            await measure_unloaded(variant, args.unloaded, args.windows)
        print(f"round {r + 1}/{rounds}, paced: {args.paced_requests} streams at concurrency {concurrency}, "
              f"think {pacing.think_ms:g} ms, {pacing.token_ms:g} ms/token", flush=True)  # fmt: skip
        for variant in order:
            await measure_paced(variant, args.paced_requests, concurrency, pacing.duration_s)
    for variant in variants:
        if variant.close is not None:
            await variant.close()


def rotated(variants: list[Variant], k: int) -> list[Variant]:
    """The variants in the order that starts with the ``k``-th (mod their number)."""
    k %= len(variants)
    return variants[k:] + variants[:k]


# -- figures -----------------------------------------------------------------------------------------------------


def added(variant: list[float], raw: list[float]) -> float:
    """The median of the variant's figure less raw httpx's in the same window or round."""
    return statistics.median(a - b for a, b in zip(variant, raw, strict=True))


def figures(variants: list[Variant], report: Report) -> None:
    raw = variants[0]
    for v in variants:
        for key, label, samples, base, unit in (
            ("ttft_p50_ms", "TTFT p50, saturated loop (queueing)", v.ttft_p50_ms, raw.ttft_p50_ms, "ms"),
            ("streams_per_s", "streams/s, saturated loop", v.rates, raw.rates, "streams/s"),
            ("cpu_per_stream_us", "client CPU per stream", v.cpu_per_stream_us, raw.cpu_per_stream_us, "us/stream"),
            ("paced_ttft_p50_ms", "TTFT p50, paced streams", v.paced_ttft_p50_ms, raw.paced_ttft_p50_ms, "ms"),
            ("paced_ttft_p95_ms", "TTFT p95, paced streams", v.paced_ttft_p95_ms, raw.paced_ttft_p95_ms, "ms"),
            ("paced_cpu_load", "client CPU load, paced streams", v.paced_cpu_load, raw.paced_cpu_load, "CPU s/s"),
        ):
            value = statistics.median(samples)
            target = Target(">=", 0.9, on="ratio") if key == "streams_per_s" and v is not raw else None
            ratio = statistics.median(a / b for a, b in zip(samples, base, strict=True))  # paired by round
            report.add(
                Figure(f"streaming.{v.key}.{key}", f"{v.label}: {label}", value, unit, ratio, "raw httpx", target)
            )
        report.note(
            f"{v.label}: streams/s {median_and_spread(v.rates)}, saturated TTFT p50 ms "
            f"{median_and_spread(v.ttft_p50_ms)}, paced TTFT p50 ms {median_and_spread(v.paced_ttft_p50_ms)}, "
            f"p95 ms {median_and_spread(v.paced_ttft_p95_ms)}, paced CPU load {median_and_spread(v.paced_cpu_load)}, "
            f"{statistics.median(v.rows_per_call):g} log rows/stream"
        )
    for v in variants[1:]:
        report.add(
            Figure(
                f"streaming.{v.key}.added_ttft_p50_ms",
                f"{v.label}: TTFT p50 added to raw httpx's (same round), paced streams",
                added(v.paced_ttft_p50_ms, raw.paced_ttft_p50_ms),
                "ms",
                target=Target("<=", 1.0),
            )
        )
        for suffix, label, samples, base in (
            ("_saturated", "saturated loop (queueing)", v.ttft_p50_ms, raw.ttft_p50_ms),
            ("_unloaded", "one stream at a time", v.unloaded_ttft_p50_ms, raw.unloaded_ttft_p50_ms),
        ):
            report.add(Figure(f"streaming.{v.key}.added_ttft_p50_ms{suffix}",
                              f"{v.label}: TTFT p50 added to raw httpx's (same round), {label}", added(samples, base),
                              "ms"))  # fmt: skip
        report.note(
            f"{v.label}: paced TTFT p95 added to raw httpx's (same round) "
            f"{fmt(added(v.paced_ttft_p95_ms, raw.paced_ttft_p95_ms))} ms"
        )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200, help="saturated streams per variant per window")
    p.add_argument("--windows", type=int, default=8, help="saturated windows per round (variants rotated by window)")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=64, help="untimed streams per variant and phase first")
    p.add_argument("--unloaded", type=int, default=100, help="streams one at a time per variant per round")
    p.add_argument("--paced-requests", type=int, default=256, help="paced streams per variant per round")
    p.add_argument("--think-ms", type=float, default=20.0, help="paced: the server's time to first token")
    p.add_argument("--token-ms", type=float, default=10.0, help="paced: the server's time per token after that")
    args = p.parse_args()
    if args.quick:
        args.requests, args.concurrency, args.rounds, args.warmup, args.unloaded, args.windows = 16, 4, 1, 4, 4, 2
        args.paced_requests, args.token_ms = 8, 1.0
    if args.paced_requests <= args.concurrency:
        p.error("--paced-requests must exceed --concurrency (TTFT is counted once every worker is running)")
    pacing = Pacing(args.think_ms, args.token_ms)
    report = start("bench_streaming", args)
    report.note(versions("httpx", "uvicorn", "starlette", "httptools"))
    with bench_server(lifetime_s=60 if args.quick else 900) as url:
        variants = [raw_httpx(url, pacing), single_model(url, pacing), fallback(url, pacing)]
        asyncio.run(run(variants, pacing, args))
    figures(variants, report)
    report.write(args.json)


if __name__ == "__main__":
    main()
