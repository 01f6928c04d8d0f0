"""The call log: one row per call, recorded through a context so no signature carries it."""

from .context import current_span, label, note
from .log import CallLog, active_log, default_log
from .schema import COLUMNS, SCHEMA, describe_schema
from .tree import CallNode, call_tree

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "CallLog",
    "CallNode",
    "active_log",
    "call_tree",
    "current_span",
    "default_log",
    "describe_schema",
    "label",
    "note",
]
