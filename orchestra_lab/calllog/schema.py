"""The call-log schema: one row per call, the same columns for leaf models, strategies and runtime events.

The schema is stable: columns are only ever added at the end (rows written before a column existed load with its
default). :func:`describe_schema` shows it as a table.

>>> COLUMNS[:3]
('run_id', 'call_id', 'parent_id')
"""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMNS", "DEFAULTS", "DTYPES", "INDEX", "SCHEMA", "describe_schema"]

# name, pandas dtype, meaning
SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("run_id", "category", "the run (log) this call belongs to"),
    ("call_id", "string", "unique id of this call"),
    ("parent_id", "string", "call id of the strategy that made this call; empty for a top-level call"),
    ("item_id", "string", "dataset item the request is about"),
    ("strategy", "category", "label of the top-level model or strategy being evaluated"),
    ("caller", "category", "name of the node that made this call (who asked); empty at top level"),
    ("kind", "category", "model (a leaf call), strategy (a strategy's decision row) or cache (a cache hit)"),
    ("name", "category", "name of the node that ran: the model or strategy"),
    ("requested_model", "category", "model that was asked for"),
    ("served_model", "category", "model that actually answered (provider-reported, or the child that served)"),
    ("provider", "category", "openai, anthropic, gemini, simulated, replay, function, strategy..."),
    ("source", "category", "live, simulated, replay, function or strategy: where the answer came from"),
    ("attempt", "int16", "attempt number of this call (1 unless retried)"),
    ("status", "category", "ok, error or cancelled"),
    ("error_type", "category", "rate_limit, server, timeout, bad_response, auth, budget, ... (empty when ok)"),
    ("error", "string", "error message, keys redacted"),
    ("http_status", "Int16", "HTTP status of the provider response, when there was one"),
    ("cache_hit", "bool", "answered from the cache (cost 0)"),
    ("input_tokens", "Int64", "prompt tokens (a strategy row: sum over its descendants)"),
    ("output_tokens", "Int64", "completion tokens (a strategy row: sum over its descendants)"),
    ("tokens_estimated", "bool", "token counts were estimated, not provider-reported"),
    ("cost_usd", "float64", "cost in USD; NaN when the price is unknown (a strategy row: sum over descendants)"),
    ("cost_inr", "float64", "cost in INR at the configured rate"),
    ("latency_s", "float64", "latency in seconds (computed for simulated models; composed for strategies)"),
    ("started_at", "datetime64[ns, UTC]", "wall-clock start time"),
    ("prompt_hash", "string", "hash of the messages and generation params"),
    ("response_text", "string", "the answer text (keys redacted)"),
    ("decision", "string", "what a strategy decided (route chosen, stage accepted, vote winner...)"),
    ("reason", "string", "why the strategy decided so"),
    ("score", "float64", "score of the answer when an experiment scored it"),
    ("prompt", "string", "the last user message of the request (keys redacted)"),
    ("cached_input_tokens", "Int64", "input tokens read from a provider prompt cache (part of input_tokens)"),
    ("cache_write_tokens", "Int64", "input tokens written to a provider prompt cache (also in input_tokens)"),
    ("reasoning_tokens", "Int64", "thinking / reasoning tokens (part of output_tokens)"),
    (
        "billing",
        "category",
        "known (cost as billed/priced), estimated (tokens estimated) or unknown (a live call abandoned at a timeout "
        "or cancelled: the provider may still bill it; cost NaN); a strategy row: the worst of its calls; empty in "
        "rows written before the column existed",
    ),
    (
        "ttft_s",
        "float64",
        "time to the first answer token in seconds, for a streamed call (measured live; computed for simulated "
        "models; composed for strategies, see orchestra_lab.streaming); NaN when the call was not streamed",
    ),
    (
        "output_tokens_per_s",
        "float64",
        "output tokens per second after the first token (output_tokens / (latency_s - ttft_s)) of a streamed leaf "
        "call; NaN otherwise",
    ),
    ("streamed", "bool", "the answer was streamed (astream / stream, or a model configured with streaming=True)"),
)

COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in SCHEMA)
DTYPES: dict[str, str] = {name: dtype for name, dtype, _ in SCHEMA}
INDEX: dict[str, int] = {name: i for i, name in enumerate(COLUMNS)}

# Defaults for columns a row leaves out.
DEFAULTS: dict[str, Any] = {name: None for name in COLUMNS} | {
    "attempt": 1,
    "status": "ok",
    "cache_hit": False,
    "tokens_estimated": False,
    "streamed": False,
}


def describe_schema() -> Any:
    """The schema as a DataFrame (column, dtype, meaning)."""
    import pandas as pd

    return pd.DataFrame(SCHEMA, columns=["column", "dtype", "meaning"])
