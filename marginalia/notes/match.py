"""Where a note's quoted words occur in the article.

A quote matches when it occurs in the article's text after both are normalised: Unicode
NFC, curly quotation marks as straight ones, dashes as a hyphen-minus, runs of white
space as one space. The model's copy of a sentence often differs from the article in
just these ways; any other difference means the quote is not the article's.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
    }
)  # fmt: skip
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """text as quotes are compared: NFC, straight quotation marks, hyphens for dashes,
    white space collapsed and trimmed."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return _SPACE.sub(" ", text).strip()


def occurs(text: str, quote: str) -> bool:
    """Whether a (non-empty) quote occurs in text, both normalised."""
    wanted = normalise(quote)
    return bool(wanted) and wanted in normalise(text)
