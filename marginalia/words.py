"""Counts and sizes in our output as English reads them: "1 article", "2 articles",
"0 articles"; "512 bytes", "7.8 MB".

One rule for every message, so that no message grows its own `s if n != 1`.
"""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """n and the noun that agrees with it; `nouns` for a plural other than noun + "s"
    (plural(2, "analysis", "analyses"))."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def human_size(size: float) -> str:
    """A number of bytes in decimal units, as file managers and GitHub write them."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError
