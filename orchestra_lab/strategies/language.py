"""Language routing for English, Hindi and Hinglish: a :class:`Language` route predicate and the identifier behind it.

Script ranges tell Devanagari from Latin, but not romanized Hindi ("Mera refund kab aayega?") from English, and
off-the-shelf language identifiers (langid, CLD, lingua...) do not know romanized Hindi either. So the
:class:`LanguageIdentifier` is small and transparent:

1. words in both Devanagari and Latin letters -> ``"hinglish"`` (code-mixed: "Mera refund कब आएगा?"; an
   all-capitals acronym such as OTP does not count);
2. Devanagari only -> ``"hi"``; no letter of either script -> ``"other"``;
3. Latin only -> a multinomial naive Bayes over character 1-4-grams decides ``"en"`` or ``"hinglish"``.

:func:`shipped_identifier` is trained on the shipped ``language_seed`` dataset; its accuracy on the held-apart
``languages`` dataset is in that dataset's data card.

>>> from orchestra_lab import Request
>>> hindi = Language("hi", "hinglish")
>>> [hindi(Request.of(t)) for t in ("Mera refund kab aayega?", "रिफ़ंड कब आएगा?", "Where is my refund?")]
[True, True, False]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache

from .._jsonl import read_records
from .._shipped import shipped_file
from ..types import Request

__all__ = ["LANGUAGES", "Language", "LanguageIdentifier", "shipped_identifier"]

LANGUAGES = ("en", "hi", "hinglish", "other")
_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")
_DEVANAGARI_WORD = re.compile(r"[\u0900-\u097F]{2,}")
_LATIN_LETTERS = re.compile(r"[a-z]+")


class LanguageIdentifier:
    """Names the language of a text: ``"en"``, ``"hi"``, ``"hinglish"`` or ``"other"`` (see the module docstring).

    ``examples`` are ``(text, label)`` pairs; only Latin-script ``en`` and ``hinglish`` ones train the naive Bayes.

    >>> identify = LanguageIdentifier([("where is my order", "en"), ("mera order kahan hai", "hinglish")])
    >>> identify("order kab aayega"), identify("ऑर्डर कहाँ है?"), identify("order कब आएगा?"), identify("42")
    ('hinglish', 'hi', 'hinglish', 'other')
    """

    def __init__(self, examples: Iterable[tuple[str, str]], *, alpha: float = 0.5) -> None:
        if alpha <= 0:
            raise ValueError(f"LanguageIdentifier.alpha: {alpha} must be > 0")
        self.alpha = alpha
        counts: dict[str, Counter[str]] = {"en": Counter(), "hinglish": Counter()}
        documents: Counter[str] = Counter()
        for text, label in examples:
            if label in counts and _script_mix(text) == "latin":
                counts[label].update(_ngrams(text))
                documents[label] += 1
        if any(documents[label] == 0 for label in counts):
            raise ValueError("LanguageIdentifier: give Latin-script examples of both 'en' and 'hinglish'")
        vocabulary = set(counts["en"]) | set(counts["hinglish"])
        self._log_prior = {k: math.log(n / sum(documents.values())) for k, n in documents.items()}
        self._log_likelihood = {
            label: {g: math.log((c[g] + alpha) / (c.total() + alpha * len(vocabulary))) for g in vocabulary}
            for label, c in counts.items()
        }

    def __call__(self, text: str) -> str:
        mix = _script_mix(text)
        if mix != "latin":
            return {"mixed": "hinglish", "devanagari": "hi", "none": "other"}[mix]
        scores = self.latin_scores(text)
        return max(sorted(scores), key=scores.__getitem__)

    def latin_scores(self, text: str) -> dict[str, float]:
        """Log-probabilities (up to a constant) of ``en`` and ``hinglish`` from the character n-grams of ``text``;
        n-grams never seen in training are ignored."""
        grams = _ngrams(text)
        return {
            label: prior + sum(n * table[g] for g, n in grams.items() if g in table)
            for label, prior in self._log_prior.items()
            for table in (self._log_likelihood[label],)
        }

    def __repr__(self) -> str:
        return f"LanguageIdentifier(alpha={self.alpha})"


def _script_mix(text: str) -> str:
    """``"mixed"``, ``"devanagari"``, ``"latin"`` or ``"none"``: which scripts have a word (2+ letters) in ``text``.

    An all-capitals Latin word in Devanagari text is an acronym (OTP, UPI), not code-mixing.
    """
    latin_words = _LATIN_WORD.findall(text)
    if not _DEVANAGARI_WORD.search(text):
        return "latin" if latin_words else "none"
    return "mixed" if any(not word.isupper() for word in latin_words) else "devanagari"


def _ngrams(text: str) -> Counter[str]:
    """Character 1-4-grams of each lowercased Latin word, padded with spaces (``" kya "``)."""
    grams: Counter[str] = Counter()
    for word in _LATIN_LETTERS.findall(text.lower()):
        padded = f" {word} "
        grams.update(padded[i : i + n] for n in range(1, 5) for i in range(len(padded) - n + 1))
    return grams


@cache
def shipped_identifier() -> LanguageIdentifier:
    """The identifier trained on the shipped ``language_seed`` dataset (trained once, then reused).

    >>> shipped_identifier()("Mujhe refund chahiye")
    'hinglish'
    """
    path = shipped_file("language_seed")
    if path is None:
        raise FileNotFoundError("the shipped language_seed dataset is missing from this installation")
    return LanguageIdentifier((record["input"], str(record["expected"])) for _, record in read_records(path))


class Language:
    """True when the user's message (``request.prompt``, not the system prompt) is in one of ``languages``.

    Languages are ``"en"``, ``"hi"`` (Devanagari), ``"hinglish"`` (romanized or code-mixed Hindi) and ``"other"``;
    ``identifier`` defaults to :func:`shipped_identifier`.

    >>> from orchestra_lab import Request
    >>> Language("hinglish")(Request.of("Mera refund कब आएगा?", system="Classify the message.")), Language("en")
    (True, Language('en'))
    """

    def __init__(self, *languages: str, identifier: LanguageIdentifier | None = None) -> None:
        unknown = [lang for lang in languages if lang not in LANGUAGES]
        if not languages or unknown:
            raise ValueError(f"Language: unknown language(s) {unknown}; choose from {list(LANGUAGES)}")
        self.languages = languages
        self.identifier = identifier

    def __call__(self, request: Request) -> bool:
        identify = self.identifier or shipped_identifier()
        return identify(request.prompt) in self.languages

    def __repr__(self) -> str:
        return f"Language({', '.join(map(repr, self.languages))})"
