"""Scorers: how good an output is for a dataset item, as a number from 0 to 1.

A scorer has a ``name`` and ``async ascore(output, item) -> float`` (``score`` is the sync form). A score is NaN
when the answer cannot be judged at all -- the item has no usable expected value, the judge's verdict has no
score -- and the reason is logged, kept in ``scorer.last_error`` and in ``scorer.errors[item_id]``. A wrong or
unreadable *output* is not unscorable: it scores 0.

>>> from orchestra_lab.experiments.dataset import Item
>>> item = Item("q1", "What is 10% of ₹12,340?", expected=1234)
>>> as_scorer("numeric").score("That is ₹1,234.00.", item)
1.0
>>> as_scorer(lambda output, expected: output.strip() == str(expected)).score("1234", item)
1.0
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._answer_key import AnswerKey, using_key
from .._introspect import config_of, param_names
from .._sync import run_sync
from ..calllog.context import label
from ..errors import BudgetExceededError, ModelError
from ..types import Request, render_answer
from ._judge import DEFAULT_RUBRIC, PLACEHOLDERS, parse_verdict, render_rubric
from .dataset import Item

if TYPE_CHECKING:
    from ..models.base import Model
    from .dataset import Dataset

_log = logging.getLogger(__name__)


@runtime_checkable
class Scorer(Protocol):
    """What an experiment needs from a scorer."""

    name: str

    async def ascore(self, output: str, item: Item) -> float:
        """A score in [0, 1] for ``output`` as an answer to ``item`` (NaN when it cannot be judged)."""
        ...


class BaseScorer:
    """Shared parts of the shipped scorers: sync :meth:`score`, the NaN bookkeeping and a readable repr.

    Subclasses implement ``_score(output, item)`` (or override ``ascore`` when they await something).
    """

    name: str

    def __init__(self) -> None:
        self.last_error: str | None = None
        self.errors: dict[str, str] = {}

    async def ascore(self, output: str, item: Item) -> float:
        text = _text(output)
        return self._unscorable(item, "no output (the call failed)") if text is None else self._score(text, item)

    def score(self, output: str, item: Item) -> float:
        """Synchronous :meth:`ascore` (works inside notebooks too)."""
        return run_sync(self.ascore(output, item))

    def _score(self, output: str, item: Item) -> float:
        raise NotImplementedError

    def _unscorable(self, item: Item, reason: str) -> float:
        self.last_error = reason
        self.errors[item.id] = reason
        _log.warning("scorer %s: item %s is unscorable: %s", self.name, item.id, reason)
        return math.nan

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as currently set."""
        return config_of(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={_short_repr(v)}' for k, v in self.get_config().items())})"


def _short_repr(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def _text(output: Any) -> str | None:
    if output is None:
        return None
    return output if isinstance(output, str) else str(getattr(output, "text", output))


def _alternatives(expected: Any) -> list[Any]:
    """A list or tuple of expected values means "any of these"."""
    return list(expected) if isinstance(expected, (list, tuple)) else [expected]


# -- text matching -------------------------------------------------------------------------------------------------

_CONNECTORS = {"Pc", "Pd"}  # _ and dashes become spaces: "order_status" == "order status"


def _normalize(text: str) -> str:
    """NFKC, case-folded, punctuation removed (connectors become spaces), whitespace collapsed."""
    chars = []
    for ch in unicodedata.normalize("NFKC", text).casefold():
        category = unicodedata.category(ch)
        if category in _CONNECTORS:
            chars.append(" ")
        elif not category.startswith("P"):
            chars.append(ch)
    return " ".join("".join(chars).split())


class ExactMatch(BaseScorer):
    """1 when the output, stripped of surrounding whitespace, equals the expected value's text.

    >>> ExactMatch().score(" Paris\\n", Item("q", "Capital of France?", "Paris"))
    1.0
    """

    def __init__(self, *, name: str = "exact") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(output.strip() == render_answer(e).strip() for e in _alternatives(item.expected)))


class NormalizedExactMatch(BaseScorer):
    """1 when output and expected are equal after normalizing case, whitespace, punctuation and Unicode (NFKC).

    >>> NormalizedExactMatch().score("Order status.", Item("q", "...", "order_status"))
    1.0
    """

    def __init__(self, *, name: str = "normalized_exact") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(_normalize(output) == _normalize(render_answer(e)) for e in _alternatives(item.expected)))


class Contains(BaseScorer):
    """1 when the expected text appears in the output: as whole words after normalizing (default), or verbatim.

    >>> Contains().score("I think the intent is Refund.", Item("q", "...", "refund"))
    1.0
    """

    def __init__(self, *, normalize: bool = True, name: str = "contains") -> None:
        super().__init__()
        self.normalize = normalize
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return float(any(self._contains(output, render_answer(e)) for e in _alternatives(item.expected)))

    def _contains(self, output: str, expected: str) -> bool:
        if self.normalize:
            return f" {_normalize(expected)} " in f" {_normalize(output)} "
        return expected in output


