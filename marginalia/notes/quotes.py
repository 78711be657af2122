"""Whether each note's quote is the article's: the check `analyze` and `check` report.

A note whose quote the page cannot place (place.py: empty, spanning two paragraphs, or
words the article does not contain) is kept in the sidecar for the editor to fix, shown
beside no paragraph, and reported here: the report and the page follow one rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..content import Article
from ..errors import Problem
from .model import Note


def unmatched(article: Article, notes: Sequence[Note]) -> list[int]:
    """The indices (0-based) of the notes the article's page places beside no passage."""
    if not notes:
        return []
    from .place import place  # lxml is imported only where a note is checked

    placement = place(str(article.html), tuple(note.quote for note in notes))
    return [index for index, block in enumerate(placement.block) if block is None]


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
