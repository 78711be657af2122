"""Whether each note's quote is the article's: the check `analyze` and `check` report.

A quote is compared as text (its Markdown marks, if a model copied them from the
article's source, dropped; then match.normalise). A note whose quote is empty, or occurs
in no single passage of the article (a quote spanning two paragraphs is not the
article's words either), is kept in the sidecar for
the editor to fix and shown beside no paragraph. Only `unmatched` knows how passages are
found, so that it can follow the page's own placement rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..content import Article
from ..errors import Problem
from ..summary import plain_text
from .match import normalise
from .model import Note

_BLANK = re.compile(r"\n[ \t]*\n")
_BLOCK_MARK = re.compile(r"^ {0,3}(?:>[ \t]?|#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+)+", re.M)


def passages(body: str) -> list[str]:
    """The article's blocks (paragraphs, headings, list items, quotes) as normalised
    plain text."""
    return [normalise(plain_text(_BLOCK_MARK.sub("", block))) for block in _BLANK.split(body)]


def unmatched(article: Article, notes: Sequence[Note]) -> list[int]:
    """The indices (0-based) of the notes whose quote is empty or in no passage."""
    if not notes:
        return []
    found = passages(article.body)
    missing = []
    for index, note in enumerate(notes):
        quote = normalise(plain_text(note.quote))  # a model may copy the Markdown's marks
        if not quote or not any(quote in passage for passage in found):
            missing.append(index)
    return missing


def unmatched_problems(article: Article, notes: Sequence[Note], shown: str) -> list[Problem]:
    """A warning at its line in `shown` (the sidecar) for each note whose quote is not
    the article's."""
    return [
        Problem(
            shown,
            notes[index].line or None,
            f"note {index + 1} of {article.path} quotes words the article does not contain",
        )
        for index in unmatched(article, notes)
    ]
