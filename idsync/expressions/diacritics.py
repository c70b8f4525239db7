"""NormalizeDiacritics: Latin letters lose their accents, everything else is left alone.

Microsoft's table covers Latin letters with accents, a few ligatures and special letters (æ → ae, ø → oe,
ß → ss, ł → l, ı → i). Stripping every combining mark regardless of script would be wrong: it turns the Japanese
が into か and the Cyrillic й into и, which are different letters, not accented ones. So marks are dropped only
after a Latin base letter, and the rest of the text is re-composed unchanged.
"""

from __future__ import annotations

import re
import unicodedata

_LATIN = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
# Combining marks (general category Mn) in the blocks that hold Latin accents.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARKS_AFTER_LATIN = re.compile(f"(?<=[{_LATIN}])[{_MARKS}]+")

_SPECIAL = str.maketrans(
    {
        "æ": "ae",
        "Æ": "AE",
        "ø": "oe",
        "Ø": "OE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "ı": "i",
    }
)


_ANY_MARK = re.compile(f"[{_MARKS}]")


def _normalize_slow(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value)
    stripped = _MARKS_AFTER_LATIN.sub("", decomposed)
    return unicodedata.normalize("NFC", stripped).translate(_SPECIAL)


# Every precomposed Latin letter mapped once, at import, to its plain form: most names then need one translate.
_PRECOMPOSED = str.maketrans(
    {
        chr(cp): _normalize_slow(chr(cp))
        for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
        if _normalize_slow(chr(cp)) != chr(cp)
    }
)


def normalize_diacritics(value: str) -> str:
    if value.isascii():
        return value
    if _ANY_MARK.search(value) is None:
        return value.translate(_PRECOMPOSED)  # no separate combining marks: letter-by-letter is exact
    return _normalize_slow(value)
