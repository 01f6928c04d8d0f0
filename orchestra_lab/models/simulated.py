"""Deterministic simulated models: the offline default that runs anywhere, with no key and no sleeping.

A simulated model has a price, a latency profile and a *skill*. Dataset items carry a *difficulty*; whether a
model is right on an item is drawn from ``P(right) = sigmoid(8 * (skill - difficulty))`` through a Gaussian copula
whose shared part depends on the item only, so correctness is correlated across models: a stronger model is right
on a superset of a weaker one's items more often than not -- which gives routing and cascades something real to
exploit. Everything is a pure function of (model name, seed, item, attempt), so the same seed gives the same run.

The truth a simulated model needs (the expected answer, the difficulty) is never in the request: it reads the
answer key of the item being run (an :class:`~orchestra_lab.experiments.run.Experiment` sets it for each item;
:func:`~orchestra_lab.answer_key` sets it by hand). Acting as a judge, it works out the right verdict from that key.

>>> from orchestra_lab import SimulatedModel, answer_key
>>> small = SimulatedModel.profile("sim/small")
>>> with answer_key("q1", expected=42, difficulty=0.1):
...     r = small.complete("What is 17 + 25?", item_id="q1")
>>> r.text, r.source
('42', 'simulated')
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, ClassVar

from .._answer_key import AnswerKey, active_key, task_key
from ..calllog.context import current_span
from ..errors import BadResponseError, CallTimeoutError, RateLimitError, ServerError
from ..pricing import Price
from ..streaming import Emit, text_pieces
from ..types import Request, Response, StreamChunk, Usage, estimate_tokens, render_answer
from .base import Model

__all__ = ["PROFILES", "Faults", "LatencyProfile", "SimulatedModel", "profiles"]

_NORMAL = NormalDist()
_SHARPNESS = 8.0  # how steeply P(right) falls as difficulty passes skill
_CORRELATION = 0.85  # weight of the item-only latent in each model's draw


@dataclass(frozen=True, slots=True)
class Faults:
    """Rates (0-1, per call) at which a simulated model fails instead of answering.

    ``malformed`` calls are billed (the model produced tokens we could not use); the others are not.

    >>> Faults(rate_limit=0.1, server_error=0.05).total
    0.15000000000000002
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    timeout: float = 0.0
    malformed: float = 0.0
    retry_after_s: float = 1.0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        for field_name in ("rate_limit", "server_error", "timeout", "malformed"):
            rate = getattr(self, field_name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"Faults.{field_name}: {rate!r} is not a rate between 0 and 1")
        if self.total > 1.0 + 1e-9:
            raise ValueError(f"Faults: rates add up to {self.total:.3f}, more than 1")

    @property
    def total(self) -> float:
        return self.rate_limit + self.server_error + self.timeout + self.malformed


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """Latency = ttft + per_token * output_tokens, each scaled by a log-normal spread."""

    ttft_s: float
    per_token_s: float
    spread: float = 0.25


