"""Notebook widgets (ipywidgets 7.7 on Colab, or 8): a live run dashboard, a results explorer and a live view of
a streaming answer.

>>> from orchestra_lab.ui import RunDashboard
>>> RunDashboard({"small": 10}).progress["small"].total
10
"""

from __future__ import annotations

from .dashboard import RunDashboard, StrategyProgress
from .explorer import ResultsExplorer, call_tree_html, filter_items
from .stream_view import StreamView, show_stream

__all__ = [
    "ResultsExplorer",
    "RunDashboard",
    "StrategyProgress",
    "StreamView",
    "call_tree_html",
    "filter_items",
    "show_stream",
]
