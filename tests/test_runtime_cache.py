"""Response cache: hits cost nothing and are logged as cache rows, keys cover exactly what changes the answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from orchestra_lab import (
    CallLog,
    FunctionModel,
    Model,
    Request,
    Response,
    ServerError,
    SimulatedModel,
    Usage,
    answer_key,
)
from orchestra_lab._secrets import Secret
from orchestra_lab.runtime import Cached, CacheWarning, ResponseCache, cache_key, cache_key_material

CANARY = "sk-" + "canary-0123456789abcdef"  # built at run time: no key-shaped literal in the repo


@pytest.fixture
def store(tmp_path: Path):
    cache = ResponseCache(tmp_path / "cache")
    yield cache
    cache.close()


def counting_model(name: str = "counter") -> tuple[FunctionModel, list[Request]]:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response(
            f"answer {len(seen)}", requested_model=name, served_model=f"{name}-v2", usage=Usage(10, 5), cost_usd=0.01
        )

    return FunctionModel(answer, name=name), seen


class KeyedModel(Model):
    """A 'live' model with a key, headers and a base URL, like a provider."""

    provider = "acme"
    source = "live"

    def __init__(self, base_url: str = "https://api.acme.test/v1") -> None:
        self.name = "acme/model-1"
        self.base_url = base_url
        self.api_key = Secret(CANARY)
        self.headers = {"Authorization": f"Bearer {CANARY}"}
        self.calls = 0

    async def _acomplete(self, request: Request) -> Response:
        self.calls += 1
        return Response(f"acme says {request.prompt}", requested_model=self.name, provider=self.provider, cost_usd=0.5)


def test_hit_after_miss_same_text_no_cost_and_a_cache_row(store):
    small = Cached(SimulatedModel.profile("sim/small"), store)
    request = Request.of("What is 17 + 25?", item_id="q1")
    with CallLog() as log, answer_key("q1", expected=42, difficulty=0.1):
        first = small.complete(request)
        second = small.complete(request)
    assert second.text == first.text and second.served_model == first.served_model == "sim/small"
    assert (second.cost_usd, second.cached, second.source) == (0.0, True, "cache")
    assert second.meta["original_cost_usd"] == pytest.approx(first.cost_usd)
    assert second.meta["confidence"] == first.meta["confidence"]  # strategies read meta from hits too
    miss, hit = log.rows()
    assert miss["kind"] == "model" and miss["cost_usd"] > 0 and not miss["cache_hit"]
    assert (hit["kind"], hit["cache_hit"], hit["cost_usd"], hit["source"]) == ("cache", True, 0.0, "cache")
    assert (hit["name"], hit["served_model"], hit["response_text"]) == ("sim/small", "sim/small", first.text)
    assert hit["prompt_hash"] == miss["prompt_hash"] and hit["call_id"] == second.call_id
    assert (store.hits, store.misses) == (1, 1)


def test_any_changed_param_or_message_misses(store):
    model, seen = counting_model()
    cached = Cached(model, store)
    base = Request.of("hello", temperature=0.0)
    variants = [
        base,
        base.replace(temperature=0.7),
        base.replace(seed=1),
        base.replace(max_tokens=20),
        base.replace(stop=("\n",)),
        base.replace(extra={"response_format": {"type": "json_object"}}),
        base.with_prompt("hello!"),
        Request.of("hello", system="Be brief.", temperature=0.0),
    ]
    texts = [cached.complete(r).text for r in variants]
    assert len(seen) == len(variants) and len(set(texts)) == len(variants)
    assert cached.complete(base.replace(temperature=0.7)).cached
    assert len(seen) == len(variants)


def test_hit_row_lands_under_the_calling_strategy(store):
    class Twice(Model):
        kind = "strategy"
        provider = source = "strategy"

        def __init__(self, inner: Model) -> None:
            self.name, self.inner = "twice", inner

        async def _acomplete(self, request: Request) -> Response:
            await self.inner.acomplete(request)
            answer = await self.inner.acomplete(request)
            return Response(answer.text, requested_model=self.name, latency_s=0.0)

    model, _ = counting_model()
    with CallLog() as log:
        Twice(Cached(model, store))("q")
    hit = next(r for r in log.rows() if r["kind"] == "cache")
    strategy = next(r for r in log.rows() if r["kind"] == "strategy")
    assert hit["parent_id"] == strategy["call_id"] and hit["caller"] == "twice"
    assert strategy["cost_usd"] == pytest.approx(0.01)  # the hit adds nothing to the strategy's cost


def test_errors_are_not_cached(store):
    outcomes: list[str | Exception] = [ServerError("boom", status=500), "fine"]

    def flaky(prompt: str) -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cached = Cached(FunctionModel(flaky, name="flaky"), store)
    with pytest.raises(ServerError):
        cached("q")
    assert len(store) == 0
    assert cached("q").text == "fine" and not outcomes
    assert cached("q").cached


def test_ttl_expires_entries(store):
    model, seen = counting_model()
    cached = Cached(model, store, ttl_s=0.2)
    cached("q")
    assert cached("q").cached
    time.sleep(0.3)
    assert not cached("q").cached and len(seen) == 2


def test_bypass_reads_and_writes_nothing_refresh_writes_without_reading(store):
    model, seen = counting_model()
    cached = Cached(model, store, mode="bypass")
    cached("q"), cached("q")
    assert len(seen) == 2 and len(store) == 0 and (store.hits, store.misses) == (0, 0)
    refresh = cached.with_mode("refresh")
    assert refresh("q").text == "answer 3" and refresh("q").text == "answer 4" and len(store) == 1
    assert cached.with_mode("use")("q").text == "answer 4" and len(seen) == 4


def test_bad_mode_and_ttl_are_refused(store):
    model, _ = counting_model()
    with pytest.raises(ValueError, match="mode"):
        Cached(model, store, mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl_s"):
        Cached(model, store, ttl_s=0)


def test_corrupted_cache_file_degrades_to_misses_with_one_warning(tmp_path):
    directory = tmp_path / "cache"
    model, seen = counting_model()
    first = ResponseCache(directory)
    Cached(model, first)("q")
    first.close()
    (directory / "cache.db").write_bytes(b"this is not sqlite" * 500)
    broken = ResponseCache(directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = [Cached(model, broken)("q").text for _ in range(3)]
    assert answers == ["answer 2", "answer 3", "answer 4"] and len(seen) == 4
    assert [w.category for w in caught] == [CacheWarning]
    assert "could not read" in str(caught[0].message) and broken.errors >= 3


def test_a_cache_whose_reads_fail_is_a_miss(store, monkeypatch):
    model, _ = counting_model()
    cached = Cached(model, store)
    cached("q")

    class Unreadable:
        def get(self, key: str) -> None:
            raise OSError("disk on fire")

        def set(self, *args: object, **kwargs: object) -> None:
            raise OSError("disk on fire")

    monkeypatch.setattr(store, "_open", Unreadable)
    with pytest.warns(CacheWarning, match="disk on fire"):
        assert cached("q").text == "answer 2"
    assert store.misses == 2 and store.hits == 0


SHARED_MODULE = """
import os

