"""A live run dashboard: per-strategy progress, running accuracy, cost (USD and INR), p50 latency (and p50 time to
the first token, once a row has one: a streamed run) and errors.

Feed it result rows (``strategy``, ``score``, ``cost_usd``, ``latency_s``, ``ttft_s``, ``status``) one at a time,
or attach it to an :class:`~orchestra_lab.experiments.run.Experiment`. Counting is cheap; the widgets are redrawn at
most every ``refresh_s`` seconds (and once more shortly after the last row), so thousands of rows a second do not lag.

>>> dashboard = RunDashboard({"cheap": 2})
>>> dashboard.update({"strategy": "cheap", "score": 1.0, "cost_usd": 0.002, "latency_s": 0.4, "status": "ok"})
>>> dashboard.update({"strategy": "cheap", "score": 0.0, "cost_usd": 0.002, "latency_s": 0.6, "status": "error"})
>>> dashboard.flush()
>>> progress = dashboard.progress["cheap"]
>>> progress.done, progress.accuracy, progress.errors, progress.p50_latency_s
(2, 0.5, 1, 0.5)
>>> dashboard.bar("cheap").value, dashboard.bar("cheap").max
(2, 2)
"""

from __future__ import annotations

import html
import math
import re
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets

from ..pricing import usd_to_inr
from ._compat import show, tooltip

__all__ = ["RunDashboard", "StrategyProgress", "money"]

REFRESH_S = 0.2
Scheduler = Callable[[float, Callable[[], None]], Any]


@dataclass(slots=True)
class StrategyProgress:
    """Running totals of one strategy's result rows."""

    total: int | None = None
    done: int = 0
    errors: int = 0
    scored: int = 0
    score_sum: float = 0.0
    cost_usd: float = 0.0
    unknown_costs: int = 0
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one result row."""
        self.done += 1
        if row.get("status", "ok") != "ok":
            self.errors += 1
        score = _number(row.get("score"))
        if score is not None:
            self.scored += 1
            self.score_sum += score
        cost = _number(row.get("cost_usd"))
        if cost is None:
            self.unknown_costs += 1
        else:
            self.cost_usd += cost
        latency = _number(row.get("latency_s"))
        if latency is not None:
            self.latencies.append(latency)
        ttft = _number(row.get("ttft_s"))
        if ttft is not None:
            self.ttfts.append(ttft)

    @property
    def accuracy(self) -> float | None:
        """Mean score of the scored rows (``None`` before any)."""
        return self.score_sum / self.scored if self.scored else None

    @property
    def p50_latency_s(self) -> float | None:
        """Median latency (``None`` before any)."""
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def p50_ttft_s(self) -> float | None:
        """Median time to the first answer token of the streamed rows (``None`` before any)."""
        return statistics.median(self.ttfts) if self.ttfts else None

    def describe(self) -> str:
        """The strategy's figures as one line of HTML."""
        total = "?" if self.total is None else str(self.total)
        parts = [
            f"<b>{self.done}</b>/{total}",
            f"accuracy {_percent(self.accuracy)}",
            f"cost {money(self.cost_usd, lower_bound=self.unknown_costs > 0)}",
            f"p50 latency {_seconds(self.p50_latency_s)}",
        ]
        if self.ttfts:
            parts.append(f"p50 TTFT {_seconds(self.p50_ttft_s)}")
        errors = f"{self.errors} error{'s' * (self.errors != 1)}"
        parts.append(f"<span style='color:#c62828'>{errors}</span>" if self.errors else errors)
        return " · ".join(parts)


