"""The answer key of the item being run: ground truth that never travels inside a request.

An experiment runs each item inside ``answer_key(...)``; only scorers and the offline stand-ins that need the truth
to simulate an answer (:class:`~orchestra_lab.models.simulated.SimulatedModel`) read it, by the request's
``item_id``. Models and strategies see requests, which carry no truth: no ``expected``, ``difficulty`` or
``choices``. A judge request names its task instead (:func:`verdict_task`, :func:`pick_task`, :func:`choice_task`):
the answer, candidates or options to judge, which are in its prompt anyway; :func:`task_key` works out what a
perfect judge would say.

>>> with answer_key("q1", expected=42, difficulty=0.1):
...     active_key("q1").expected, active_key("q2")
(42, None)
>>> active_key("q1") is None
True
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._answers import answers_match
from .types import render_answer

__all__ = [
    "AnswerKey",
    "active_key",
    "answer_key",
    "choice_task",
    "pick_task",
    "task_key",
    "using_key",
    "verdict_task",
]

TASK = "judge_task"  # the request metadata entry naming a judge's task
_VERDICT, _PICK, _CHOICE = "verdict", "pick", "choice"


@dataclass(frozen=True, slots=True)
class AnswerKey:
    """The truth about one item: its ``expected`` answer, ``difficulty`` (0-1, or a level 1-5) and ``choices``.

    >>> AnswerKey("q1", expected=42).fingerprint() == AnswerKey("q1", expected=43).fingerprint()
    False
    """

    item_id: str | None
    expected: Any = None
    difficulty: float | None = None
    choices: tuple[str, ...] | None = None

    def fingerprint(self) -> str:
        """A short stable hash of the key (cache keys of simulated models depend on it, never show it)."""
        fields = [self.item_id, _rendered(self.expected), self.difficulty, self.choices]
        return hashlib.blake2b(json.dumps(fields, default=str).encode(), digest_size=8).hexdigest()


_ACTIVE: contextvars.ContextVar[AnswerKey | None] = contextvars.ContextVar("orchestra_lab_answer_key", default=None)


class using_key:
    """Make ``key`` the answer key of the calls made inside the block (and the tasks they start). A class, not a
    generator: an experiment enters one per strategy x item, and this costs a third as much."""

    __slots__ = ("_token", "key")

    def __init__(self, key: AnswerKey) -> None:
        self.key = key

    def __enter__(self) -> AnswerKey:
        self._token = _ACTIVE.set(self.key)
        return self.key

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.reset(self._token)


def answer_key(
    item_id: str | None = None,
    *,
    expected: Any = None,
    difficulty: float | None = None,
    choices: Sequence[Any] | None = None,
) -> contextlib.AbstractContextManager[AnswerKey]:
    """Give simulated models the truth about an item outside an experiment (an :class:`Experiment` does this for
    every item it runs). The key applies to requests with the same ``item_id`` (``None``: plain prompts).

    >>> import orchestra_lab as ol
    >>> small = ol.SimulatedModel.profile("sim/small")
    >>> with ol.answer_key("q1", expected=42, difficulty=0.1):
    ...     small("What is 17 + 25?", item_id="q1").text
    '42'
    """
    picks = None if choices is None else tuple(str(c) for c in choices)
    return using_key(AnswerKey(item_id, expected, difficulty, picks))


def active_key(item_id: str | None) -> AnswerKey | None:
    """The answer key in effect for a request about ``item_id``, or ``None``."""
    key = _ACTIVE.get()
    return key if key is not None and key.item_id == item_id else None


def verdict_task(answer: str) -> dict[str, Any]:
    """Request metadata for a judge rating ``answer`` 0 or 1."""
    return {TASK: _VERDICT, "answer": answer}


def pick_task(candidates: Sequence[str]) -> dict[str, Any]:
    """Request metadata for a judge picking the best of ``candidates`` by number (1-based)."""
    return {TASK: _PICK, "candidates": list(candidates)}


def choice_task(options: Sequence[str]) -> dict[str, Any]:
    """Request metadata for a model naming one of ``options`` (a router's routes): a task with no right answer."""
    return {TASK: _CHOICE, "options": list(options)}


def task_key(metadata: Mapping[str, Any], item: AnswerKey | None) -> AnswerKey | None:
    """The answer key of the judge task named in ``metadata``, worked out from the item's key: the allowed
    replies as ``choices`` and, when the item has an expected answer, the reply a perfect judge gives.

    >>> item = AnswerKey("q", expected=42, difficulty=0.3)
    >>> task_key(verdict_task(" 42."), item)
    AnswerKey(item_id='q', expected='1', difficulty=0.3, choices=('0', '1'))
    >>> task_key(pick_task(["41", "42"]), item).expected, task_key(choice_task(["a", "b"]), item).expected
    ('2', None)
    >>> task_key({}, item) is None
    True
    """
    task = metadata.get(TASK)
    if task == _CHOICE:
        return AnswerKey(None if item is None else item.item_id, choices=tuple(map(str, metadata["options"])))
    if task == _VERDICT:
        choices: tuple[str, ...] = ("0", "1")
        right = [_matches(metadata["answer"], item)]
    elif task == _PICK:
        choices = tuple(str(i) for i in range(1, len(metadata["candidates"]) + 1))
        right = [_matches(c, item) for c in metadata["candidates"]]
    else:
        return None
    if item is None:
        return AnswerKey(None, choices=choices)
    if item.expected is None:
        expected = None
    elif task == _VERDICT:
        expected = "1" if right[0] else "0"
    else:
        expected = next((choices[i] for i, ok in enumerate(right) if ok), None)
    return AnswerKey(item.item_id, expected, item.difficulty, choices)


def _matches(answer: str, item: AnswerKey | None) -> bool:
    """Whether ``answer`` is the item's expected answer after the package's normalization."""
    if item is None or item.expected is None:
        return False
    return answers_match(answer, render_answer(item.expected))


def _rendered(value: Any) -> Any:
    return None if value is None else render_answer(value)
