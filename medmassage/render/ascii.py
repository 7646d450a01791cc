"""7-bit text for fax gateways that refuse anything else (`render`/`send --ascii`, txt only).

One post-processing step on the finished text: the signs letters use are spelled out
("°" becomes " deg", "×" "x", dashes "-", "≤" "<="), curly quotes become straight ones,
and any other character is transliterated through its Unicode decomposition (é -> e),
or becomes "?" when it has no ASCII form. Every byte of the result is below 128."""

from __future__ import annotations

import unicodedata

_SPELLED = {
    "°": " deg",
    "×": "x",
    "–": "-",
    "—": "-",
    "‒": "-",
    "−": "-",
    "‐": "-",
    "‑": "-",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "±": "+/-",
    "→": "->",
    "←": "<-",
    "↑": "^",
    "↓": "v",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "…": "...",
    "•": "*",
    "·": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "µ": "u",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "§": "S.",
    "©": "(c)",
    "®": "(R)",
    "™": "(TM)",
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "þ": "th",
    "Þ": "Th",
    "ð": "d",
}


def to_ascii(text: str) -> str:
    """`text` with every character below 128 (see the module's note)."""
    if text.isascii():
        return text
    return "".join(char if char.isascii() else _one(char) for char in text)


def _one(char: str) -> str:
    spelled = _SPELLED.get(char)
    if spelled is not None:
        return spelled
    bare = "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if part.isascii() and not unicodedata.combining(part)
    )
    return bare if bare and bare.isprintable() else "?"
