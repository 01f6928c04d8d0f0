"""Routers: send each request to one model, and say which and why.

The predicates a :class:`RuleRouter` matches on are in :mod:`orchestra_lab.strategies.predicates`.
"""

from __future__ import annotations

import inspect
import math
import re
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._answer_key import choice_task
from .._template import fill, require_slots
from .._thresholds import SharePick, threshold_for_share
from ..models.base import Model
from ..streaming import Emit, shifted
from ..types import Request, Response, as_request
from .base import Strategy, call, default_temperature
from .embeddings import Embedder, embed_texts
from .predicates import Predicate

__all__ = [
    "DEFAULT_ROUTE",
    "ROUTER_PROMPT",
    "Choice",
    "ClassifierRouter",
    "LLMRouter",
    "Route",
    "Router",
    "RuleRouter",
    "SemanticRouter",
    "ThresholdRouter",
    "parse_choice",
    "route_table",
]

# -- routes and the router base ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A named destination: the model, a description (for :class:`LLMRouter`) and example utterances
    (for :class:`SemanticRouter`).

    >>> from orchestra_lab import SimulatedModel
    >>> small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    >>> routes = [Route("easy", small, "short factual questions"), Route("hard", large, "proofs")]
    >>> router = ClassifierRouter(lambda p: "hard" if "prove" in p else "easy", routes, default=small)
    >>> router("prove that 2 is prime").served_model, routes[1]
    ('sim/large', Route('hard', 'sim/large'))
    """

    name: str
    model: Model
    description: str = ""
    examples: Sequence[str] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return f"Route({self.name!r}, {self.model.name!r})"


DEFAULT_ROUTE = "default"


def route_table(routes: Mapping[str, Model] | Sequence[Route], owner: str) -> dict[str, Route]:
    """Routes by name, checked: not empty, no duplicate or reserved names, every target a Model."""
    items = [Route(k, v) for k, v in routes.items()] if isinstance(routes, Mapping) else list(routes)
    if not items:
        raise ValueError(f"{owner}.routes: no routes given")
    table: dict[str, Route] = {}
    for i, route in enumerate(items):
        if not isinstance(route, Route):
            raise TypeError(f"{owner}.routes[{i}]: {type(route).__name__} is not a Route")
        if not isinstance(route.model, Model):
            raise TypeError(f"{owner}.routes[{route.name!r}]: {type(route.model).__name__} is not a Model")
        if route.name == DEFAULT_ROUTE:
            raise ValueError(f"{owner}.routes: the name {DEFAULT_ROUTE!r} is reserved for the default model")
        if route.name in table:
            raise ValueError(f"{owner}.routes: duplicate route name {route.name!r}")
        table[route.name] = route
    return table


def _check_default(default: Model | None, owner: str) -> Model:
    if default is None:
        raise ValueError(f"{owner}: a default model is required (used when no route applies)")
    if not isinstance(default, Model):
        raise TypeError(f"{owner}.default: {type(default).__name__} is not a Model")
    return default


@dataclass(slots=True)
class Choice:
    """A router's pick: the decision label, the model, why, and how long deciding took."""

    label: str
    model: Model
    reason: str
    latency_s: float = 0.0


class Router(Strategy):
    """Base of routers: :meth:`choose` picks one model, which then answers; latency = deciding + answering."""

    default: Model

    async def choose(self, request: Request) -> Choice:
        raise NotImplementedError

    def _acomplete(self, request: Request) -> Coroutine[Any, Any, Response]:
        return self._route(request, None)  # the coroutine itself: no extra frame per call

    def _astream(self, request: Request, emit: Emit) -> Coroutine[Any, Any, Response]:
        return self._route(request, emit)

    async def _route(self, request: Request, emit: Emit | None) -> Response:
        """Decide, then answer with the chosen model (streamed after the decision time, given ``emit``)."""
        choice = await self.choose(request)
        outcome = await call(choice.model, request, None if emit is None else shifted(emit, choice.latency_s))
        latency = choice.latency_s + outcome.latency_s
        if outcome.response is None:
            raise self._fail(
                f"{choice.reason}; {choice.model.name} failed ({outcome.describe_error()})",
                causes=[outcome.error] if outcome.error else [],
                latency_s=latency,
                decision=choice.label,
            )
        return self._respond(outcome.response, latency_s=latency, decision=choice.label, reason=choice.reason)

    def _route_choice(
        self, table: Mapping[str, Route], name: str | None, reason: str, latency_s: float = 0.0
    ) -> Choice:
        if name is None:
            return Choice(DEFAULT_ROUTE, self.default, reason, latency_s)
        return Choice(name, table[name].model, reason, latency_s)