class Regex(BaseScorer):
    """1 when ``pattern`` is found in the output; without a pattern, each item's expected value is the pattern.

    >>> Regex(r"\\bintent:\\s*refund\\b", flags=re.IGNORECASE).score("Intent: REFUND", Item("q", "..."))
    1.0
    """

    def __init__(self, pattern: str | None = None, *, flags: re.RegexFlag | int = 0, name: str = "regex") -> None:
        super().__init__()
        self.pattern = pattern
        self.flags = flags
        self.name = name
        self._compiled = re.compile(pattern, flags) if pattern is not None else None

    def _score(self, output: str, item: Item) -> float:
        compiled = self._compiled
        if compiled is None:
            if item.expected is None:
                return self._unscorable(item, "no pattern given and the item has no expected value")
            try:
                compiled = re.compile(str(item.expected), self.flags)
            except re.error as err:
                return self._unscorable(item, f"expected value {item.expected!r} is not a valid regex: {err}")
        return float(compiled.search(output) is not None)


class TokenF1(BaseScorer):
    """SQuAD-style token F1: lower-cased, punctuation and articles (a, an, the) removed, overlap of word tokens.

    >>> round(TokenF1().score("the Eiffel Tower in Paris", Item("q", "...", "Eiffel Tower")), 3)
    0.667
    """

    def __init__(self, *, name: str = "token_f1") -> None:
        super().__init__()
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        if item.expected is None:
            return self._unscorable(item, "the item has no expected value")
        return max(_token_f1(output, render_answer(e)) for e in _alternatives(item.expected))


_ARTICLES = {"a", "an", "the"}