class RunDashboard:
    """A widget showing the progress of a run, one row per strategy; ``totals`` maps strategy -> expected rows.

    ``update(row)`` counts a row and redraws at most every ``refresh_s`` seconds; a redraw owed when rows stop
    coming is done ``refresh_s`` later on a timer (``schedule(delay, callback)``, a ``threading.Timer`` by
    default), or at once with :meth:`flush`. ``clock`` is for tests.
    """

    def __init__(
        self,
        totals: Mapping[str, int] | None = None,
        *,
        title: str = "Run",
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
        schedule: Scheduler | None = None,
    ) -> None:
        self.title = title
        self.refresh_s = refresh_s
        self.progress: dict[str, StrategyProgress] = {}
        self._clock = clock
        self._schedule = schedule or _start_timer
        self._lock = threading.RLock()
        self._last_draw = -math.inf
        self._pending: Any = None
        self._rows: dict[str, tuple[widgets.IntProgress, widgets.HTML]] = {}
        self._header = widgets.HTML()
        self._body = widgets.VBox()
        self.widget = widgets.VBox([self._header, self._body])
        for strategy, total in (totals or {}).items():
            self.set_total(strategy, total)
        self.flush()

    def set_total(self, strategy: str, total: int) -> None:
        """Set how many rows ``strategy`` will produce (its progress bar's end)."""
        with self._lock:
            self.progress.setdefault(strategy, StrategyProgress()).total = total

    def update(self, row: Mapping[str, Any]) -> None:
        """Count one result row; redraws if the last redraw is at least ``refresh_s`` old."""
        with self._lock:
            self.progress.setdefault(str(row.get("strategy")), StrategyProgress()).add(row)
            if self._clock() - self._last_draw >= self.refresh_s:
                self._draw()
            elif self._pending is None:
                self._pending = self._schedule(self.refresh_s, self.flush)

    __call__ = update  # so the dashboard itself can be passed as an on_result callback

    def flush(self) -> None:
        """Redraw now."""
        with self._lock:
            self._draw()

    def attach(self, experiment: Any) -> Any:
        """Feed this dashboard from ``experiment``'s ``on_result`` callback (an existing callback still runs).

        Totals come from the experiment's ``strategies``, ``dataset`` and ``repeats`` when it has them.
        Returns the experiment.
        """
        previous = getattr(experiment, "on_result", None)
        for strategy in getattr(experiment, "strategies", ()):
            self.set_total(str(strategy), len(getattr(experiment, "dataset", ())) * getattr(experiment, "repeats", 1))

        def on_result(row: dict[str, Any]) -> None:
            self.update(row)
            if previous is not None:
                previous(row)

        experiment.on_result = on_result
        self.flush()
        return experiment

    def bar(self, strategy: str) -> widgets.IntProgress:
        """The progress bar of ``strategy`` (as last drawn)."""
        return self._rows[strategy][0]

    def text(self) -> str:
        """Everything the dashboard shows, as plain text (tags stripped) -- handy in tests and logs."""
        lines = [self._header.value] + [label.value for _, label in self._rows.values()]
        return "\n".join(_strip_tags(line) for line in lines)

    def _ipython_display_(self) -> None:
        show(self.widget)

    def _draw(self) -> None:
        self._last_draw = self._clock()
        if self._pending is not None:
            _cancel(self._pending)
            self._pending = None
        new = [s for s in self.progress if s not in self._rows]
        for strategy in new:
            bar = widgets.IntProgress(min=0, description=strategy, **tooltip(strategy))
            self._rows[strategy] = (bar, widgets.HTML())
            self._body.children = (*self._body.children, widgets.HBox(self._rows[strategy]))
        if new:  # one label width for all bars, so they line up
            width = f"{max(len(s) for s in self._rows) + 1}ch"
            for bar, _ in self._rows.values():
                bar.style.description_width = width
        for strategy, progress in self.progress.items():
            bar, label = self._rows[strategy]
            bar.max = max(progress.total or 0, progress.done, 1)
            bar.value = progress.done
            bar.bar_style = "success" if progress.total is not None and progress.done >= progress.total else ""
            label.value = progress.describe()
        self._header.value = self._headline()

    def _headline(self) -> str:
        rows = sum(p.done for p in self.progress.values())
        cost = sum(p.cost_usd for p in self.progress.values())
        unknown = any(p.unknown_costs for p in self.progress.values())
        return (
            f"<b>{html.escape(self.title)}</b> · {rows} result{'s' * (rows != 1)} · "
            f"{len(self.progress)} strateg{'ies' if len(self.progress) != 1 else 'y'} · "
            f"total cost {money(cost, lower_bound=unknown)}"
        )


def money(usd: float, *, lower_bound: bool = False) -> str:
    """A cost in USD and INR; ``lower_bound`` marks a sum that leaves out unknown costs with "≥".

    >>> money(0.0123)
    '$0.0123 (₹1.08)'
    >>> money(12.5, lower_bound=True)
    '≥ $12.50 (₹1,100.00)'
    """
    inr = usd_to_inr(usd)
    text = f"{_amount('$', usd)} ({_amount('₹', inr)})"
    return f"≥ {text}" if lower_bound else text


def _amount(symbol: str, value: float) -> str:
    return f"{symbol}{value:,.2f}" if value >= 1 or value == 0 else f"{symbol}{value:.3g}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g} s"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _start_timer(delay: float, callback: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer


def _cancel(pending: Any) -> None:
    cancel = getattr(pending, "cancel", None)
    if cancel is not None:
        cancel()
