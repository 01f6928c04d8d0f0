"""The OpenAI stream's fast path (an event that is an earlier one's JSON but for its answer text, read without
parsing it) gives exactly what parsing every event gives: the same chunks, the same Response, the same call-log
row and the same errors -- on the common stream and on the edge cases around it."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra_lab import CallLog
from orchestra_lab.errors import ModelError
from orchestra_lab.models import _sse
from orchestra_lab.models.openai import OpenAICompatible, _ContentEvents
from orchestra_lab.pricing import Price

PRICE = Price(1.0, 2.0, "test", "")
HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "m-served"}
# what differs between two runs of the same stream: ids and clocks
TIMING = ["run_id", "call_id", "parent_id", "latency_s", "started_at", "ttft_s", "output_tokens_per_s"]


class ParsedOnly(OpenAICompatible):
    """The general path: every event's JSON parsed."""

    def _stream_reader(self, state):
        return None


def chunk(delta: dict | None = None, finish: str | None = None, **fields) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return HEAD | {"choices": choices} | fields


def sse(events: list[dict | str], *, done: bool = True, per_read: int = 3, **dumps) -> list[bytes]:
    """The stream's bytes, ``per_read`` events a read; ``dumps``: json.dumps options (compact by default)."""
    dumps.setdefault("separators", (",", ":"))
    lines = [e if isinstance(e, str) else json.dumps(e, **dumps) for e in events] + (["[DONE]"] if done else [])
    texts = [f"data: {line}\n\n" for line in lines]
    return ["".join(texts[i : i + per_read]).encode() for i in range(0, len(texts), per_read)]


def run(cls: type[OpenAICompatible], reads: list[bytes]) -> tuple[list, object, pd.DataFrame]:
    """Stream through ``cls``: the (text, kind) of each chunk, the response (or the error's type and message) and
    the call-log rows without their ids and clocks."""

    async def body():
        for read in reads:
            yield read

    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
    )
    model = cls("m", base_url="http://fake/v1", api_key_env=None, price=PRICE, name="m", transport=transport)
    chunks = []
    with CallLog() as log:
        stream = model.stream("Say hello")
        try:
            for c in stream:
                chunks.append((c.text, c.kind))
            r = stream.response
            outcome = (r.text, r.served_model, r.usage, r.cost_usd, r.meta, r.provider, r.requested_model)
        except ModelError as err:
            outcome = (type(err).__name__, str(err), err.usage, err.cost_usd)
    return chunks, outcome, log.to_frame().drop(columns=TIMING)


def fast_reads(monkeypatch) -> list[str]:
    """Collects the answer texts the fast path reads."""
    seen: list[str] = []
    read = _sse.TextSlot.read

    def counting(self, text):
        value = read(self, text)
        if value is not None:
            seen.append(value)
        return value

    monkeypatch.setattr(_sse.TextSlot, "read", counting)
    return seen


def assert_same(reads: list[bytes]) -> tuple[list, object]:
    fast = run(OpenAICompatible, reads)
    parsed = run(ParsedOnly, reads)
    assert fast[0] == parsed[0]  # chunks
    assert fast[1] == parsed[1]  # response or error
    pd.testing.assert_frame_equal(fast[2], parsed[2])  # rows
    return fast[0], fast[1]


USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
TOKENS = ["Hel", "lo", " there", ",", " you"]


def test_the_common_stream_is_read_fast_and_gives_what_parsing_gives(monkeypatch):
    seen = fast_reads(monkeypatch)
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": t}) for t in TOKENS]
    events += [chunk({}, "stop"), chunk(None, usage=USAGE)]
    chunks, outcome = assert_same(sse(events))
    assert "".join(t for t, _ in chunks) == "Hello there, you" == outcome[0]
    assert outcome[2].output_tokens == 5 and outcome[1] == "m-served"
    # learned from the second token (the first is handed over at once, learning nothing), the rest read fast
    assert seen[: len(TOKENS) - 2] == TOKENS[2:]


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param(chunk({"role": "assistant"}), id="role-only"),
        pytest.param(chunk({"content": ""}), id="empty-content"),
        pytest.param(chunk({"content": "", "role": None}), id="empty-content-role-null"),
        pytest.param(chunk({"content": " x", "tool_calls": [{"index": 0}]}), id="content-and-tool-calls"),
        pytest.param(chunk({"reasoning_content": "hmm"}), id="reasoning-only"),
        pytest.param(chunk({"content": " y", "reasoning": "so"}), id="reasoning-and-content"),
        pytest.param(chunk({"content": " z"}, "length"), id="content-with-finish"),
        pytest.param(chunk({"content": " u"}, usage=USAGE), id="content-with-usage"),
        pytest.param(chunk({"content": " w"}) | {"model": "m-other"}, id="another-served-model"),
        pytest.param(chunk({"content": " v"}) | {"model": 7}, id="served-model-not-a-string"),
        pytest.param(chunk({"content": " t"}) | {"obfuscation": "k3"}, id="an-extra-field"),
        pytest.param(chunk(None), id="no-choices"),
        pytest.param({"choices": "nope"}, id="choices-not-a-list"),
    ],
)
def test_an_odd_event_among_the_common_ones_gives_what_parsing_gives(odd):
    events = [chunk({"content": t}) for t in TOKENS[:2]] + [odd] + [chunk({"content": t}) for t in TOKENS[2:]]
    assert_same(sse([*events, chunk({}, "stop"), chunk(None, usage=USAGE)]))