# -- routers ----------------------------------------------------------------------------------------------------


class RuleRouter(Router):
    """The first rule whose predicate matches picks the model; none matching -> ``default``.

    ``rules`` are ``(predicate, model)`` pairs; a predicate is any ``request -> bool`` callable, e.g.
    :class:`~.predicates.Keywords`, :class:`~.predicates.PromptRegex`, :class:`~.predicates.PromptLength`,
    :class:`~.predicates.Script`, :class:`~.predicates.Metadata`.
    The row's decision is the chosen model's name and the reason names the matching rule.

    >>> from orchestra_lab import CallLog, SimulatedModel, answer_key
    >>> from orchestra_lab.strategies import Keywords, RuleRouter, Script
    >>> small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    >>> hindi = SimulatedModel.profile("sim/medium")
    >>> router = RuleRouter([(Script("Devanagari"), hindi), (Keywords("prove", "derive"), large)], default=small)
    >>> with CallLog() as log, answer_key(expected="नई दिल्ली"):
    ...     r = router("भारत की राजधानी क्या है?")
    >>> r.served_model, log.to_frame().query("kind == 'strategy'")[["decision", "reason"]].iloc[0].tolist()
    ('sim/medium', ['sim/medium', "rule 1 matched: Script('Devanagari')"])
    """

    def __init__(self, rules: Sequence[tuple[Predicate, Model]], *, default: Model, name: str | None = None) -> None:
        self.rules = list(rules)
        for i, rule in enumerate(self.rules, 1):
            if not (isinstance(rule, tuple) and len(rule) == 2 and callable(rule[0]) and isinstance(rule[1], Model)):
                raise TypeError(f"RuleRouter.rules[{i - 1}]: expected a (predicate, model) pair, got {rule!r}")
        self.default = _check_default(default, "RuleRouter")
        self.name = name or "rule-router"

    def branches(self) -> list[tuple[str, Model]]:
        return [(repr(p), m) for p, m in self.rules] + [(DEFAULT_ROUTE, self.default)]

    async def choose(self, request: Request) -> Choice:
        for i, (predicate, model) in enumerate(self.rules, 1):
            if predicate(request):
                return Choice(model.name, model, f"rule {i} matched: {predicate!r}")
        return Choice(self.default.name, self.default, "no rule matched: default")


class ClassifierRouter(Router):
    """A classifier names the route: any callable ``prompt -> route name``, or a scikit-learn-style estimator
    (``.predict([text])``). An unknown name goes to ``default``.

    >>> from orchestra_lab import SimulatedModel
    >>> small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    >>> router = ClassifierRouter(lambda p: "hard" if "prove" in p else "easy",
    ...                           {"easy": small, "hard": large}, default=small)
    >>> router("prove that 2 is prime").served_model
    'sim/large'
    """

    def __init__(
        self,
        classifier: Callable[[str], str] | Any,
        routes: Mapping[str, Model] | Sequence[Route],
        *,
        default: Model,
        name: str | None = None,
    ) -> None:
        if not (callable(classifier) or hasattr(classifier, "predict")):
            raise TypeError("ClassifierRouter.classifier: give a callable prompt -> route or an object with .predict")
        self.classifier = classifier
        self.routes = routes
        self._table = route_table(routes, "ClassifierRouter")
        self.default = _check_default(default, "ClassifierRouter")
        self.name = name or "classifier-router"

    def branches(self) -> list[tuple[str, Model]]:
        return [(n, r.model) for n, r in self._table.items()] + [(DEFAULT_ROUTE, self.default)]

    async def choose(self, request: Request) -> Choice:
        if hasattr(self.classifier, "predict"):
            predicted = self.classifier.predict([request.prompt])[0]
        else:
            predicted = self.classifier(request.prompt)
            if inspect.isawaitable(predicted):
                predicted = await predicted
        label = str(predicted)
        if label in self._table:
            return self._route_choice(self._table, label, f"classifier predicted {label!r}")
        return self._route_choice(self._table, None, f"classifier predicted {label!r}, not a route: default")


