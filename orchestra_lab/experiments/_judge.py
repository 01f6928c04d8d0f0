"""The LLM-as-judge prompt; the verdict parser lives in :mod:`orchestra_lab._verdict` (strategies use it too)."""

from __future__ import annotations

from typing import Any

from .._template import fill
from .._verdict import parse_verdict

__all__ = ["DEFAULT_RUBRIC", "PLACEHOLDERS", "parse_verdict", "render_rubric"]

DEFAULT_RUBRIC = """You are grading an answer to a question against a reference answer.

Question:
{input}

Reference answer:
{expected}

Answer to grade:
{output}

Judge whether the answer is correct and complete compared with the reference; ignore style and length.
Reply with one or two sentences of reasoning, then a last line exactly of the form "Score: N/5",
where N is 0 (wrong) to 5 (fully correct)."""

PLACEHOLDERS = ("input", "output", "expected")


def render_rubric(rubric: str, *, input: str, output: str, expected: Any) -> str:
    """Fill ``{input}``, ``{output}`` and ``{expected}``; other braces (e.g. JSON in the rubric) are left alone.

    >>> render_rubric("Q: {input} A: {output} {not_a_slot}", input="2+2", output="4", expected=None)
    'Q: 2+2 A: 4 {not_a_slot}'
    """
    values = {"input": input, "output": output, "expected": "(none given)" if expected is None else str(expected)}
    return fill(rubric, **values)
