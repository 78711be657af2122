"""URL slugs: lowercase, letters and digits of any script kept, spaces become hyphens.

A few signs that tell names apart become words, so that `C#`, `C++` and `C` are three
tags and not one: `+` is "plus", `&` is "and", and `#` after a letter or digit is
"sharp" (a leading `#`, as in `#MeToo`, is dropped like other punctuation).
"""

from __future__ import annotations

import functools
import re
import unicodedata

_KEPT_CATEGORIES = ("L", "M", "N")  # letters, combining marks (Devanagari, Thai...), digits
_SIGN_WORDS = {"+": "-plus-", "&": "-and-"}


@functools.lru_cache(maxsize=65536)  # term names repeat across thousands of articles
def slugify(text: str) -> str:
    """`North Korea` -> `north-korea`, `U.S.` -> `u-s`, `Россия` -> `россия`,
    `C#` -> `c-sharp`, `C++` -> `c-plus-plus`, `AT&T` -> `at-and-t`."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = []
    after_word = False  # the last character was a letter, mark or digit
    for char in text:
        word = unicodedata.category(char)[0] in _KEPT_CATEGORIES
        if word:
            kept.append(char)
        elif char.isspace() or char in "-_/.":
            kept.append("-")
        elif char in _SIGN_WORDS:
            kept.append(_SIGN_WORDS[char])
        elif char == "#" and after_word:
            kept.append("-sharp-")
        after_word = word
    return re.sub(r"-{2,}", "-", "".join(kept)).strip("-")


def is_safe_slug(slug: str) -> bool:
    """A slug an author wrote is used as one path segment: no separators, dots or controls."""
    return bool(slug) and slugify(slug) == slug
