"""Human-readable rendering shared by the exports: cell text, PNG bytes of a figure, and the HTML report page.

The page is one self-contained file: inline CSS, the figures as base64 PNG ``data:`` URIs, no scripts, no links.
Everything is deterministic: the same frame and figures give the same bytes.

>>> format_cell(0.123456), format_cell(12345.6), format_cell(float("nan")), format_cell(3), format_cell(0.0000352)
('0.1235', '12346', '', '3', '0.0000352')
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._secrets import redact

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PNG_DPI = 100
SIGNIFICANT_DIGITS = 4
_LARGE = 1000.0  # floats at least this large are shown without decimals


def format_cell(value: Any, na: str = "") -> str:
    """Stable text for one table cell: floats to 4 significant digits (never 0.0000 for a small cost, never
    scientific notation), timestamps in ISO 8601, keys redacted."""
    if value is None or (not isinstance(value, str) and _is_missing(value)):
        return na
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return significant(float(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return redact(str(value))


def significant(x: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``x`` with ``digits`` significant digits in plain decimals; whole numbers from 1000 up.

    >>> significant(0.000020001), significant(1.5), significant(-0.012345), significant(123456.7), significant(0.0)
    ('0.00002', '1.5', '-0.01235', '123457', '0')
    """
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= _LARGE or x == 0:
        return f"{x:.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_numeric_column(series: pd.Series) -> bool:
    """Whether a column is right-aligned in a rendered table (numbers, but not booleans)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG; no software/version metadata, so the bytes depend only on the drawing."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buffer.getvalue()


def html_table(frame: pd.DataFrame) -> str:
    """The frame as an HTML table (no index), cells formatted with :func:`format_cell` and escaped."""
    numeric = [is_numeric_column(frame[c]) for c in frame.columns]
    head = "".join(_cell("th", str(c), num) for c, num in zip(frame.columns, numeric, strict=True))
    body = "\n".join(
        "<tr>"
        + "".join(_cell("td", format_cell(v, na="—"), num) for v, num in zip(row, numeric, strict=True))
        + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def render_page(
    title: str,
    info: Sequence[tuple[str, str]],
    table: str,
    figures: Sequence[tuple[str, bytes]],
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """The report page: title, run info, the summary table (already HTML), ``extra`` (heading, HTML) sections and
    the figures as inline PNGs."""
    sections = [f"<h1>{_text(title)}</h1>"]
    if info:
        rows = "\n".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in info)
        sections.append(f"<h2>Run</h2>\n<dl>\n{rows}\n</dl>")
    sections.append(f"<h2>Summary</h2>\n{table}")
    sections += [f"<h2>{_text(heading)}</h2>\n{body}" for heading, body in extra]
    if figures:
        sections.append("<h2>Plots</h2>\n" + "\n".join(_figure(caption, png) for caption, png in figures))
    return _PAGE.format(title=_text(title), body="\n".join(sections))


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{_text(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like cells are not missing
        return False


def _cell(tag: str, text: str, numeric: bool) -> str:
    align = ' class="num"' if numeric else ""
    return f"<{tag}{align}>{html.escape(text)}</{tag}>"


def _text(value: str) -> str:
    return html.escape(redact(str(value)))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0; }}
table {{ border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }}
th {{ border-bottom: 2px solid #888; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1.5em 0; }}
img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
