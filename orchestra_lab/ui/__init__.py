"""Notebook widgets (ipywidgets 7.7 on Colab, or 8): a live run dashboard and a results explorer.

>>> from orchestra_lab.ui import RunDashboard
>>> RunDashboard({"small": 10}).progress["small"].total
10
"""

from __future__ import annotations

from .dashboard import RunDashboard, StrategyProgress
from .explorer import ResultsExplorer, call_tree_html, filter_items

__all__ = [
    "ResultsExplorer",
    "RunDashboard",
    "StrategyProgress",
    "call_tree_html",
    "filter_items",
]
