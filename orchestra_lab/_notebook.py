"""Notebook quirks, in one place.

Our plots are matplotlib Figures made without pyplot (so a notebook shows each once, as the cell's value). No
backend registers a display formatter for such figures in a fresh kernel, which would print
``<Figure size 700x450 with 1 Axes>``; :func:`show_figures_inline` registers a PNG formatter when IPython runs.
"""

from __future__ import annotations

import io
import sys
from typing import Any


def show_figures_inline() -> None:
    """Make IPython display matplotlib Figures as PNG images (idempotent; nothing happens outside IPython)."""
    ipython_module = sys.modules.get("IPython")
    shell = ipython_module.get_ipython() if ipython_module is not None else None
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type_by_name("matplotlib.figure", "Figure", _figure_png)


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
