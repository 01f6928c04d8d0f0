"""Writing-script detection by Unicode ranges (no language model, no download).

>>> detect_script("नमस्ते, आप कैसे हैं?"), detect_script("kya haal hai bhai"), detect_script("42!")
('Devanagari', 'Latin', 'Unknown')
"""

from __future__ import annotations

import bisect
from collections import Counter

# (first code point, last code point, script), sorted by first code point
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"),
    (0x0061, 0x007A, "Latin"),
    (0x00C0, 0x024F, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x04FF, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x3040, 0x309F, "Hiragana"),
    (0x30A0, 0x30FF, "Katakana"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xA8E0, 0xA8FF, "Devanagari"),
    (0xAC00, 0xD7AF, "Hangul"),
)
_STARTS = [first for first, _, _ in _RANGES]
SCRIPTS: frozenset[str] = frozenset(script for _, _, script in _RANGES)


def script_of(char: str) -> str | None:
    """The script a character belongs to (``None`` for digits, punctuation, spaces and unlisted ranges)."""
    code = ord(char)
    i = bisect.bisect_right(_STARTS, code) - 1
    if i >= 0 and code <= _RANGES[i][1]:
        return _RANGES[i][2]
    return None


def detect_script(text: str) -> str:
    """The script most letters of ``text`` are written in; ``"Unknown"`` when it has none we know.

    Romanized Hindi ("Hinglish") is Latin: this is about the script, not the language.
    """
    counts = Counter(s for s in map(script_of, text) if s is not None)
    return counts.most_common(1)[0][0] if counts else "Unknown"