class SimulatedModel(Model):
    """A deterministic stand-in for an LLM; see the module docstring for how answers are drawn.

    It answers the item's expected answer (from the answer key) when right and a plausible wrong answer of the
    same kind (a nearby number, another choice, a JSON object with one field off) when wrong. Without an expected
    answer it picks one of the key's ``choices`` (a router's routes, say), else returns a deterministic placeholder.
    It never sleeps unless ``realtime=True``: latency is computed and reported.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> with answer_key("q2", expected=42, difficulty=0.5):
    ...     [SimulatedModel.profile(p)("What is 17 + 25?", item_id="q2").text for p in ("sim/tiny", "sim/large")]
    ['-42', '42']
    >>> with answer_key("c1", choices=["red", "blue"]):
    ...     SimulatedModel.profile("sim/large")("Pick a colour", item_id="c1").text
    'blue'
    """

    provider = "simulated"
    source = "simulated"
    _changed_by: ClassVar[Mapping[str, str]] = {"faults": "use with_faults(...)"}

    def __init__(
        self,
        name: str,
        *,
        skill: float,
        price: Price,
        latency: LatencyProfile,
        output_tokens: int = 60,
        seed: int = 0,
        faults: Faults = Faults(),
        realtime: bool = False,
    ) -> None:
        if not name.startswith("sim/"):
            raise ValueError(
                f"simulated model name {name!r} must start with 'sim/' so logs can never pass it off as real"
            )
        if not 0.0 <= skill <= 1.0:
            raise ValueError(f"skill: {skill!r} is not between 0 and 1")
        self.name = name
        self.skill = skill
        self.price = price
        self.latency = latency
        self.output_tokens = output_tokens
        self.seed = seed
        self.faults = faults
        self.realtime = realtime

    @classmethod
    def profile(cls, name: str, **overrides: Any) -> SimulatedModel:
        """One of the shipped profiles (see :func:`profiles`), with any constructor argument overridden.

        >>> SimulatedModel.profile("sim/large", seed=3).seed
        3
        """
        try:
            base = PROFILES[name]
        except KeyError:
            raise ValueError(f"unknown simulated profile {name!r}; choose from {sorted(PROFILES)}") from None
        return cls(name, **(base | overrides))

    def _change(self, name: str) -> str:
        return self._changed_by.get(name) or f"use SimulatedModel.profile(name, {name}=...)"

    def with_faults(self, **rates: float) -> SimulatedModel:
        """A copy that fails at the given rates, e.g. ``m.with_faults(rate_limit=0.2)``."""
        return type(self)(**(self.get_config() | {"faults": replace(self.faults, **rates)}))

    async def _acomplete(self, request: Request) -> Response:
        response = self._respond(request)
        if self.realtime:
            await asyncio.sleep(response.latency_s or 0.0)
        return response

    async def _astream(self, request: Request, emit: Emit) -> Response:
        """A virtual stream: the first token at the profile's TTFT, the rest at its per-token pace (both with this
        call's latency spread); computed, or slept through when ``realtime``."""
        response = self._respond(request)
        chunks = self._virtual_chunks(response)
        started = time.perf_counter()
        for chunk in chunks:
            if self.realtime:
                await asyncio.sleep(max(0.0, chunk.t - (time.perf_counter() - started)))
            emit(chunk)
        if self.realtime:
            await asyncio.sleep(max(0.0, (response.latency_s or 0.0) - (time.perf_counter() - started)))
        return response

    def _virtual_chunks(self, response: Response) -> list[StreamChunk]:
        latency = response.latency_s or 0.0
        tokens = response.usage.output_tokens or 1
        ttft = latency * self.latency.ttft_s / (self.latency.ttft_s + self.latency.per_token_s * tokens)
        response.ttft_s = ttft
        pieces = text_pieces(response.text, tokens)
        step = (latency - ttft) / len(pieces) if pieces else 0.0
        return [StreamChunk(piece, "answer", ttft + i * step) for i, piece in enumerate(pieces)]

    def _estimated_cost(self, usage: Usage) -> float | None:
        return self.price.cost(usage.input_tokens, usage.output_tokens)

    def _respond(self, request: Request) -> Response:
        """The answer drawn for ``request`` (or the failure drawn for it, raised), with its computed latency."""
        seed = self.seed if request.seed is None else request.seed
        key = _item_key(request)
        span = current_span()
        attempt = span.attempt if span is not None else 1
        input_tokens = sum(estimate_tokens(m.content) for m in request.messages)
        output_tokens = self._output_tokens(seed, key, request.max_tokens)
        latency = self._latency(seed, key, output_tokens)
        cost = self.price.cost(input_tokens, output_tokens)
        self._maybe_fail(seed, key, attempt, latency, cost, Usage(input_tokens, output_tokens))
        text, correct, confidence = self._answer(seed, key, _truth(request))
        return Response(
            text,
            requested_model=self.name,
            served_model=self.name,
            provider=self.provider,
            source=self.source,
            usage=Usage(input_tokens, output_tokens),
            cost_usd=cost,
            latency_s=latency,
            meta={"confidence": confidence, "simulated_correct": correct},
        )

    # -- draws -------------------------------------------------------------------------------------------------
    def _u(self, seed: int, key: str, *parts: object) -> float:
        return _uniform(self.name, seed, key, *parts)

    def _output_tokens(self, seed: int, key: str, max_tokens: int | None) -> int:
        z = _NORMAL.inv_cdf(_clip(self._u(seed, key, "out")))
        tokens = max(1, round(self.output_tokens * math.exp(0.3 * z)))
        return min(tokens, max_tokens) if max_tokens else tokens

    def _latency(self, seed: int, key: str, output_tokens: int) -> float:
        z = _NORMAL.inv_cdf(_clip(self._u(seed, key, "lat")))
        spread = math.exp(self.latency.spread * z)
        return (self.latency.ttft_s + self.latency.per_token_s * output_tokens) * spread

    def _maybe_fail(self, seed: int, key: str, attempt: int, latency: float, cost: float, usage: Usage) -> None:
        f = self.faults
        if f.total == 0.0:
            return
        u = self._u(seed, key, "fault", attempt)
        common = {"provider": self.provider, "model": self.name}
        if u < f.rate_limit:
            raise RateLimitError(
                "simulated 429: rate limited", retry_after=f.retry_after_s, status=429, latency_s=0.05, **common
            )
        u -= f.rate_limit
        if u < f.server_error:
            status = (500, 502, 503)[int(u / f.server_error * 3) % 3]
            raise ServerError(
                f"simulated {status}: server error", status=status, latency_s=self.latency.ttft_s, **common
            )
        u -= f.server_error
        if u < f.timeout:
            raise CallTimeoutError(f"simulated timeout after {f.timeout_s:g}s", latency_s=f.timeout_s, **common)
        u -= f.timeout
        if u < f.malformed:
            raise BadResponseError(
                "simulated malformed output", latency_s=latency, cost_usd=cost, usage=usage, **common
            )

    def p_correct(self, difficulty: float) -> float:
        """Probability that this model is right on an item of the given difficulty (0-1)."""
        return 1.0 / (1.0 + math.exp(-_SHARPNESS * (self.skill - difficulty)))

    def _answer(self, seed: int, key: str, truth: AnswerKey | None) -> tuple[str, bool | None, float]:
        difficulty = _difficulty(truth, key)
        p = self.p_correct(difficulty)
        z = _CORRELATION * _NORMAL.inv_cdf(_clip(_uniform("item", key))) + math.sqrt(
            1 - _CORRELATION**2
        ) * _NORMAL.inv_cdf(_clip(self._u(seed, key, "private")))
        correct = _NORMAL.cdf(z) < p
        confidence = round(min(0.99, max(0.01, p + 0.3 * (self._u(seed, key, "conf") - 0.5))), 3)
        choices = list(truth.choices or []) if truth is not None else []
        if truth is not None and truth.expected is not None:
            expected = truth.expected
            text = render_answer(expected) if correct else _wrong_answer(expected, choices, self._u(seed, key, "wrong"))
            return text, correct, confidence
        if choices:
            return choices[int(self._u(seed, key, "pick") * len(choices))], None, confidence
        return f"[{self.name}] simulated answer #{int(self._u(seed, key, 'text') * 10_000):04d}", None, confidence


