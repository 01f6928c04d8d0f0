"""Cascade (FrugalGPT): ask cheap models first, stop at the first answer good enough for its stage.

Whether an answer is good enough is an :class:`AcceptanceTest`, decided online without the expected answer -- not
to be confused with an experiment's scorers (:mod:`orchestra_lab.experiments.scorers`), which grade answers
afterwards against it. The tests: :class:`SelfConfidence`, :class:`JudgeApproval`, :class:`Agreement` and
:class:`PassesValidators`; each gives an :class:`Acceptance`.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._answer_key import verdict_task
from .._answers import answers_match
from .._judging import parse_confidence, parse_verdict
from .._template import fill, require_slots
from ..models.base import Model
from ..types import Request, Response
from .base import Outcome, Strategy, call, call_all, default_temperature
from .validators import Validator, as_validator, first_rejection

__all__ = [
    "JUDGE_PROMPT",
    "Acceptance",
    "AcceptanceTest",
    "Agreement",
    "Cascade",
    "JudgeApproval",
    "PassesValidators",
    "SelfConfidence",
    "Stage",
    "StageRun",
]


@dataclass(slots=True)
class Acceptance:
    """An acceptance test's result: how acceptable the answer is (0-1, compared with the stage's threshold;
    ``None`` when it could not be assessed: never accepted), why, and the latency the test added."""

    score: float | None
    reason: str
    latency_s: float = 0.0


@dataclass(slots=True)
class StageRun:
    """A stage's answer (or failure), its acceptance, and the stage's latency."""

    outcome: Outcome
    acceptance: Acceptance | None
    latency_s: float


class AcceptanceTest:
    """Decides online, without the expected answer, whether a cascade stage's answer is accepted: the base runs
    the stage's model, then :meth:`score` rates the answer as an :class:`Acceptance`."""

    def models(self) -> list[tuple[str, Model]]:
        """Models the test calls, labelled (a judge, a second opinion...)."""
        return []

    async def run(self, model: Model, request: Request) -> StageRun:
        outcome = await call(model, request)
        if outcome.response is None:
            return StageRun(outcome, None, outcome.latency_s)
        acceptance = await self.score(request, outcome.response)
        return StageRun(outcome, acceptance, outcome.latency_s + acceptance.latency_s)

    async def score(self, request: Request, response: Response) -> Acceptance:
        """How acceptable ``response`` is as the answer to ``request``."""
        raise NotImplementedError


class PassesValidators(AcceptanceTest):
    """Accepts (1) when every validator accepts the answer, else 0 (the reason names the rejection)."""

    def __init__(self, *validators: Validator | Callable[[str], bool | str | None]) -> None:
        if not validators:
            raise ValueError("PassesValidators: give at least one validator")
        self.validators = tuple(as_validator(v) for v in validators)

    async def score(self, request: Request, response: Response) -> Acceptance:
        rejection = first_rejection(self.validators, response.text)
        return Acceptance(1.0, "valid") if rejection is None else Acceptance(0.0, rejection)

    def __repr__(self) -> str:
        return f"PassesValidators({', '.join(map(repr, self.validators))})"


class SelfConfidence(AcceptanceTest):
    """The model's own confidence: ``response.meta["confidence"]`` (a number in [0, 1], or text like ``"90%"``),
    else the last "Confidence: ..." in the answer ("0.8", "9/10", "4 out of 5", "90%", "90"); 0 if neither.

    A confidence outside [0, 1] after scaling, or one that is not a number (``True``, ``"very sure"``), is
    unreadable: never accepted, whatever the threshold (the reason says why).

    >>> import asyncio
    >>> from orchestra_lab import Request, Response
    >>> answer = Response("Paris. Confidence: 9/10", requested_model="any")
    >>> asyncio.run(SelfConfidence().score(Request.of("Capital of France?"), answer))
    Acceptance(score=0.9, reason='confidence in text', latency_s=0.0)
    """

    async def score(self, request: Request, response: Response) -> Acceptance:
        stated = response.meta.get("confidence")
        if stated is None:
            value, problem = parse_confidence(response.text)
            if value is None and problem is None:
                return Acceptance(0.0, "no confidence stated: 0")
            source = "confidence in text"
        else:
            value, problem = _metadata_confidence(stated)
            source = "stated confidence"
        if value is None:
            return Acceptance(None, f"unreadable confidence ({problem}): not accepted")
        return Acceptance(value, source)

    def __repr__(self) -> str:
        return "SelfConfidence()"


