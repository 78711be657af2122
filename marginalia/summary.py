"""The summary of an article whose front matter gives none: its first paragraph as plain
text, cut at a word to the length of a meta description.

It is read from the Markdown source with a few regular expressions, not rendered: it is
made once per parsed file (the record cache keeps it), for 10,000 articles, and must not
depend on the Markdown engine. A construct it misreads can only make the summary worse,
never unsafe: it is text, and templates and feeds escape it. A character reference
decodes to what the body could not hold as written (`&#x81;`, `&#xFEFF;`): the text is
made fit again (chars.fit), as the rendered body is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from .chars import fit

LIMIT = 160
"""Characters, about what search engines show of a meta description."""

# Lines that start a block other than a paragraph (CommonMark): a heading, a fence, a
# quote, a list item, a table row, a thematic break, an HTML block, a definition.
_NOT_PARAGRAPH = re.compile(
    r" {0,3}(?:#{1,6}(?:\s|$)|`{3,}|~{3,}|>|[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)|\|"
    r"|<(?![A-Za-z][\w+.-]*:)|(?:[-*_][ \t]*){3,}$|\[[^\]]+\]:)"
)
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
# A line under a paragraph's first lines that makes them a heading, or a table's head
_UNDERLINE = re.compile(
    r" {0,3}(?:=+|-+)[ \t]*$"
    r"|[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-*:?[ \t]*)+$"
)
_INDENTED_CODE = re.compile(r"(?: {4}|\t)")

# Inline markup, leftmost first: an escape, a code span, an image, a link, a footnote
# reference, an autolink, an HTML tag, emphasis marks (`_` only at the edge of a word).
# The lookahead lets the engine pass over plain text at once (four times faster).
_INLINE = re.compile(
    r"(?=[\\`!\[<*~_])(?:"
    r"\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|(?P<ticks>`+)(?P<code>.+?)(?P=ticks)"
    r"|!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])?"
    r"|\[\^[^\]]+\]"
    r"|\[(?P<text>[^\]]*)\](?:\([^)]*\)|\[[^\]]*\])?"
    r"|<(?P<autolink>(?:https?|mailto):[^>\s]+)>"
    r"|</?[A-Za-z][^>]*>"
    r"|\*+|~~|(?<!\w)_+|_+(?!\w))",
    re.DOTALL,
)


def summary_of(body: str, limit: int = LIMIT) -> str:
    """The first paragraph of a Markdown body with its markup removed, at most `limit`
    characters: cut at a word, with an ellipsis, when it is longer; "" if it has none."""
    for paragraph in _paragraphs(body):
        text = plain_text(paragraph)
        if text:
            return cut(text, limit)
    return ""


def _paragraphs(body: str) -> Iterator[str]:
    """The paragraphs of a body, in order, as Markdown (code, headings, lists, quotes,
    tables and HTML blocks are passed over)."""
    lines: list[str] = []
    fence = ""
    skipping = False  # in a block that is not a paragraph, until a blank line
    for line in _lines(body):
        if fence:
            marker = _FENCE.match(line)
            if marker and marker[1][0] == fence[0] and len(marker[1]) >= len(fence):
                fence = ""
            continue
        if not line.strip():
            if lines:
                yield "\n".join(lines)
                lines = []
            skipping = False
            continue
        if skipping:
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened[1]
        elif lines and _UNDERLINE.match(line):
            lines = []  # they were a heading or a table's head
            skipping = True
            continue
        if opened or _NOT_PARAGRAPH.match(line) or (not lines and _INDENTED_CODE.match(line)):
            if lines:
                yield "\n".join(lines)
                lines = []
            skipping = not opened
            continue
        lines.append(line)
    if lines:
        yield "\n".join(lines)


def _lines(text: str) -> Iterator[str]:
    """text.split("\n"), one line at a time: the first paragraph is near the top of a
    long body."""
    start = 0
    while (end := text.find("\n", start)) != -1:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _plain(match: re.Match[str]) -> str:
    for group in ("escaped", "code", "autolink"):
        if match[group] is not None:
            return match[group]
    if match["text"] is not None:
        return plain_text(match["text"])
    return ""


def plain_text(markdown: str) -> str:
    """Inline Markdown as text: marks, links' targets, images and tags removed; entities
    decoded (and made fit, chars.fit); white space collapsed."""
    text = _INLINE.sub(_plain, markdown.replace("\\\n", " "))
    return " ".join(fit(html.unescape(text)).split())


def cut(text: str, limit: int = LIMIT) -> str:
    """text if it fits in `limit` characters; else its words that fit, and an ellipsis."""
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit)
    head = text[:space] if space > limit // 2 else text[: limit - 1]  # no spaces: CJK, URLs
    return head.rstrip(" ,;:-\u2013\u2014(") + "…"  # no dangling comma or dash
