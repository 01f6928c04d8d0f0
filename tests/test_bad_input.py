"""Bad input fails early and clearly: invalid strategy and wrapper configs name the field, unknown prices give NaN
costs with one warning (and a budget refuses them), non-UTF-8 datasets name the line, 1 MB prompts pass through,
and invalid notebook parameters are refused before any kernel starts."""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_server import FakeProviderServer

from orchestra_lab import (
    Anthropic,
    BudgetExceededError,
    CallLog,
    Gemini,
    OpenAICompatible,
    Price,
    SimulatedModel,
)
from orchestra_lab.experiments import Experiment
from orchestra_lab.experiments.dataset import DatasetError, load_dataset
from orchestra_lab.pricing import UnknownPriceWarning
from orchestra_lab.runtime import Budget, Cached, CircuitBreaker, RateLimited, ResponseCache, Retrying, Timed
from orchestra_lab.strategies import (
    Cascade,
    ClassifierRouter,
    Ensemble,
    Fallback,
    RuleRouter,
    SemanticRouter,
    ThresholdRouter,
    WeightedVote,
)
from orchestra_lab.strategies.embeddings import HashingEmbeddings
from orchestra_lab.strategies.routing import Route

SMALL = SimulatedModel.profile("sim/small")
LARGE = SimulatedModel.profile("sim/large")
SMOKE = Path(__file__).resolve().parents[1] / "notebooks" / "_smoke.ipynb"

# -- configs ---------------------------------------------------------------------------------------------------

