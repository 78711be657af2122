"""Where each note goes in the article's rendered HTML, and its quoted words marked there.

The article's text decides, never the model: a note goes beside the top-level block (a
paragraph, a heading, a list, a block quote, a table...) of the first place in the body
whose text holds its quote, compared as match.normalise compares them, and not already
marked for an earlier note of the same analysis. The text searched is one paragraph's at
a time (a `<p>`, `<li>`, heading, table cell, `<pre>`...): a quote that runs across two
of them, an empty quote and one the body does not hold are not placed. When every place
of a quote is already marked, the note still goes beside the first, and the words stay
marked for the earlier note.

The HTML is parsed with lxml, the quoted words are wrapped in `<mark>` one text node at a
time (so that `<em>` or `<a>` inside the quote stay whole), and the body is written out
again cut at its top-level blocks, so that the page can put each block's notes after it.
Nothing is parsed for an article whose analysis has no notes.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html

from ..summary import plain_text
from .match import normalise, normalise_mapped

# Elements whose text is one "paragraph" to search; text in any other element belongs to
# the nearest of these around it, or to its top-level block.
_PARAGRAPHS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "td", "th", "dt", "dd"}
    | {"figcaption", "caption", "blockquote", "summary"}
)
# Text that is no part of what the article says: scripts and footnote marks.
_SKIPPED = frozenset({"script", "style", "template", "textarea"})
_SKIPPED_CLASSES = frozenset({"footnote-ref", "footnote-backref"})

QUOTE_ID = "quote_{}"  # the id of a note's first marked words; slugs never hold "_"


@dataclass(frozen=True)
class Placement:
    """Where the notes of one article go. For each note, in the order given: `block`, the
    index in `blocks` it goes beside (None: not placed), and `anchor`, the id of its marked
    words. `order` lists the notes' indices in reading order: the placed ones by where
    they are in the article, then the others as given."""

    blocks: tuple[str, ...]  # the body's HTML, cut at its top-level blocks, words marked
    block: tuple[int | None, ...]
    anchor: tuple[str, ...]
    order: tuple[int, ...]


@dataclass
class _Text:
    """One text node: an element's text, or the tail after it."""

    element: lxml.html.HtmlElement
    tail: bool
    value: str


@dataclass
class _Paragraph:
    block: int  # index of its top-level block
    texts: list[_Text]
    marks: list[tuple[int, int, int]]  # (start, end, note index) in the joined text, apart

    @property
    def text(self) -> str:
        return "".join(text.value for text in self.texts)


def _skipped(element: lxml.html.HtmlElement) -> bool:
    if not isinstance(element.tag, str):  # a comment or processing instruction
        return True
    classes = element.get("class")
    return element.tag in _SKIPPED or bool(classes and _SKIPPED_CLASSES & set(classes.split()))


def _texts(element, paragraph: _Paragraph, new: Callable[[], _Paragraph]) -> None:
    """Give every text node under element to the paragraph it belongs to, in order."""
    if element.tag in _PARAGRAPHS:
        paragraph = new()
    if element.text:
        paragraph.texts.append(_Text(element, False, element.text))
    for child in element:
        if not _skipped(child):
            _texts(child, paragraph, new)
        if child.tail:
            paragraph.texts.append(_Text(child, True, child.tail))


def _paragraphs(blocks: list) -> list[_Paragraph]:
    found: list[_Paragraph] = []
    for index, block in enumerate(blocks):
        if _skipped(block):
            continue

        def new(index: int = index) -> _Paragraph:
            found.append(_Paragraph(index, [], []))
            return found[-1]

        _texts(block, new(), new)
    return [paragraph for paragraph in found if paragraph.texts]