def _token_f1(output: str, expected: str) -> float:
    got = [t for t in _normalize(output).split() if t not in _ARTICLES]
    want = [t for t in _normalize(expected).split() if t not in _ARTICLES]
    if not got or not want:
        return float(got == want)
    overlap = sum((Counter(got) & Counter(want)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(want)
    return 2 * precision * recall / (precision + recall)


# -- numbers -------------------------------------------------------------------------------------------------------

_DIGITS = r"(?:\d{1,3}(?:,\d{2,3})+|\d+)(?:\.\d+)?|(?<!\w)\.\d+"  # 1,234 / 1,23,456 / 1234.5 / .5
_NUMBER = re.compile(
    rf"(?:(?<![\w)])(?P<sign>[-−]))?(?P<a>{_DIGITS})(?:\s*/\s*(?P<b>\d+))?(?:[eE](?P<exp>[-+]?\d{{1,2}}))?\s*(?P<pct>%)?"
)
_ANSWER_MARKER = re.compile(r"answer\s*(?:is|:|=)|####", re.IGNORECASE)


def _numbers(text: str) -> list[tuple[float, ...]]:
    """Each number in ``text`` as its possible values: (value,), or (value, value / 100) for a percentage."""
    found = []
    for m in _NUMBER.finditer(text):
        value = float(m["a"].replace(",", ""))
        if m["b"] is not None:
            if float(m["b"]) == 0:
                continue
            value /= float(m["b"])
        if m["exp"] is not None:
            value *= 10.0 ** int(m["exp"])
        if m["sign"]:
            value = -value
        found.append((value, value / 100) if m["pct"] else (value,))
    return found


def _answer_number(text: str) -> tuple[float, ...] | None:
    """The first number after the last "answer is" / "Answer:" / "####", else the last number in the text."""
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        after = _numbers(text[markers[-1].end() :])
        if after:
            return after[0]
    numbers = _numbers(text)
    return numbers[-1] if numbers else None


def _expected_numbers(expected: Any) -> tuple[float, ...] | None:
    if isinstance(expected, bool):
        return None
    if isinstance(expected, (int, float)):
        return None if math.isnan(expected) else (float(expected),)
    return _answer_number(str(expected))


class Numeric(BaseScorer):
    """1 when the output's answer number is within tolerance of the expected number.

    The answer number is the first number after the last "answer is" / "Answer:" / "####", else the last number.
    Understands "1,234", "₹1,234.50", "42.0", "3/4", "-7", "1e3" and "12.5%" (which matches 12.5 or 0.125).

    >>> s = Numeric()
    >>> [s.score(out, Item("q", "...", 0.75)) for out in ("3/4", "Answer: 0.75 (not 0.7)", "75%", "0.7")]
    [1.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, *, abs_tol: float = 1e-6, rel_tol: float = 1e-6, name: str = "numeric") -> None:
        super().__init__()
        self.abs_tol = abs_tol
        self.rel_tol = rel_tol
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        wanted = _expected_numbers(item.expected)
        if wanted is None:
            return self._unscorable(item, f"expected value {item.expected!r} is not a number")
        got = _answer_number(output)
        if got is None:
            return 0.0
        return float(any(math.isclose(g, w, rel_tol=self.rel_tol, abs_tol=self.abs_tol) for g in got for w in wanted))


# -- multiple choice -----------------------------------------------------------------------------------------------


class MultipleChoice(BaseScorer):
    """1 when the choice letter in the output is the expected one.

    Reads "Answer: b", "the answer is (B)", "(B)", an output starting with "B." / "B)" / "B", or the only
    capital choice letter standing alone. The expected value is a letter, or one of ``metadata["choices"]``.

    >>> s = MultipleChoice()
    >>> [s.score(out, Item("q", "...", "B")) for out in ("(B)", "B. Paris", "Answer: b", "I'd say it is A")]
    [1.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, *, letters: str = "ABCDE", name: str = "choice") -> None:
        super().__init__()
        self.letters = letters.upper()
        self.name = name
        upper, lower = f"[{re.escape(self.letters)}]", f"[{re.escape(self.letters.lower())}]"
        # a lower-case letter counts only when it ends the sentence: "the answer is a bit unclear" names no choice
        letter = rf"\(?(?:({upper})\b|({lower})(?=[.)\]:,]|\s*$))"
        self._patterns = [
            re.compile(rf"(?i:answer)\s*(?:is|:)?\s*(?:(?i:option)\s*)?{letter}"),
            re.compile(rf"\(({upper})\)"),
            re.compile(rf"^\s*({upper})(?:[.):]|\s*$)"),
        ]
        self._standalone = re.compile(rf"\b({upper})\b")

    def _score(self, output: str, item: Item) -> float:
        wanted = self._expected_letter(item)
        if wanted is None:
            return self._unscorable(item, f"expected value {item.expected!r} is not one of the letters {self.letters}")
        return float(self._letter(output) == wanted)

    def _letter(self, text: str) -> str | None:
        for pattern in self._patterns:
            matches = list(pattern.finditer(text))
            if matches:
                last = matches[-1]
                return last.group(last.lastindex or 1).upper()
        alone = set(self._standalone.findall(text))
        return alone.pop() if len(alone) == 1 else None

    def _expected_letter(self, item: Item) -> str | None:
        expected = "" if item.expected is None else render_answer(item.expected)
        choices = [str(c) for c in item.metadata.get("choices") or []]
        if expected in choices and choices.index(expected) < len(self.letters):
            return self.letters[choices.index(expected)]
        letter = expected.strip(" ().").upper()
        return letter if len(letter) == 1 and letter in self.letters else None


# -- JSON fields ---------------------------------------------------------------------------------------------------


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` -- bare, inside a ```json fence, or surrounded by prose."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


_NULLS = {"", "null", "none", "n/a", "na", "nil"}


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and _normalize(value) in _NULLS)


def _values_match(expected: Any, got: Any) -> bool:
    """Equal after normalization: numbers within 1e-6 (also "₹1,900" vs 1900), text by :func:`_normalize`."""
    if _is_null(expected) or _is_null(got):
        return _is_null(expected) and _is_null(got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return _normalize(str(expected)) == _normalize(str(got))
    if isinstance(expected, (int, float)):
        number = (float(got),) if isinstance(got, (int, float)) else _answer_number(str(got))
        return number is not None and any(math.isclose(n, expected, rel_tol=1e-6, abs_tol=1e-6) for n in number)
    if isinstance(expected, Mapping):
        return (
            isinstance(got, Mapping)
            and set(expected) == set(got)
            and all(_values_match(expected[k], got[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(got, list) and len(expected) == len(got) and all(map(_values_match, expected, got))
    return _normalize(render_answer(expected)) == _normalize(render_answer(got))


class JsonFields(BaseScorer):
    """Share of the expected object's fields that the JSON object in the output gets right.

    The object may sit in a ```json fence or in prose. Values are compared after normalization (text by case,
    punctuation and whitespace; numbers by value, so "₹1,900" matches 1900; null matches a missing field).
    ``fields`` limits the comparison to some keys.

    >>> item = Item("x1", "...", expected={"name": "Meera Iyer", "amount": 1900, "city": "Pune"})
    >>> output = 'Here: ```json\\n{"name": "meera iyer", "amount": "1,900", "city": "Delhi"}\\n```'
    >>> JsonFields().score(output, item)
    0.6666666666666666
    """

    def __init__(self, fields: Iterable[str] | None = None, *, name: str = "json_fields") -> None:
        super().__init__()
        self.fields = None if fields is None else tuple(fields)
        self.name = name

    def _score(self, output: str, item: Item) -> float:
        expected = item.expected
        if isinstance(expected, str):
            expected = _json_object(expected)
        if not isinstance(expected, Mapping):
            return self._unscorable(item, f"expected value {item.expected!r} is not a JSON object")
        keys = self.fields if self.fields is not None else tuple(expected)
        if not keys:
            return self._unscorable(item, "no fields to compare")
        got = _json_object(output)
        if got is None:
            return 0.0
        return sum(_values_match(expected.get(k), got.get(k)) for k in keys) / len(keys)


# -- LLM as judge --------------------------------------------------------------------------------------------------


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
        text = _text(output)
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
    score = await _scorer_for_kind(_answer_kind(item)).ascore(output, item)
    if math.isnan(score):
        return AnswerKey(item.id)
    return AnswerKey(item.id, _VERDICTS[round(score * 5)], item.difficulty, tuple(_VERDICTS))


def _rendered_or_none(value: Any) -> str | None:
    return None if value is None else render_answer(value)


# -- user callables and names ----------------------------------------------------------------------------------------


ScoreResult = bool | float | None


class FunctionScorer(BaseScorer):
    """A scorer from ``fn(output, expected)`` -- or ``fn(output, item)`` when its second parameter is named ``item``.

    ``fn`` may be sync or async and return a bool or a number in [0, 1]; ``None`` means unscorable (NaN).

    >>> FunctionScorer(lambda output, item: item.category in output, name="mentions_category").score(
    ...     "about fractions", Item("q", "...", category="fractions"))
    1.0
    """

    def __init__(
        self, fn: Callable[[str, Any], ScoreResult | Awaitable[ScoreResult]], *, name: str | None = None
    ) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"FunctionScorer needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self._wants_item = param_names(fn)[1:2] == ["item"]

    async def ascore(self, output: str, item: Item) -> float:
        text = _text(output)
        if text is None:
            return self._unscorable(item, "no output (the call failed)")
        result = self.fn(text, item if self._wants_item else item.expected)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return self._unscorable(item, f"{self.name} returned None")
        value = math.inf if isinstance(result, str) or not hasattr(result, "__float__") else float(result)
        if not (0 <= value <= 1 or math.isnan(value)):
            raise ValueError(f"scorer {self.name!r} returned {result!r}: return a bool or a number in [0, 1]")
        return value


SCORERS: dict[str, Callable[[], BaseScorer]] = {
    "exact": ExactMatch,
    "normalized_exact": NormalizedExactMatch,
    "label": lambda: NormalizedExactMatch(name="label"),
    "numeric": Numeric,
    "choice": MultipleChoice,
    "contains": Contains,
    "regex": Regex,
    "json_fields": JsonFields,
    "token_f1": TokenF1,
}


def as_scorer(obj: Scorer | str | Callable[..., Any]) -> Scorer:
    """A scorer from a scorer, a name (see ``SCORERS``) or a callable ``(output, expected) -> bool | float``.

    >>> as_scorer("label")
    NormalizedExactMatch(name='label')
    """
    if isinstance(obj, Scorer):
        return obj
    if isinstance(obj, str):
        try:
            return SCORERS[obj]()
        except KeyError:
            hint = "; make a judge with LLMJudge(model)" if obj == "judge" else ""
            raise ValueError(f"unknown scorer {obj!r}; choose from {sorted(SCORERS)}{hint}") from None
    if callable(obj):
        return FunctionScorer(obj)
    raise TypeError(f"cannot make a scorer from {type(obj).__name__}: pass a Scorer, a name or a callable")


_KIND_SCORERS = {"number": "numeric", "json": "json_fields", "label": "label", "choice": "choice"}


def default_scorer_for(dataset: Dataset | Iterable[Item]) -> Scorer:
    """A sensible scorer for a dataset, from its items' ``metadata["answer_type"]`` or the type of ``expected``.

    >>> from orchestra_lab.experiments.dataset import load_dataset
    >>> [default_scorer_for(load_dataset(n)).name for n in ("arithmetic", "intents", "extraction")]
    ['numeric', 'label', 'json_fields']
    """
    kinds = Counter(_answer_kind(item) for item in dataset)
    kind = kinds.most_common(1)[0][0] if kinds else "text"
    return as_scorer(_scorer_name_for(kind))


@functools.cache
def _scorer_for_kind(kind: str) -> Scorer:
    """The default scorer for one answer kind, built once (simulated judges consult it on every item)."""
    return as_scorer(_scorer_name_for(kind))


def _scorer_name_for(kind: str) -> str:
    return _KIND_SCORERS.get(kind, "normalized_exact")


def _answer_kind(item: Item) -> str:
    declared = item.metadata.get("answer_type")
    if isinstance(declared, str):
        return declared
    expected = item.expected
    if isinstance(expected, Mapping):
        return "json"
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return "number"
    if item.metadata.get("choices"):
        return "label"
    return "text"
