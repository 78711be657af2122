"""Bytes of an HTML page to text, in the order browsers decide: a byte-order mark, the
HTTP header's charset, the page's own <meta charset>, then UTF-8 or a detected encoding."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# Labels pages use for encodings whose bigger sibling is what browsers actually decode
# with (WHATWG Encoding Standard): a "Shift_JIS" page may hold Windows-31J characters.
_BROWSER_CODECS = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_PRESCAN_BYTES = 4096  # browsers look for <meta charset> in the first 1024; pages vary


def codec_for(label: str | None) -> str | None:
    """The Python codec a browser would use for a charset label; None if unknown."""
    if not label:
        return None
    label = label.strip().lower()
    label = _BROWSER_CODECS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(data: bytes, header_charset: str | None = None) -> str:
    """The page as text; undecodable bytes become U+FFFD rather than an error."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    declared = codec_for(header_charset)
    if declared is None:
        found = _META_CHARSET.search(data[:_PRESCAN_BYTES])
        declared = codec_for(found.group(1).decode("ascii")) if found else None
    if declared is not None:
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(data).best()
        return str(best) if best is not None else data.decode("cp1252", errors="replace")
