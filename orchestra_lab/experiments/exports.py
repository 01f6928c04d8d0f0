"""Export experiment results: CSV, JSON, Parquet, Markdown, LaTeX, or one self-contained HTML report.

:func:`export` takes a Results object (anything with ``.summary()`` and ``.items``) or a DataFrame, and infers the
format from the file suffix. A Results object exports its summary table (one row per strategy); to export the
per-item rows, pass ``results.items``. ``currency="INR"`` (or ``"USD"``) keeps that currency's cost columns only;
the human-readable formats (HTML, Markdown, LaTeX) then show costs per 1,000 items with the currency's symbol, and
the HTML report of a Results object adds a monthly cost :class:`Projection` (requests/day x days, optional GST and
forex markup, stated in the table header). The same input always gives byte-identical files: nothing time-dependent
is written, floats are formatted stably, JSON keys are sorted and PNGs carry no version metadata. Registered API
keys are redacted from every text cell.

>>> import pandas as pd
>>> summary = pd.DataFrame({"score_mean": [0.9, 0.6], "cost_usd_per_item": [0.02, 0.001]},
...                        index=pd.Index(["large", "small"], name="strategy"))
>>> print(markdown_table(table_of(summary)), end="")
| strategy | score_mean | cost_usd_per_item |
| :--- | ---: | ---: |
| large | 0.9 | 0.02 |
| small | 0.6 | 0.001 |
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._secrets import redact
from . import plots
from ._report import format_cell, html_table, is_numeric_column, png_bytes, render_page

__all__ = [
    "CURRENCY_SYMBOLS",
    "FORMATS",
    "GST_RATE",
    "LATEX_COLUMNS",
    "Projection",
    "export",
    "html_report",
    "in_currency",
    "json_records",
    "latex_table",
    "markdown_table",
    "table_of",
]

DEFAULT_TITLE = "orchestra_lab results"
GST_RATE = 0.18  # Indian GST on imported online services
CURRENCY_SYMBOLS: dict[str, str] = {"INR": "₹", "USD": "$"}
PER = 1000  # readable tables show costs per this many items
LATEX_COST = "cost per item"  # in LATEX_COLUMNS: the first of _LATEX_COSTS the frame has
# the columns a LaTeX summary table keeps by default (those present), so it fits a page
LATEX_COLUMNS = ("strategy", "n", "score_mean", "score_ci_lo", "score_ci_hi", "error_rate", LATEX_COST, "latency_p95_s")
_LATEX_COSTS = (*(f"{symbol} per {PER:,} items" for symbol in CURRENCY_SYMBOLS.values()), "cost_inr_per_item",
                "cost_usd_per_item")  # fmt: skip
_HUMAN_FORMATS = ("html", "markdown", "latex")

# suffix -> format
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".tex": "latex",
    ".latex": "latex",
}


def export(
    results_like: Any,
    path: str | Path,
    format: str | None = None,
    *,
    title: str = DEFAULT_TITLE,
    info: Mapping[str, Any] | None = None,
    currency: str | None = None,
    projection: Projection | None = None,
    by: str | None = None,
) -> Path:
    """Write ``results_like`` to ``path``; the format comes from the suffix unless ``format`` names it.

    Formats: csv, json (records; ISO timestamps; NaN -> null), parquet (needs pyarrow), markdown, latex (a booktabs
    ``table``, see :func:`latex_table`) and html (a report page with ``title``, run ``info`` -- by default
    ``results_like.info`` when that is a mapping -- the summary table, the monthly ``projection`` and the plots
    inline). ``currency`` ("INR" or "USD") keeps only that currency's costs. ``by`` names a dataset field (such as
    ``category``) to break a Results summary down by (see ``Results.summary``): the flat formats then write one row
    per strategy and value, the HTML report adds that table and plots accuracy per value. Returns the path written.

    >>> import pandas as pd, tempfile, pathlib
    >>> frame = pd.DataFrame({"strategy": ["a"], "score": [1.0]})
    >>> out = export(frame, pathlib.Path(tempfile.mkdtemp()) / "scores.csv")
    >>> out.read_text()
    'strategy,score\\na,1.0\\n'
    """
    path = Path(path)
    fmt = _format_of(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        page = html_report(results_like, title=title, info=info, currency=currency, projection=projection, by=by)
        _write_text(path, page)
        return path
    frame = in_currency(table_of(results_like, by=by), currency, readable=fmt in _HUMAN_FORMATS)
    if fmt == "latex":
        _write_text(path, latex_table(frame, caption=title, label=_latex_label(title)))
    else:
        _WRITERS[fmt](frame, path)
    return path


@dataclass(frozen=True)
class Projection:
    """What a month of traffic would cost each strategy: ``requests_per_day`` x ``days`` at its mean cost per item,
    plus ``gst`` (a rate: :data:`GST_RATE` is 18%) and, for rupees, the ``forex_markup`` a card or bank adds to USD
    bills. Settings return a new object.

    >>> Projection(requests_per_day=5000).with_gst().with_forex_markup(0.035).header("INR")
    '₹ per month (5,000 requests/day × 30 days, incl. 18% GST, incl. 3.5% forex markup)'
    >>> Projection().header("USD")
    '$ per month (1,000 requests/day × 30 days, no GST)'
    """

    requests_per_day: float = 1000
    days: int = 30
    gst: float = 0.0
    forex_markup: float = 0.0

    def __post_init__(self) -> None:
        if not (self.requests_per_day > 0 and self.days > 0):
            raise ValueError(f"requests_per_day ({self.requests_per_day!r}) and days ({self.days!r}) must be positive")
        for name in ("gst", "forex_markup"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r}: a rate in [0, 1), e.g. 0.18 for 18%")

    def with_gst(self, rate: float = GST_RATE) -> Projection:
        """The same projection with GST at ``rate`` (18% by default)."""
        return replace(self, gst=rate)

    def with_forex_markup(self, rate: float) -> Projection:
        """The same projection with a forex markup (e.g. 0.035) on rupee payments of USD prices."""
        return replace(self, forex_markup=rate)

    def factor(self, currency: str) -> float:
        """What taxes and markup multiply the list cost by; the forex markup applies to rupees only."""
        markup = self.forex_markup if _currency(currency) == "INR" else 0.0
        return (1 + self.gst) * (1 + markup)

    def header(self, currency: str) -> str:
        """The monthly column's header: currency, traffic, and what is included."""
        currency = _currency(currency)
        parts = [f"{self.requests_per_day:,.10g} requests/day × {self.days} days", _included(self.gst, "GST")]
        if currency == "INR":
            parts.append(_included(self.forex_markup, "forex markup"))
        return f"{CURRENCY_SYMBOLS[currency]} per month ({', '.join(parts)})"

    def table(self, results: Any, currency: str) -> pd.DataFrame:
        """Per strategy: cost per 1,000 requests, per day and per month, from ``results.project_cost``."""
        currency = _currency(currency)
        cur, symbol, factor = currency.lower(), CURRENCY_SYMBOLS[currency], self.factor(currency)
        cost = results.project_cost(self.requests_per_day, currency=currency, days=self.days)
        frame = pd.DataFrame(
            {
                f"{symbol} per {PER:,} requests": cost[f"cost_{cur}_per_request"] * PER * factor,
                f"{symbol} per day": cost[f"cost_{cur}_per_day"] * factor,
                self.header(currency): cost[f"cost_{cur}_total"] * factor,
            }
        )
        return frame.rename_axis("strategy").reset_index()