class SemanticRouter(Router):
    """The route whose example utterance is nearest the prompt (cosine similarity of embeddings) -- if that
    similarity reaches ``threshold``; else ``default``. Example embeddings are computed once, on first use.

    >>> from orchestra_lab import SimulatedModel
    >>> from orchestra_lab.strategies import HashingEmbeddings
    >>> small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    >>> router = SemanticRouter(
    ...     [Route("math", large, examples=["solve the equation", "integrate x squared"]),
    ...      Route("chat", small, examples=["hello how are you", "tell me a joke"])],
    ...     embedder=HashingEmbeddings(), default=small, threshold=0.3)
    >>> router("please solve this equation: x + 2 = 5").served_model
    'sim/large'
    """

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        embedder: Embedder,
        default: Model,
        threshold: float = 0.5,
        name: str | None = None,
    ) -> None:
        self.routes = list(routes)
        self._table = route_table(self.routes, "SemanticRouter")
        empty = [n for n, r in self._table.items() if not r.examples]
        if empty:
            raise ValueError(f"SemanticRouter.routes: route(s) {empty} have no example utterances")
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"SemanticRouter.threshold: {threshold!r} is outside the cosine range [-1, 1]")
        self.embedder = embedder
        self.default = _check_default(default, "SemanticRouter")
        self.threshold = threshold
        self.name = name or "semantic-router"
        self._examples: list[tuple[str, str]] = [(n, e) for n, r in self._table.items() for e in r.examples]
        self._matrix: np.ndarray | None = None

    def branches(self) -> list[tuple[str, Model]]:
        return [(n, r.model) for n, r in self._table.items()] + [(DEFAULT_ROUTE, self.default)]

    async def _example_matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = _unit_rows(await embed_texts(self.embedder, [e for _, e in self._examples]))
        return self._matrix

    async def choose(self, request: Request) -> Choice:
        matrix = await self._example_matrix()
        t0 = time.perf_counter()
        query = _unit_rows(await embed_texts(self.embedder, [request.prompt]))[0]
        elapsed = time.perf_counter() - t0
        similarities = matrix @ query
        best = int(np.argmax(similarities))
        route, example = self._examples[best]
        score = float(similarities[best])
        if score >= self.threshold:
            reason = f"nearest example {example!r} of route {route!r}: cosine {score:.3f} >= {self.threshold:g}"
            return self._route_choice(self._table, route, reason, elapsed)
        reason = f"nearest example {example!r} of route {route!r}: cosine {score:.3f} < {self.threshold:g}: default"
        return self._route_choice(self._table, None, reason, elapsed)


def _unit_rows(vectors: Any) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"embedder returned an array of shape {matrix.shape}; expected one vector per text")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


ROUTER_PROMPT = """You are a router. Pick the route that should handle the request below.

Routes:
{menu}

Reply with the route name only.

Request:
{prompt}"""


class LLMRouter(Router):
    """A (cheap) model reads a menu of described routes and names one; a pick we cannot read -> ``default``.

    The router model's request names its task, the route names (:func:`~orchestra_lab._answer_key.choice_task`),
    is its own child row, and its latency adds to the chosen model's.

    >>> from orchestra_lab import SimulatedModel
    >>> tiny, small, large = (SimulatedModel.profile(p) for p in ("sim/tiny", "sim/small", "sim/large"))
    >>> router = LLMRouter(tiny, [Route("easy", small, "short factual questions"),
    ...                           Route("hard", large, "proofs and multi-step reasoning")], default=small)
    >>> router("Prove that there are infinitely many primes.").served_model in {"sim/small", "sim/large"}
    True
    """

    def __init__(
        self,
        router: Model,
        routes: Sequence[Route],
        *,
        default: Model,
        prompt: str = ROUTER_PROMPT,
        name: str | None = None,
    ) -> None:
        if not isinstance(router, Model):
            raise TypeError(f"LLMRouter.router: {type(router).__name__} is not a Model")
        self.router = router
        self.routes = list(routes)
        self._table = route_table(self.routes, "LLMRouter")
        self.default = _check_default(default, "LLMRouter")
        self.prompt = require_slots(prompt, ("menu", "prompt"), "LLMRouter.prompt")
        self.name = name or "llm-router"

    def branches(self) -> list[tuple[str, Model]]:
        routes = [(n, r.model) for n, r in self._table.items()]
        return [("router", self.router), *routes, (DEFAULT_ROUTE, self.default)]

    def router_request(self, request: Request) -> Request:
        """What the router model is asked: the menu and the prompt, with only the route names as metadata."""
        menu = "\n".join(f"- {n}: {r.description}" if r.description else f"- {n}" for n, r in self._table.items())
        text = fill(self.prompt, menu=menu, prompt=request.prompt)
        return Request.of(
            text,
            item_id=request.item_id,
            metadata=choice_task(list(self._table)),
            temperature=default_temperature(request),
        )

    async def choose(self, request: Request) -> Choice:
        outcome = await call(self.router, self.router_request(request))
        if outcome.response is None:
            reason = f"router {self.router.name} failed ({outcome.describe_error()}): default"
            return self._route_choice(self._table, None, reason, outcome.latency_s)
        answer = outcome.response.text
        picked = parse_choice(answer, list(self._table))
        if picked is None:
            reason = f"router answer {answer[:80]!r} names no route: default"
            return self._route_choice(self._table, None, reason, outcome.latency_s)
        reason = f"router {self.router.name} picked {picked!r}"
        return self._route_choice(self._table, picked, reason, outcome.latency_s)