def _metadata_confidence(stated: object) -> tuple[float | None, str | None]:
    """A confidence given in metadata: a real number in [0, 1] (bool is not a number), or text read as in answers."""
    if isinstance(stated, str):
        value, problem = parse_confidence(stated, keyed=False)
        if value is None and problem is None:
            return None, f"{stated!r} states no number"
        return value, problem
    if isinstance(stated, bool) or not isinstance(stated, numbers.Real):
        return None, f"{stated!r} is not a number"
    if not 0.0 <= float(stated) <= 1.0:
        return None, f"{stated!r} is outside [0, 1]"
    return float(stated), None


JUDGE_PROMPT = """Rate how likely the answer below is correct and complete, from 0 (surely wrong) to 1 (surely right).
Reply with the number only.

Question:
{question}

Answer:
{answer}"""


class JudgeApproval(AcceptanceTest):
    """A judge model rates the answer 0-1 (its reply parsed; an unreadable reply or a failed judge is never
    accepted).

    The judge is a child row; its latency adds to the stage's.
    """

    def __init__(self, judge: Model, prompt: str = JUDGE_PROMPT) -> None:
        if not isinstance(judge, Model):
            raise TypeError(f"JudgeApproval.judge: {type(judge).__name__} is not a Model")
        self.judge = judge
        self.prompt = require_slots(prompt, ("question", "answer"), "JudgeApproval.prompt")

    def models(self) -> list[tuple[str, Model]]:
        return [("judge", self.judge)]

    async def score(self, request: Request, response: Response) -> Acceptance:
        text = fill(self.prompt, question=request.prompt, answer=response.text)
        ask = Request.of(
            text,
            item_id=request.item_id,
            metadata=verdict_task(response.text),
            temperature=default_temperature(request),
        )
        outcome = await call(self.judge, ask)
        if outcome.response is None:
            return Acceptance(None, f"judge failed ({outcome.describe_error()}): not accepted", outcome.latency_s)
        value = parse_verdict(outcome.response.text, scale=None)[0]
        if value is None:
            reply = outcome.response.text[:60]
            return Acceptance(None, f"judge reply {reply!r} is no 0-1 score: not accepted", outcome.latency_s)
        return Acceptance(value, f"judge {self.judge.name} rated it", outcome.latency_s)

    def __repr__(self) -> str:
        return f"JudgeApproval(judge={self.judge.name!r})"


class Agreement(AcceptanceTest):
    """A second model answers too, concurrently: 1 when the two normalized answers agree, else 0 (a failed second
    opinion is never accepted).

    The stage's latency is the slower of the two.
    """

    def __init__(self, other: Model) -> None:
        if not isinstance(other, Model):
            raise TypeError(f"Agreement.other: {type(other).__name__} is not a Model")
        self.other = other

    def models(self) -> list[tuple[str, Model]]:
        return [("second opinion", self.other)]

    async def run(self, model: Model, request: Request) -> StageRun:
        mine, theirs = await call_all([call(model, request), call(self.other, request)])
        latency = max(mine.latency_s, theirs.latency_s)
        if mine.response is None:
            return StageRun(mine, None, latency)
        if theirs.response is None:
            unchecked = Acceptance(None, f"{self.other.name} failed ({theirs.describe_error()}): not accepted")
            return StageRun(mine, unchecked, latency)
        agree = answers_match(mine.response.text, theirs.response.text)
        verdict = f"{'agrees' if agree else 'disagrees'} with {self.other.name}"
        return StageRun(mine, Acceptance(1.0 if agree else 0.0, verdict), latency)

    def __repr__(self) -> str:
        return f"Agreement(other={self.other.name!r})"


