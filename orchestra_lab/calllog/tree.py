"""The call tree: a top-level call and everything it called, rebuilt from the call log's rows.

>>> from orchestra_lab import CallLog, SimulatedModel
>>> from orchestra_lab.strategies import Fallback
>>> down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
>>> fb = Fallback([down, SimulatedModel.profile("sim/large")])
>>> with CallLog() as log:
...     r = fb("What is 2 + 2?")
>>> print(call_tree(log.to_frame(), r.call_id))
fallback [strategy] ok -> sim/large
├── sim/small [model] error (server)
└── sim/large [model] ok
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallNode", "call_tree"]


@dataclass(slots=True)
class CallNode:
    """One call (its log ``row`` as a dict) and the calls it made (``children``, in the order they started)."""

    row: dict[str, Any]
    children: list[CallNode] = field(default_factory=list)

    @property
    def call_id(self) -> str:
        return self.row["call_id"]

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[CallNode]:
        """This node and all its descendants, depth first (parents before children)."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> list[CallNode]:
        """The calls under this one that made no further call (leaf model calls, cache hits)."""
        return [node for node in self.walk() if node.is_leaf]

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts: the row's fields plus ``children``."""
        return dict(self.row) | {"children": [c.to_dict() for c in self.children]}

    def __str__(self) -> str:
        lines = [self._line()]
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            first, *rest = str(child).splitlines()
            lines.append(("└── " if last else "├── ") + first)
            lines.extend(("    " if last else "│   ") + line for line in rest)
        return "\n".join(lines)

    def _line(self) -> str:
        row = self.row
        status = row.get("status") or "ok"
        error = f" ({row['error_type']})" if status != "ok" and _present(row.get("error_type")) else ""
        decision = f" -> {row['decision']}" if _present(row.get("decision")) else ""
        return f"{row.get('name')} [{row.get('kind')}] {status}{error}{decision}"


def call_tree(calls: Any, root_call_id: str) -> CallNode:
    """The tree of calls under ``root_call_id``, from a call-log frame (``log.to_frame()``) or a list of row dicts.

    Children are ordered by start time (then log order). Raises ``KeyError`` if the root is not in the log.
    """
    rows = calls.to_dict("records") if hasattr(calls, "to_dict") else list(calls)
    nodes = {str(r["call_id"]): CallNode(r) for r in rows}
    if root_call_id not in nodes:
        raise KeyError(f"call_tree: no call {root_call_id!r} in the given calls")
    order = {call_id: i for i, call_id in enumerate(nodes)}
    for call_id, node in nodes.items():
        parent = node.row.get("parent_id")
        if _present(parent) and str(parent) in nodes and call_id != root_call_id:
            nodes[str(parent)].children.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: (_start_key(n.row.get("started_at")), order[n.call_id]))
    return nodes[root_call_id]


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, float) and math.isnan(value)) and str(value) not in ("<NA>", "NaT", "")


def _start_key(value: Any) -> float:
    if not _present(value):
        return math.inf
    return value.timestamp() if hasattr(value, "timestamp") else float(value)
