"""Ensembles: ask several models at once and combine their answers.

Members run concurrently; a failed member is left out of the combination (its row shows the failure and this
row's reason names it), but a refusal by the spend cap stops the ensemble (it is raised, not voted around).
Latency = the slowest member + the aggregation step (a judge, MoA layers).

**Tie-break rule** (all votes): among answers with the same top vote (weights summed as floats are the same when
equal to a relative 1e-9), the one given by the earliest member in the ensemble's order wins, and the reason says a
tie was broken.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._answer_key import pick_task
from .._answers import canonical_answer
from .._judging import parse_pick
from .._template import fill, require_slots
from ..errors import BudgetExceededError, ModelError, StrategyError
from ..models.base import Model
from ..runtime._wrapper import runs_in_computed_time
from ..types import Message, Request, Response, as_request
from .base import Strategy, call, call_all, default_temperature

__all__ = [
    "BEST_OF_PROMPT",
    "MOA_PROMPT",
    "TIE_TOLERANCE",
    "Aggregator",
    "Ballot",
    "BestOfN",
    "Ensemble",
    "MajorityVote",
    "MixtureOfAgents",
    "Verdict",
    "WeightedVote",
    "vote",
]


@dataclass(slots=True)
class Ballot:
    """One member's answer: its position in the ensemble (0-based), the member and its response."""

    index: int
    model: Model
    response: Response


@dataclass(slots=True)
class Verdict:
    """What an aggregator decided: the answer to return, a short decision, why, and its own latency."""

    response: Response
    decision: str
    reason: str
    latency_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


class Aggregator:
    """Base of aggregators: combine the members' ballots (in member order) into one :class:`Verdict`.

    An aggregator that cannot answer raises a :class:`~orchestra_lab.errors.ModelError` whose ``latency_s`` is the
    time it spent.
    """

    def models(self) -> list[tuple[str, Model]]:
        """Models the aggregator calls, labelled."""
        return []

    def check(self, members: Sequence[Model]) -> None:
        """Raise a clear error if this aggregator cannot work with these members."""

    async def aggregate(self, request: Request, ballots: list[Ballot]) -> Verdict:
        raise NotImplementedError


class MajorityVote(Aggregator):
    """Plurality of normalized answers (``"42.0"`` == ``"42"``, ``"(B)"`` == ``"b"``), one vote per member;
    see the module's tie-break rule."""

    def weight(self, ballot: Ballot) -> float:
        return 1.0

    async def aggregate(self, request: Request, ballots: list[Ballot]) -> Verdict:
        return vote(ballots, self.weight)

    def __repr__(self) -> str:
        return "MajorityVote()"


class WeightedVote(MajorityVote):
    """The normalized answer with the most total weight wins (same tie-break rule).

    ``weights`` is one weight per member (in order) or a mapping from member name to weight.
    """

    def __init__(self, weights: Sequence[float] | Mapping[str, float]) -> None:
        values = list(weights.values()) if isinstance(weights, Mapping) else list(weights)
        bad = [w for w in values if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0)]
        if bad or not values:
            raise ValueError(f"WeightedVote.weights: need non-negative finite numbers, got {weights!r}")
        self.weights = weights

    def check(self, members: Sequence[Model]) -> None:
        if isinstance(self.weights, Mapping):
            missing = sorted({m.name for m in members} - set(self.weights))
            if missing:
                raise ValueError(f"WeightedVote.weights: no weight for member(s) {missing}")
        elif len(self.weights) != len(members):
            raise ValueError(f"WeightedVote.weights: {len(self.weights)} weights for {len(members)} members")

    def weight(self, ballot: Ballot) -> float:
        if isinstance(self.weights, Mapping):
            return float(self.weights[ballot.model.name])
        return float(self.weights[ballot.index])

    def __repr__(self) -> str:
        return f"WeightedVote({self.weights!r})"


TIE_TOLERANCE = 1e-9  # relative: vote totals this close are tied (0.1 + 0.2 and 0.3 are the same weight)