@dataclass(frozen=True)
class Stage:
    """A cascade stage: a model, the acceptance threshold (0-1) and optionally its own acceptance test
    (``scorer``, an :class:`AcceptanceTest`).

    >>> from orchestra_lab import SimulatedModel
    >>> from orchestra_lab.strategies import Agreement, Cascade, Stage
    >>> small, medium, large = (SimulatedModel.profile(p) for p in ("sim/small", "sim/medium", "sim/large"))
    >>> print(Cascade([Stage(small, threshold=1.0, scorer=Agreement(medium)), Stage(large)]))
    Cascade(name='cascade', scorer=SelfConfidence())
    ├── stage 1 (>= 1) → SimulatedModel('sim/small')
    ├── stage 1 second opinion → SimulatedModel('sim/medium')
    └── stage 2 (always accepted) → SimulatedModel('sim/large')
    """

    model: Model
    threshold: float | None = None
    scorer: AcceptanceTest | None = None


class Cascade(Strategy):
    """Stages from cheap to expensive; the first answer whose acceptance score reaches its stage's threshold is
    returned, and the last stage is always accepted (it is not scored). A failed stage passes to the next; a call
    refused by the spend cap (:class:`~orchestra_lab.errors.BudgetExceededError`) stops the cascade instead.

    ``stages`` are :class:`Stage` objects, ``(model, threshold)`` pairs, or a bare model for the last stage.
    ``scorer`` is the default :class:`AcceptanceTest` for stages that name none (:class:`SelfConfidence`).
    Acceptance scores are kept in ``response.meta["acceptance"]`` and the row's reason, so thresholds can be
    studied later; :meth:`with_thresholds` makes a copy with other thresholds. Latency is the sum over the stages
    run.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> from orchestra_lab.strategies import Cascade, SelfConfidence, Stage
    >>> cascade = Cascade([Stage(SimulatedModel.profile("sim/small"), threshold=0.8),
    ...                    SimulatedModel.profile("sim/large")], scorer=SelfConfidence())
    >>> with answer_key("q1", expected=42, difficulty=0.1):
    ...     r = cascade("What is 17 + 25?", item_id="q1")
    >>> r.text, r.served_model, [a["accepted"] for a in r.meta["acceptance"]]
    ('42', 'sim/small', [True])
    """

    def __init__(
        self,
        stages: Sequence[Stage | tuple[Model, float] | Model],
        *,
        scorer: AcceptanceTest | None = None,
        name: str | None = None,
    ) -> None:
        self.stages = [_as_stage(s, i) for i, s in enumerate(stages)]
        if len(self.stages) < 2:
            raise ValueError(f"Cascade.stages: a cascade needs at least two stages, got {len(self.stages)}")
        for i, stage in enumerate(self.stages[:-1]):
            if stage.threshold is None:
                raise ValueError(f"Cascade.stages[{i}]: a threshold is required (only the last stage has none)")
        for i, stage in enumerate(self.stages):
            if stage.threshold is not None and not 0.0 <= stage.threshold <= 1.0:
                raise ValueError(f"Cascade.stages[{i}].threshold: {stage.threshold!r} is outside [0, 1]")
        self.scorer = scorer if scorer is not None else SelfConfidence()
        self.name = name or "cascade"

    def branches(self) -> list[tuple[str, Model]]:
        out: list[tuple[str, Model]] = []
        for i, stage in enumerate(self.stages, 1):
            last = i == len(self.stages)
            out.append((f"stage {i} ({'always accepted' if last else f'>= {stage.threshold:g}'})", stage.model))
            if not last:
                out += [(f"stage {i} {label}", m) for label, m in self._scorer(stage).models()]
        return _unique(out)

    def _scorer(self, stage: Stage) -> AcceptanceTest:
        return stage.scorer if stage.scorer is not None else self.scorer

    def with_thresholds(self, *thresholds: float) -> Cascade:
        """A copy with new thresholds for the stages before the last (one per stage)."""
        if len(thresholds) != len(self.stages) - 1:
            raise ValueError(f"with_thresholds: give {len(self.stages) - 1} thresholds, got {len(thresholds)}")
        stages = [replace(s, threshold=t) for s, t in zip(self.stages, thresholds)] + [self.stages[-1]]
        return Cascade(stages, scorer=self.scorer, name=self.name)

    async def _run_stage(self, stage: Stage, last: bool, request: Request) -> StageRun:
        if last:
            outcome = await call(stage.model, request)
            return StageRun(outcome, None, outcome.latency_s)
        return await self._scorer(stage).run(stage.model, request)

    async def _acomplete(self, request: Request) -> Response:
        latency = 0.0
        records: list[dict[str, Any]] = []
        causes: list[BaseException] = []
        for i, stage in enumerate(self.stages, 1):
            last = i == len(self.stages)
            run = await self._run_stage(stage, last, request)
            latency += run.latency_s
            record = {"stage": i, "model": stage.model.name, "threshold": stage.threshold, "score": None}
            records.append(record)
            if run.outcome.response is None:
                if run.outcome.error is not None:
                    causes.append(run.outcome.error)
                record |= {"accepted": False, "reason": f"failed ({run.outcome.describe_error()})"}
                continue
            if last:
                record |= {"accepted": True, "reason": "last stage"}
            else:
                assert run.acceptance is not None and stage.threshold is not None
                score = run.acceptance.score
                accepted = score is not None and score >= stage.threshold
                record |= {"score": score, "accepted": accepted, "reason": run.acceptance.reason}
                if not accepted:
                    continue
            return self._respond(
                run.outcome.response,
                latency_s=latency,
                decision=f"stage {i}",
                reason=_explain(records),
                meta={"acceptance": records},
            )
        raise self._fail("every stage failed: " + _explain(records), causes=causes, latency_s=latency, decision="none")


