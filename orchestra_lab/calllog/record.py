"""The one call record: a call in progress and, once finished, its row of the call log.

A :class:`CallRecord` is made for every call by :func:`~orchestra_lab.calllog.context.begin_call` (from the model
and the request), learns how the call ended (:meth:`CallRecord.succeeded` / :meth:`CallRecord.failed`, used by
``invoke``, the cache and the wrappers' refusals alike), and is written once by
:func:`~orchestra_lab.calllog.context.end_call`. Its first fields are the schema's columns, in order; the last ones
link it into the call tree: a finished call adds its cost, tokens, leaf calls and cache hits to its parent record,
which is how a strategy row holds the sum over its descendants (nothing counted twice) and how an experiment reads
an item's totals off the tree.

>>> from orchestra_lab.calllog.schema import COLUMNS
>>> tuple(CallRecord.__dataclass_fields__)[: len(COLUMNS)] == COLUMNS
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .._secrets import redact
from ..pricing import usd_to_inr
from ..types import Usage
from .schema import COLUMNS

if TYPE_CHECKING:
    from ..types import Response

__all__ = ["BILLING", "CallRecord"]

# How much is known about what a call was billed, from best to worst: a strategy's is the worst of its calls'.
BILLING = ("known", "estimated", "unknown")
_BILLING_RANK = {name: rank for rank, name in enumerate(BILLING)}


@dataclass(slots=True, eq=False)
class CallRecord:
    """One call: the schema's columns (see :data:`~orchestra_lab.calllog.schema.SCHEMA`), then its place in the tree.

    ``parent`` is the record the totals go to (``None`` at top level, and once the call has finished and handed
    its totals up: a finished record holds no reference back up the tree); ``children`` counts finished direct calls,
    ``leaf_calls`` / ``cache_hits`` count the leaf calls (and hits among them) under this one, ``last_child`` is
    the last direct call to finish. A *scope* (``is_scope``) is a record that is never written: it collects the
    totals of the top-level calls made inside it (an experiment's item).
    """

    run_id: str | None = None
    call_id: str = ""
    parent_id: str | None = None
    item_id: str | None = None
    strategy: str | None = None
    caller: str | None = None
    kind: str = "model"
    name: str = ""
    requested_model: str | None = None
    served_model: str | None = None
    provider: str | None = None
    source: str | None = None
    attempt: int = 1
    status: str = "ok"
    error_type: str | None = None
    error: str | None = None
    http_status: int | None = None
    cache_hit: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    cost_usd: float | None = 0.0
    cost_inr: float | None = None
    latency_s: float | None = None
    started_at: float | None = None
    prompt_hash: str | None = None
    response_text: str | None = None
    decision: str | None = None
    reason: str | None = None
    score: float | None = None
    prompt: str | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    billing: str = "known"
    ttft_s: float | None = None
    output_tokens_per_s: float | None = None
    streamed: bool = False
    # -- the call tree (not columns) --
    parent: CallRecord | None = None
    children: int = 0
    leaf_calls: int = 0
    cache_hits: int = 0
    last_child: CallRecord | None = None
    is_scope: bool = False

    # -- how the call ended ----------------------------------------------------------------------------------------
    def succeeded(self, response: Response) -> None:
        """Take the answer's facts. A strategy's cost and usage are its descendants' sums: they go to ``response``."""
        if self.kind == "strategy" and (self.children or not response.cached):
            response.cost_usd = self.cost_usd
            response.usage = self.usage()
        else:
            if response.cached:  # a cache hit (also one a cache answered for a whole strategy)
                self.kind = "cache"
            self.cache_hit = response.cached
            self.cost_usd = response.cost_usd
            self._take_usage(response.usage)
            self.billing = "estimated" if response.usage.estimated else "known"
        self.served_model = response.served_model or response.requested_model
        self.provider = response.provider
        self.source = response.source
        self.latency_s = response.latency_s
        self.http_status = None if response.cached else response.meta.get("http_status")
        self.response_text = response.text
        self.ttft_s = response.ttft_s
        if response.ttft_s is not None:  # an unstreamed call (most) has no decode rate: None, the default
            self.output_tokens_per_s = self._decode_rate()

    def _decode_rate(self) -> float | None:
        """Output tokens per second after the first token, for a streamed leaf call (None otherwise)."""
        if self.kind == "strategy" or self.ttft_s is None or self.latency_s is None or not self.output_tokens:
            return None
        generating = self.latency_s - self.ttft_s
        return self.output_tokens / generating if generating > 0 else None

    def partial(self, text: str, usage: Usage, cost_usd: float | None) -> None:
        """Keep what a stream delivered before it broke or was stopped: the text, the tokens received (estimated)
        and their estimated cost (``billing="estimated"``; NaN cost when the model has no price)."""
        self.response_text = text
        if self.kind == "strategy":
            return
        self._take_usage(usage)
        self.cost_usd = math.nan if cost_usd is None else cost_usd
        self.billing = "estimated"

    def failed(
        self,
        error: BaseException,
        error_type: str,
        *,
        latency_s: float | None,
        status: str = "error",
        abandoned: bool = False,
    ) -> None:
        """Take a failure's facts. A leaf's cost is what the error says was billed (0 when it says nothing), or
        unknown (NaN, ``billing="unknown"``) when the call was ``abandoned`` and the provider may still bill it."""
        self.status = status
        self.error_type = error_type
        self.error = str(error) or type(error).__name__
        self.http_status = getattr(error, "status", None)
        self.latency_s = latency_s
        if self.kind == "strategy":
            return
        self._take_usage(getattr(error, "usage", None))
        if abandoned:
            self.cost_usd, self.billing = None, "unknown"
        else:
            billed = getattr(error, "cost_usd", None)
            self.cost_usd = 0.0 if billed is None else billed

    def _take_usage(self, usage: Usage | None) -> None:
        if usage is None:
            return
        self.input_tokens = usage.input_tokens
        self.output_tokens = usage.output_tokens
        self.tokens_estimated = usage.estimated
        self.cached_input_tokens = usage.cached_input_tokens
        self.cache_write_tokens = usage.cache_write_tokens
        self.reasoning_tokens = usage.reasoning_tokens
        if usage.estimated:
            self.billing = "estimated"

    def usage(self) -> Usage:
        """The tokens of this call (a strategy: of its descendants) as a :class:`~orchestra_lab.types.Usage`."""
        return Usage(
            self.input_tokens,
            self.output_tokens,
            self.tokens_estimated,
            self.cached_input_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )

    # -- the row and the tree ----------------------------------------------------------------------------------------
    def row(self) -> tuple[Any, ...]:
        """The row in :data:`~orchestra_lab.calllog.schema.COLUMNS` order, secrets redacted."""
        if self.error is not None:
            self.error = redact(self.error)
        if self.response_text is not None:
            self.response_text = redact(self.response_text)
        if self.prompt is not None:
            self.prompt = redact(self.prompt)
        self.cost_inr = None if self.cost_usd is None else usd_to_inr(self.cost_usd)
        return _ROW(self)

    def add_child(self, child: CallRecord) -> None:
        """Add a finished direct call's totals (an unknown cost makes the total unknown: NaN)."""
        self.children += 1
        self.last_child = child
        if child.children:
            self.leaf_calls += child.leaf_calls
            self.cache_hits += child.cache_hits
        else:
            self.leaf_calls += 1
            self.cache_hits += child.cache_hit
        self.cost_usd = (math.nan if self.cost_usd is None else self.cost_usd) + (
            math.nan if child.cost_usd is None else child.cost_usd
        )
        self.input_tokens = _add(self.input_tokens, child.input_tokens)
        self.output_tokens = _add(self.output_tokens, child.output_tokens)
        self.cached_input_tokens = _add(self.cached_input_tokens, child.cached_input_tokens)
        self.cache_write_tokens = _add(self.cache_write_tokens, child.cache_write_tokens)
        self.reasoning_tokens = _add(self.reasoning_tokens, child.reasoning_tokens)
        self.tokens_estimated = self.tokens_estimated or child.tokens_estimated
        if _BILLING_RANK[child.billing] > _BILLING_RANK[self.billing]:
            self.billing = child.billing


_ROW = attrgetter(*COLUMNS)


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else a + b
