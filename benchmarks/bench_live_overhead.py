"""Orchestration overhead on live HTTP calls: how close orchestra_lab gets to a bare httpx client, and to LiteLLM.

A local OpenAI-compatible server (uvicorn + starlette, ``_server.py``, its own process, zero think time) answers
``--requests`` chat completions at ``--concurrency`` through:

  (a) a raw ``httpx.AsyncClient`` posting the same JSON and reading the answer (the floor);
  (b) ``OpenAICompatible`` (one call-log row per call);
  (c) ``Fallback([RuleRouter([(Keywords(...), large)], default=small), backup])`` over three ``OpenAICompatible``
      models, inside a ``CallLog`` (three rows per call: fallback, router, leaf);
  (d) LiteLLM's ``Router`` with a fallback configured (``fallbacks=[{"primary": ["backup"]}]``), when ``litellm``
      is installed.

Variants run in rotated order for ``--rounds`` rounds; figures are medians over rounds. Throughput is judged as a
ratio to (a) measured in the same run; client CPU time per call (``time.process_time``) is the steadier figure on a
shared machine. Targets: (c) >= 0.9x (a), and (c) >= 2x (d).

    python benchmarks/bench_live_overhead.py            # 2,000 requests at concurrency 64, 2 rounds
    python benchmarks/bench_live_overhead.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
from _common import BENCH_DIR, Figure, Report, Target, fmt, median_and_spread, parser, python, start, versions

from orchestra_lab import CallLog, OpenAICompatible, Price, Request
from orchestra_lab.strategies import Fallback, Keywords, RuleRouter

PROMPT = "What is 17 + 25?"
ANSWER = "42"
PRICE = Price(0.15, 0.60, "benchmark")
RAW = "a_raw_httpx"

Call = Callable[[int], Awaitable[str]]


@dataclass
class Variant:
    """One way of making the call, and its measurements (one per round)."""

    key: str
    label: str
    call: Call
    logged: bool = False
    close: Callable[[], Awaitable[None]] | None = None
    rates: list[float] = field(default_factory=list)
    cpu_per_call: list[float] = field(default_factory=list)
    rows_per_call: list[float] = field(default_factory=list)


@contextlib.contextmanager
def bench_server(lifetime_s: float) -> Iterator[str]:
    """Start ``_server.py`` in its own process; yields its base URL and stops it on exit."""
    proc = subprocess.Popen(
        [python(), str(BENCH_DIR / "_server.py"), "--lifetime", str(lifetime_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server did not start (said {line!r}, exit code {proc.poll()})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the variants ------------------------------------------------------------------------------------------------


def raw_httpx(url: str) -> Variant:
    client = httpx.AsyncClient()  # httpx's default limits, the same orchestra_lab uses
    endpoint = f"{url}/v1/chat/completions"

    async def call(i: int) -> str:
        body = {"model": "bench-model", "messages": [{"role": "user", "content": PROMPT}]}
        response = await client.post(endpoint, json=body)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return Variant(RAW, "(a) raw httpx.AsyncClient", call, close=client.aclose)


def local_model(url: str, model: str) -> OpenAICompatible:
    return OpenAICompatible(model, base_url=f"{url}/v1", api_key_env=None, price=PRICE, name=f"bench/{model}")


def single_model(url: str) -> Variant:
    model = local_model(url, "bench-model")

    async def call(i: int) -> str:
        return (await model.acomplete(Request.of(PROMPT, item_id=str(i)))).text

    return Variant("b_openai_compatible", "(b) OpenAICompatible", call, logged=True)


def fallback_router(url: str) -> Variant:
    small, large, backup = (local_model(url, m) for m in ("bench-small", "bench-large", "bench-backup"))
    strategy = Fallback([RuleRouter([(Keywords("prove", "derive"), large)], default=small), backup])

    async def call(i: int) -> str:
        return (await strategy.acomplete(Request.of(PROMPT, item_id=str(i)))).text

    return Variant("c_fallback_router", "(c) Fallback([RuleRouter, backup]), call log on", call, logged=True)


def litellm_router(url: str) -> Variant:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download at import
    import litellm

    logging.getLogger("LiteLLM").setLevel(logging.ERROR)  # custom-pricing notices for the made-up model names
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    local = {
        "api_base": f"{url}/v1",
        "api_key": "not-a-key",  # the local server checks nothing; LiteLLM insists on some value
        "input_cost_per_token": PRICE.input_per_1m / 1e6,
        "output_cost_per_token": PRICE.output_per_1m / 1e6,
    }
    router = litellm.Router(
        model_list=[
            {"model_name": "primary", "litellm_params": {"model": "openai/bench-small", **local}},
            {"model_name": "backup", "litellm_params": {"model": "openai/bench-backup", **local}},
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
    )

    async def call(i: int) -> str:
        response = await router.acompletion(model="primary", messages=[{"role": "user", "content": PROMPT}])
        return response.choices[0].message.content

    return Variant("d_litellm_router", "(d) LiteLLM Router with fallback", call)


def litellm_missing() -> str | None:
    """Why LiteLLM cannot be measured, or None if it can."""
    from importlib.util import find_spec

    return None if find_spec("litellm") is not None else "litellm is not installed (pip install litellm)"


# -- running -----------------------------------------------------------------------------------------------------


async def drive(call: Call, n: int, concurrency: int) -> tuple[float, float]:
    """Make ``n`` calls with ``concurrency`` workers; returns (wall seconds, process CPU seconds)."""
    todo = iter(range(n))

    async def worker() -> None:
        for i in todo:
            text = await call(i)
            if text != ANSWER:
                raise AssertionError(f"call {i} answered {text!r}, expected {ANSWER!r}")

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, time.process_time() - cpu0


async def served(stats: httpx.AsyncClient, url: str) -> int:
    return (await stats.get(f"{url}/stats")).json()["served"]


async def measure(variant: Variant, n: int, concurrency: int, stats: httpx.AsyncClient, url: str) -> None:
    before = await served(stats, url)
    with CallLog() as log:
        wall, cpu = await drive(variant.call, n, concurrency)
    answered = await served(stats, url) - before
    if answered != n:
        raise AssertionError(f"{variant.label}: the server answered {answered} requests for {n} calls")
    variant.rates.append(n / wall)
    variant.cpu_per_call.append(cpu / n * 1e6)
    variant.rows_per_call.append(len(log) / n)
    print(f"  {variant.label:<52} {fmt(n / wall):>7} calls/s  {fmt(cpu / n * 1e6):>6} us CPU/call", flush=True)


async def run(url: str, variants: list[Variant], args: argparse.Namespace) -> None:
    n, concurrency, rounds, warmup = args.requests, args.concurrency, args.rounds, args.warmup
    async with httpx.AsyncClient() as stats:
        for variant in variants:
            await drive(variant.call, warmup, min(concurrency, warmup))
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}: {n} requests at concurrency {concurrency}", flush=True)
            for variant in variants[r % len(variants) :] + variants[: r % len(variants)]:
                await measure(variant, n, concurrency, stats, url)
    for variant in variants:
        if variant.close is not None:
            await variant.close()


def figures(variants: list[Variant], report: Report) -> None:
    by_key = {v.key: v for v in variants}
    raw_rate = statistics.median(by_key[RAW].rates)
    raw_cpu = statistics.median(by_key[RAW].cpu_per_call)
    for v in variants:
        rate, cpu = statistics.median(v.rates), statistics.median(v.cpu_per_call)
        target = Target(">=", 0.9, on="ratio") if v.key == "c_fallback_router" else None
        report.add(
            Figure(f"live.{v.key}", f"{v.label}: calls/s", rate, "calls/s", rate / raw_rate, "raw httpx", target)
        )
        report.add(
            Figure(f"live.{v.key}.cpu", f"{v.label}: client CPU per call", cpu, "us/call", cpu / raw_cpu, "raw httpx")
        )
        rows = f", {statistics.median(v.rows_per_call):g} log rows/call" if v.logged else ""
        report.note(f"{v.label}: calls/s median (min-max) {median_and_spread(v.rates)}{rows}")
    if "d_litellm_router" in by_key:
        ours = statistics.median(by_key["c_fallback_router"].rates)
        theirs = statistics.median(by_key["d_litellm_router"].rates)
        report.add(
            Figure(
                "live.c_vs_litellm",
                "(c) throughput over LiteLLM Router's",
                ours / theirs,
                "x",
                ours / theirs,
                "LiteLLM Router",
                Target(">=", 2.0, on="ratio"),
            )
        )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="requests per variant per round")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmup", type=int, default=100, help="untimed requests per variant first")
    p.add_argument("--no-litellm", action="store_true", help="skip (d) even if litellm is installed")
    args = p.parse_args()
    if args.quick:
        args.requests, args.concurrency, args.rounds, args.warmup = 40, 8, 1, 8
    report = start("bench_live_overhead", args)
    report.note(versions("httpx", "uvicorn", "starlette", "httptools", "litellm"))
    skip = "--no-litellm given" if args.no_litellm else litellm_missing()
    if skip:
        report.note(f"(d) LiteLLM Router skipped: {skip}")
    with bench_server(lifetime_s=60 if args.quick else 900) as url:
        variants = [raw_httpx(url), single_model(url), fallback_router(url)]
        if not skip:
            variants.append(litellm_router(url))
        asyncio.run(run(url, variants, args))
    figures(variants, report)
    report.write(args.json)


if __name__ == "__main__":
    main()
