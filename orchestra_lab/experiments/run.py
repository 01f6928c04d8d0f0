"""Run strategies over a dataset: every strategy on every item, each call logged and scored, resumable.

A run lives in a run directory (default ``./orchestra_runs/<run_id>``): ``calls.jsonl`` (the call log),
``items.jsonl`` (one line per finished strategy x item x repeat, written as it finishes) and ``run.json`` (the
config). Running again with the same ``run_id`` or ``run_dir`` resumes: what finished is not asked again, so nothing
finished is paid twice. A strategy that fails on an item gives an item row with ``status="error"`` and score 0;
such rows count as finished too (their calls were paid for): :meth:`Experiment.forget_errors` drops them so the
next run asks them again. Only an interruption (``KeyboardInterrupt``, cancellation) or the spend cap stops the
run; an item whose strategy or scorer call the cap refused is not written, so it is asked again on resume.
A run resumes only with the same dataset, scorer, system prompt, params and seeds, and the same configuration
(its fingerprint, functions by name) for each strategy key it had before; new strategy keys may be added.
``run_dir=None`` keeps everything in memory instead: nothing is written, and a run cannot resume (each
:meth:`Experiment.run` asks every item again).

>>> import tempfile
>>> from orchestra_lab import SimulatedModel
>>> data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i, "difficulty": 0.5} for i in range(20)]
>>> experiment = Experiment(
...     data,
...     {"small": SimulatedModel.profile("sim/small"), "large": SimulatedModel.profile("sim/large")},
...     scorer="exact",
...     run_dir=tempfile.mkdtemp(),
...     progress=False,
... )
>>> results = experiment.run()
>>> results.summary().index.tolist(), len(results.items)
(['large', 'small'], 40)
>>> len(experiment.run().items)  # a second run resumes: nothing left to ask
40
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from .._answer_key import AnswerKey, using_key
from .._fingerprint import model_config
from .._secrets import redact
from .._sync import run_sync
from ..calllog import CallLog
from ..calllog.context import scope
from ..calllog.record import CallRecord
from ..errors import BudgetExceededError, StrategyError
from ..models.base import Model
from ..pricing import usd_to_inr
from ..runtime.budget import Budget
from ..types import Request, Response
from . import _processes, _rundir
from ._rundir import (
    DEFAULT_RUN_DIR,
    RUN_FILE,
    RUNS_DIR,
    BatchSegments,
    ItemStore,
    RunDirDefault,
    check_resumable,
    dataset_hash,
    git_commit,
    locate_run,
    read_config,
    versions,
    write_config,
)
from .dataset import Dataset, Item, load_dataset
from .results import Results
from .scorers import as_scorer, default_scorer_for, unscorable_warnings
from .scorers.base import ResponseScorer, add_unscorable, unscorable_tally

__all__ = ["RUNS_DIR", "Experiment"]


OnResult = Callable[[dict[str, Any]], None]
_RECENT_ITEMS = 64  # items whose request is kept for the strategies still to ask them (see Experiment._asked)


class Experiment:
    """Every strategy over every item (x ``repeats``), with bounded concurrency, logged into one run directory.

    ``strategies`` is a mapping ``{key: model}`` or a list of models (keyed by their names). ``scorer`` is a
    scorer, a scorer name or a callable ``(output, expected) -> bool | float`` (see
    :func:`~orchestra_lab.experiments.scorers.as_scorer`); by default one suited to the dataset. ``seeds`` gives one
    request seed per repeat (``repeats`` then defaults to ``len(seeds)``). ``system`` and ``params`` (temperature,
    max_tokens...) go into every request. ``max_spend_usd`` / ``max_spend_inr`` cap the run's total spend, earlier
    sessions of a resumed run included, with a :class:`~orchestra_lab.runtime.budget.Budget`: a call that could
    pass the cap is refused and the run stops with a warning -- run again with a higher cap to continue (set
    ``params={"max_tokens": ...}`` so a call's worst case is close to its real cost). ``concurrency`` workers run
    the jobs. ``on_result(row)`` is called with each item row as it is written (e.g. by a live dashboard); an
    exception it raises stops the run, keeping what finished. ``stream=True`` asks every strategy through
    ``astream`` (answers, scores and costs as without; simulated models stream virtually, in computed time), so
    each item row gains the ``ttft_s`` of its top-level call -- composed per strategy as
    :mod:`orchestra_lab.streaming` documents -- and ``summary()`` its TTFT percentiles; without it ``ttft_s`` is
    NaN, except for models configured to stream (``streaming=True``).
    ``run_dir`` is where the run is written and resumed from (by default ``./orchestra_runs/<run_id>``);
    ``run_dir=None`` keeps the run in memory only (nothing written, no resume). ``processes=N`` answers the jobs of
    an offline run (simulated and replayed models, no wrapper, no spend cap) in N forked worker processes, the rows
    written by this one in job order: the same run, on N cores (see :mod:`orchestra_lab.experiments._processes`).

    >>> import tempfile
    >>> from orchestra_lab import Experiment, SimulatedModel
    >>> data = [{"id": f"q{i}", "input": f"What is {i} + {i}?", "expected": 2 * i} for i in (1, 2)]
    >>> experiment = Experiment(data, [SimulatedModel.profile("sim/large")], run_dir=tempfile.mkdtemp(), progress=False)
    >>> experiment.run().items[["strategy", "item_id", "status"]].values.tolist()
    [['sim/large', 'q1', 'ok'], ['sim/large', 'q2', 'ok']]
    """

    def __init__(
        self,
        dataset: Any,
        strategies: Mapping[str, Model] | Sequence[Model],
        scorer: Any = None,
        *,
        repeats: int = 1,
        seeds: Sequence[int] | None = None,
        concurrency: int = 8,
        max_spend_usd: float | None = None,
        max_spend_inr: float | None = None,
        run_dir: str | Path | RunDirDefault | None = DEFAULT_RUN_DIR,
        run_id: str | None = None,
        progress: bool = True,
        system: str | None = None,
        params: Mapping[str, Any] | None = None,
        on_result: OnResult | None = None,
        stream: bool = False,
        processes: int = 1,
    ) -> None:
        self.dataset: Dataset = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
        self.strategies = _keyed(strategies)
        self.scorer = default_scorer_for(self.dataset) if scorer is None else as_scorer(scorer)
        self.seeds = _seeds_per_repeat(repeats, seeds)
        self.repeats = len(self.seeds)
        self.params = dict(params or {})
        if seeds is not None and "seed" in self.params:
            raise ValueError("params['seed'] and seeds=... both set the request seed; pass one of them")
        if concurrency < 1:
            raise ValueError(f"concurrency: {concurrency!r} must be at least 1")
        if max_spend_usd is not None and max_spend_inr is not None:
            raise ValueError("pass max_spend_usd or max_spend_inr, not both")
        for cap in (max_spend_usd, max_spend_inr):
            if cap is not None and not cap >= 0:
                raise ValueError(f"spend cap: {cap!r} must be a non-negative number")
        if not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes: {processes!r} must be a whole number, at least 1")
        if processes > 1 and (max_spend_usd is not None or max_spend_inr is not None):
            raise ValueError(f"processes={processes}: a spend cap is kept in one process; use processes=1 with it")
        _processes.check_parallel(self.strategies, self.scorer, processes)
        self.concurrency = concurrency
        self.processes = processes
        self.max_spend_usd = max_spend_usd
        self.max_spend_inr = max_spend_inr
        self.run_id, self.run_dir = locate_run(run_id, run_dir)
        self.progress = progress
        self.system = system
        self.on_result = on_result
        self.stream = stream
        self._task: asyncio.Task[Results] | None = None
        self._scores_responses = False
        self._scoring = 0  # jobs between their answer and its score in the log: the log is not compacted then
        self._recent: dict[tuple[str, int | None], tuple[Request, AnswerKey]] = {}  # see _asked

    def __repr__(self) -> str:
        return (
            f"Experiment(dataset={self.dataset.name!r} ({len(self.dataset)} items), "
            f"strategies={list(self.strategies)}, "
            f"scorer={getattr(self.scorer, 'name', self.scorer)!r}, repeats={self.repeats}, "
            f"run_dir={None if self.run_dir is None else str(self.run_dir)!r})"
        )

    # -- running ---------------------------------------------------------------------------------------------
    def run(self) -> Results:
        """Run (or resume) the experiment and return its :class:`Results`; works inside Jupyter too."""
        try:
            return run_sync(self.arun())
        except BaseException:
            self._cancel_leftover()
            raise

    async def arun(self) -> Results:
        """Async :meth:`run`."""
        config = self._config()
        self._task = asyncio.current_task()
        self._scores_responses = isinstance(self.scorer, ResponseScorer)  # once: a protocol check is slow
        self._recent.clear()  # requests are built afresh each run (its system prompt and params as they are now)
        store = ItemStore(self.run_dir)
        log = CallLog(self.run_dir, run_id=self.run_id)
        status = "failed"
        try:
            self._write_status(config, "running")
            finished = store.finished
            with _collector_paused():  # 400,000 new jobs would start full collections over the dataset's objects
                jobs = [job for job in self._jobs() if job.key not in finished] if finished else list(self._jobs())
            total = self.repeats * len(self.dataset) * len(self.strategies)
            state = _RunState(total=total, done=total - len(jobs))
            budget = self._budget(log)
            with contextlib.ExitStack() as stack:
                stack.enter_context(log)
                stack.enter_context(unscorable_warnings())
                if budget is not None:
                    stack.enter_context(budget)
                state.bar = stack.enter_context(_progress_bar(self.progress, state))
                if self.processes > 1 and len(jobs) > _processes.BATCH:
                    await self._work_in_processes(jobs, store, log, state)
                else:
                    await self._work(jobs, lambda row: self._keep([row], store, log, state), log, state)
            del jobs  # a job per strategy x item x repeat: not kept while the results are read
            if _rundir.COMPACT_ROWS is not None and store.on_disk:
                _rundir.compact(store, log, merge=True)
            if state.stopped_by_budget:
                warnings.warn(_budget_message(state, budget), stacklevel=2)
            status = "partial" if state.stopped_by_budget else "complete"
            store.close()  # its keys are not needed any more: the memory goes to the results
            return Results.of_run(store.frame(), log, config | {"status": status}, self.run_dir, self.dataset)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            status = "interrupted"
            raise
        finally:
            log.close()
            store.close()
            self._task = None
            self._write_status(config, status)

    def _write_status(self, config: Mapping[str, Any], status: str) -> None:
        """Write ``run.json`` with the run's status (nothing without a run directory)."""
        if self.run_dir is not None:
            write_config(self.run_dir / RUN_FILE, config | {"status": status})

    async def _work(self, jobs: Sequence[_Job], keep: OnResult, log: CallLog, state: _RunState) -> None:
        """Answer ``jobs`` with ``concurrency`` workers, each finished item row handed to ``keep``."""
        pending = iter(jobs)

        async def worker() -> None:
            for job in pending:  # one shared iterator: each job is taken by exactly one worker
                if state.stopped_by_budget:
                    return
                try:
                    row = await self._item_row(job, log)
                except (KeyboardInterrupt, SystemExit) as exc:
                    raise _Interrupted(exc) from exc
                if row is None:  # refused by the spend cap: not written, so a resumed run asks it again
                    state.stopped_by_budget = True
                    return
                keep(row)

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(jobs)))]
        try:
            await asyncio.gather(*workers)
        except _Interrupted as stop:
            raise stop.original from None
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _keep(self, rows: list[dict[str, Any]], store: ItemStore, log: CallLog, state: _RunState) -> None:
        """Finished item rows: written, the log compacted when it is due, each counted and handed to
        ``on_result``."""
        store.extend(rows)
        self._compact_when_due(store, log)
        self._count(rows, state)

    def _count(self, rows: list[dict[str, Any]], state: _RunState) -> None:
        for row in rows:
            state.record(row)
            if self.on_result is not None:
                self.on_result(row)

    def _compact_when_due(self, store: ItemStore, log: CallLog) -> None:
        every = _rundir.COMPACT_ROWS
        if every is not None and store.on_disk and self._scoring == 0 and len(log) - log.compacted_rows >= every:
            _rundir.compact(store, log)

    async def _work_in_processes(self, jobs: list[_Job], store: ItemStore, log: CallLog, state: _RunState) -> None:
        """Answer ``jobs`` in ``processes`` worker processes (see :mod:`._processes`), keeping their rows in job
        order as each batch comes back. With a run directory, a worker writes its batch's rows as segments, which
        the parent makes part of the run in job order (it only counts the rows); without one, the rows come back."""
        size = _processes.BATCH
        batches = list(enumerate(jobs[i : i + size] for i in range(0, len(jobs), size)))
        plan = BatchSegments.of(store, log) if store.on_disk and _rundir.COMPACT_ROWS is not None else None
        with _processes.Workers(functools.partial(self._answer_batch, plan), batches, self.processes) as workers:
            async for index, calls, rows, unscorable in workers.results():
                add_unscorable(unscorable)
                if plan is None:
                    log.extend(calls)
                    self._keep(rows, store, log, state)
                else:
                    plan.commit_batch(index, store, log, calls)
                    self._count(rows, state)

    async def _answer_batch(self, plan: BatchSegments | None, batch: tuple[int, Sequence[_Job]]) -> tuple[Any, ...]:
        """In a worker process: answer a batch's jobs into a log in memory; (its index, the call rows -- or how
        many, written as a pending segment with the item rows when there is a ``plan`` --, the item rows, the
        unscorable items)."""
        index, jobs = batch
        log = CallLog(run_id=self.run_id)
        rows: list[dict[str, Any]] = []
        with log, unscorable_tally() as unscorable:
            await self._work(jobs, rows.append, log, _RunState(total=len(jobs), done=0))
        if plan is None:
            return index, log.records(), rows, unscorable
        calls = plan.write_batch(index, log, rows)
        if self.on_result is None:  # the parent only counts the rows (see _RunState.record): what it counts
            rows = [{"cost_usd": row["cost_usd"], "status": row["status"]} for row in rows]
        return index, calls, rows, unscorable

    async def _item_row(self, job: _Job, log: CallLog) -> dict[str, Any] | None:
        """Ask the strategy, score the answer: the item row (``None`` when the spend cap refused the call)."""
        request, key = self._asked(job)
        try:
            with scope(job.strategy) as calls, using_key(key):  # a judge's calls while scoring are not counted
                response = await self._answer(self.strategies[job.strategy], request)
        except Exception as err:
            if _refused_by_budget(err):
                return None
            return job.row(_Outcome(calls, getattr(err, "latency_s", None)), output=None, score=0.0, status="error")
        return await self._scored_row(job, _Outcome(calls, response.latency_s, response.ttft_s), response, log)

    def _asked(self, job: _Job) -> tuple[Request, AnswerKey]:
        """The request asking ``job``'s item and the item's answer key: built once for all the strategies that
        ask the item (jobs go item by item), the request's fingerprint with it."""
        memo = self._recent
        asked = memo.get((job.item.id, job.seed))
        if asked is None:
            seed = {} if job.seed is None else {"seed": job.seed}
            asked = job.item.to_request(system=self.system, **self.params, **seed), job.item.answer_key
            memo[(job.item.id, job.seed)] = asked
            if len(memo) > _RECENT_ITEMS:
                del memo[next(iter(memo))]  # the oldest: its jobs have all started
        return asked

    async def _answer(self, strategy: Model, request: Request) -> Response:
        """The strategy's answer: asked through ``astream`` (chunks read and dropped) when the run streams."""
        if not self.stream:
            return await strategy.acomplete(request)
        stream = strategy.astream(request)
        async for _ in stream:
            pass
        assert stream.response is not None  # an exhausted stream holds its response
        return stream.response

    async def _scored_row(self, job: _Job, tree: _Outcome, response: Response, log: CallLog) -> dict[str, Any] | None:
        output = response.text
        self._scoring += 1
        try:
            score = _checked_score(await self._score(response, job.item))
        except Exception as err:
            if _refused_by_budget(err):  # e.g. an LLM judge's call
                return None
            return job.row(tree, output=output, score=math.nan, status="score_error", error=err)
        else:
            if not math.isnan(score) and tree.root is not None:
                log.set_score(tree.root.call_id, score)
            return job.row(tree, output=output, score=score, status="ok")
        finally:
            self._scoring -= 1

    def _score(self, response: Response, item: Item) -> Any:
        """The scorer's coroutine for ``response``: the whole response for a response scorer, else its text."""
        if self._scores_responses:
            return self.scorer.ascore_response(response, item)
        return self.scorer.ascore(response.text, item)

    def forget_errors(self) -> int:
        """Drop the item rows that did not finish ``ok`` (``error``, ``score_error``) from the run directory, so
        the next :meth:`run` asks them again; returns how many were dropped. Their calls stay in the call log and
        count towards the spend cap. Without a run directory (``run_dir=None``) nothing is kept between runs, so
        there is nothing to forget: 0.

        >>> import tempfile
        >>> from orchestra_lab import SimulatedModel
        >>> down = SimulatedModel.profile("sim/small").with_faults(server_error=1.0)
        >>> experiment = Experiment([{"id": "q0", "input": "What is 1 + 1?", "expected": 2}], [down],
        ...                         run_dir=tempfile.mkdtemp(), progress=False)
        >>> experiment.run().items["status"].tolist(), experiment.forget_errors(), len(experiment.run().items)
        (['error'], 1, 1)
        """
        if self._task is not None:
            raise RuntimeError("forget_errors: the experiment is running; call it before or after run()")
        if self.run_dir is None or not self.run_dir.exists():
            return 0
        store = ItemStore(self.run_dir)  # a torn last line (a killed run) is dropped as well
        try:
            return store.keep(lambda items: items["status"] == "ok")
        finally:
            store.close()

    def _jobs(self) -> Iterator[_Job]:
        """Repeat, then item, then strategy: a run stopped midway has every strategy on about the same items."""
        for repeat, seed in enumerate(self.seeds):
            for item in self.dataset:
                for key in self.strategies:
                    yield _Job(key, item, repeat, seed)

    def _budget(self, log: CallLog) -> Budget | None:
        """The run's spend cap less what earlier sessions of this run spent."""
        if self.max_spend_usd is not None:
            return Budget(max_usd=max(0.0, self.max_spend_usd - _spent_usd(log)))
        if self.max_spend_inr is not None:
            return Budget(max_inr=max(0.0, self.max_spend_inr - usd_to_inr(_spent_usd(log))))
        return None

    def _cancel_leftover(self) -> None:
        """After an interruption that escaped the event loop, cancel the run so no call keeps going."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            run_sync(asyncio.wait([task]))

    def _config(self) -> dict[str, Any]:
        from .. import __version__

        path = None if self.run_dir is None else self.run_dir / RUN_FILE
        previous = read_config(path) if path is not None and path.exists() else {}
        config = {
            "run_id": self.run_id,
            "created_at": _now_iso(),
            "library_version": __version__,
            "dataset": {"name": self.dataset.name, "size": len(self.dataset), "hash": dataset_hash(self.dataset)},
            "git_commit": git_commit(),
            "versions": versions(),
            "strategies": {key: model_config(model, code=False) for key, model in self.strategies.items()},
            "config_format": _rundir.CONFIG_FORMAT,
            "scorer": getattr(self.scorer, "name", repr(self.scorer)),
            "repeats": self.repeats,
            "seeds": None if self.seeds == (None,) * self.repeats else list(self.seeds),
            "concurrency": self.concurrency,
            "system": self.system,
            "params": self.params,
            "max_spend_usd": self.max_spend_usd,
            "max_spend_inr": self.max_spend_inr,
            "stream": self.stream,
        }
        if path is not None:
            check_resumable(previous, config, path)
        return config | {
            "created_at": previous.get("created_at", config["created_at"]),
            "strategies": previous.get("strategies", {}) | config["strategies"],
            "sessions": [*previous.get("sessions", []), config["created_at"]],
        }


# -- jobs and rows -----------------------------------------------------------------------------------------------


class _Job(NamedTuple):
    """One strategy asked one item in one repeat (a tuple: a run makes one per strategy x item x repeat, 400,000 for
    a large one, 7x as fast as a frozen dataclass)."""

    strategy: str
    item: Item
    repeat: int
    seed: int | None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.strategy, str(self.item.id), self.repeat)

    def row(
        self, tree: _Outcome, *, output: str | None, score: float, status: str, error: Exception | None = None
    ) -> dict[str, Any]:
        """The item row: the item, the answer and score, and cost/latency/calls read off the call tree."""
        root = tree.root
        item = self.item
        failed = root is not None and root.status != "ok"
        cost = tree.cost_usd()
        return {
            "strategy": self.strategy,
            "item_id": str(item.id),
            "repeat": self.repeat,
            "seed": self.seed,
            "category": item.category,
            "difficulty": item.difficulty,
            "input": item.input,
            "expected": item.expected,
            "output": None if output is None else redact(output),  # an answer can quote a key
            "score": score,
            "status": status,
            "error_type": "scorer" if error is not None else root.error_type if failed else None,  # type: ignore[union-attr]
            "error": redact(f"{type(error).__name__}: {error}") if error is not None else root and root.error,
            "cost_usd": cost,
            "cost_inr": None if cost is None else usd_to_inr(cost),
            "latency_s": (root and root.latency_s) if tree.latency_s is None else tree.latency_s,
            "calls": tree.calls.leaf_calls,
            "cache_hits": tree.calls.cache_hits,
            "call_id": root and root.call_id,
            "finished_at": time.time(),
            "ttft_s": tree.ttft_s if tree.ttft_s is not None else root and root.ttft_s,
        }


def _checked_score(value: Any) -> float:
    score = float(value)
    if not (math.isnan(score) or 0.0 <= score <= 1.0):
        raise ValueError(f"the scorer returned {value!r}; scores must be in [0, 1] (NaN for unscorable)")
    return score


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one job's calls came to: the scope that collected them (see :func:`~orchestra_lab.calllog.context.scope`)
    and the latency the strategy reported. A strategy makes one top-level call; a wrapper used as the strategy
    (``Retrying``, ``Cached``...) logs no row of its own, so each of its attempts is top level: the last one is the
    outcome, the cost is theirs together, and the latency (and TTFT) the ones the wrapper reported."""

    calls: CallRecord
    latency_s: float | None
    ttft_s: float | None = None

    @property
    def root(self) -> CallRecord | None:
        return self.calls.last_child

    def cost_usd(self) -> float | None:
        """The job's cost; ``None`` when it made no call or the cost of one is unknown."""
        cost = self.calls.cost_usd
        return None if not self.calls.children or cost is None or math.isnan(cost) else cost