def parse_choice(text: str, names: Sequence[str]) -> str | None:
    """The route a free-text answer names: an exact name, a case-insensitive one, or the first name found inside
    the text (longest name first at the same place); ``None`` if none.

    >>> parse_choice("I'd pick **Math** here.", ["math", "chat"])
    'math'
    """
    stripped = text.strip().strip("`'\"*.: ")
    if stripped in names:
        return stripped
    lowered = {n.lower(): n for n in names}
    if stripped.lower() in lowered:
        return lowered[stripped.lower()]
    hits = []
    for name in names:
        match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        if match:
            hits.append((match.start(), -len(name), name))
    return min(hits)[2] if hits else None


class ThresholdRouter(Router):
    """``score(request) >= threshold`` -> ``strong``, else ``weak`` (e.g. score = predicted difficulty).

    :meth:`calibrated` returns a copy whose threshold sends a target share of requests to the strong model.

    >>> from orchestra_lab import Request, SimulatedModel
    >>> predicted = lambda r: r.metadata["predicted_difficulty"]
    >>> router = ThresholdRouter(predicted, strong=SimulatedModel.profile("sim/large"),
    ...                          weak=SimulatedModel.profile("sim/small"))
    >>> items = [Request.of(f"q{i}", metadata={"predicted_difficulty": i / 10}) for i in range(10)]
    >>> router.calibrated(items, strong_share=0.3).threshold, router.threshold
    (0.7, 0.5)
    """

    _changed_by: ClassVar[Mapping[str, str]] = {"threshold": "use calibrated(data, strong_share) or build a new one"}

    def __init__(
        self,
        score: Callable[[Request], float],
        *,
        strong: Model,
        weak: Model,
        threshold: float = 0.5,
        name: str | None = None,
    ) -> None:
        if not callable(score):
            raise TypeError("ThresholdRouter.score: give a callable request -> float")
        if not math.isfinite(threshold):
            raise ValueError(f"ThresholdRouter.threshold: {threshold!r} is not a finite number")
        for role, model in (("strong", strong), ("weak", weak)):
            if not isinstance(model, Model):
                raise TypeError(f"ThresholdRouter.{role}: {type(model).__name__} is not a Model")
        self.score = score
        self.strong = strong
        self.weak = weak
        self.threshold = threshold
        self.name = name or "threshold-router"
        self.default = weak

    def branches(self) -> list[tuple[str, Model]]:
        return [("strong", self.strong), ("weak", self.weak)]

    async def choose(self, request: Request) -> Choice:
        s = float(self.score(request))
        if s >= self.threshold:
            return Choice("strong", self.strong, f"score {s:.3f} >= threshold {self.threshold:.3f}")
        return Choice("weak", self.weak, f"score {s:.3f} < threshold {self.threshold:.3f}")

    def calibrated(self, data: Sequence[Request | str], strong_share: float = 0.3) -> ThresholdRouter:
        """A copy whose threshold sends the achievable share of ``data`` (requests or prompts) closest to
        ``strong_share`` to ``strong`` (the rule of :func:`~orchestra_lab._thresholds.threshold_for_share`, which
        warns when tied scores make the share unreachable); the copy's :attr:`calibration` says what it achieved."""
        if not 0.0 <= strong_share <= 1.0:
            raise ValueError(f"calibrated.strong_share: {strong_share!r} is not between 0 and 1")
        scores = [float(v) for v in map(self.score, map(as_request, data))]
        pick = threshold_for_share(scores, strong_share)
        router = ThresholdRouter(
            self.score, strong=self.strong, weak=self.weak, threshold=pick.threshold, name=self.name
        )
        router._calibration = pick
        return router

    @property
    def calibration(self) -> SharePick | None:
        """The threshold and the share of the calibration data it sends to ``strong`` (``None`` if not calibrated).

        >>> from orchestra_lab import SimulatedModel
        >>> large, small = SimulatedModel.profile("sim/large"), SimulatedModel.profile("sim/small")
        >>> router = ThresholdRouter(lambda r: len(r.prompt), strong=large, weak=small)
        >>> router.calibrated(["a", "bb"], strong_share=0.25).calibration.share  # .5 item: the larger share wins
        0.5
        """
        return getattr(self, "_calibration", None)