def vote(ballots: list[Ballot], weight_of: Callable[[Ballot], float]) -> Verdict:
    """Weighted plurality over normalized answers; totals equal within :data:`TIE_TOLERANCE` (relative) are a tie,
    and ties go to the answer of the earliest member."""
    totals: dict[str, float] = {}
    first: dict[str, Ballot] = {}
    for ballot in ballots:
        key = canonical_answer(ballot.response.text)
        totals[key] = totals.get(key, 0.0) + weight_of(ballot)
        first.setdefault(key, ballot)
    top = max(totals.values())
    tied = [k for k, v in totals.items() if math.isclose(v, top, rel_tol=TIE_TOLERANCE)]
    winner = min(tied, key=lambda k: first[k].index)
    tally = ", ".join(f"{k[:40]!r}: {v:g}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
    reason = f"votes {tally} (of {len(ballots)} answers)"
    if len(tied) > 1:
        reason += f"; tie between {len(tied)} answers broken by the earliest member (#{first[winner].index + 1})"
    return Verdict(first[winner].response, winner[:80], reason, meta={"votes": totals})


BEST_OF_PROMPT = """Here are {count} candidate answers to the question below. Which one is best?
Reply with the best one's number as Best: [n].

Question:
{question}

{candidates}"""


class BestOfN(Aggregator):
    """A judge model reads the numbered candidates and picks the best ("Best: [n]"); a reply naming no candidate,
    or several without one marked best, or a failed judge falls back to :class:`MajorityVote` (deterministic), and
    the reason says why.

    The judge request's metadata names its task (the candidates, as in the prompt), never the right pick: a simulated
    judge works that out from the item's answer key and is right at its skill rate.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> best = Ensemble.self_consistency(SimulatedModel.profile("sim/small"), n=3,
    ...                                  aggregator=BestOfN(SimulatedModel.profile("sim/large")))
    >>> with answer_key("q", expected=42, difficulty=0.3):
    ...     best("What is 7 * 6?", item_id="q").text
    '42'
    """

    def __init__(self, judge: Model, prompt: str = BEST_OF_PROMPT) -> None:
        if not isinstance(judge, Model):
            raise TypeError(f"BestOfN.judge: {type(judge).__name__} is not a Model")
        self.judge = judge
        self.prompt = require_slots(prompt, ("question", "candidates"), "BestOfN.prompt")

    def models(self) -> list[tuple[str, Model]]:
        return [("judge", self.judge)]

    def judge_request(self, request: Request, answers: list[str]) -> Request:
        candidates = "\n\n".join(f"[{i}] {a}" for i, a in enumerate(answers, 1))
        text = fill(self.prompt, count=str(len(answers)), question=request.prompt, candidates=candidates)
        return Request.of(
            text, item_id=request.item_id, metadata=pick_task(answers), temperature=default_temperature(request)
        )

    async def aggregate(self, request: Request, ballots: list[Ballot]) -> Verdict:
        answers = [b.response.text for b in ballots]
        outcome = await call(self.judge, self.judge_request(request, answers))
        if outcome.response is None:
            pick, why = None, f"judge failed ({outcome.describe_error()})"
        else:
            pick, problem = parse_pick(outcome.response.text, len(answers))
            why = f"judge reply {outcome.response.text[:60]!r} {problem}"
        if pick is None:
            fallback = vote(ballots, MajorityVote().weight)
            return Verdict(
                fallback.response,
                fallback.decision,
                f"{why}: majority vote fallback; {fallback.reason}",
                outcome.latency_s,
                fallback.meta,
            )
        chosen = ballots[pick - 1]
        return Verdict(
            chosen.response,
            f"candidate {pick}",
            f"judge {self.judge.name} picked candidate {pick} of {len(answers)} "
            f"(member #{chosen.index + 1}, {chosen.model.name})",
            outcome.latency_s,
        )

    def __repr__(self) -> str:
        return f"BestOfN(judge={self.judge.name!r})"


MOA_PROMPT = """You have been provided with a set of responses from various models to the latest user query.
Synthesize them into a single, high-quality response. Critically evaluate the information: some of it may be
biased or incorrect. Do not simply copy the given answers; give a refined, accurate and complete reply.

Responses from models:
{responses}"""


class MixtureOfAgents(Aggregator):
    """Mixture-of-Agents: the members propose; each further layer of models sees the previous layer's answers
    (as a system message, with the user's messages kept) and answers again; the ``aggregator`` model writes the
    final answer from the last layer's. Latency adds up layer by layer (each layer takes its slowest model).

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> small, medium, large = (SimulatedModel.profile(p) for p in ("sim/small", "sim/medium", "sim/large"))
    >>> moa = Ensemble([small, medium], MixtureOfAgents(large, layers=[[medium]]))
    >>> with answer_key("q", expected=42, difficulty=0.3):
    ...     moa("What is 7 * 6?", item_id="q").served_model
    'sim/large'
    """

    def __init__(self, aggregator: Model, layers: Sequence[Sequence[Model]] = (), prompt: str = MOA_PROMPT) -> None:
        if not isinstance(aggregator, Model):
            raise TypeError(f"MixtureOfAgents.aggregator: {type(aggregator).__name__} is not a Model")
        for i, layer in enumerate(layers):
            if not layer or not all(isinstance(m, Model) for m in layer):
                raise ValueError(f"MixtureOfAgents.layers[{i}]: needs one or more Models")
        self.aggregator = aggregator
        self.layers = [list(layer) for layer in layers]
        self.prompt = require_slots(prompt, ("responses",), "MixtureOfAgents.prompt")

    def models(self) -> list[tuple[str, Model]]:
        refiners = [(f"layer {i} #{j}", m) for i, layer in enumerate(self.layers, 2) for j, m in enumerate(layer, 1)]
        return [*refiners, ("aggregator", self.aggregator)]

    def synthesis_request(self, request: Request, answers: list[str]) -> Request:
        responses = "\n".join(f"{i}. {a}" for i, a in enumerate(answers, 1))
        system = fill(self.prompt, responses=responses)
        kept = tuple(m for m in request.messages if m.role != "system")
        return request.replace(messages=(Message("system", system), *kept))

    async def aggregate(self, request: Request, ballots: list[Ballot]) -> Verdict:
        answers = [b.response.text for b in ballots]
        latency = 0.0
        notes = [f"layer 1: {len(answers)} proposals"]
        for number, layer in enumerate(self.layers, 2):
            ask = self.synthesis_request(request, answers)
            outcomes = await call_all(call(m, ask) for m in layer)
            latency += max(o.latency_s for o in outcomes)
            refined = [o.response.text for o in outcomes if o.response is not None]
            notes.append(f"layer {number}: {len(refined)} of {len(layer)} answered")
            answers = refined or answers
        final = await call(self.aggregator, self.synthesis_request(request, answers))
        latency += final.latency_s
        if final.response is None:
            raise StrategyError(
                f"aggregator {self.aggregator.name} failed ({final.describe_error()})",
                causes=[final.error] if final.error else [],
                latency_s=latency,
            )
        notes.append(f"aggregated by {self.aggregator.name}")
        return Verdict(final.response, f"aggregated by {self.aggregator.name}", "; ".join(notes), latency)

    def __repr__(self) -> str:
        layers = [[m.name for m in layer] for layer in self.layers]
        return f"MixtureOfAgents(aggregator={self.aggregator.name!r}{f', layers={layers}' if layers else ''})"


class Ensemble(Strategy):
    """Members answer concurrently; the ``aggregator`` combines their answers (default :class:`MajorityVote`).

    ``member_params`` optionally sets generation params per member (e.g. seeds); see :meth:`self_consistency`.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> from orchestra_lab.strategies import Ensemble, MajorityVote
    >>> members = [SimulatedModel.profile(p) for p in ("sim/small", "sim/medium", "sim/large")]
    >>> with answer_key("q7", expected=42, difficulty=0.3):
    ...     r = Ensemble(members, MajorityVote())("What is 6 * 7?", item_id="q7")
    >>> r.text
    '42'
    """

    def __init__(
        self,
        members: Sequence[Model],
        aggregator: Aggregator | None = None,
        *,
        member_params: Sequence[Mapping[str, Any]] | None = None,
        name: str | None = None,
    ) -> None:
        self.members = list(members)
        if len(self.members) < 2:
            raise ValueError(f"Ensemble.members: an ensemble needs at least two members, got {len(self.members)}")
        for i, model in enumerate(self.members):
            if not isinstance(model, Model):
                raise TypeError(f"Ensemble.members[{i}]: {type(model).__name__} is not a Model")
        if member_params is not None and len(member_params) != len(self.members):
            raise ValueError(f"Ensemble.member_params: {len(member_params)} entries for {len(self.members)} members")
        self.aggregator = aggregator if aggregator is not None else MajorityVote()
        self.aggregator.check(self.members)
        self.member_params = None if member_params is None else [dict(p) for p in member_params]
        self.name = name or "ensemble"

    @classmethod
    def self_consistency(
        cls,
        model: Model,
        n: int = 5,
        *,
        temperature: float = 0.7,
        seed: int = 0,
        aggregator: Aggregator | None = None,
        name: str | None = None,
    ) -> Ensemble:
        """Self-consistency: ``model`` sampled ``n`` times (seeds ``seed .. seed+n-1`` at ``temperature``), then a
        majority vote -- or another ``aggregator``, e.g. :class:`BestOfN` for best-of-n sampling.

        >>> from orchestra_lab import SimulatedModel, answer_key
        >>> sc = Ensemble.self_consistency(SimulatedModel.profile("sim/medium"), n=5)
        >>> with answer_key("q", expected=144, difficulty=0.5):
        ...     sc("What is 12 * 12?", item_id="q").text
        '144'
        """
        params = [{"seed": seed + i, "temperature": temperature} for i in range(n)]
        return cls([model] * n, aggregator, member_params=params, name=name or f"self-consistency-{n}")

    def branches(self) -> list[tuple[str, Model]]:
        return [(f"#{i}", m) for i, m in enumerate(self.members, 1)] + self.aggregator.models()

    def _member_request(self, index: int, request: Request) -> Request:
        return as_request(request, **self.member_params[index]) if self.member_params else request

    @functools.cached_property
    def _in_computed_time(self) -> bool:
        return runs_in_computed_time(self)  # members never wait: no need for a task each (see call_all)

    async def _acomplete(self, request: Request) -> Response:
        asks = (call(m, self._member_request(i, request)) for i, m in enumerate(self.members))
        outcomes = await call_all(asks, concurrently=not self._in_computed_time)
        members_latency = max(o.latency_s for o in outcomes)
        failures = [
            f"member #{i} {o.model.name} failed ({o.describe_error()})"
            for i, o in enumerate(outcomes, 1)
            if o.response is None
        ]
        ballots = [Ballot(i, o.model, o.response) for i, o in enumerate(outcomes) if o.response is not None]
        causes = [o.error for o in outcomes if o.error is not None]
        if not ballots:
            raise self._fail(
                "every member failed: " + "; ".join(failures), causes=causes, latency_s=members_latency, decision="none"
            )
        try:
            verdict = await self.aggregator.aggregate(request, ballots)
        except BudgetExceededError:
            raise
        except ModelError as err:
            spent = err.latency_s or 0.0
            raise self._fail(
                f"{err}", causes=[*causes, err], latency_s=members_latency + spent, decision="aggregation failed"
            ) from err
        reason = "; ".join([verdict.reason, *failures])
        return self._respond(
            verdict.response,
            latency_s=members_latency + verdict.latency_s,
            decision=verdict.decision,
            reason=reason,
            meta=verdict.meta,
        )