@pytest.mark.parametrize(
    "token",
    ['say "hi"', "back\\slash", "new\nline", "tab\there", "caf\u00e9", "\u2028", "\U0001f600", "", " tok", "m-served"],
)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_tokens_json_writes_specially_give_what_parsing_gives(token, ensure_ascii):
    events = [chunk({"content": t}) for t in ["a", token, "b", token, "c"]]
    assert_same(sse([*events, chunk({}, "stop")], ensure_ascii=ensure_ascii))


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
def test_a_spaced_or_compact_envelope_gives_what_parsing_gives(monkeypatch, separators):
    seen = fast_reads(monkeypatch)
    events = [chunk({"content": t}) for t in TOKENS] + [chunk({}, "stop")]
    assert_same(sse(events, separators=separators))
    assert seen  # both shapes are learned


def test_an_envelope_that_changes_every_event_is_parsed_and_stops_being_learned(monkeypatch):
    learned = []
    learn = _sse.TextSlot.learn
    monkeypatch.setattr(_sse.TextSlot, "learn", classmethod(lambda cls, *a: learned.append(1) or learn(*a)))
    events = [chunk({"content": t}) | {"obfuscation": "x" * i} for i, t in enumerate(TOKENS * 3)]
    assert_same(sse([*events, chunk({}, "stop")]))
    assert len(learned) == _ContentEvents.LEARN_ATTEMPTS == 3  # then it stops trying (only the fast run learns)


def test_the_text_slot_sits_where_the_answer_is_not_at_an_equal_string_elsewhere():
    # the model name equals the token and comes after it: the last occurrence is not the answer's place
    events = [{"choices": [{"index": 0, "delta": {"content": "x"}}], "model": "x"}] * 4
    events += [{"choices": [{"index": 0, "delta": {"content": "y"}}], "model": "x"}]
    events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "model": "x"}]
    _chunks, outcome = assert_same(sse(events))
    assert outcome[0] == "xxxxy" and outcome[1] == "x"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(json.dumps(chunk({"content": "a"}), separators=(",", ":")).replace('"a"', '"a"b"'), id="quote"),
        pytest.param(json.dumps(chunk({"content": "a"}), separators=(",", ":")).replace('"a"', '"a\x01"'), id="ctrl"),
        pytest.param(json.dumps(chunk({"content": "a"}), separators=(",", ":"))[:-1], id="cut-short"),
        pytest.param('{"error": {"type": "server_error", "message": "boom"}}', id="error-event"),
    ],
)
def test_a_bad_event_after_the_slot_is_learned_fails_as_parsing_fails(bad):
    events = [chunk({"content": t}) for t in TOKENS] + [bad] + [chunk({"content": "never"})]
    chunks, outcome = assert_same(sse(events))
    assert outcome[0] in ("BadResponseError", "ServerError") and chunks


def test_a_stream_cut_off_without_done_or_finish_fails_as_parsing_fails():
    assert_same(sse([chunk({"content": t}) for t in TOKENS], done=False))


def test_crlf_lines_and_reads_split_mid_event_give_what_parsing_gives():
    whole = b"".join(sse([chunk({"content": t}) for t in TOKENS * 4] + [chunk({}, "stop")], per_read=100))
    whole = whole.replace(b"\n", b"\r\n")
    assert_same([whole[i : i + 37] for i in range(0, len(whole), 37)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(st.text(max_size=6), min_size=1, max_size=8), ensure_ascii=st.booleans())
def test_any_tokens_give_what_parsing_gives(tokens, ensure_ascii):
    events = [chunk({"content": t}) for t in ["a", *tokens]] + [chunk({}, "stop"), chunk(None, usage=USAGE)]
    assert_same(sse(events, ensure_ascii=ensure_ascii))


@pytest.mark.parametrize(
    "between",
    [
        pytest.param({"model": "m-other"}, id="served-model"),
        pytest.param({"usage": USAGE}, id="usage"),
        pytest.param({"usage": USAGE, "model": "m-other"}, id="both"),
    ],
)
@pytest.mark.parametrize("usage_on_tokens", [None, USAGE | {"completion_tokens": 9}])
def test_what_an_event_in_between_changes_is_set_back_by_the_next_common_event_as_parsing_would(
    between, usage_on_tokens
):
    tokens = [chunk({"content": t}, usage=usage_on_tokens) for t in TOKENS]
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # no model, no usage
    events = [*tokens[:3], {"choices": []} | between, *tokens[3:], finish]
    _chunks, outcome = assert_same(sse(events))
    assert outcome[1] == "m-served"  # the tokens' model, set again by the tokens after the event in between