def in_currency(frame: pd.DataFrame, currency: str | None, *, readable: bool = False) -> pd.DataFrame:
    """``frame`` with the cost columns of ``currency`` only (``None``: unchanged). ``readable`` shows costs per item
    and per correct answer per 1,000, under headers with the currency's symbol.

    >>> frame = pd.DataFrame({"cost_usd_per_item": [0.0001], "cost_inr_per_item": [0.0088]})
    >>> in_currency(frame, "INR", readable=True).to_dict("records")
    [{'₹ per 1,000 items': 8.8}]
    """
    if currency is None:
        return frame
    cur = _currency(currency).lower()
    other = "usd" if cur == "inr" else "inr"
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith(f"cost_{other}_")])
    if not readable:
        return frame
    symbol = CURRENCY_SYMBOLS[cur.upper()]
    per_1000 = [c for c in (f"cost_{cur}_per_item", f"cost_{cur}_per_correct") if c in frame.columns]
    names = {
        f"cost_{cur}_per_item": f"{symbol} per {PER:,} items",
        f"cost_{cur}_per_correct": f"{symbol} per {PER:,} correct",
        f"cost_{cur}_total": f"{symbol} total",
    }
    return frame.assign(**{c: frame[c] * PER for c in per_1000}).rename(columns=names)


