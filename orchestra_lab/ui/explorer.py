"""Browse an experiment's results: filter the item rows, pick one, see its whole call tree.

``items`` is a frame of item rows (``Results.items``: strategy, item_id, category, input, status, score, cost_usd,
output, call_id...); ``calls`` is the call log frame (``Results.calls`` / ``CallLog.to_frame()``). The model filter
keeps the items whose call tree has a call served by one of the chosen models; the field filter keeps those whose
chosen field (input, category, output...) contains a text. Costs show in USD and INR. Where widgets cannot run
(nbconvert HTML, GitHub) the explorer shows as static HTML: the table and the picked item's call tree. Everything
the widgets show is computed by plain functions (:func:`filter_items`, :func:`call_tree_html`; the tree itself is
:func:`orchestra_lab.calllog.tree.call_tree`), usable without a frontend.

>>> import pandas as pd
>>> items = pd.DataFrame({"strategy": ["cascade"], "item_id": ["q1"], "status": ["ok"], "score": [1.0],
...                       "input": ["2+2?"], "output": ["4"], "call_id": ["c1"]})
>>> calls = pd.DataFrame({"call_id": ["c1", "c2"], "parent_id": [None, "c1"], "name": ["cascade", "sim/small"],
...                       "kind": ["strategy", "model"], "served_model": ["sim/small", "sim/small"],
...                       "status": ["ok", "ok"], "cost_usd": [0.001, 0.001], "response_text": ["4", "4"]})
>>> explorer = ResultsExplorer(items, calls)
>>> explorer.item.value
0
>>> [node.row["name"] for node in call_tree(calls, "c1").walk()]
['cascade', 'sim/small']
>>> "sim/small" in explorer.tree.value
True
"""

from __future__ import annotations

import html
from collections.abc import Collection
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..calllog.tree import CallNode, call_tree
from ..pricing import usd_to_inr

__all__ = ["ResultsExplorer", "call_tree_html", "filter_items", "items_table_html"]

ALL = "(all)"
MAX_ROWS = 200
MAX_TEXT = 400
TABLE_COLUMNS = ("strategy", "item_id", "repeat", "category", "input", "status", "score", "cost", "latency_s", "output")
COST_COLUMN = "cost"  # in the table: cost_usd shown in USD and INR
MODEL_COLUMN = "served_model"
FIELDS = ("input", "category", "expected", "output", "error", "item_id", "error_type")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def filter_items(
    items: pd.DataFrame,
    calls: pd.DataFrame | None = None,
    *,
    strategies: Collection[str] = (),
    models: Collection[str] = (),
    status: str = ALL,
    field: str | None = None,
    contains: str = "",
) -> pd.DataFrame:
    """The item rows of the chosen strategies / models / status whose ``field`` contains ``contains`` (any case);
    an empty choice keeps everything.

    >>> items = pd.DataFrame({"strategy": ["a", "b", "a"], "status": ["ok", "ok", "error"], "input": ["x", "y", "X"]})
    >>> filter_items(items, strategies=["a"], status="ok").index.tolist()
    [0]
    >>> filter_items(items, field="input", contains="x").index.tolist()
    [0, 2]
    """
    keep = pd.Series(True, index=items.index)
    if strategies:
        keep &= items["strategy"].astype(str).isin(list(strategies))
    if status != ALL:
        keep &= items["status"].astype(str) == status
    if models and calls is not None:
        keep &= _items_using(items, calls, set(models))
    if field is not None and contains:
        texts = items[field].map(lambda v: str(v) if _present(v) else "")
        keep &= texts.str.contains(contains, case=False, regex=False)
    return items[keep]


def call_tree_html(nodes: list[CallNode]) -> str:
    """A call tree as nested HTML lists: who ran, status, cost, latency, decision and answer of every call."""
    if not nodes:
        return "<i>no calls logged for this item</i>"
    return "<ul>" + "".join(_node_html(node) for node in nodes) + "</ul>"


