"""Routing Hindi, Hinglish and English messages (issue #14 points 8 and 9) on the shipped data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from orchestra_lab.experiments.dataset import load_dataset
from orchestra_lab.strategies import Script

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
