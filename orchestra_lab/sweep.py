"""Run parameterized notebooks with papermill: one run, a sweep over a parameter grid, and the merged table.

A notebook's parameters are the names assigned in its cell tagged ``parameters`` -- or, where cell tags cannot be
edited (Colab), in the code cell whose first line is the comment ``# parameters``: that cell is tagged in a temporary
copy before papermill runs. Values are checked against them (unknown name, or a value whose type does not fit the
default's) before any kernel starts. A notebook whose kernel is not installed here runs on this interpreter's
kernel (``python3`` of ipykernel).

Sweep convention: the notebook declares an ``output_dir`` parameter and writes ``summary.csv`` there. Each
combination of the grid runs into ``RUNS_DIR/<slug>/`` (``out.ipynb``, ``params.json`` and the notebook's
``summary.csv``); ``RUNS_DIR/sweep_status.json`` tells which runs failed and why; :func:`collect` stacks the
summaries into one table with the parameters as columns, and :func:`compare` compares them: one row per swept
setting and strategy, repeats over ``seed`` aggregated (mean, spread, 95% interval over runs), failed runs listed
with their error. Notebooks run with their own folder as working directory,
as in Jupyter.

>>> combinations({"model": ["sim/small", "sim/large"], "n": [10]})
[{'model': 'sim/small', 'n': 10}, {'model': 'sim/large', 'n': 10}]
>>> combo_slug({"model": "sim/small", "n": 10})
'model=sim-small_n=10_63bfa5fe'
>>> parse_value("0.5"), parse_value("true"), parse_value("[1, 2]"), parse_value("sim/small")
(0.5, True, [1, 2], 'sim/small')
"""

from __future__ import annotations

import ast
import contextvars
import hashlib
import itertools
import json
import multiprocessing
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._compare_runs import SweepComparison

__all__ = [
    "PARAMETERS_TAG",
    "ParameterError",
    "RunStatus",
    "SweepResult",
    "check_parameters",
    "collect",
    "combinations",
    "compare",
    "dask_executor",
    "declared_parameters",
    "grid_of",
    "kernel_for",
    "load_grid",
    "parse_parameters",
    "parse_value",
    "run_combination",
    "run_notebook",
    "sweep",
    "write_comparison",
    "write_table",
]

OUTPUT_DIR_PARAMETER = "output_dir"
SUMMARY_FILE = "summary.csv"
PARAMS_FILE = "params.json"
NOTEBOOK_FILE = "out.ipynb"
STATUS_FILE = "sweep_status.json"

PARAMETERS_TAG = "parameters"
_PARAMETERS_COMMENT = re.compile(r"#\s*parameters\s*", re.IGNORECASE)
_WORDS: dict[str, Any] = {"true": True, "false": False, "none": None, "null": None}
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")
_SLUG_MAX = 80


class ParameterError(ValueError):
    """A notebook parameter or grid is wrong: unknown name, value of the wrong type, malformed grid file."""


# -- parameters ------------------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line value as Python: bool, None, int, float or a JSON list/object/string literal, else the text.

    >>> parse_value("3"), parse_value("None"), parse_value('{"a": 1}'), parse_value("1e-3")
    (3, None, {'a': 1}, 0.001)
    """
    word = _WORDS.get(text.strip().lower(), text)
    if word is not text:
        return word
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.startswith(("[", "{", '"')):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"value {text!r} looks like JSON but does not parse: {exc.msg}") from None
    return text


def declared_parameters(notebook: str | Path) -> dict[str, Any]:
    """The notebook's parameters (cell tagged ``parameters``, else marked ``# parameters``) and their defaults.

    A default that is not a Python literal (``Path(".")``, a function call...) is given as ``None``: any value fits.
    """
    import papermill

    with papermill_ready(notebook) as (path, _):
        inspected = papermill.inspect_notebook(str(path))
    return {name: _literal(info["default"]) for name, info in inspected.items()}


@contextmanager
def papermill_ready(notebook: str | Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The notebook as papermill needs it, and its metadata: the original file, or -- when no cell is tagged
    ``parameters`` but a code cell starts with the line ``# parameters`` -- a temporary copy with that cell tagged.
    """
    path = _existing_notebook(notebook)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        cells = document["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"{path}: not a readable notebook ({exc})") from None
    metadata = document.get("metadata", {})
    if not _tag_comment_marked_cell(cells):
        yield path, metadata
        return
    with tempfile.TemporaryDirectory(prefix="orchestra-lab-") as folder:
        copy = Path(folder) / path.name
        copy.write_text(json.dumps(document), encoding="utf-8")
        yield copy, metadata


def _tag_comment_marked_cell(cells: list[dict[str, Any]]) -> bool:
    """Tag the first code cell whose first line is ``# parameters``, unless a cell is tagged already."""
    if any(PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []) for cell in cells):
        return False
    for cell in cells:
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else source).splitlines()
        if cell.get("cell_type") == "code" and lines and _PARAMETERS_COMMENT.fullmatch(lines[0].strip()):
            cell.setdefault("metadata", {}).setdefault("tags", []).append(PARAMETERS_TAG)
            return True
    return False