INVALID_CONFIGS: list[tuple[str, Callable[[], object], str]] = [
    ("empty fallback", lambda: Fallback([]), r"Fallback\.models: the list is empty"),
    ("rule router without default", lambda: RuleRouter([(lambda r: True, SMALL)], default=None), r"RuleRouter: a default model is required"),  # noqa: E501
    ("classifier without default", lambda: ClassifierRouter(lambda p: "a", {"a": SMALL}, default=None), r"ClassifierRouter: a default model is required"),  # noqa: E501
    ("ensemble of one", lambda: Ensemble([SMALL]), r"Ensemble\.members: an ensemble needs at least two members, got 1"),
    ("cascade of one", lambda: Cascade([SMALL]), r"Cascade\.stages: a cascade needs at least two stages, got 1"),
    ("negative cascade threshold", lambda: Cascade([(SMALL, -0.1), LARGE]), r"Cascade\.stages\[0\]\.threshold: -0\.1 is outside \[0, 1\]"),  # noqa: E501
    ("NaN cascade threshold", lambda: Cascade([(SMALL, math.nan), LARGE]), r"Cascade\.stages\[0\]\.threshold: nan"),
    ("NaN router threshold", lambda: ThresholdRouter(lambda r: 0.5, strong=LARGE, weak=SMALL, threshold=math.nan), r"ThresholdRouter\.threshold: nan is not a finite number"),  # noqa: E501
    ("semantic router without routes", lambda: SemanticRouter([], embedder=HashingEmbeddings(), default=SMALL), r"SemanticRouter\.routes: no routes given"),  # noqa: E501
    ("semantic threshold out of range", lambda: SemanticRouter([Route("math", LARGE, examples=["solve x"])], embedder=HashingEmbeddings(), default=SMALL, threshold=-2), r"SemanticRouter\.threshold: -2 is outside the cosine range"),  # noqa: E501
    ("semantic route without examples", lambda: SemanticRouter([Route("math", LARGE)], embedder=HashingEmbeddings(), default=SMALL), r"SemanticRouter\.routes: route\(s\) \['math'\] have no example"),  # noqa: E501
    ("negative vote weight", lambda: Ensemble([SMALL, LARGE], WeightedVote([-1.0, 1.0])), r"WeightedVote\.weights"),
    ("no retry attempts", lambda: Retrying(SMALL, max_attempts=0), r"max_attempts: 0 must be at least 1"),
    ("negative retry delay", lambda: Retrying(SMALL, base_delay_s=-1), r"base_delay_s: -1 must be a non-negative"),
    ("negative max delay", lambda: Retrying(SMALL, max_delay_s=-0.5), r"max_delay_s: -0\.5 must be a non-negative"),
    ("negative total wait", lambda: Retrying(SMALL, max_total_wait_s=-1), r"max_total_wait_s: -1 must be"),
    ("negative timeout", lambda: Timed(SMALL, timeout_s=-1), r"timeout_s: -1 must be positive"),
    ("zero breaker failures", lambda: CircuitBreaker(SMALL, failures=0), r"failures: 0 must be at least 1"),
    ("negative cool-down", lambda: CircuitBreaker(SMALL, cooldown_s=-5), r"cooldown_s: -5 must be a non-negative"),
    ("negative window", lambda: CircuitBreaker(SMALL, window_s=-1), r"window_s: -1 must be a non-negative"),
    ("negative rpm", lambda: RateLimited(SMALL, rpm=-1), r"rpm: -1 must be a positive number per minute"),
    ("zero tpm", lambda: RateLimited(SMALL, tpm=0), r"tpm: 0 must be a positive number per minute"),
    ("zero concurrency", lambda: RateLimited(SMALL, concurrency=0), r"concurrency: 0 must be at least 1"),
    ("negative budget", lambda: Budget(max_usd=-1), r"Budget: the cap must be a non-negative amount, got -1"),
    ("NaN budget", lambda: Budget(max_usd=math.nan), r"Budget: the cap must be a non-negative amount, got nan"),
    ("budget with two caps", lambda: Budget(max_usd=1, max_inr=80), r"give exactly one of max_usd= or max_inr="),
    ("negative budget tokens", lambda: Budget(max_usd=1, default_max_tokens=-5), r"Budget\.default_max_tokens: -5"),
    ("negative cache ttl", lambda: Cached(SMALL, ResponseCache("unused"), ttl_s=-1), r"ttl_s: -1 must be positive"),
    ("negative http timeout", lambda: OpenAICompatible("m", timeout_s=-1), r"timeout_s: -1 is not a positive number"),
    ("negative spend cap", lambda: Experiment([{"input": "x"}], [SMALL], max_spend_usd=-1), r"spend cap: -1 must be a non-negative"),  # noqa: E501
    ("zero experiment concurrency", lambda: Experiment([{"input": "x"}], [SMALL], concurrency=0), r"concurrency: 0 must be at least 1"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("case", "make", "message"), INVALID_CONFIGS, ids=[c[0] for c in INVALID_CONFIGS])
def test_invalid_configs_raise_a_value_error_naming_the_field(
    case: str, make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# -- prices ----------------------------------------------------------------------------------------------------


def test_unknown_price_gives_nan_cost_and_one_warning(fake_server: FakeProviderServer) -> None:
    unknown = f"no-such-model-{uuid.uuid4().hex[:8]}"
    model = OpenAICompatible(unknown, base_url=fake_server.openai_url, api_key_env=None)
    with warnings.catch_warnings(record=True) as caught, CallLog() as log:
        warnings.simplefilter("always")
        answers = [model(f"What is {i} + 1?") for i in range(3)]
    assert [a.text for a in answers] == ["1", "2", "3"]
    assert all(math.isnan(a.cost_usd) for a in answers)
    assert log.to_frame()["cost_usd"].isna().all()
    price_warnings = [w for w in caught if issubclass(w.category, UnknownPriceWarning)]
    assert len(price_warnings) == 1 and unknown in str(price_warnings[0].message)


def test_budget_refuses_unknown_prices_unless_allowed(fake_server: FakeProviderServer) -> None:
    model = OpenAICompatible(f"no-such-model-{uuid.uuid4().hex[:8]}", base_url=fake_server.openai_url, api_key_env=None)
    with CallLog() as log, Budget(max_usd=1.0) as budget, pytest.raises(BudgetExceededError, match="no price known"):
        model("What is 1 + 1?")
    assert fake_server.requests == 0 and budget.refused == 1
    assert log.to_frame()["error_type"].tolist() == ["budget"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownPriceWarning)
        with Budget(max_usd=1.0, allow_unknown=True) as lenient:
            assert model("What is 1 + 1?").text == "2"
    assert fake_server.requests == 1 and lenient.spent_usd == 0.0 and lenient.refused == 0


# -- datasets --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "line", "byte"),
    [
        ("latin1.csv", b"id,input\nq1,first\nq2,caf\xe9\nq3,third\n", 3, "0xe9"),
        ("latin1.jsonl", b'{"input": "first"}\n{"input": "second"}\n{"input": "caf\xe9"}\n', 3, "0xe9"),
        ("bom-then-bad.csv", b"\xef\xbb\xbfinput\nok\n\xff\xfe\n", 3, "0xff"),  # a BOM must not shift the count
    ],
)
def test_non_utf8_dataset_names_the_file_line_and_byte(
    tmp_path: Path, name: str, content: bytes, line: int, byte: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=rf"line {line}: not valid UTF-8 \(byte {byte}\)") as info:
        load_dataset(path)
    assert info.value.line == line and info.value.path == str(path)


# -- very long prompts -----------------------------------------------------------------------------------------

MEGABYTE_PROMPT = "lorem ipsum " * (1_000_000 // 12)


def test_a_one_megabyte_prompt_passes_through_a_simulated_model() -> None:
    response = SimulatedModel.profile("sim/small")(MEGABYTE_PROMPT)
    assert response.text and response.usage.input_tokens > 100_000


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_a_one_megabyte_prompt_passes_through_http_models(fake_server: FakeProviderServer, provider: str) -> None:
    model = {
        "openai": lambda: OpenAICompatible("m", base_url=fake_server.openai_url, api_key_env=None, price=Price(1, 2)),
        "anthropic": lambda: Anthropic("m", base_url=fake_server.anthropic_url, api_key_env=None, price=Price(1, 2)),
        "gemini": lambda: Gemini("m", base_url=fake_server.gemini_url, api_key_env=None, price=Price(1, 2)),
    }[provider]()
    with CallLog() as log:
        response = model(MEGABYTE_PROMPT)
    assert response.text == f"echo: {MEGABYTE_PROMPT}"
    assert len(str(fake_server.last.body)) > 1_000_000
    assert log.to_frame()["status"].tolist() == ["ok"]


def test_a_one_megabyte_prompt_through_cache_and_budget(fake_server: FakeProviderServer, tmp_path: Path) -> None:
    model = Cached(
        OpenAICompatible("m", base_url=fake_server.openai_url, api_key_env=None, price=Price(1, 2)),
        ResponseCache(tmp_path / "cache"),
    )
    with Budget(max_usd=10.0):
        first, second = model(MEGABYTE_PROMPT, max_tokens=10), model(MEGABYTE_PROMPT, max_tokens=10)
    assert second.cached and second.text == first.text and fake_server.requests == 1
    model.cache.close()


# -- notebook parameters ---------------------------------------------------------------------------------------


def test_invalid_notebook_parameters_are_refused_before_a_kernel_starts(tmp_path: Path) -> None:
    sweep = pytest.importorskip("orchestra_lab.sweep")
    output = tmp_path / "out.ipynb"
    with pytest.raises(sweep.ParameterError, match=r"unknown parameter 'n_itemz'; its parameters cell declares"):
        sweep.run_notebook(SMOKE, output, {"n_itemz": 3})
    with pytest.raises(sweep.ParameterError, match=r"parameter 'n_items' expects int .* got str 'three'"):
        sweep.run_notebook(SMOKE, output, {"n_items": "three"})
    with pytest.raises(sweep.ParameterError, match=r"parameter 'accuracy' expects float .* got bool True"):
        sweep.run_notebook(SMOKE, output, {"accuracy": True})
    with pytest.raises(sweep.ParameterError, match=r"unknown parameter 'bogus'"):
        sweep.sweep(SMOKE, {"bogus": [1, 2]}, tmp_path / "runs")
    with pytest.raises(sweep.ParameterError, match=r"looks like JSON but does not parse"):
        sweep.parse_parameters([("n_items", "[1, 2")], sweep.declared_parameters(SMOKE))
    assert not output.exists() and not (tmp_path / "runs").exists()
