"""URL slugs: lowercase, letters and digits of any script kept, spaces become hyphens."""

from __future__ import annotations

import functools
import re
import unicodedata

_KEPT_CATEGORIES = ("L", "M", "N")  # letters, combining marks (Devanagari, Thai...), digits


@functools.lru_cache(maxsize=65536)  # term names repeat across thousands of articles
def slugify(text: str) -> str:
    """`North Korea` -> `north-korea`, `U.S.` -> `us`, `Россия` -> `россия`."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = []
    for char in text:
        if char.isspace() or char in "-_/.":
            kept.append("-")
        elif unicodedata.category(char)[0] in _KEPT_CATEGORIES:
            kept.append(char)
    return re.sub(r"-{2,}", "-", "".join(kept)).strip("-")


def is_safe_slug(slug: str) -> bool:
    """A slug an author wrote is used as one path segment: no separators, dots or controls."""
    return bool(slug) and slugify(slug) == slug