def kernel_for(metadata: Mapping[str, Any], requested: str | None) -> str | None:
    """The kernel to pass to papermill: ``requested``; else ``None`` (the notebook's own) when that kernel is
    installed; else the running interpreter's ``python3`` kernel (ipykernel, a dependency of orchestra_lab).

    >>> kernel_for({"kernelspec": {"name": "python3"}}, "my-env")
    'my-env'
    """
    if requested:
        return requested
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager

    wanted = metadata.get("kernelspec", {}).get("name")
    installed = KernelSpecManager().find_kernel_specs()
    if wanted in installed:
        return None
    if NATIVE_KERNEL_NAME in installed:
        return NATIVE_KERNEL_NAME
    raise ImportError(f"no Jupyter kernel named {wanted!r} and no {NATIVE_KERNEL_NAME!r} kernel: pip install ipykernel")


def check_parameters(declared: Mapping[str, Any], values: Mapping[str, Any], notebook: str | Path) -> dict[str, Any]:
    """``values`` checked against the declared parameters; ints given for float defaults become floats.

    >>> check_parameters({"n": 3, "rate": 0.5}, {"rate": 1}, "nb.ipynb")
    {'rate': 1.0}
    >>> check_parameters({"n": 3}, {"m": 1}, "nb.ipynb")
    Traceback (most recent call last):
    ...
    orchestra_lab.sweep.ParameterError: nb.ipynb: unknown parameter 'm'; its parameters cell declares: n
    """
    checked = {}
    for name, value in values.items():
        if name not in declared:
            known = ", ".join(declared) or "nothing (no cell tagged 'parameters')"
            raise ParameterError(f"{notebook}: unknown parameter {name!r}; its parameters cell declares: {known}")
        checked[name] = _fit(name, value, declared[name], notebook)
    return checked


