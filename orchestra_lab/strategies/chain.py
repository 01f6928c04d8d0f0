"""Chains: sequential steps, each prompting a model with the input and earlier steps' outputs."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ..models.base import Model
from ..streaming import Emit, shifted
from ..types import Request, Response
from .base import Strategy, call
from .validators import Validator, as_validator

__all__ = ["INPUT", "Chain", "Step"]

INPUT = "input"


@dataclass(frozen=True)
class Step:
    """A chain step: its name, the model, a ``str.format`` template over ``{input}`` and earlier step names, and
    an optional validator of its output."""

    name: str
    model: Model
    template: str = "{input}"
    validator: Validator | Callable[[str], bool | str | None] | None = None


class Chain(Strategy):
    """Runs the steps in order; each step's request keeps the system message, ``item_id`` and item ``metadata``
    and has its template filled in as the prompt. A step that fails (or whose validator rejects) ends the chain
    with a :class:`~orchestra_lab.errors.StrategyError` naming the step. Latency is the sum over steps run.

    Typical shapes: draft -> critique -> refine; extract -> validate -> repair.

    >>> from orchestra_lab import SimulatedModel, answer_key
    >>> from orchestra_lab.strategies import Chain, Step
    >>> small, medium, large = (SimulatedModel.profile(p) for p in ("sim/small", "sim/medium", "sim/large"))
    >>> chain = Chain([
    ...     Step("draft", small, "Answer: {input}"),
    ...     Step("critique", medium, "Question: {input} Draft: {draft} Find mistakes."),
    ...     Step("refine", large, "Question: {input} Draft: {draft} Critique: {critique} Final answer:"),
    ... ])
    >>> with answer_key("q9", expected=72, difficulty=0.2):
    ...     r = chain("What is 9 * 8?", item_id="q9")
    >>> r.text, r.served_model
    ('72', 'sim/large')
    """

    def __init__(self, steps: Sequence[Step], *, name: str | None = None) -> None:
        self.steps = list(steps)
        if not self.steps:
            raise ValueError("Chain.steps: the list is empty; give at least one step")
        seen: list[str] = []
        for i, step in enumerate(self.steps):
            if not isinstance(step, Step):
                raise TypeError(f"Chain.steps[{i}]: {type(step).__name__} is not a Step")
            if not isinstance(step.model, Model):
                raise TypeError(f"Chain step {step.name!r}: model {type(step.model).__name__} is not a Model")
            if not step.name.isidentifier() or step.name == INPUT:
                raise ValueError(f"Chain step name {step.name!r}: use an identifier other than {INPUT!r}")
            if step.name in seen:
                raise ValueError(f"Chain.steps: duplicate step name {step.name!r}")
            _check_template(step, [INPUT, *seen])
            seen.append(step.name)
        self._validators = {s.name: as_validator(s.validator) for s in self.steps if s.validator is not None}
        self.name = name or "chain"

    def branches(self) -> list[tuple[str, Model]]:
        return [(f"{s.name} [{s.validator!r}]" if s.validator else s.name, s.model) for s in self.steps]

    def _acomplete(self, request: Request) -> Coroutine[Any, Any, Response]:
        return self._run(request, None)  # the coroutine itself: no extra frame per call

    def _astream(self, request: Request, emit: Emit) -> Coroutine[Any, Any, Response]:
        return self._run(request, emit)

    async def _run(self, request: Request, emit: Emit | None) -> Response:
        """Run the steps in order; given ``emit``, the last step streams (after the earlier steps' latency)."""
        outputs: dict[str, str] = {INPUT: request.prompt}
        latency = 0.0
        trail: list[str] = []
        response: Response | None = None
        for step in self.steps:
            streams = emit is not None and step is self.steps[-1]
            outcome = await call(
                step.model,
                request.with_prompt(step.template.format(**outputs)),
                shifted(emit, latency) if streams and emit is not None else None,
            )
            latency += outcome.latency_s
            if outcome.response is None:
                raise self._fail(
                    f"step {step.name!r} ({step.model.name}) failed: {outcome.describe_error()}",
                    causes=[outcome.error] if outcome.error else [],
                    latency_s=latency,
                    decision=f"failed at {step.name}",
                )
            validator = self._validators.get(step.name)
            rejection = validator(outcome.response.text) if validator is not None else None
            if rejection is not None:
                raise self._fail(
                    f"step {step.name!r} ({step.model.name}) output rejected: {rejection}",
                    causes=[],
                    latency_s=latency,
                    decision=f"failed at {step.name}",
                )
            outputs[step.name] = outcome.response.text
            trail.append(f"{step.name} ({step.model.name})")
            response = outcome.response
        assert response is not None
        steps = {k: v for k, v in outputs.items() if k != INPUT}
        return self._respond(
            response,
            latency_s=latency,
            decision=f"completed {len(self.steps)} steps",
            reason=" -> ".join(trail),
            meta={"steps": steps},
        )


def _check_template(step: Step, available: list[str]) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(step.template) if f is not None]
    except ValueError as err:
        raise ValueError(f"Chain step {step.name!r}: template is not a valid format string ({err})") from None
    for field_name in fields:
        root = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        if root == "" or root.isdigit():
            raise ValueError(
                f"Chain step {step.name!r}: positional placeholder {{{field_name}}}; name it, e.g. {{{INPUT}}}"
            )
        if root not in available:
            raise ValueError(
                f"Chain step {step.name!r}: placeholder {{{root}}} is not {INPUT!r} or an earlier step "
                f"(available: {', '.join(available)})"
            )