def _as_stage(value: Stage | tuple[Model, float] | Model, index: int) -> Stage:
    if isinstance(value, Stage):
        stage = value
    elif isinstance(value, Model):
        stage = Stage(value)
    elif isinstance(value, tuple) and len(value) == 2:
        stage = Stage(value[0], value[1])
    else:
        raise TypeError(f"Cascade.stages[{index}]: expected a Stage, a (model, threshold) pair or a model")
    if not isinstance(stage.model, Model):
        raise TypeError(f"Cascade.stages[{index}].model: {type(stage.model).__name__} is not a Model")
    return stage


def _explain(records: list[dict[str, Any]]) -> str:
    parts = []
    for r in records:
        head = f"stage {r['stage']} {r['model']}"
        if r["score"] is None:
            parts.append(f"{head}: {r['reason']}{', accepted' if r['accepted'] else ''}")
        else:
            sign = ">=" if r["accepted"] else "<"
            parts.append(f"{head}: score {r['score']:.3f} {sign} {r['threshold']:g} ({r['reason']})")
    return "; ".join(parts)


def _unique(branches: list[tuple[str, Model]]) -> list[tuple[str, Model]]:
    seen: set[int] = set()
    out = []
    for label, model in branches:
        if id(model) not in seen:
            seen.add(id(model))
            out.append((label, model))
    return out


_DEPRECATED = {"AcceptanceScorer": "AcceptanceTest", "JudgeScore": "JudgeApproval"}  # old name: new name


def __getattr__(name: str) -> Any:
    """The old names of the acceptance tests, with a DeprecationWarning."""
    if name not in _DEPRECATED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new = _DEPRECATED[name]
    warnings.warn(f"{name} is deprecated: use {new}", DeprecationWarning, stacklevel=2)
    return globals()[new]
