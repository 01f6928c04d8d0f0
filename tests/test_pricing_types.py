"""Prices, currency and core types."""

from __future__ import annotations

import math
import warnings

import pytest

from orchestra_lab import Price, Request, set_price, set_usd_inr
from orchestra_lab.pricing import UnknownPriceWarning, cost_usd, price_of, price_table, usd_inr, usd_to_inr
from orchestra_lab.types import Usage, as_request


def test_every_price_row_names_its_source_and_date():
    rows = price_table().to_dict("records")  # a DataFrame since the cache rates joined it
    assert len(rows) >= 25
    for row in rows:
        assert row["source"].startswith("https://") and row["as_of"], row


def test_snapshot_and_provider_prefixed_names_match_their_row():
    assert price_of("gpt-4o-mini-2024-07-18") == price_of("gpt-4o-mini")
    assert price_of("openai/gpt-4o").input_per_1m == 2.50
    assert price_of("claude-3-5-haiku-20241022").output_per_1m == 4.00
    assert price_of("gpt-4o-mini").input_per_1m != price_of("gpt-4o").input_per_1m


def test_cost_from_usage_and_override():
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    set_price("gpt-4o-mini-custom", Price(1.0, 1.0))
    assert cost_usd("gpt-4o-mini-custom", 500_000, 500_000) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="negative"):
        set_price("x", Price(-1, 0))


def test_unknown_price_is_nan_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(cost_usd("mystery-model-1", 10, 10))
        assert math.isnan(cost_usd("mystery-model-1", 10, 10))
    assert [w.category for w in caught] == [UnknownPriceWarning]
    assert "mystery-model-1" in str(caught[0].message)


def test_inr_rate_is_configurable():
    old = usd_inr()
    try:
        set_usd_inr(90.0)
        assert usd_to_inr(2.0) == 180.0
        with pytest.raises(ValueError):
            set_usd_inr(0)
    finally:
        set_usd_inr(old)


def test_requests_from_strings_and_messages():
    r = as_request([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], temperature=0.2, item_id="i")
    assert (r.system, r.prompt, r.temperature, r.item_id) == ("s", "u", 0.2, "i")
    assert as_request("p", stop="END").stop == ("END",)
    assert as_request("p", response_format={"type": "json_object"}).params()["response_format"] == {
        "type": "json_object"
    }
    with pytest.raises(ValueError, match=r"messages\[0\]"):
        as_request([{"content": "no role"}])
    with pytest.raises(ValueError, match="role"):
        as_request([{"role": "robot", "content": "x"}])
    with pytest.raises(TypeError):
        as_request(42)  # type: ignore[arg-type]


def test_fingerprint_covers_messages_and_params_only():
    a = Request.of("p", temperature=0.0, item_id="1", metadata={"expected": 1})
    assert a.fingerprint() == Request.of("p", temperature=0.0, item_id="2").fingerprint()
    assert a.fingerprint() != Request.of("p", temperature=0.5).fingerprint()
    assert a.fingerprint() != Request.of("p", temperature=0.0, seed=1).fingerprint()
    assert a.fingerprint() != a.with_prompt("q").fingerprint()


def test_usage_adds_and_keeps_estimated_flag():
    total = Usage(1, 2) + Usage(None, 3, estimated=True)
    assert (total.input_tokens, total.output_tokens, total.estimated, total.total_tokens) == (1, 5, True, 6)


def test_item_fields_given_with_a_request_set_the_item_and_new_params_merge_into_extra():
    base = Request.of("hi", temperature=0.1, extra_param=1)
    r = as_request(base, item_id="q1", metadata={"expected": 2}, top_k=3, temperature=0.5)
    assert (r.item_id, dict(r.metadata)) == ("q1", {"expected": 2})
    assert r.params() == {"temperature": 0.5, "extra_param": 1, "top_k": 3}  # extra kept, not replaced
    assert as_request(base, item_id="q2").params() == base.params() == {"temperature": 0.1, "extra_param": 1}


def test_item_fields_passed_to_complete_reach_the_model_and_the_row_not_the_params():
    from orchestra_lab import CallLog, FunctionModel

    seen: list[Request] = []
    model = FunctionModel(lambda request: seen.append(request) or "ok", name="spy")
    with CallLog() as log:
        model.complete(Request.of("What is 1+1?"), item_id="q1", metadata={"expected": 2})
    assert (seen[0].item_id, dict(seen[0].metadata), seen[0].params()) == ("q1", {"expected": 2}, {})
    assert log.to_frame()["item_id"].tolist() == ["q1"]


def test_a_function_models_response_gets_what_it_left_unset():
    from orchestra_lab import CallLog, FunctionModel, Response
    from orchestra_lab.strategies import Fallback

    answer = Response("4", requested_model="")
    model = FunctionModel(lambda prompt: answer, name="calc", cost_per_call=0.25)
    with CallLog() as log:
        response = Fallback([model], name="fb")("2+2?")
    assert response.cost_usd == 0.25 and (response.usage.input_tokens, response.usage.output_tokens) == (0, 0)
    row = log.to_frame().set_index("name").loc["calc"]
    assert (row["source"], row["provider"], row["served_model"]) == ("function", "function", "calc")
    assert row["cost_usd"] == 0.25
    assert answer.cost_usd is None  # the function's own object is left alone
    kept = Response("x", requested_model="m", served_model="m-v2", provider="acme", usage=Usage(3, 4), cost_usd=0.5)
    filled = FunctionModel(lambda prompt: kept)("q")
    assert (filled.served_model, filled.provider, filled.usage, filled.cost_usd) == ("m-v2", "acme", Usage(3, 4), 0.5)
