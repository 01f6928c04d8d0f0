"""Routing Hindi, Hinglish and English messages (issue #14 points 8 and 9) on the shipped data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from orchestra_lab import Request, SimulatedModel, answer_key
from orchestra_lab.experiments.dataset import load_dataset
from orchestra_lab.strategies import Language, LanguageIdentifier, RuleRouter, Script
from orchestra_lab.strategies.language import shipped_identifier

REPO = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("datasets_generate", REPO / "datasets" / "_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_routes_every_hindi_intent_as_shipped_with_its_instructions_as_system_prompt():
    system = _generator().INTENT_SYSTEM
    requests = {item.id: (item.category, item.to_request(system=system)) for item in load_dataset("intents")}
    devanagari = Script("Devanagari")
    routed = {item_id for item_id, (_, request) in requests.items() if devanagari(request)}
    hindi = {item_id for item_id, (language, _) in requests.items() if language == "hi"}
    assert len(hindi) == 64 and routed == hindi


def test_the_intents_card_says_which_system_prompt_to_pass():
    card = load_dataset("intents").card
    assert card is not None and _generator().INTENT_SYSTEM in card and "system=" in card


def test_language_identifies_the_held_apart_messages_of_each_language():
    identify = shipped_identifier()
    held_out = load_dataset("languages")
    for language in ("en", "hi", "hinglish"):
        items = [i for i in held_out if i.expected == language]
        right = sum(identify(i.input) == language for i in items)
        assert len(items) >= 60 and right / len(items) >= 0.95, (language, right, len(items))
    assert {i.metadata["scripts"] for i in held_out if i.expected == "hinglish"} == {"latin", "mixed"}


def test_the_seed_set_and_the_evaluation_set_share_no_message():
    seed = {i.input.casefold() for i in load_dataset("language_seed")}
    assert len(seed) == 90 and not seed & {i.input.casefold() for i in load_dataset("languages")}


def test_a_rule_router_sends_hinglish_and_code_mixed_messages_to_the_hindi_model():
    small, hindi = SimulatedModel.profile("sim/small"), SimulatedModel.profile("sim/medium")
    router = RuleRouter([(Language("hi", "hinglish"), hindi)], default=small)
    served = {}
    for text in ("Mera refund कब आएगा?", "Mera refund kab aayega?", "मेरा रिफ़ंड कब आएगा?", "When is my refund due?"):
        with answer_key(expected="refund"):
            served[text] = router(text).served_model
    assert list(served.values()) == ["sim/medium", "sim/medium", "sim/medium", "sim/small"]


def test_language_reads_the_users_message_not_the_system_prompt():
    english_system = "Classify the intent of the customer's message. Reply with one label."
    assert Language("hinglish")(Request.of("Order cancel kar do", system=english_system))
    assert not Language("en")(Request.of("ऑर्डर रद्द कर दीजिए", system=english_system))


def test_language_routes_the_shipped_intents_by_their_language():
    """Measured: 198 of 200; two Hinglish messages heavy with English words ("Earphones ki delivery Monday ko kar do
    please.") are taken for English."""
    system = _generator().INTENT_SYSTEM
    items = list(load_dataset("intents"))
    for language in ("en", "hi", "hinglish"):
        of_language = [i for i in items if i.category == language]
        right = sum(Language(language)(i.to_request(system=system)) for i in of_language)
        assert right / len(of_language) >= 0.95, (language, right, len(of_language))
    assert all(Language("hi")(i.to_request(system=system)) for i in items if i.category == "hi")


def test_language_rejects_unknown_names_and_an_identifier_needs_both_latin_labels():
    with pytest.raises(ValueError, match="unknown language"):
        Language("hindi")
    with pytest.raises(ValueError, match="both 'en' and 'hinglish'"):
        LanguageIdentifier([("where is my order", "en")])


def test_the_routing_notebook_routes_by_language_on_the_shipped_messages():
    notebook = json.loads((REPO / "notebooks" / "routing.ipynb").read_text("utf-8"))
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert "Language(" in code and 'load_dataset("languages")' in code and 'split("\\n\\nMessage:")' not in code
