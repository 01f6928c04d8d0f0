"""How provider models reach their server: keys kept out of traceback locals, the response size cap, and
injectable httpx clients and transports."""

from __future__ import annotations

import asyncio
import secrets
import traceback
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import nbformat
import pytest
from fake_server import FakeProviderServer, Reply

import orchestra_lab
from orchestra_lab.errors import AuthError, BadResponseError, CallTimeoutError, ModelError, ServerError
from orchestra_lab.models._http import HttpModel
from orchestra_lab.models.anthropic import Anthropic
from orchestra_lab.models.gemini import Gemini
from orchestra_lab.models.openai import OpenAICompatible

ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
Factory = Callable[..., HttpModel]
FACTORIES: dict[str, Factory] = {
    "openai": lambda url, **kw: OpenAICompatible("gpt-4o-mini", base_url=url + "/v1", **kw),
    "anthropic": lambda url, **kw: Anthropic("claude-3-5-haiku", base_url=url, **kw),
    "gemini": lambda url, **kw: Gemini("gemini-2.0-flash", base_url=url + "/v1beta", **kw),
}


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "canary-" + secrets.token_hex(16)  # built at run time: no key-shaped literal in the repo
    for env in ENVS:
        monkeypatch.setenv(env, key)
    return key


def failure_with_locals(model: HttpModel) -> tuple[ModelError, str]:
    """The error of ``model("hi")`` and its traceback as ``capture_locals=True`` shows it (what %xmode Verbose,
    pytest -l and rich tracebacks print), from this frame down (no test local holds the key)."""
    try:
        model.complete("hi")
    except ModelError as err:
        return err, "".join(traceback.TracebackException.from_exception(err, capture_locals=True).format())
    raise AssertionError("the call did not fail")


# -- 10. keys in traceback locals ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(FACTORIES))
@pytest.mark.parametrize(("behaviour", "error"), [("401", AuthError), ("500", ServerError), ("hang", CallTimeoutError)])
def test_the_key_is_not_in_traceback_locals(
    canary: str, fake_server: FakeProviderServer, provider: str, behaviour: str, error: type[ModelError]
) -> None:
    fake_server.script([behaviour])
    err, shown = failure_with_locals(FACTORIES[provider](fake_server.url, timeout_s=0.3))
    assert type(err) is error
    assert canary in str(fake_server.last.headers)  # it was sent
    assert "call = HttpCall(" in shown and "Secret('***')" in shown  # the locals were captured
    assert canary not in shown  # was in HttpCall's repr and in post_json's headers


def test_the_key_is_not_in_a_verbose_notebook_traceback(canary: str, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    cells = [
        ("root = ''\nbase_url = ''", ["parameters"]),
        ("%xmode Verbose", []),
        ("import sys\nsys.path.insert(0, root)\nimport orchestra_lab as ol\n"
         "model = ol.OpenAICompatible('gpt-4o-mini', base_url=base_url)", []),
        ("model('What is 2 + 2?')", []),
    ]  # fmt: skip
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, output = tmp_path / "verbose.ipynb", tmp_path / "verbose.out.ipynb"
    nbformat.write(notebook, source)
    root = str(Path(orchestra_lab.__file__).parents[1])
    with FakeProviderServer() as server:
        server.set_default("500")
        with pytest.raises(papermill.PapermillExecutionError) as info:
            papermill.execute_notebook(
                str(source), str(output), parameters={"root": root, "base_url": server.openai_url},
                kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
            )  # fmt: skip
        assert canary in str(server.last.headers)
    executed = output.read_text(encoding="utf-8")
    assert info.value.ename == "ServerError" and "HttpCall" in executed  # verbose: the locals are shown
    assert canary not in executed


# -- 11. response size cap -------------------------------------------------------------------------------------


def test_an_answer_over_the_cap_is_a_clear_error(canary: str, fake_server: FakeProviderServer) -> None:
    fake_server.script([Reply(200, {"choices": [{"message": {"content": "x" * 300_000}}]})])
    model = FACTORIES["openai"](fake_server.url, max_response_bytes=100_000)
    with pytest.raises(BadResponseError, match="max_response_bytes=100,000"):
        model.complete("hi")
    assert FACTORIES["openai"](fake_server.url).max_response_bytes == 8_000_000


def test_the_body_is_read_streaming_and_not_past_the_cap(canary: str) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1_000):  # 64 MB if read to the end
            sent.append(1)
            yield b"x" * 65_536

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    model = OpenAICompatible("gpt-4o-mini", transport=transport, max_response_bytes=1_000_000)
    with pytest.raises(BadResponseError, match="larger than max_response_bytes"):
        model.complete("hi")
    assert len(sent) <= 17  # 1 MB is 16 chunks: reading stopped at the cap


@pytest.mark.parametrize("cap", [0, -1, 1.5])
def test_the_cap_must_be_a_positive_byte_count(cap: object) -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        OpenAICompatible("gpt-4o-mini", max_response_bytes=cap)  # type: ignore[arg-type]


# -- 10.5 injectable clients -----------------------------------------------------------------------------------


def answer(request: httpx.Request) -> httpx.Response:
    body = {"model": "served", "choices": [{"message": {"content": "from the mock"}}], "usage": {
        "prompt_tokens": 3, "completion_tokens": 4}}  # fmt: skip
    return httpx.Response(200, json=body)


def test_a_mock_transport_replaces_the_network(canary: str) -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or answer(request))
    model = OpenAICompatible("gpt-4o-mini", transport=transport)
    r = model.complete("hi")
    assert (r.text, r.usage.input_tokens) == ("from the mock", 3)
    assert str(seen[0].url) == "https://api.openai.com/v1/chat/completions"
    assert seen[0].headers["authorization"] == f"Bearer {canary}"


def test_an_injected_client_is_used_as_given(canary: str) -> None:
    async def run() -> tuple[str, bool]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            model = Gemini("gemini-2.0-flash", client=client)
            fake = {"candidates": [{"content": {"parts": [{"text": "ok"}]}}]}
            client._transport = httpx.MockTransport(lambda request: httpx.Response(200, json=fake))
            text = (await model.acomplete("hi")).text
        return text, client.is_closed

    assert asyncio.run(run()) == ("ok", True)


def test_each_loop_gets_its_own_client_per_transport(canary: str) -> None:
    from orchestra_lab.models._http import http_client

    transport = httpx.MockTransport(answer)

    async def clients() -> tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]:
        return await http_client(transport), await http_client(transport), await http_client()

    first = asyncio.run(clients())
    second = asyncio.run(clients())
    assert first[0] is first[1] and first[0] is not first[2]
    assert second[0] is not first[0] and first[0].is_closed  # a closed loop's client was closed with it
