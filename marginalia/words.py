"""Counts in our output as English reads them: "1 article", "2 articles", "0 articles".

One rule for every message, so that no message grows its own `s if n != 1`.
"""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """n and the noun that agrees with it; `nouns` for a plural other than noun + "s"
    (plural(2, "analysis", "analyses"))."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"