def parse_parameters(pairs: Sequence[tuple[str, str]], declared: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line ``-p name value`` pairs as Python values; a parameter whose default is a string keeps the text.

    >>> parse_parameters([("n", "5"), ("label", "5")], {"n": 3, "label": "x"})
    {'n': 5, 'label': '5'}
    """
    return {name: text if isinstance(declared.get(name), str) else parse_value(text) for name, text in pairs}


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _fit(name: str, value: Any, default: Any, notebook: str | Path) -> Any:
    if default is None:
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    fits = isinstance(value, type(default)) and not (isinstance(value, bool) and not isinstance(default, bool))
    if not fits:
        raise ParameterError(
            f"{notebook}: parameter {name!r} expects {type(default).__name__} (its default is {default!r}), "
            f"got {type(value).__name__} {value!r}"
        )
    return value


def _existing_notebook(notebook: str | Path) -> Path:
    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook")
    return path


# -- one run ---------------------------------------------------------------------------------------------------


def run_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str | None = None,
) -> Path:
    """Execute ``notebook`` with papermill into ``output`` after checking ``parameters``; returns ``output``.

    A failing cell raises papermill's ``PapermillExecutionError``; ``output`` then holds the partial notebook.
    """
    path = _existing_notebook(notebook)
    values = check_parameters(declared_parameters(path), parameters or {}, path)
    _execute(path, Path(output), values, kernel_name)
    return Path(output)


def _execute(notebook: Path, output: Path, parameters: Mapping[str, Any], kernel_name: str | None) -> None:
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    with papermill_ready(notebook) as (ready, metadata):
        papermill.execute_notebook(
            str(ready),
            str(output),
            parameters=dict(parameters),
            kernel_name=kernel_for(metadata, kernel_name),
            cwd=str(notebook.resolve().parent),
            progress_bar=False,
        )


# -- grids -----------------------------------------------------------------------------------------------------


def load_grid(path: str | Path) -> dict[str, list[Any]]:
    """A parameter grid from a JSON or YAML file: a mapping of parameter name to a list of values.

    A value that is not a list is a single value. YAML needs PyYAML.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such grid file")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    elif suffix in (".yaml", ".yml"):
        data = _load_yaml(text, path)
    else:
        raise ParameterError(f"{path}: grid files must be .json, .yaml or .yml")
    return grid_of(data, path)


def _load_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError(f"{path}: YAML grids need PyYAML (pip install pyyaml), or write the grid as JSON") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: invalid YAML ({exc})".replace("\n", " ")) from None


def grid_of(data: Any, source: str | Path = "grid") -> dict[str, list[Any]]:
    """Validate a grid: a non-empty mapping of names to non-empty lists (a scalar stands for a one-value list).

    >>> grid_of({"n": [1, 2], "model": "sim/small"})
    {'n': [1, 2], 'model': ['sim/small']}
    """
    if not isinstance(data, Mapping) or not data:
        raise ParameterError(f"{source}: a grid is a non-empty mapping of parameter name -> list of values")
    grid = {}
    for name, values in data.items():
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if not values:
            raise ParameterError(f"{source}: parameter {name!r} has an empty list of values")
        grid[str(name)] = values
    return grid


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (cartesian product, first parameter varying slowest)."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def combo_slug(parameters: Mapping[str, Any]) -> str:
    """A folder name for a combination: readable ``name=value`` parts plus a short hash that keeps it unique."""
    readable = "_".join(f"{name}={_SLUG_UNSAFE.sub('-', str(value))}" for name, value in parameters.items())
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{readable[:_SLUG_MAX]}_{digest}"


# -- sweeps ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RunStatus:
    """How one combination of a sweep went."""

    slug: str
    parameters: dict[str, Any]
    status: str  # "ok", "failed" or "pending"
    notebook: str
    summary: str | None = None
    error_type: str | None = None
    error: str | None = None
    duration_s: float | None = None

    def describe(self) -> str:
        """One line for a terminal."""
        if self.status == "ok":
            return f"ok      {self.slug} ({self.duration_s:.1f} s)"
        return f"FAILED  {self.slug}: {self.error_type}: {self.error} (partial notebook: {self.notebook})"


@dataclass(slots=True)
class SweepResult:
    """All runs of a sweep, in grid order."""

    runs_dir: Path
    runs: list[RunStatus] = field(default_factory=list)

    @property
    def failed(self) -> list[RunStatus]:
        return [run for run in self.runs if run.status != "ok"]

    @property
    def status_file(self) -> Path:
        return self.runs_dir / STATUS_FILE


def sweep(
    notebook: str | Path,
    grid: Mapping[str, Sequence[Any]] | str | Path,
    runs_dir: str | Path,
    *,
    workers: int = 2,
    executor: Executor | None = None,
    kernel_name: str | None = None,
    on_done: Callable[[RunStatus], None] | None = None,
) -> SweepResult:
    """Run ``notebook`` once per combination of ``grid`` (a mapping or a grid file), ``workers`` at a time.

    By default runs go through a ``ProcessPoolExecutor``; pass any ``concurrent.futures.Executor`` instead, e.g.
    ``distributed.Client(...).get_executor()`` to use a Dask cluster (see :func:`dask_executor`). A failed
    combination does not stop the others; ``runs_dir/sweep_status.json`` is rewritten as each run finishes and
    ``on_done`` is called with each finished run's status.
    """
    path = _existing_notebook(notebook).resolve()
    grid = grid_of(grid) if isinstance(grid, Mapping) else load_grid(grid)
    combos = _checked_combinations(path, grid)
    root = Path(runs_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    result = SweepResult(
        root, [RunStatus(combo_slug(c), c, "pending", str(root / combo_slug(c) / NOTEBOOK_FILE)) for c in combos]
    )
    _write_status(path, grid, result)
    pool = nullcontext(executor) if executor is not None else _process_pool(workers)
    with pool as ex:
        futures: dict[Future[RunStatus], int] = {
            ex.submit(run_combination, str(path), run.notebook, run.parameters, kernel_name): i
            for i, run in enumerate(result.runs)
        }
        for future in as_completed(futures):
            result.runs[futures[future]] = _outcome(future, result.runs[futures[future]])
            _write_status(path, grid, result)
            if on_done is not None:
                on_done(result.runs[futures[future]])
    return result


def run_combination(notebook: str, output: str, parameters: dict[str, Any], kernel_name: str | None) -> RunStatus:
    """Run one combination into ``output`` (its folder gets ``params.json``; the notebook writes ``summary.csv``).

    Never raises for a failing notebook: the failure is in the returned status.
    """
    from papermill.exceptions import PapermillExecutionError

    out = Path(output)
    run_dir = out.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / PARAMS_FILE).write_text(json.dumps(parameters, indent=2, default=str) + "\n", encoding="utf-8")
    summary = run_dir / SUMMARY_FILE
    summary.unlink(missing_ok=True)  # a stale summary from an earlier sweep must not pass for this run's
    status = RunStatus(run_dir.name, parameters, "ok", output)
    started = time.perf_counter()
    try:
        # an empty context: jupyter_core keeps "this thread's event loop" in a context variable, which threaded
        # executors (Dask) copy from the submitting thread -- a loop that may be running there already
        values = parameters | {OUTPUT_DIR_PARAMETER: str(run_dir)}
        contextvars.Context().run(_execute, Path(notebook), out, values, kernel_name)
    except PapermillExecutionError as exc:
        status.status, status.error_type, status.error = "failed", exc.ename, _one_line(exc.evalue)
    except Exception as exc:  # any failure of one combination is reported, not raised
        status.status, status.error_type, status.error = "failed", type(exc).__name__, _one_line(str(exc))
    else:
        if summary.is_file():
            status.summary = str(summary)
        else:
            status.status, status.error_type = "failed", "MissingSummary"
            status.error = f"the notebook finished but wrote no {SUMMARY_FILE} in its {OUTPUT_DIR_PARAMETER}"
    status.duration_s = round(time.perf_counter() - started, 3)
    return status


@contextmanager
def dask_executor(workers: int = 2, **cluster_options: Any) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor backed by a local Dask cluster (needs ``dask[distributed]``).

    Workers are threads by default (``processes=False``): each run's kernel is its own process anyway. For a
    remote cluster, pass ``distributed.Client(address).get_executor(pure=False)`` to :func:`sweep` yourself.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("the dask executor needs dask.distributed: pip install 'orchestra-lab[dask]'") from None
    options = {"n_workers": workers, "threads_per_worker": 1, "processes": False, "dashboard_address": None}
    with LocalCluster(**(options | cluster_options)) as cluster, Client(cluster) as client:
        yield client.get_executor(pure=False)


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """Fork (fast: papermill is already imported) from a single-threaded parent on Linux, such as the CLI; else a
    forkserver (or spawn), since forking a multi-threaded parent such as a Jupyter kernel can deadlock."""
    if sys.platform == "linux" and threading.active_count() == 1:
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def _checked_combinations(notebook: Path, grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    declared = declared_parameters(notebook)
    if OUTPUT_DIR_PARAMETER not in declared:
        raise ParameterError(
            f"{notebook}: a swept notebook must declare an {OUTPUT_DIR_PARAMETER!r} parameter (and write "
            f"{SUMMARY_FILE} there)"
        )
    if OUTPUT_DIR_PARAMETER in grid:
        raise ParameterError(f"grid: {OUTPUT_DIR_PARAMETER!r} is set by the sweep for each run; remove it")
    combos = [check_parameters(declared, combo, notebook) for combo in combinations(grid)]
    seen: set[str] = set()
    for combo in combos:
        if combo_slug(combo) in seen:
            raise ParameterError(f"grid: the combination {combo} comes up twice (a value is listed twice)")
        seen.add(combo_slug(combo))
    return combos


def _outcome(future: Future[RunStatus], pending: RunStatus) -> RunStatus:
    try:
        return future.result()
    except Exception as exc:  # the executor itself failed (worker died, cluster lost...)
        return RunStatus(
            pending.slug,
            pending.parameters,
            "failed",
            pending.notebook,
            error_type=type(exc).__name__,
            error=_one_line(str(exc)),
        )


def _write_status(notebook: Path, grid: Mapping[str, Any], result: SweepResult) -> None:
    document = {
        "notebook": str(notebook),
        "grid": grid,
        "ok": sum(run.status == "ok" for run in result.runs),
        "failed": sum(run.status == "failed" for run in result.runs),
        "pending": sum(run.status == "pending" for run in result.runs),
        "runs": [asdict(run) for run in result.runs],
    }
    tmp = result.status_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(result.status_file)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- collect ---------------------------------------------------------------------------------------------------


def collect(runs_dir: str | Path) -> Any:
    """Every run's ``summary.csv`` in one DataFrame: a ``run`` column, the run's parameters, then its summary.

    Runs that ``sweep_status.json`` marks as failed are left out. A parameter whose name is already a summary
    column is added as ``param_<name>``.
    """
    import pandas as pd

    root = Path(runs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such runs directory")
    failed = _failed_slugs(root)
    frames = [
        _with_parameters(pd.read_csv(summary), summary.parent)
        for summary in sorted(root.glob(f"*/{SUMMARY_FILE}"))
        if summary.parent.name not in failed
    ]
    if not frames:
        raise FileNotFoundError(f"{root}: no successful run with a {root}/<run>/{SUMMARY_FILE}")
    return pd.concat(frames, ignore_index=True)


def compare(runs_dir: str | Path) -> SweepComparison:
    """The runs of a sweep compared by setting and strategy (see :class:`SweepComparison`), failed runs listed."""
    from ._compare_runs import SweepComparison, failed_runs

    root = Path(runs_dir)
    rows = collect(root)
    runs = _run_parameters(root).values()
    names = list(dict.fromkeys(name for parameters in runs for name in parameters))
    column = {name: f"param_{name}" if f"param_{name}" in rows.columns else name for name in names}
    swept = [column[name] for name in names if len({json.dumps(p.get(name), default=str) for p in runs}) > 1]
    return SweepComparison.of(rows, list(column.values()), swept, failed_runs(_failures(root)))


def write_comparison(comparison: SweepComparison, path: str | Path) -> Path:
    """Write a comparison: an HTML report page (table, failed runs, plot) for .html, else its table by suffix."""
    from .experiments.exports import FORMATS

    path = Path(path)
    if FORMATS.get(path.suffix.lower()) != "html":
        return write_table(comparison.table, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comparison.html(title=_title(path)), encoding="utf-8")
    return path


def write_table(frame: Any, path: str | Path) -> Path:
    """Write a collected table; the format comes from the suffix (.csv, .md, .html, and the other export formats)."""
    from .experiments.exports import export

    return export(frame, path, title=_title(Path(path)))


def _title(path: Path) -> str:
    return f"orchestra-lab sweep: {path.stem}"


def markdown(frame: Any) -> str:
    """A collected table as a Markdown pipe table."""
    from .experiments.exports import markdown_table

    return markdown_table(frame)


def _run_parameters(root: Path) -> dict[str, dict[str, Any]]:
    """Each run folder's parameters (``params.json``), by folder name."""
    return {
        params.parent.name: json.loads(params.read_text(encoding="utf-8"))
        for params in sorted(root.glob(f"*/{PARAMS_FILE}"))
    }


def _failures(root: Path) -> list[dict[str, Any]]:
    """The runs that failed, as the status file tells, and run folders that wrote no summary (run killed)."""
    status_file = root / STATUS_FILE
    listed = json.loads(status_file.read_text(encoding="utf-8"))["runs"] if status_file.is_file() else []
    failed = [
        {"run": r["slug"], "parameters": r.get("parameters", {}), "error_type": r.get("error_type") or r["status"],
         "error": r.get("error")}
        for r in listed if r["status"] != "ok"
    ]  # fmt: skip
    known = {r["run"] for r in failed}
    failed += [
        {"run": slug, "parameters": parameters, "error_type": "MissingSummary", "error": f"no {SUMMARY_FILE}"}
        for slug, parameters in _run_parameters(root).items()
        if slug not in known and not (root / slug / SUMMARY_FILE).is_file()
    ]
    return failed


def _failed_slugs(root: Path) -> set[str]:
    status_file = root / STATUS_FILE
    if not status_file.is_file():
        return set()
    return {run["slug"] for run in json.loads(status_file.read_text(encoding="utf-8"))["runs"] if run["status"] != "ok"}


def _with_parameters(summary: Any, run_dir: Path) -> Any:
    params_file = run_dir / PARAMS_FILE
    parameters = json.loads(params_file.read_text(encoding="utf-8")) if params_file.is_file() else {}
    front = {"run": run_dir.name} | {
        (f"param_{name}" if name in summary.columns else name): value for name, value in parameters.items()
    }
    for position, (name, value) in enumerate(front.items()):
        summary.insert(position, name, [value] * len(summary))
    return summary
