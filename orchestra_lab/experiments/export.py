"""Export experiment results: CSV, JSON, Parquet, Markdown, LaTeX, or one self-contained HTML report.

:func:`export` takes a Results object (anything with ``.summary()`` and ``.items``) or a DataFrame, and infers the
format from the file suffix. A Results object exports its summary table (one row per strategy); to export the
per-item rows, pass ``results.items``. The same input always gives byte-identical files: nothing time-dependent
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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._secrets import redact
from . import plots
from ._report import format_cell, html_table, is_numeric_column, png_bytes, render_page

__all__ = ["FORMATS", "export", "html_report", "json_records", "latex_table", "markdown_table", "table_of"]

DEFAULT_TITLE = "orchestra_lab results"

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
) -> Path:
    """Write ``results_like`` to ``path``; the format comes from the suffix unless ``format`` names it.

    Formats: csv, json (records; ISO timestamps; NaN -> null), parquet (needs pyarrow), markdown, latex (booktabs
    tabular) and html (a report page with ``title``, run ``info`` -- by default ``results_like.info`` when that is a
    mapping -- the summary table and the plots inline). Returns the path written.

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
        _write_text(path, html_report(results_like, title=title, info=info))
    else:
        _WRITERS[fmt](table_of(results_like), path)
    return path


def table_of(results_like: Any) -> pd.DataFrame:
    """The table an export writes: a DataFrame as is, a Results object's ``summary()``; a named index (such as the
    strategy) becomes a column, an unnamed one is not written, and registered keys are redacted from text cells."""
    if isinstance(results_like, pd.DataFrame):
        frame = results_like
    elif callable(getattr(results_like, "summary", None)):
        frame = results_like.summary()
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


def latex_table(frame: pd.DataFrame) -> str:
    r"""A booktabs ``tabular`` (needs ``\usepackage{booktabs}``), special characters escaped, missing as ``--``.

    >>> print(latex_table(pd.DataFrame({"strategy": ["a_b"], "cost": [0.5]})), end="")
    \begin{tabular}{lr}
    \toprule
    strategy & cost \\
    \midrule
    a\_b & 0.5 \\
    \bottomrule
    \end{tabular}
    """
    spec = "".join("r" if is_numeric_column(frame[c]) else "l" for c in frame.columns)
    header = _latex_row(_latex_escape(str(c)) for c in frame.columns)
    body = [
        _latex_row(_latex_escape(format_cell(v, na="--")) for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", header, r"\midrule", *body, r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def json_records(frame: pd.DataFrame) -> str:
    """The frame as a JSON list of records with sorted keys; timestamps ISO 8601, NaN/NA/inf -> null."""
    columns = [str(c) for c in frame.columns]
    records = [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    return json.dumps(records, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def html_report(results_like: Any, *, title: str = DEFAULT_TITLE, info: Mapping[str, Any] | None = None) -> str:
    """One self-contained HTML page: title, run info, summary table and the plots that the data allows.

    A Results object gives the cost-quality frontier (from its summary), accuracy per category and latency (from its
    items); a DataFrame gives whichever of these its columns support.
    """
    summary, items = _summary_and_items(results_like)
    if info is None:
        own = getattr(results_like, "info", None)
        info = own if isinstance(own, Mapping) else {}
    run_info = [(str(k), format_cell(v)) for k, v in info.items()]
    run_info += [(k, v) for k, v in _counts(items) if k not in info]
    figures = [(caption, png_bytes(draw(frame))) for caption, draw, frame in _report_plots(summary, items)]
    return render_page(title, run_info, html_table(table_of(summary)), figures)


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
    "latex": lambda frame, path: _write_text(path, latex_table(frame)),
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


def _report_plots(
    summary: pd.DataFrame, items: pd.DataFrame | None
) -> list[tuple[str, Callable[[pd.DataFrame], Any], pd.DataFrame]]:
    """(caption, plot function, frame) for each plot whose columns the data has."""
    c = plots.COLUMNS
    candidates = [
        (
            "Cost vs quality (USD per item; dashed: Pareto frontier)",
            plots.frontier,
            summary,
            [c.strategy, c.score_mean, c.score_ci_lo, c.score_ci_hi, c.cost_per_item_in("USD")],
        ),
        ("Accuracy per category", plots.by_category, items, [c.strategy, c.category, c.score]),
        ("Latency per strategy (triangle: p95)", plots.latency, items, [c.strategy, c.latency]),
    ]
    return [
        (caption, draw, frame)
        for caption, draw, frame, needed in candidates
        if frame is not None and set(needed) <= {*map(str, frame.columns), str(frame.index.name)}
    ]


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