def _find(paragraphs: list[_Paragraph], quote: str) -> tuple[_Paragraph, int, int, bool] | None:
    """The first place of quote not yet marked, else the first place (marked: True)."""
    first = None
    for paragraph in paragraphs:
        text, starts = normalise_mapped(paragraph.text)
        at = text.find(quote)
        while at >= 0:
            start, end = starts[at], starts[at + len(quote)]
            if not any(s < end and start < e for s, e, _ in paragraph.marks):
                return paragraph, start, end, False
            if first is None:
                first = (paragraph, start, end, True)
            at = text.find(quote, at + 1)
    return first


def _mark(paragraph: _Paragraph, numbers: dict[int, int]) -> None:
    """Wrap the marked stretches of the paragraph's text nodes in <mark>, node by node:
    the first piece of a note's words has its id, the last its number."""
    low = 0
    for text in paragraph.texts:
        high = low + len(text.value)
        runs: list[lxml.html.HtmlElement] = []  # its marks, each with the plain text after it
        plain = text.value
        for start, end, note in sorted(paragraph.marks, reverse=True):
            if not (start < high and low < end):
                continue
            cut_from, cut_to = max(start, low) - low, min(end, high) - low
            number = numbers[note]
            mark = lxml.html.Element("mark")
            mark.set("class", "note-quote note-quote-end" if end <= high else "note-quote")
            if start >= low:
                mark.set("id", QUOTE_ID.format(number))
            mark.set("data-note", str(number))
            mark.text = plain[cut_from:cut_to]
            mark.tail = plain[cut_to:]
            runs.insert(0, mark)
            plain = plain[:cut_from]
        low = high
        if not runs:
            continue
        element = text.element
        if text.tail:
            element.tail = plain
            parent, position = element.getparent(), element.getparent().index(element) + 1
        else:
            element.text = plain
            parent, position = element, 0
        for offset, mark in enumerate(runs):
            parent.insert(position + offset, mark)


def _write(element) -> str:
    return lxml.html.tostring(element, encoding="unicode", with_tail=True)


def _forms(quote: str) -> tuple[str, ...]:
    """The quote to look for, normalised: as given, then without Markdown's marks (a
    model may copy the `**` of the source it was shown); none for an empty quote."""
    return tuple(dict.fromkeys(f for f in (normalise(quote), normalise(plain_text(quote))) if f))


@functools.lru_cache(maxsize=256)
def place(body_html: str, quotes: tuple[str, ...]) -> Placement:
    """Place notes by their quotes (as the sidecar gives them) in an article's HTML."""
    wanted = [_forms(quote) for quote in quotes]
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    blocks = list(root)
    paragraphs = _paragraphs(blocks)
    where: list[tuple[_Paragraph, int, int] | None] = []
    for index, forms in enumerate(wanted):
        found = next(filter(None, (_find(paragraphs, form) for form in forms)), None)
        if found is None:
            where.append(None)
            continue
        paragraph, start, end, marked = found
        if not marked:
            paragraph.marks.append((start, end, index))
        where.append((paragraph, start, end))
    placed = sorted(
        (i for i, spot in enumerate(where) if spot is not None),
        key=lambda i: (paragraphs.index(where[i][0]), where[i][1], i),  # type: ignore[index]
    )
    number = {note: n for n, note in enumerate(placed, start=1)}
    anchors = [QUOTE_ID.format(number[i]) if i in number else "" for i in range(len(quotes))]
    for i, spot in enumerate(where):  # a note whose words were marked for an earlier one
        if spot is not None:
            paragraph, start, end = spot
            owner = next(n for s, e, n in paragraph.marks if s < end and start < e)
            anchors[i] = anchors[owner]
    for paragraph in paragraphs:
        if paragraph.marks:
            _mark(paragraph, number)
    lead = html.escape(root.text or "", quote=False)
    cut = [_write(block) for block in blocks]
    if cut:
        cut[0] = lead + cut[0]
    return Placement(
        blocks=tuple(cut) or (lead,),
        block=tuple(None if spot is None else spot[0].block for spot in where),
        anchor=tuple(anchors),
        order=(*placed, *(i for i, spot in enumerate(where) if spot is None)),
    )
