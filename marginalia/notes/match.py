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
# White space, or a character and the marks that compose with it under NFC: combining
# marks, and the medial vowels and final consonants of conjoining Hangul jamo.
_CLUSTER = re.compile(r"\s+|.[\u0300-\u036f\u1160-\u11ff\u3099\u309a]*", re.DOTALL)


def normalise(text: str) -> str:
    """text as quotes are compared: NFC, straight quotation marks, hyphens for dashes,
    white space collapsed and trimmed."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return _SPACE.sub(" ", text).strip()


def normalise_mapped(text: str) -> tuple[str, list[int]]:
    """normalise(text), and for each of its characters and one past its end, the offset in
    text where that character's source starts: a match [i, j) in the normalised text is
    text[starts[i]:starts[j]]. Slower than normalise: for the few texts that have notes."""
    out: list[str] = []
    starts: list[int] = []
    for found in _CLUSTER.finditer(text):
        cluster, at = found[0], found.start()
        if cluster[0].isspace():
            if out:
                out.append(" ")
                starts.append(at)
            continue
        composed = unicodedata.normalize("NFC", cluster).translate(_QUOTES)
        out.extend(composed)
        if len(composed) == len(cluster):
            starts.extend(range(at, at + len(cluster)))
        else:
            starts.extend([at] * len(composed))
    end = len(text)
    if out and out[-1] == " ":
        out.pop()
        end = starts.pop()
    starts.append(end)
    return "".join(out), starts
