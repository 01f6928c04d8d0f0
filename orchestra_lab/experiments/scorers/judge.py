"""LLM as judge: a model grades the output with a rubric; the score is read from its verdict.

>>> from orchestra_lab import FunctionModel
>>> from orchestra_lab.experiments.dataset import Item
>>> LLMJudge(FunctionModel(lambda prompt: "Score: 4/5", name="grader")).score("Paris", Item("q", "Capital?"))
0.8
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..._answer_key import AnswerKey, using_key
from ..._judging import DEFAULT_RUBRIC, PLACEHOLDERS, parse_verdict, render_rubric
from ...calllog.context import label
from ...errors import BudgetExceededError, ModelError
from ...types import Request, render_answer
from ..dataset import Item
from .base import BaseScorer, output_text
from .names import answer_kind, scorer_for_kind

if TYPE_CHECKING:
    from ...models.base import Model

__all__ = ["LLMJudge"]


class LLMJudge(BaseScorer):
    """Asks a model to grade the output with a rubric, and reads the score from its verdict.

    ``rubric`` is a prompt with ``{input}``, ``{output}`` and ``{expected}`` placeholders; the verdict may say
    "Score: 4/5", "8/10", "0.8" or "80%" (bare integers are read out of ``scale``). The judge's call is logged
    like any model call, under the strategy label ``name``, with ``max_tokens`` (a verdict is short; the cap also
    bounds the call's worst case under a spend cap). Its raw verdict is kept in ``verdicts[item_id]`` and
    ``last_verdict``; an unreadable verdict or a failed judge call scores NaN with the reason in ``errors``. A call
    refused by the spend cap raises :class:`~orchestra_lab.errors.BudgetExceededError` (the item is not scored).
    Offline, a :class:`~orchestra_lab.models.simulated.SimulatedModel` judge gives the verdict of the item's
    default scorer (see :func:`default_scorer_for`) at its skill rate, a plausible other verdict otherwise.

    >>> from orchestra_lab import FunctionModel
    >>> judge = LLMJudge(FunctionModel(lambda prompt: "Correct.\\nScore: 5/5", name="grader"))
    >>> judge.score("Paris", Item("q1", "Capital of France?", "Paris")), judge.last_verdict
    (1.0, 'Correct.\\nScore: 5/5')
    """

    def __init__(
        self,
        model: Model,
        rubric: str = DEFAULT_RUBRIC,
        *,
        scale: float | None = 5,
        temperature: float | None = 0.0,
        max_tokens: int | None = 256,
        name: str = "judge",
    ) -> None:
        super().__init__()
        if "{output}" not in rubric:
            raise ValueError(f"rubric: needs an {{output}} placeholder (it may use {', '.join(PLACEHOLDERS)})")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"LLMJudge.max_tokens: {max_tokens!r} must be at least 1 (or None for no cap)")
        self.model = model
        self.rubric = rubric
        self.scale = scale
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.name = name
        self.verdicts: dict[str, str] = {}
        self.last_verdict: str | None = None

    async def ascore(self, output: str, item: Item) -> float:
        text = output_text(output)
        if text is None:
            return self._unscorable(item, "no output (the call failed)")
        prompt = render_rubric(self.rubric, input=item.input, output=text, expected=_rendered_or_none(item.expected))
        request = Request.of(prompt, item_id=item.id, temperature=self.temperature, max_tokens=self.max_tokens)
        try:
            with label(self.name), using_key(await _simulated_verdict(text, item)):
                response = await self.model.acomplete(request)
        except BudgetExceededError:
            raise
        except ModelError as err:
            return self._unscorable(item, f"the judge call failed: {err}")
        self.verdicts[item.id] = self.last_verdict = response.text
        score, problem = parse_verdict(response.text, self.scale)
        if score is None:
            return self._unscorable(
                item, f"could not read a score from the verdict ({problem}): {response.text[:200]!r}"
            )
        return score


_VERDICTS = [f"Score: {n}/5" for n in range(6)]


async def _simulated_verdict(output: str, item: Item) -> AnswerKey:
    """The answer key of the judging (only simulated judges read it): the verdict the item's default scorer gives,
    and the item's difficulty, so a simulated judge is right at its skill rate; empty when there is no verdict."""
    if item.expected is None:
        return AnswerKey(item.id)
    score = await scorer_for_kind(answer_kind(item)).ascore(output, item)
    if math.isnan(score):
        return AnswerKey(item.id)
    return AnswerKey(item.id, _VERDICTS[round(score * 5)], item.difficulty, tuple(_VERDICTS))


def _rendered_or_none(value: Any) -> str | None:
    return None if value is None else render_answer(value)
