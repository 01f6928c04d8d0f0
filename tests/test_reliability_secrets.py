"""Canary API keys never leave the process: not in log rows, run directories, exports, caches, reprs, exception
messages or an executed notebook -- even when the server echoes the key back in a 401 body."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from fake_server import FakeProviderServer, Reply

from orchestra_lab import Anthropic, AuthError, CallLog, Gemini, OpenAICompatible, Price, StrategyError
from orchestra_lab.experiments import Experiment, Results, export
from orchestra_lab.runtime import Cached, ResponseCache, Retrying
from orchestra_lab.strategies import Fallback

PRICE = Price(1.0, 2.0, source="test")
CANARIES = {env: f"sk-canary-{env.split('_')[0].lower()}-{uuid.uuid4().hex}" for env in (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")}  # fmt: skip
EXPORT_SUFFIXES = (".csv", ".json", ".html", ".md", ".parquet", ".tex")


@pytest.fixture
def canary_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for env, key in CANARIES.items():
        monkeypatch.setenv(env, key)
    yield CANARIES


def leaks(data: bytes | str) -> list[str]:
    """The canary env vars whose key occurs in ``data``."""
    text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    raw = data if isinstance(data, bytes) else data.encode()
    return [env for env, key in CANARIES.items() if key in text or key.encode() in raw]


def assert_no_canary_under(root: Path) -> int:
    """Grep every byte of every file under ``root`` (Parquet also decoded: compression could hide a key)."""
    files = [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        assert not leaks(path.read_bytes()), f"{path} holds a key"
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            assert not leaks(frame.to_csv()), f"{path} holds a key (decoded)"
    return len(files)


def assert_no_canary_in_error(err: BaseException) -> None:
    seen: set[int] = set()
    stack = [err]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        assert not leaks(text + repr(e) + str(e.args) + repr(vars(e))), f"{type(e).__name__} holds a key"
        stack += [c for c in (e.__cause__, e.__context__) if c is not None]
        stack += list(getattr(e, "causes", []))


def models_on(server: FakeProviderServer) -> tuple[OpenAICompatible, Anthropic, Gemini]:
    return (
        OpenAICompatible("gpt-canary", base_url=server.openai_url, price=PRICE),
        Anthropic("claude-canary", base_url=server.anthropic_url, price=PRICE),
        Gemini("gemini-canary", base_url=server.gemini_url, price=PRICE),
    )


def test_a_401_that_echoes_the_key_is_redacted_everywhere(canary_keys: dict[str, str], tmp_path: Path) -> None:
    with FakeProviderServer() as server, CallLog(tmp_path / "log") as log:
        errors = []
        for model in models_on(server):
            server.script(["401"])
            with pytest.raises(AuthError) as info:
                model("What is 1 + 1?")
            errors.append(info.value)
            assert "Incorrect API key provided: ***" in str(info.value)  # echoed, then redacted
            assert not leaks(repr(model) + str(model.get_config()))
        sent = [r.headers for r in server.received]
    log.close()
    # the keys were really sent (and echoed): redaction, not absence, kept them out
    assert [leaks(str(h)) for h in sent] == [["OPENAI_API_KEY"], ["ANTHROPIC_API_KEY"], ["GEMINI_API_KEY"]]
    for err in errors:
        assert_no_canary_in_error(err)
    frame = log.to_frame()
    assert frame["error"].str.contains(r"Incorrect API key provided: \*\*\*").all()
    assert not leaks(frame.to_csv() + repr(log) + log._repr_html_())
    assert_no_canary_under(tmp_path)


def test_experiment_run_dir_exports_and_cache_hold_no_key(canary_keys: dict[str, str], tmp_path: Path) -> None:
    run_dir, cache_dir, out = tmp_path / "run", tmp_path / "cache", tmp_path / "exports"
    cache = ResponseCache(cache_dir)
    data = [{"id": f"q{i}", "input": f"What is {i} + 1?", "expected": str(i + 1)} for i in range(30)]
    with FakeProviderServer(retry_after="0.01") as server:
        server.set_rates({"401": 0.3, "500": 0.1, "429": 0.1}, seed=1)
        openai, anthropic, gemini = models_on(server)
        strategies = {
            "cached": Cached(Retrying(openai, max_attempts=2, base_delay_s=0.001), cache),
            "fallback": Fallback([anthropic, gemini]),
        }
        experiment = Experiment(data, strategies, scorer="exact", run_dir=run_dir, progress=False)
        results = experiment.run()
        again = experiment.run()  # resumed: nothing new
        with CallLog() as log:  # cache hits for what was answered
            for item in data[:10]:
                try:
                    strategies["cached"](item["input"])
                except Exception as err:
                    assert_no_canary_in_error(err)
        assert server.counts["401"] > 0
        with pytest.raises(StrategyError) as info:  # every fallback fails on a 401 echo
            server.script(["401", "401"])
            strategies["fallback"]("What is 2 + 2?")
    cache.close()
    assert_no_canary_in_error(info.value)
    assert len(info.value.causes) == 2 and all(isinstance(c, AuthError) for c in info.value.causes)

    items = results.items
    assert (items["error"].dropna().str.contains(r"\*\*\*")).any()  # failures that echoed a key are in the items
    for suffix in EXPORT_SUFFIXES:
        results.export(out / f"summary{suffix}")
        export(results.items, out / f"items{suffix}")
        export(results.calls, out / f"calls{suffix}")
    loaded = Results.load(run_dir)
    texts = [
        repr(experiment), repr(results), results._repr_html_(), repr(again), repr(loaded), repr(cache),
        *(repr(m) for m in strategies.values()), repr(log), log.to_frame().to_csv(),
        results.calls.to_csv(), results.items.to_csv(), loaded.calls.to_csv(), str(loaded.config),
    ]  # fmt: skip
    assert not leaks("\n".join(texts))
    assert (log.to_frame()["kind"] == "cache").any()
    written = assert_no_canary_under(tmp_path)
    assert written >= 3 + 3 * len(EXPORT_SUFFIXES)  # run dir, cache files and every export were checked


NOTEBOOK_CELLS = [
    ("base_url = ''", ["parameters"]),
    ("import orchestra_lab as ol\nlog = ol.CallLog()\nmodel = ol.OpenAICompatible('gpt-canary', base_url=base_url)\n"
     "model", []),
    ("with log:\n    try:\n        model('What is 1 + 1?')\n    except ol.AuthError as err:\n        caught = err\n"
     "print(caught)\ncaught", []),
    ("log", []),
    ("log.to_frame()", []),
    ("with log:\n    model('What is 2 + 2?')", []),  # uncaught: the traceback lands in the notebook
]  # fmt: skip


def test_executed_notebook_holds_no_key(canary_keys: dict[str, str], tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in NOTEBOOK_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, output = tmp_path / "canary.ipynb", tmp_path / "canary.out.ipynb"
    nbformat.write(notebook, source)
    with FakeProviderServer() as server:
        server.set_default("401")  # the kernel inherits OPENAI_API_KEY from this process's environment
        with pytest.raises(papermill.PapermillExecutionError) as info:
            papermill.execute_notebook(
                str(source), str(output), parameters={"base_url": server.openai_url}, kernel_name="python3",
                cwd=str(tmp_path), progress_bar=False,
            )  # fmt: skip
        assert server.requests == 2
        assert [leaks(str(r.headers)) for r in server.received] == [["OPENAI_API_KEY"]] * 2  # it was sent
    assert info.value.ename == "AuthError"
    assert not leaks(str(info.value) + info.value.evalue)
    executed = output.read_text(encoding="utf-8")
    assert "Incorrect API key provided: ***" in executed
    assert_no_canary_under(tmp_path)


def test_an_answer_that_contains_the_key_is_not_written_anywhere(canary_keys: dict[str, str], tmp_path: Path) -> None:
    """A careless endpoint (a debugging echo, a proxy) puts the key in the answer text itself."""
    key = canary_keys["OPENAI_API_KEY"]
    body = {
        "model": "gpt-canary",
        "usage": {"prompt_tokens": 5, "completion_tokens": 5},
        "choices": [{"message": {"role": "assistant", "content": f"your key is {key}"}, "finish_reason": "stop"}],
    }
    cache = ResponseCache(tmp_path / "cache")
    with FakeProviderServer() as server:
        server.set_default(Reply(200, body, {"Content-Type": "application/json"}))
        model = Cached(OpenAICompatible("gpt-canary", base_url=server.openai_url, price=PRICE), cache)
        data = [{"id": "q1", "input": "What is my key?", "expected": "no"}]
        results = Experiment(data, {"m": model}, scorer="exact", run_dir=tmp_path / "run", progress=False).run()
        with CallLog(tmp_path / "log"):
            hit = model("What is my key?")
    cache.close()
    assert hit.cached and not leaks(hit.text)
    export(results.items, tmp_path / "items.csv")
    assert not leaks(results.items.to_csv())
    assert_no_canary_under(tmp_path)
