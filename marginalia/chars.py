"""The characters of the editor's text that a page or a feed can carry.

A file can hold what HTML and XML cannot: NUL, other control characters, noncharacters,
and, through a YAML escape (`"\\0"`, `"\\x01"`, `"\\ufeff"`), any of them in a front
matter value. Such text is made fit once, as it is read (frontmatter.parse for a body,
yamltext.load for every YAML value), so that all that is derived from it (the rendered
body, the summary, the reading time, search documents, feeds, JSON-LD) sees the same
characters:

- NUL becomes U+FFFD, as CommonMark says a Markdown reader must take it, and so does a
  lone surrogate (which no UTF-8 file holds, but a str may);
- other controls (C0 but tab, LF and CR; DEL; C1) and noncharacters are dropped: HTML's
  parser reports each as an error, and XML 1.0 forbids the C0 ones;
- U+FEFF is dropped wherever it is: a byte order mark left at the start of a body, or
  between two files pasted together (as a zero-width no-break space it is obsolete).

The article's hash (content.article_sha256) is of the text as read, so an analysis is
written for the same characters the page shows.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane | 0xFFFE)}{chr(plane | 0xFFFF)}" for plane in range(0x10000, 0x110000, 0x10000)
)
_UNFIT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff{_NONCHARACTERS}]")
_REPLACED = re.compile("[\x00\ud800-\udfff]")

# The UTF-8 bytes any unfit character starts or continues with: ASCII controls, 0xC2 (C1
# controls), 0xB7 and 0xBF (in U+FDD0..U+FDEF, U+FEFF and every U+xFFFE, U+xFFFF), and
# 0xED (surrogates, which a str encodes to with surrogatepass). Text without them is fit.
_SUSPECT_BYTES = {*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xC2, 0xB7, 0xBF, 0xED}
_SUSPECT = bytes(0 if byte in _SUSPECT_BYTES else 1 for byte in range(256))


def fit(text: str) -> str:
    """text with what a page or a feed cannot carry replaced or dropped (see above)."""
    # Scanning bytes is three times as fast as a regex over a long body, and most bodies
    # are fit; a suspect byte (0xC2 starts every U+0080..U+00BF) costs the regex only.
    if 0 not in text.encode("utf-8", "surrogatepass").translate(_SUSPECT):
        return text
    return _UNFIT.sub(_fix, text)


def _fix(match: re.Match[str]) -> str:
    return REPLACEMENT if _REPLACED.match(match[0]) else ""