def table_of(results_like: Any, *, by: str | None = None) -> pd.DataFrame:
    """The table an export writes: a DataFrame as is, a Results object's ``summary()`` (``summary(by=by)`` when
    ``by`` names a field); a named index (such as the strategy) becomes a column, an unnamed one is not written, and
    registered keys are redacted from text cells."""
    if isinstance(results_like, pd.DataFrame):
        if by is not None:
            raise TypeError("by= breaks down a Results object's summary; a DataFrame is exported as it is")
        frame = results_like
    elif callable(getattr(results_like, "summary", None)):
        frame = results_like.summary() if by is None else results_like.summary(by=by)
    else:
        raise TypeError(
            f"expected a DataFrame or a Results object (with .summary() and .items), got {type(results_like).__name__}"
        )
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()
    return _redacted(frame)


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table (GitHub-flavoured Markdown): numbers right-aligned, ``|`` escaped, newlines as ``<br>``."""
    numeric = [is_numeric_column(frame[c]) for c in frame.columns]
    lines = [
        _pipe_row(str(c) for c in frame.columns),
        _pipe_row("---:" if num else ":---" for num in numeric),
        *(_pipe_row(format_cell(v) for v in row) for row in frame.itertuples(index=False, name=None)),
    ]
    return "\n".join(lines) + "\n"


def latex_table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    label: str | None = None,
    columns: Sequence[str] | None = None,
) -> str:
    r"""A booktabs ``table`` (needs ``\usepackage{booktabs}``) with an optional caption and label, special characters
    escaped, missing as ``--``. ``columns`` picks the columns; by default a summary keeps :data:`LATEX_COLUMNS` (so
    it fits a page) and any other frame keeps all.

    >>> print(latex_table(pd.DataFrame({"strategy": ["a_b"], "cost": [0.5]}), caption="Costs", label="tab:c"), end="")
    \begin{table}[htbp]
    \centering
    \caption{Costs}
    \label{tab:c}
    \begin{tabular}{lr}
    \toprule
    strategy & cost \\
    \midrule
    a\_b & 0.5 \\
    \bottomrule
    \end{tabular}
    \end{table}
    """
    frame = frame[_latex_columns(frame, columns)]
    spec = "".join("r" if is_numeric_column(frame[c]) else "l" for c in frame.columns)
    header = _latex_row(_latex_escape(str(c)) for c in frame.columns)
    body = [
        _latex_row(_latex_escape(format_cell(v, na="--")) for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]
    head = [r"\begin{table}[htbp]", r"\centering"]
    head += [rf"\caption{{{_latex_escape(caption)}}}"] if caption else []
    head += [rf"\label{{{label}}}"] if label else []
    tabular = [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        header,
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join([*head, *tabular, r"\end{table}"]) + "\n"


def json_records(frame: pd.DataFrame) -> str:
    """The frame as a JSON list of records with sorted keys; timestamps ISO 8601, NaN/NA/inf -> null."""
    columns = [str(c) for c in frame.columns]
    records = [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    return json.dumps(records, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def html_report(
    results_like: Any,
    *,
    title: str = DEFAULT_TITLE,
    info: Mapping[str, Any] | None = None,
    currency: str | None = None,
    projection: Projection | None = None,
    by: str | None = None,
) -> str:
    """One self-contained HTML page: title, run info, summary table, monthly projection and the plots the data allows.

    A Results object gives the cost-quality frontier (from its summary), accuracy per category and latency (from its
    items) and the monthly cost ``projection`` (default: :class:`Projection`, in ``currency`` or else rupees); a
    DataFrame gives whichever plots its columns support. ``currency`` keeps that currency's costs in the table.
    ``by`` (a Results object only) names a dataset field, such as ``category`` or a metadata key: the page adds the
    summary per strategy and value of that field, and plots accuracy per value instead of per category.
    """
    summary, items = _summary_and_items(results_like)
    extra = []
    if by is not None:
        breakdown = table_of(results_like, by=by)
        extra.append((f"Summary by {by}", html_table(in_currency(breakdown, currency, readable=True))))
        items = _with_field_as_category(results_like, by)
    if info is None:
        own = getattr(results_like, "info", None)
        info = own if isinstance(own, Mapping) else {}
    run_info = [(str(k), format_cell(v)) for k, v in info.items()]
    run_info += [(k, v) for k, v in _counts(items) if k not in info]
    plotted = _report_plots(summary, items, currency, category_label=by or "category")
    figures = [(caption, png_bytes(draw(frame))) for caption, draw, frame in plotted]
    if callable(getattr(results_like, "project_cost", None)):
        projected = (projection or Projection()).table(results_like, currency or "INR")
        extra.append(("Monthly cost projection", html_table(projected)))
    table = html_table(in_currency(table_of(summary), currency, readable=True))
    return render_page(title, run_info, table, figures, extra)


# -- writers ---------------------------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{path}: Parquet export needs pyarrow; install it with pip install 'orchestra-lab[parquet]'"
        ) from None
    frame.to_parquet(path, engine="pyarrow", index=False)


_WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    "csv": _write_csv,
    "parquet": _write_parquet,
    "json": lambda frame, path: _write_text(path, json_records(frame)),
    "markdown": lambda frame, path: _write_text(path, markdown_table(frame)),
}


# -- helpers ---------------------------------------------------------------------------------------------------


def _format_of(path: Path, format: str | None) -> str:
    known = sorted(set(FORMATS.values()))
    if format is not None:
        fmt = FORMATS.get("." + format.lower().lstrip("."), format.lower())
        if fmt not in known:
            raise ValueError(f"format={format!r}: expected one of {', '.join(known)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; use one of {', '.join(FORMATS)} "
            "or pass format="
        )
    return FORMATS[suffix]


def _currency(currency: str) -> str:
    if str(currency).upper() not in CURRENCY_SYMBOLS:
        raise ValueError(f"currency={currency!r}: expected one of {', '.join(CURRENCY_SYMBOLS)}")
    return str(currency).upper()


def _included(rate: float, what: str) -> str:
    return f"incl. {rate * 100:.4g}% {what}" if rate else f"no {what}"


def _latex_label(title: str) -> str:
    """``tab:`` and the title in lower-case words joined by hyphens: the same title, the same label."""
    return "tab:" + "-".join(re.findall(r"[a-z0-9]+", title.lower()))


def _latex_columns(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"latex_table: no column(s) {missing}; the frame has {list(frame.columns)}")
        return list(columns)
    if "score_mean" not in frame.columns:
        return list(frame.columns)
    cost = next((c for c in _LATEX_COSTS if c in frame.columns), None)
    wanted = [cost if name == LATEX_COST else name for name in LATEX_COLUMNS]
    return [c for c in wanted if c is not None and c in frame.columns]


def _redacted(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with registered keys scrubbed from text columns (columns without a key are left untouched)."""
    changed = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        texts = [v for v in series.dropna().unique() if isinstance(v, str)]
        if any(redact(v) != v for v in texts):
            changed[column] = series.map(lambda v: redact(v) if isinstance(v, str) else v)
    return frame.assign(**changed) if changed else frame