from orchestra_lab import FunctionModel, SimulatedModel
from orchestra_lab.strategies import Fallback


def answer(prompt):
    return f"from process {os.getpid()}"


def build():
    models = [FunctionModel(answer, name="echo"), SimulatedModel.profile("sim/small", seed=3)]
    return Fallback(models, on_status={500, 503, 529})
"""


def test_cache_is_shared_across_processes(tmp_path, monkeypatch):
    """The same model built by the same code in another process (another hash seed) finds its entries."""
    directory = tmp_path / "cache"
    (tmp_path / "shared_strategy.py").write_text(SHARED_MODULE)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from shared_strategy import build
        from orchestra_lab.runtime import Cached, ResponseCache
        print(Cached(build(), ResponseCache({str(directory)!r}))("hi").text)
        """
    )
    other = subprocess.run([sys.executable, "-c", script], check=True, timeout=60, capture_output=True, text=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    from shared_strategy import build

    here = Cached(build(), ResponseCache(directory))("hi")
    assert here.cached and here.text == other.stdout.strip() != f"from process {os.getpid()}"


def test_function_models_with_different_code_do_not_share_entries(store):
    first = Cached(FunctionModel(lambda p: "A"), store)
    second = Cached(FunctionModel(lambda p: "B"), store)
    third = Cached(FunctionModel(lambda p, suffix="C": suffix), store)
    assert (first("hi").text, second("hi").text, third("hi").text) == ("A", "B", "C")
    assert Cached(FunctionModel(lambda p: "A"), store)("hi").cached  # the same code again: a hit


def test_a_strategy_key_covers_its_children_configuration(store):
    request = Request.of("What is 17 * 23?", item_id="q1")

    def fallback(seed: int) -> Model:
        from orchestra_lab.strategies import Fallback

        return Fallback([SimulatedModel.profile("sim/small", seed=seed)])

    assert cache_key(fallback(0), request) != cache_key(fallback(1), request)
    assert cache_key(fallback(0), request) == cache_key(fallback(0), request)
    fresh = [fallback(seed)(request).text for seed in range(6)]
    assert [Cached(fallback(seed), store)(request).text for seed in range(6)] == fresh
    assert len(set(fresh)) > 1  # the seeds really answer differently, so a shared entry would show


def test_config_is_computed_once_per_model_and_holds_no_address_or_secret():
    from orchestra_lab.strategies import Fallback

    class WithKey(KeyedModel):
        def __init__(self, api_key: Secret) -> None:
            super().__init__()
            self.api_key = api_key

    calls: list[int] = []
    strategy = Fallback([WithKey(Secret(CANARY)), FunctionModel(lambda p: p)], name="fb")
    real = strategy.get_config
    strategy.get_config = lambda: calls.append(1) or real()  # type: ignore[method-assign]
    keys = {cache_key(strategy, Request.of(prompt)) for prompt in ("a", "b", "c")}
    assert len(keys) == 3 and calls == [1]
    from orchestra_lab.runtime.cache import model_config

    config = model_config(strategy)
    assert "WithKey(api_key=Secret('***'))" in config and "<lambda>#" in config
    assert " at 0x" not in config and CANARY not in config


def test_key_material_is_exactly_the_listed_fields_and_nothing_secret(store):
    live = KeyedModel()
    request = Request.of("hi", item_id="i1", metadata={"lang": "en"}, temperature=0.2, seed=7)
    material = cache_key_material(live, request)
    assert set(material) == {"version", "provider", "base_url", "model", "messages", "params"}
    assert material["base_url"] == "https://api.acme.test/v1" and material["params"] == {"temperature": 0.2, "seed": 7}
    assert CANARY not in repr(material)
    simulated = cache_key_material(SimulatedModel.profile("sim/tiny"), request)
    # simulated answers depend on the item and on the model's configuration (seed, skill...)
    assert set(simulated) == set(material) | {"item_id", "metadata", "answer_key", "config"}
    assert "seed=0" in simulated["config"] and simulated["answer_key"] is None


def test_key_separates_items_whose_answer_key_differs_and_never_holds_the_key():
    tiny, request = SimulatedModel.profile("sim/tiny"), Request.of("What is 17 * 23?", item_id="q1")
    with answer_key("q1", expected=391, difficulty=0.6):
        material, first = cache_key_material(tiny, request), cache_key(tiny, request)
    with answer_key("q1", expected=392, difficulty=0.6):
        second = cache_key(tiny, request)
    with answer_key("other", expected=391):  # a key for another item does not apply
        unrelated = cache_key(tiny, request)
    assert len({first, second, unrelated, cache_key(tiny, request)}) == 3 and unrelated == cache_key(tiny, request)
    assert "391" not in json.dumps(material) and cache_key(KeyedModel(), request) == cache_key(KeyedModel(), request)


def test_key_depends_on_base_url_and_model_but_not_on_item_for_live_models():
    request = Request.of("hi", item_id="a")
    other_item = request.replace(item_id="b")
    assert cache_key(KeyedModel(), request) == cache_key(KeyedModel(), other_item)
    assert cache_key(KeyedModel(), request) != cache_key(KeyedModel("http://localhost:8000/v1"), request)
    tiny = SimulatedModel.profile("sim/tiny")
    assert cache_key(tiny, request) != cache_key(tiny, other_item)
    assert cache_key(tiny, request) != cache_key(SimulatedModel.profile("sim/small"), request)


def test_no_secret_reaches_the_cache_files(store):
    live = KeyedModel()
    cached = Cached(live, store)
    cached("hi")
    assert cached("hi").cached and live.calls == 1
    store.close()
    written = b"".join(p.read_bytes() for p in store.directory.rglob("*") if p.is_file())
    assert b"acme says" in written  # we are looking at the right bytes
    assert CANARY.encode() not in written


def test_wrapped_inner_models_keep_their_base_url_in_the_key(store):
    from orchestra_lab.runtime import Retrying

    request = Request.of("hi")
    assert cache_key(Retrying(KeyedModel()), request) == cache_key(KeyedModel(), request)
    assert cache_key_material(Retrying(KeyedModel()), request)["base_url"] == "https://api.acme.test/v1"


def test_simulated_models_with_another_seed_do_not_share_entries(tmp_path):
    from orchestra_lab import Request, SimulatedModel
    from orchestra_lab.runtime import Cached, ResponseCache

    cache = ResponseCache(tmp_path / "c")
    request = Request.of("q", item_id="1")
    Cached(SimulatedModel.profile("sim/small", seed=1), cache)(request)
    again = Cached(SimulatedModel.profile("sim/small", seed=1), cache)
    other = Cached(SimulatedModel.profile("sim/small", seed=2), cache)
    assert again(request).cached is True
    assert other(request).cached is False
