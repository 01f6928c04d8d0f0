"""Worker processes for ``Experiment(processes=N)``: the jobs of a run that only computes (simulated and replayed
models) answered on N cores.

The jobs are cut into batches of :data:`BATCH`; worker ``k`` (a forked copy of the experiment) answers batches
``k, k + N, ...`` in memory. With a run directory it writes each batch's call rows and item rows as pending Parquet
segments (:class:`~orchestra_lab.experiments._rundir.BatchSegments`) and sends back what the parent counts; without
one, it sends the rows. The parent takes the batches in job order and commits (or keeps) them, so the run
directory, the results and their order are those of a run in one process, and a killed run keeps every batch
committed (a batch in a worker is in flight: asked again on resume, at no cost, since nothing here is paid for).

Only what is safe to copy runs here (:func:`check_parallel`): live calls wait rather than compute (use
``concurrency``), and a wrapper's state -- a cache, a rate limit, a breaker, a spend cap -- would be split.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import pickle
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from ..models.base import Model
from ..runtime._wrapper import Wrapper

__all__ = ["BATCH", "OFFLINE_SOURCES", "Workers", "check_parallel"]

BATCH = 8192  # jobs a worker answers at once: with a run directory, one segment of calls and one of items
OFFLINE_SOURCES = ("simulated", "replay")

Answer = Callable[[Sequence[Any]], Awaitable[Any]]


def check_parallel(strategies: Mapping[str, Model], scorer: Any, processes: int) -> None:
    """A ValueError naming what keeps these strategies and this scorer from running in ``processes`` worker
    processes (nothing for ``processes=1``).

    >>> from orchestra_lab import Retrying, SimulatedModel
    >>> check_parallel({"s": SimulatedModel.profile("sim/small")}, None, 2)
    >>> check_parallel({"s": Retrying(SimulatedModel.profile("sim/small"))}, None, 2)
    Traceback (most recent call last):
    ...
    ValueError: processes=2: strategies['s'] wraps 'sim/small' in Retrying (its state would be split); use processes=1
    """
    if processes == 1:
        return
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(f"processes={processes}: worker processes need fork (Linux, Colab); use processes=1 here")
    models = [(f"strategies[{key!r}]", model) for key, model in strategies.items()]
    models += [(f"the scorer's {name}", value) for name, value in _attributes(scorer)]
    for where, model in models:
        if isinstance(model, Model):
            for node in _tree(model):
                _check_node(where, node, processes)


def _attributes(value: Any) -> list[tuple[str, Any]]:
    """An object's attributes, from its ``__dict__`` and its slots (a scorer's judge model, say)."""
    names = list(getattr(value, "__dict__", {}))
    names += [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
    return [(name, getattr(value, name)) for name in dict.fromkeys(names) if hasattr(value, name)]


def _tree(model: Model) -> Iterator[Model]:
    yield model
    for child in model.children():
        yield from _tree(child)


def _check_node(where: str, node: Model, processes: int) -> None:
    if isinstance(node, Wrapper):
        raise ValueError(
            f"processes={processes}: {where} wraps {node.name!r} in {type(node).__name__} (its state would be "
            "split); use processes=1"
        )
    if not node.children() and node.source not in OFFLINE_SOURCES:
        raise ValueError(
            f"processes={processes}: {where} calls {node.name!r} ({node.source}); only simulated and replayed "
            "models run in worker processes (live calls wait rather than compute: raise concurrency instead)"
        )


class Workers:
    """``processes`` forked workers answering ``batches`` with ``answer`` (a coroutine function run in the worker);
    :meth:`results` gives each batch's answer in batch order. Use as a context manager: leaving it stops the
    workers that are still running (an interruption, an error)."""

    def __init__(self, answer: Answer, batches: Sequence[Sequence[Any]], processes: int) -> None:
        context = multiprocessing.get_context("fork")
        loop = asyncio.get_running_loop()
        self._count = len(batches)
        self._processes: list[Any] = []
        self._received: list[asyncio.Queue[Any]] = []
        receivers: list[Any] = []
        gc.freeze()  # the objects the workers inherit stay out of their collections: their pages stay shared
        try:
            for k in range(min(processes, len(batches))):
                receiver, sender = context.Pipe(duplex=False)
                receivers.append(receiver)
                worker = context.Process(
                    target=_serve,
                    args=(answer, batches[k::processes], sender, tuple(receivers)),
                    daemon=True,
                    name=f"orchestra-lab-{k}",
                )
                worker.start()
                sender.close()  # the worker's end: EOF here once the worker is gone
                self._processes.append(worker)
                self._received.append(_receive_all(receiver, loop))
        finally:
            gc.unfreeze()

    async def results(self) -> AsyncIterator[Any]:
        """Each batch's answer, in batch order; a worker's error is raised here."""
        for index in range(self._count):
            k = index % len(self._processes)
            kind, value = await self._received[k].get()
            if kind == "gone":
                self._processes[k].join(timeout=5)
                raise RuntimeError(
                    f"experiment worker process {k} exited (code {self._processes[k].exitcode}) before sending all "
                    "its answers; what finished is written: run again to resume"
                )
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        """Stop the workers still running and release their pipes."""
        for worker in self._processes:
            if worker.is_alive():
                worker.terminate()
        for worker in self._processes:
            worker.join(timeout=5)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _receive_all(receiver: Any, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[Any]:
    """A queue (of ``loop``) filled with what ``receiver`` gets, by a thread reading it as fast as it comes (a
    worker never waits for the parent to take its answers), ending with ``("gone", None)`` when the worker's end
    closes."""
    received: asyncio.Queue[Any] = asyncio.Queue()

    def read() -> None:
        with receiver:
            while True:
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    message = ("gone", None)
                try:
                    loop.call_soon_threadsafe(received.put_nowait, message)
                except RuntimeError:  # the loop is closed: nobody is reading any more
                    return
                if message[0] == "gone":
                    return

    threading.Thread(target=read, name="orchestra-lab-receiver", daemon=True).start()
    return received


def _serve(answer: Answer, batches: Sequence[Sequence[Any]], sender: Any, inherited: Sequence[Any]) -> None:
    """A worker: answer the batches in order on an event loop of its own (in a new thread: nothing of the parent's
    running loop or context is reused), send each answer, or the error that stopped it.

    The parent's ends of the pipes (``inherited`` by the fork) are closed first: held here, they would keep a
    worker whose parent was killed blocked on a full pipe forever instead of stopping at a broken one."""
    for receiver in inherited:
        receiver.close()

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            for batch in batches:
                sender.send(("done", loop.run_until_complete(answer(batch))))
        except BaseException as err:
            with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
                sender.send(("error", _sendable(err)))
        finally:
            loop.close()
            sender.close()

    thread = threading.Thread(target=run, name="orchestra-lab-worker")
    thread.start()
    thread.join()


def _sendable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling, else a RuntimeError carrying its traceback text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError("in an experiment worker process:\n" + "".join(traceback.format_exception(err)))
