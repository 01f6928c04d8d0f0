"""What differs between ipywidgets 7 (Colab's 7.7) and 8, in one place.

- the hover text of a widget with a description (IntProgress, Dropdown...) is ``description_tooltip`` in 7 and
  ``tooltip`` in 8;
- an empty Dropdown given options keeps ``value=None`` in 8 but picks the first option in 7, so callers set
  ``value`` themselves (see ``ResultsExplorer.refresh``);
- 7 displays widgets through ``_ipython_display_``, 8 through ``_repr_mimebundle_``: our wrapper classes implement
  ``_ipython_display_`` (honoured by IPython in both) and display their root widget with :func:`show`.

>>> sorted(tooltip("hello"))[0] in ("description_tooltip", "tooltip")
True
"""

from __future__ import annotations

from typing import Any

import ipywidgets

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


def tooltip(text: str) -> dict[str, str]:
    """Constructor keyword for the hover text of a widget with a description, in the installed ipywidgets."""
    return {"tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip": text}


def show(widget: Any) -> None:
    """Display a widget in the running frontend (Jupyter, JupyterLab, Colab, VS Code)."""
    from IPython.display import display

    display(widget)