# skill, price (USD/1M in, out), latency, typical output tokens
PROFILES: dict[str, dict[str, Any]] = {
    "sim/tiny": {
        "skill": 0.25,
        "price": Price(0.05, 0.20, "simulated", ""),
        "latency": LatencyProfile(0.12, 0.004),
        "output_tokens": 30,
    },
    "sim/small": {
        "skill": 0.45,
        "price": Price(0.15, 0.60, "simulated", ""),
        "latency": LatencyProfile(0.25, 0.006),
        "output_tokens": 50,
    },
    "sim/medium": {
        "skill": 0.62,
        "price": Price(0.60, 2.40, "simulated", ""),
        "latency": LatencyProfile(0.40, 0.012),
        "output_tokens": 80,
    },
    "sim/large": {
        "skill": 0.78,
        "price": Price(2.50, 10.00, "simulated", ""),
        "latency": LatencyProfile(0.60, 0.020),
        "output_tokens": 120,
    },
    "sim/frontier": {
        "skill": 0.90,
        "price": Price(10.00, 40.00, "simulated", ""),
        "latency": LatencyProfile(1.00, 0.030),
        "output_tokens": 200,
    },
}


def profiles() -> list[str]:
    """Names of the shipped simulated profiles, cheapest and weakest first."""
    return list(PROFILES)


def _item_key(request: Request) -> str:
    return request.item_id if request.item_id is not None else request.prompt


def _uniform(*parts: object) -> float:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _clip(u: float) -> float:
    return min(max(u, 1e-12), 1 - 1e-12)


def _truth(request: Request) -> AnswerKey | None:
    """What the model knows the right reply is: the key of the judge task the request names, else the item's."""
    item = active_key(request.item_id)
    judged = task_key(request.metadata, item)
    return item if judged is None else judged


def _difficulty(truth: AnswerKey | None, key: str) -> float:
    """The key's difficulty in [0, 1], or a level 1-5 (mapped to 0.1 ... 0.9); else drawn from the item."""
    value = truth.difficulty if truth is not None else None
    if value is None:
        return _uniform("difficulty", key)
    d = float(value)
    return (d - 0.5) / 5 if d > 1 else d


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LETTER = re.compile(r"^[A-Ea-e]$")


def _wrong_answer(expected: Any, choices: list[str], u: float) -> str:
    """A plausible wrong answer of the same kind as ``expected``; ``u`` picks which of a few common mistakes."""
    others = [c for c in choices if c != render_answer(expected)]
    if others:
        return others[int(u * len(others))]
    text = render_answer(expected)
    if _NUMBER.match(text):
        return _wrong_number(text, u)
    if _LETTER.match(text):
        letters = [c for c in "ABCD" if c != text.upper()]
        return letters[int(u * len(letters))]
    parsed = _as_json_object(expected)
    if parsed is not None:
        return _wrong_json(parsed, u)
    words = text.split()
    if len(words) > 1:
        drop = int(u * len(words))
        return " ".join(words[:drop] + words[drop + 1 :])
    return "unknown" if text.lower() != "unknown" else "none"


def _wrong_number(text: str, u: float) -> str:
    value = float(text)
    is_int = "." not in text
    slips = [value + 1, value - 1, value * 10, value + 10, -value if value else 1.0, value / 2]
    wrong = slips[int(u * len(slips))]
    if wrong == value:
        wrong = value + 1
    if is_int:
        return str(round(wrong))
    return f"{wrong:.{len(text.split('.')[1])}f}"


def _as_json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _wrong_json(obj: dict[str, Any], u: float) -> str:
    if not obj:
        return json.dumps({"error": "unknown"})
    keys = sorted(obj)
    key = keys[int(u * len(keys))]
    wrong = dict(obj)
    value = obj[key]
    if isinstance(value, bool):
        wrong[key] = not value
    elif isinstance(value, (int, float)):
        wrong[key] = value + 1
    elif value is None:
        wrong[key] = "unknown"
    else:
        wrong[key] = None
    return json.dumps(wrong, sort_keys=True, ensure_ascii=False)
