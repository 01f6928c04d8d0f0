"""Which sampling params a provider's model accepts: params it rejects (HTTP 400) are left out of the request.

Kept next to the price table and dated like it. OpenAI reasoning models (o1/o3/o4, the gpt-5 family) reject
``temperature`` and ``top_p``; Claude Opus 4.7 and later (and any model on Anthropic API version 2026-10-21 or
later) reject ``temperature``, ``top_p`` and ``top_k``; Claude 4.1+ models reject ``temperature`` together with
``top_p`` (``top_p`` is dropped). A dropped param warns once per model and param.

>>> from orchestra_lab.types import Request
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     supported_request("openai", "o3-mini", Request.of("hi", temperature=0.0, max_tokens=5)).params()
{'max_tokens': 5}
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from .types import Request

__all__ = ["UnsupportedParamWarning", "rejected_params", "supported_request"]

_SAMPLING = ("temperature", "top_p", "top_k")
_REQUEST_FIELDS = frozenset({"temperature", "top_p"})
_NEW_ANTHROPIC_API = "2026-10-21"  # this API version removed temperature, top_p and top_k for every model


@dataclass(frozen=True, slots=True)
class _Profile:
    """Models (a regex on the id without provider prefix) and the params they reject, with source and date."""

    provider: str
    pattern: re.Pattern[str]
    rejects: frozenset[str]
    not_together: frozenset[str]  # all of these at once is rejected: the later ones are dropped
    source: str
    as_of: str


_PROFILES = (
    _Profile(
        "openai",
        re.compile(r"^(o\d(-|$)|gpt-5(?!-chat))"),
        frozenset({"temperature", "top_p"}),
        frozenset(),
        "https://platform.openai.com/docs/guides/reasoning",
        "2025-08",
    ),
    _Profile(
        "anthropic",
        re.compile(r"^claude-(opus-4-[7-9]|[a-z]+-[5-9])(-|$)"),
        frozenset(_SAMPLING),
        frozenset(),
        "https://platform.claude.com/docs/en/about-claude/models/migrating-to-claude-4",
        "2026-12",
    ),
    _Profile(
        "anthropic",
        re.compile(r"^claude-(opus-4-[1-6]|sonnet-4-[5-9]|haiku-4-[5-9])(-|$)"),
        frozenset(),
        frozenset({"temperature", "top_p"}),
        "https://platform.claude.com/docs/en/about-claude/models/migrating-to-claude-4",
        "2026-12",
    ),
)
_WARNED: set[tuple[str, str]] = set()


class UnsupportedParamWarning(UserWarning):
    """A param the model rejects was left out of the request."""


def rejected_params(provider: str, model: str, params: dict[str, object], *, api_version: str = "") -> list[str]:
    """The params among ``params`` that ``model`` would reject.

    >>> rejected_params("anthropic", "claude-sonnet-4-5", {"temperature": 0.0, "top_p": 0.9})
    ['top_p']
    >>> rejected_params("anthropic", "claude-3-5-haiku", {"temperature": 0.0}, api_version="2026-10-21")
    ['temperature']
    """
    model_id = model.split("/", 1)[-1]
    rejected: list[str] = []
    if provider == "anthropic" and api_version >= _NEW_ANTHROPIC_API:
        rejected += [p for p in _SAMPLING if p in params]
    for profile in _PROFILES:
        if profile.provider != provider or not profile.pattern.search(model_id):
            continue
        rejected += [p for p in params if p in profile.rejects]
        together = [p for p in _SAMPLING if p in params and p in profile.not_together]
        if len(together) == len(profile.not_together) > 0:
            rejected += together[1:]
    return list(dict.fromkeys(rejected))


def supported_request(provider: str, model: str, request: Request, *, api_version: str = "") -> Request:
    """``request`` without the params ``model`` rejects (each dropped param warns once for the model)."""
    dropped = rejected_params(provider, model, request.params(), api_version=api_version)
    if not dropped:
        return request
    for param in dropped:
        if (model, param) not in _WARNED:
            _WARNED.add((model, param))
            warnings.warn(
                f"{provider} model {model!r} does not accept {param!r}: it is left out of the request",
                UnsupportedParamWarning,
                stacklevel=4,
            )
    cleared = {name: None for name in dropped if name in _REQUEST_FIELDS}
    extra = {k: v for k, v in request.extra.items() if k not in dropped}
    return request.replace(**cleared, extra=extra)