def _summary_and_items(results_like: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(results_like, pd.DataFrame):
        return results_like, results_like
    summary = table_of(results_like)
    items = getattr(results_like, "items", None)
    items = items() if callable(items) else items
    return summary, items if isinstance(items, pd.DataFrame) else None


def _with_field_as_category(results: Any, by: str) -> pd.DataFrame:
    """The items with the values of field ``by`` in the category column, for the accuracy plot."""
    return results.items.assign(**{plots.COLUMNS.category: results.field(by).to_numpy()})


def _report_plots(
    summary: pd.DataFrame, items: pd.DataFrame | None, currency: str | None, *, category_label: str = "category"
) -> list[tuple[str, Callable[[pd.DataFrame], Any], pd.DataFrame]]:
    """(caption, plot function, frame) for each plot whose columns the data has."""
    c = plots.COLUMNS
    currency = _currency(currency or "USD")
    candidates = [
        (
            f"Cost vs quality ({CURRENCY_SYMBOLS[currency]} per item; dashed: Pareto frontier)",
            lambda frame: plots.frontier(frame, currency=currency),
            summary,
            [c.strategy, c.score_mean, c.score_ci_lo, c.score_ci_hi, c.cost_per_item_in(currency)],
        ),
        (
            f"Accuracy per {category_label}",
            lambda frame: _titled(plots.by_category(frame), f"Accuracy per {category_label}"),
            items,
            [c.strategy, c.category, c.score],
        ),
        ("Latency per strategy (triangle: p95)", plots.latency, items, [c.strategy, c.latency]),
    ]
    return [
        (caption, draw, frame)
        for caption, draw, frame, needed in candidates
        if frame is not None and set(needed) <= {*map(str, frame.columns), str(frame.index.name)}
    ]


def _titled(fig: Any, title: str) -> Any:
    fig.axes[0].set_title(title)
    return fig


def _counts(items: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Run size read off the items: strategies, items, repeats, rows."""
    if items is None:
        return []
    c = plots.COLUMNS
    counts = [
        (label, items[col].nunique())
        for label, col in [("strategies", c.strategy), ("items", c.item_id), ("repeats", c.repeat)]
        if col in items.columns
    ]
    return [(label, str(n)) for label, n in [*counts, ("rows", len(items))]]


def _pipe_row(cells: Any) -> str:
    return (
        "| "
        + " | ".join(str(c).replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>") for c in cells)
        + " |"
    )


_LATEX_SPECIAL = {
    "₹": "Rs.",
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\n": " ",
    "\r": "",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_row(cells: Any) -> str:
    return " & ".join(cells) + r" \\"


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    if isinstance(value, str):
        return redact(value)
    return value