def items_table_html(items: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    """The first ``max_rows`` item rows as an HTML table (text cells escaped and shortened)."""
    rows = items.head(max_rows)
    if "cost_usd" in rows.columns:
        rows = rows.assign(**{COST_COLUMN: rows["cost_usd"].map(_cost)})
    shown = rows[[c for c in TABLE_COLUMNS if c in rows.columns]].map(_cell)
    note = f"<p>{len(items)} matching item rows" + (f", first {max_rows} shown" if len(items) > max_rows else "")
    return note + "</p>" + shown.to_html(index=False, escape=False, border=0)


class ResultsExplorer:
    """Widgets to filter the item rows (strategy, model, status, a field containing a text), list them, and show one
    item's call tree; a static HTML view of the same goes along for frontends without widgets."""

    def __init__(self, items: pd.DataFrame, calls: pd.DataFrame | None = None, *, max_rows: int = MAX_ROWS) -> None:
        self.items = items.reset_index(drop=True)
        self.calls = calls
        self.max_rows = max_rows
        self.strategy = widgets.SelectMultiple(options=_values(self.items, "strategy"), description="strategy")
        models = _values(calls, MODEL_COLUMN) if calls is not None else []
        self.model = widgets.SelectMultiple(options=models, description="model")
        self.status = widgets.Dropdown(options=[ALL, *_values(self.items, "status")], value=ALL, description="status")
        fields = [f for f in FIELDS if f in self.items.columns]
        self.field = widgets.Dropdown(options=fields, value=fields[0] if fields else None, description="field")
        self.contains = widgets.Text(description="contains", placeholder="text (any case)", continuous_update=False)
        self.table = widgets.HTML()
        self.item = widgets.Dropdown(description="item", layout=widgets.Layout(width="60%"))
        self.tree = widgets.HTML()
        for control in (self.strategy, self.model, self.status, self.field, self.contains):
            control.observe(self._on_filter, names="value")
        self.item.observe(self._on_item, names="value")
        filters = [self.strategy, *([self.model] if models else []), self.status]
        search = widgets.HBox([self.field, self.contains]) if fields else widgets.HBox()
        self.widget = widgets.VBox([widgets.HBox(filters), search, self.table, self.item, self.tree])
        self.refresh()

    def matching(self) -> pd.DataFrame:
        """The item rows the filters keep."""
        return filter_items(
            self.items,
            self.calls,
            strategies=self.strategy.value,
            models=self.model.value,
            status=self.status.value,
            field=self.field.value,
            contains=self.contains.value,
        )

    def refresh(self) -> None:
        """Redraw the table and the item choices from the filters."""
        matching = self.matching()
        self.table.value = items_table_html(matching, self.max_rows)
        choices = [(_item_label(row), index) for index, row in matching.head(self.max_rows).iterrows()]
        current = self.item.value
        self.item.options = choices
        indexes = [index for _, index in choices]
        # keep the picked item if it still matches; ipywidgets 7 and 8 differ in what they pick themselves
        self.item.value = current if current in indexes else (indexes[0] if indexes else None)
        self.show_item(self.item.value)

    def show_item(self, index: int | None) -> None:
        """Show the item row ``index`` (of ``items``) and its call tree."""
        if index is None:
            self.tree.value = "<i>no matching item</i>"
            return
        row = self.items.loc[index]
        root = row.get("call_id")
        nodes = [call_tree(self.calls, str(root))] if self.calls is not None and _logged(self.calls, root) else []
        self.tree.value = _item_html(row) + call_tree_html(nodes)

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_item(self, change: Any) -> None:
        self.show_item(change["new"])

    def static_html(self) -> str:
        """What the widgets show now, as plain HTML: the matching rows and the picked item's call tree."""
        return f"<div>{self.table.value}{self.tree.value}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget view for frontends with widgets, and the static HTML for the others (nbconvert, GitHub)."""
        return {
            "text/plain": f"ResultsExplorer({len(self.matching())} of {len(self.items)} item rows)",
            "text/html": self.static_html(),
            WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id},
        }

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)


def _items_using(items: pd.DataFrame, calls: pd.DataFrame, models: set[str]) -> pd.Series:
    """Whether each item's call tree (same strategy and item id in the call log) has a call served by ``models``."""
    used = calls[calls[MODEL_COLUMN].astype(str).isin(models)]
    pairs = set(zip(used["strategy"].astype(str), used["item_id"].astype(str)))
    keys = zip(items["strategy"].astype(str), items["item_id"].astype(str))
    return pd.Series([key in pairs for key in keys], index=items.index)


def _values(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return sorted({str(v) for v in frame[column] if _present(v)})


def _present(value: Any) -> bool:
    """Not missing: None, NaN, NA, NaT and the empty string are."""
    if value is None or (isinstance(value, str) and not value):
        return False
    return not (pd.api.types.is_scalar(value) and pd.isna(value))


def _item_label(row: pd.Series) -> str:
    repeat = f" · repeat {row['repeat']}" if "repeat" in row and _present(row["repeat"]) and row["repeat"] else ""
    return f"{row.get('strategy')} · {row.get('item_id')}{repeat} · {row.get('status', '')}"


def _item_html(row: pd.Series) -> str:
    names = ("category", "input", "expected", "output", "score", "cost_usd", "error")
    fields = [(name, _cost(row[name]) if name == "cost_usd" else row[name]) for name in names if name in row]
    shown = "".join(f"<dt>{name}</dt><dd>{_cell(value)}</dd>" for name, value in fields if _present(value))
    return f"<h4>{_cell(row.get('strategy'))} · {_cell(row.get('item_id'))}</h4><dl>{shown}</dl>"


def _node_html(node: CallNode) -> str:
    row = node.row
    served = row.get("served_model")
    head = f"<b>{_cell(row.get('name'))}</b> ({_cell(row.get('kind'))}"
    head += f", served by {_cell(served)})" if _present(served) and served != row.get("name") else ")"
    status = str(row.get("status", "ok"))
    details = [
        status if status == "ok" else f"<span style='color:#c62828'>{_cell(status)}: {_cell(row.get('error'))}</span>",
        _cost(row.get("cost_usd")),
        f"{float(row['latency_s']):.3g} s" if _present(row.get("latency_s")) else "",
    ]
    for name in ("decision", "reason"):
        if _present(row.get(name)):
            details.append(f"{name}: {_cell(row[name])}")
    prompt = f"<br>asked: <code>{_cell(row.get('prompt'))}</code>" if _present(row.get("prompt")) else ""
    answer = (
        f"<br>answered: <code>{_cell(row.get('response_text'))}</code>" if _present(row.get("response_text")) else ""
    )
    children = "<ul>" + "".join(_node_html(c) for c in node.children) + "</ul>" if node.children else ""
    return f"<li>{head} · " + " · ".join(d for d in details if d) + prompt + answer + children + "</li>"


def _labelled(label: str, text: Any) -> str:
    return f"<br>{label}: <code>{_cell(text)}</code>" if _present(text) else ""


def _logged(calls: pd.DataFrame, call_id: Any) -> bool:
    return _present(call_id) and bool((calls["call_id"].astype(str) == str(call_id)).any())


def _cost(usd: Any) -> str:
    if not _present(usd):
        return "cost unknown"
    return f"${float(usd):.4g} (₹{usd_to_inr(float(usd)):.4g})"


def _cell(value: Any) -> str:
    """Escaped, shortened text of a value."""
    if not _present(value):
        return ""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return html.escape(text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…")
