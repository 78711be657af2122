"""The notes of an article's analysis as its page and feeds show them: numbered in
reading order, their text rendered as untrusted model output (the analysis renderer),
and the article's body cut at its blocks with each block's placed notes (place.py)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

# A note's kind as a reader is told it
KIND_LABELS = {
    "context": "Context",
    "check": "To check",
    "source": "Source",
    "missing": "Left out",
    "language": "Wording",
}
QUOTATION_MARKS = " \"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e"
NOTE_ID = "note_{}"  # the id of a note beside the article; slugs never hold "_"


@dataclass(frozen=True)
class ShownNote:
    number: int  # in reading order: the placed notes by where they are, then the others
    kind: str  # one of model.KINDS
    quote: str  # as the sidecar gives it
    html: Markup  # its text, rendered as analyses are
    anchor: str  # the id of its marked words in the article; "" when not placed

    @property
    def words(self) -> str:
        """The quote to show inside quotation marks of the page's own (<q>)."""
        return self.quote.strip(QUOTATION_MARKS)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def id(self) -> str:
        return NOTE_ID.format(self.number)

    @property
    def placed(self) -> bool:
        return bool(self.anchor)


@dataclass(frozen=True)
class Block:
    """A top-level block of the article's body (its words marked) and the notes beside it."""

    html: Markup
    notes: list[ShownNote]


@dataclass(frozen=True)
class ArticleNotes:
    notes: list[ShownNote]  # reading order
    blocks: list[Block]  # the article's body, when a note is placed in it; else empty


def article_notes(article: Any) -> ArticleNotes | None:
    """The notes of an article (content.Article) with an analysis that has any, else None.
    Only such an article's HTML is parsed."""
    analysis = article.analysis
    notes = analysis.notes if analysis is not None else ()
    if not notes:
        return None
    from .place import place  # lxml is imported by the builds that place notes only

    placement = place(str(article.html), tuple(note.quote for note in notes))
    shown = {
        index: ShownNote(
            number=number,
            kind=notes[index].kind,
            quote=notes[index].quote,
            html=analysis.html_store.render("analysis", notes[index].text),
            anchor=placement.anchor[index],
        )
        for number, index in enumerate(placement.order, start=1)
    }
    beside: dict[int, list[ShownNote]] = {}
    for index in placement.order:
        block = placement.block[index]
        if block is not None:
            beside.setdefault(block, []).append(shown[index])
    blocks = (
        [Block(Markup(html), beside.get(i, [])) for i, html in enumerate(placement.blocks)]
        if beside
        else []
    )
    return ArticleNotes([shown[index] for index in placement.order], blocks)


def notes_after(article: Any) -> str:
    """The notes as a list to follow the article's text where it is shown whole without
    the page's margin (full-content feeds): "" when its analysis has none."""
    notes = article_notes(article)
    if notes is None:
        return ""
    model = html.escape(article.analysis.model)
    items = []
    for note in notes.notes:
        quote = f" · on “{html.escape(note.words)}”" if note.quote else ""
        items.append(f"<li><p><strong>{note.label}</strong>{quote}</p>\n{note.html}</li>\n")
    return (
        "<h2>Machine-written notes</h2>\n"
        f"<p>Written by a language model ({model}), not by a journalist.</p>\n"
        f"<ol>\n{''.join(items)}</ol>\n"
    )