class _Interrupted(Exception):
    """Carries a KeyboardInterrupt / SystemExit out of a worker: asyncio would otherwise unwind the event loop
    with the other workers still pending."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


def _refused_by_budget(err: BaseException) -> bool:
    """Whether the spend cap refused a call this error came from (directly or through a strategy)."""
    if isinstance(err, BudgetExceededError):
        return True
    causes = list(err.causes) if isinstance(err, StrategyError) else []
    causes += [c for c in (err.__cause__, err.__context__) if c is not None]
    return any(_refused_by_budget(cause) for cause in causes)


# -- spend cap ---------------------------------------------------------------------------------------------------


def _spent_usd(log: CallLog) -> float:
    """Spend recorded in the log so far (top-level rows hold the cost of their whole tree)."""
    frame = log.to_frame()
    return float(frame.loc[frame["parent_id"].isna(), "cost_usd"].sum())


def _budget_message(state: _RunState, budget: Budget | None) -> str:
    unpriced = sorted(budget.unpriced) if budget is not None else []
    if unpriced:
        return (
            f"price unknown for {', '.join(unpriced)}: the spend cap cannot bound its calls, so they were refused "
            f"({state.done} of {state.total} strategy x item x repeat finished). Set one with "
            "ol.set_price(model, ol.Price(input_per_1m=..., output_per_1m=...)) and run again with the same run_id."
        )
    return (
        f"spend cap reached: {state.done} of {state.total} strategy x item x repeat finished. "
        "Run again with the same run_id and a higher cap (or none) to continue; finished items are not re-run."
    )


# -- progress ----------------------------------------------------------------------------------------------------


@dataclass
class _RunState:
    total: int
    done: int
    spent_usd: float = 0.0
    errors: int = 0
    stopped_by_budget: bool = False
    bar: Any = field(default=None, repr=False)

    def record(self, row: Mapping[str, Any]) -> None:
        """Count a finished item row (only its ``cost_usd`` and ``status`` are read)."""
        self.done += 1
        cost = row.get("cost_usd")
        self.spent_usd += cost if cost is not None and not math.isnan(cost) else 0.0
        self.errors += row["status"] != "ok"
        if self.bar is not None:
            self.bar.set_postfix(spent=f"${self.spent_usd:.4f}", errors=self.errors, refresh=False)
            self.bar.update(1)


@contextlib.contextmanager
def _progress_bar(enabled: bool, state: _RunState) -> Iterator[Any]:
    """A tqdm.auto bar (a widget in notebooks, text elsewhere), or ``None`` when not ``enabled``."""
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=state.total, initial=state.done, desc="experiment", unit="item")
    try:
        yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many objects that all live on (1.06 s -> 0.2 s for
    the 400,000 jobs of a 100,000-item x 4 run)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _keyed(strategies: Mapping[str, Model] | Sequence[Model]) -> dict[str, Model]:
    if isinstance(strategies, Mapping):
        keyed = {str(key): model for key, model in strategies.items()}
    else:
        keyed = {}
        for model in strategies:
            if model.name in keyed:
                raise ValueError(f"two strategies are named {model.name!r}: pass a dict {{key: model}} to name them")
            keyed[model.name] = model
    if not keyed:
        raise ValueError("strategies: give at least one model or strategy")
    for key, model in keyed.items():
        if not isinstance(model, Model):
            raise TypeError(f"strategies[{key!r}]: expected a Model, got {type(model).__name__}")
    return keyed


def _seeds_per_repeat(repeats: int, seeds: Sequence[int] | None) -> tuple[int | None, ...]:
    if seeds is None:
        if repeats < 1:
            raise ValueError(f"repeats: {repeats!r} must be at least 1")
        return (None,) * repeats
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds: give at least one seed (or leave seeds=None)")
    if repeats not in (1, len(seeds)):
        raise ValueError(f"repeats={repeats} but {len(seeds)} seeds: give one seed per repeat")
    return seeds
