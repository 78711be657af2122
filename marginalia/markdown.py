"""Markdown to HTML with pyromark: articles (the editor's) and analyses (untrusted).

pyromark binds pulldown-cmark, a CommonMark pull parser in Rust: it hands over the
document as a stream of events (start and end of an element, a run of text, a link with
its destination), and this module writes the HTML from them, in markdown-it-py's form
(`<br>`, `<s>`, `<th style="text-align:center">`, its footnote section). Every policy is
applied there, on the events, never on HTML:

- raw HTML is off (articles unless `markdown.unsafe_html`, analyses always): pulldown-cmark
  always parses it, so each raw tag or block is written out as escaped text, as
  markdown-it-py did with html off (a block becomes a paragraph; the Markdown inside it
  stays as written). So every tag in the output is one written here;
- heading ids (articles, h2-h4): heading_id() of the heading's text and code, footnote
  marks left out, de-duplicated like mdit-py-plugins' anchors: `x`, `x-1`, `x-2`;
- footnotes numbered by first reference, listed (the referenced ones only) and linked as
  markdown-it-py did: a repeated reference is marked [1:1] and gets its own backlink;
- site-root links (`/about/`, not `//host`) get the base path, images' sources too;
- links and images to javascript:, vbscript:, file: or data: (other than data:image/gif,
  png, jpeg or webp) are not made, as in markdown-it-py: their text stays;
- analyses: a link that is neither http(s) nor relative keeps only its text, every other
  link gets rel="nofollow noopener", an image becomes its alt text.

With `markdown.unsafe_html: true` the editor's raw HTML is kept, and treated where written
in the same form as Markdown's own tags, as an editor would expect: a bare `<h2>…</h2>`
(lower case, no attribute) in an HTML block gets an id, one with attributes is left as it
is; a double-quoted site-root `href`/`src` gets the base path, so it works under /repo/
too. Those two are regex passes over the raw HTML alone (an HTML block, an inline tag),
which is the editor's own and trusted: at worst an odd spelling is left as written.

A str that no UTF-8 file can hold (a lone surrogate) has those code points replaced
before parsing, so no input makes the parser refuse. A character reference decodes to any
code point (`&#1;`, `&#xFFFF;`), so the HTML is made fit once written (chars.fit), as
the text it was made from was.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

import pyromark
from markupsafe import Markup

from .chars import fit
from .slugs import slugify

# Ids the default theme gives its own elements (skip link, "Scroll down" link target).
PAGE_IDS = frozenset({"main", "original"})

# Subscript is on only to keep a single `~` as it is written (`~5%`): strikethrough is `~~`.
_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
_OPTIONS |= pyromark.Options.ENABLE_SUBSCRIPT
_ARTICLE = pyromark.Markdown(options=_OPTIONS | pyromark.Options.ENABLE_FOOTNOTES)
_ANALYSIS = pyromark.Markdown(options=_OPTIONS)


def heading_id(text: str) -> str:
    """A heading's anchor: never empty, never one of the page's own ids."""
    slug = slugify(text) or "section"
    return f"{slug}-heading" if slug in PAGE_IDS else slug


def _escape(text: str) -> str:
    """markdown-it-py's escapeHtml: &, <, > and " (text and attribute values alike)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# --- URLs --------------------------------------------------------------------------------

_NOT_AN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TO_ENCODE = re.compile(r"[^A-Za-z0-9;/?:@&=+$,\-_.!~*'()#]")
_URL_SAFE = ";/?:@&=+$,-_.!~*'()#%"  # what markdown-it-py's normalizeLink leaves as it is
_BAD_PROTOCOL = re.compile(r"(?:vbscript|javascript|file|data):", re.IGNORECASE)
_GOOD_DATA = re.compile(r"data:image/(?:gif|png|jpeg|webp);", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _href(url: str, prefix: str) -> str:
    """The attribute value: percent-encoded as markdown-it-py did, site-root under prefix."""
    if url[:1] == "/" and url[1:2] != "/":
        url = prefix + url
    if not url.isascii() or _TO_ENCODE.search(url):
        url = quote(_NOT_AN_ESCAPE.sub("%25", url), safe=_URL_SAFE)
    return _escape(url)


def _allowed(url: str) -> bool:
    """markdown-it-py's validateLink: no script, file or (non-image) data URL."""
    url = url.strip().lower()
    return not _BAD_PROTOCOL.match(url) or bool(_GOOD_DATA.match(url))


def _web_link(url: str) -> bool:
    """http(s) or relative, by the scheme a browser reads from the attribute's value."""
    scheme = _SCHEME.match(re.sub(r"[\t\n\r]", "", url).lstrip(_C0_AND_SPACE))
    return scheme is None or scheme[0].lower() in ("http:", "https:")


# --- raw HTML kept (markdown.unsafe_html) ---------------------------------------------------

_RAW_HEADING = re.compile(r"<h([2-4])>(.*?)</h\1>", re.DOTALL)
_RAW_TAG = re.compile(r"<[^>]*>")
_RAW_SITE_ROOT = re.compile(r'(\s(?:href|src)=")(/(?!/))')


def _raw_text(raw: str) -> str:
    """A raw heading's text, as a Markdown one's: tags left out, entities decoded."""
    return html.unescape(_RAW_TAG.sub("", raw))


def _raw_site_root(raw: str, prefix: str) -> str:
    return _RAW_SITE_ROOT.sub(lambda m: m[1] + prefix + m[2], raw) if prefix else raw


# --- the writer ------------------------------------------------------------------------------

_INLINE = {
    "Emphasis": ("<em>", "</em>"),
    "Strong": ("<strong>", "</strong>"),
    "Strikethrough": ("<s>", "</s>"),
    "Subscript": ("~", "~"),
}
_ALIGN = {
    "None": "",
    "Left": ' style="text-align:left"',
    "Center": ' style="text-align:center"',
    "Right": ' style="text-align:right"',
}
_FOOTNOTES = (
    '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n'
)


class _Writer:
    """One document's HTML from pulldown-cmark's events, with the policies above."""

    def __init__(self, *, article: bool, raw_html: bool, prefix: str) -> None:
        self.article, self.raw_html, self.prefix = article, raw_html, prefix
        self.out: list[str] = []
        self.open_notes: list[tuple[str, int]] = []  # footnote label, where its HTML starts
        self.links: list[bool] = []  # for each open link: was its tag written?
        self.alt: list[str] | None = None  # an image's text, while inside one
        self.image_depth = 0
        self.slug: list[str] | None = None  # a heading's text, while inside one with an id
        self.heading_at = 0
        self.ids: set[str] = set()
        self.html_block: list[str] | None = None
        self.image: dict = {}
        self.fenced = False
        self.lists: list[str] = []  # the closing tag of each open list
        self.table: tuple[str, ...] = ()
        self.cell = 0
        self.in_head = self.in_body = False
        self.numbers: dict[str, int] = {}  # footnote label -> number, by first reference
        self.ref_counts: dict[str, int] = {}
        self.notes: dict[str, list[str]] = {}  # footnote label -> its HTML

    def block(self, tag: str) -> None:
        """A block's opening tag starts a line (after a tight list item's text, say)."""
        out = self.out
        if out and out[-1][-1:] != "\n":
            out.append("\n")
        out.append(tag)

    def take_id(self, text: str) -> str:
        slug = base = heading_id(text)
        number = 1
        while slug in self.ids:
            slug, number = f"{base}-{number}", number + 1
        self.ids.add(slug)
        return slug  # slugify keeps letters, marks, digits and "-": nothing to escape

    def text(self, text: str) -> None:
        if self.alt is not None:
            self.alt.append(text)
            return
        if self.slug is not None:
            self.slug.append(text)
        self.out.append(_escape(text))

    def inline(self, tag: str, side: int) -> None:
        """An inline element's opening (0) or closing (1) tag; in an image's text, only a
        subscript's `~`, which is text as written (see _OPTIONS)."""
        if self.alt is None:
            self.out.append(_INLINE[tag][side])
        elif tag == "Subscript":
            self.alt.append("~")

    def raw(self, raw: str) -> None:
        """Inline HTML: kept (with the base path) or shown as text."""
        if self.raw_html and self.alt is None:
            self.out.append(_raw_site_root(raw, self.prefix))
        else:
            self.text(raw)

    def end_html_block(self) -> None:
        raw, self.html_block = "".join(self.html_block or ()), None
        if not self.raw_html:
            self.block(f"<p>{_escape(raw.strip())}</p>\n")
            return
        if self.article:
            raw = _RAW_HEADING.sub(
                lambda m: f'<h{m[1]} id="{self.take_id(_raw_text(m[2]))}">{m[2]}</h{m[1]}>', raw
            )
        self.block(_raw_site_root(raw, self.prefix))

    def start(self, tag: str | dict) -> None:
        out = self.out
        if type(tag) is str:
            if tag in _INLINE:
                self.inline(tag, 0)
            elif tag == "Item":
                self.block("<li>")
            elif tag == "TableCell":
                cell = "th" if self.in_head else "td"
                align = self.table[self.cell] if self.cell < len(self.table) else "None"
                out.append(f"<{cell}{_ALIGN[align]}>")
                self.cell += 1
            elif tag == "TableRow":
                self.cell = 0
                if not self.in_body:
                    self.in_body = True
                    out.append("<tbody>\n")
                out.append("<tr>\n")
            elif tag == "TableHead":
                self.in_head, self.cell = True, 0
                out.append("<thead>\n<tr>\n")
            elif tag == "HtmlBlock":
                self.html_block = []
            return
        [(kind, value)] = tag.items()
        if kind == "Link":
            self.start_link(value)
        elif kind == "Heading":
            level = value["level"][1]
            self.block(f"<h{level}>")
            if self.article and level in "234" and self.slug is None:
                self.slug, self.heading_at = [], len(out) - 1
        elif kind == "List":
            if value is None:
                self.block("<ul>\n")
            else:
                self.block("<ol>\n" if value == 1 else f'<ol start="{value}">\n')
            self.lists.append("</ul>\n" if value is None else "</ol>\n")
        elif kind == "BlockQuote":
            self.block("<blockquote>\n")
        elif kind == "CodeBlock":
            self.fenced = type(value) is dict
            info = value["Fenced"].split(maxsplit=1) if self.fenced else ()
            lang = f' class="language-{_escape(info[0])}"' if info else ""
            self.block(f"<pre><code{lang}>")
        elif kind == "Image":
            self.image_depth += 1
            if self.alt is None:
                self.alt = []
                self.image = value
        elif kind == "Table":
            self.table, self.in_body = value, False
            self.block("<table>\n")
        elif kind == "FootnoteDefinition":
            self.open_notes.append((value.casefold(), len(out)))

    def start_link(self, link: dict) -> None:
        url = link["dest_url"]
        if link["link_type"] == "Email":  # <a@b.c>
            url = "mailto:" + url
        kept = self.alt is None and _allowed(url) and (self.article or _web_link(url))
        self.links.append(kept)
        if kept:
            title = f' title="{_escape(link["title"])}"' if link["title"] else ""
            rel = "" if self.article else ' rel="nofollow noopener"'
            self.out.append(f'<a href="{_href(url, self.prefix)}"{title}{rel}>')

    def end_image(self) -> None:
        self.image_depth -= 1
        if self.image_depth:
            return
        alt, image, self.alt = "".join(self.alt or ()), self.image, None
        url = image["dest_url"]
        if not (self.article and _allowed(url)):
            self.text(alt)  # in an analysis, nothing is fetched from elsewhere
            return
        title = f' title="{_escape(image["title"])}"' if image["title"] else ""
        self.out.append(f'<img src="{_href(url, self.prefix)}" alt="{_escape(alt)}"{title}>')

    def end(self, tag: str | dict) -> None:
        out = self.out
        if type(tag) is dict:
            [(kind, value)] = tag.items()
            if kind == "Heading":
                level = value[1]
                if self.slug is not None:
                    out[self.heading_at] = f'<h{level} id="{self.take_id("".join(self.slug))}">'
                    self.slug = None
                out.append(f"</h{level}>\n")
            elif kind == "List":
                out.append(self.lists.pop())
            elif kind == "BlockQuote":
                if out[-1] == "<blockquote>\n":
                    out[-1] = "<blockquote>"  # an empty one is one line
                out.append("</blockquote>\n")
            return
        if tag in _INLINE:
            self.inline(tag, 1)
        elif tag == "Link":
            if self.links.pop():
                out.append("</a>")
        elif tag == "Image":
            self.end_image()
        elif tag == "Item":
            out.append("</li>\n")
        elif tag == "CodeBlock":
            # markdown-it-py ends an indented block's last line, not an unclosed fence's
            ends = self.fenced or out[-1][-1:] in ("\n", ">")
            out.append("</code></pre>\n" if ends else "\n</code></pre>\n")
        elif tag == "TableCell":
            out.append("</th>\n" if self.in_head else "</td>\n")
        elif tag == "TableRow":
            out.append("</tr>\n")
        elif tag == "TableHead":
            self.in_head = False
            out.append("</tr>\n</thead>\n")
        elif tag == "Table":
            out.append("</tbody>\n</table>\n" if self.in_body else "</table>\n")
        elif tag == "HtmlBlock":
            self.end_html_block()
        elif tag == "FootnoteDefinition":  # its HTML moves to the footnotes' list
            key, start = self.open_notes.pop()
            note = out[start:]
            del out[start:]
            if note[:1] == ["\n"]:  # put by block() after the text it interrupts
                del note[0]
            self.notes.setdefault(key, note)  # of two definitions, the first stands

    def footnote_reference(self, label: str) -> None:
        key = label.casefold()
        number = self.numbers.setdefault(key, len(self.numbers) + 1)
        count = self.ref_counts[key] = self.ref_counts.get(key, -1) + 1
        ref_id = f"{number}:{count}" if count else str(number)
        if self.alt is None:
            self.out.append(
                f'<sup class="footnote-ref"><a href="#fn{number}" id="fnref{ref_id}">[{ref_id}]</a></sup>'
            )

    def footnotes(self) -> str:
        """The section markdown-it-py's footnote plugin wrote: backlinks in the last paragraph."""
        items = [_FOOTNOTES]
        for key, number in self.numbers.items():
            note = self.notes.get(key, [])
            backlinks = "".join(
                f' <a href="#fnref{number}{f":{i}" if i else ""}" class="footnote-backref">↩︎</a>'
                for i in range(self.ref_counts[key] + 1)
            )
            last = len(note) - 1 if note and note[-1] == "</p>\n" else len(note)
            body = "".join(note[:last]) + backlinks + "".join(note[last:])
            items.append(f'<li id="fn{number}" class="footnote-item">{body}</li>\n')
        items.append("</ol>\n</section>\n")
        return "".join(items)

    def write(self, events: Iterable[str | dict]) -> str:
        out = self.out
        for event in events:
            if type(event) is str:
                if event == "Rule":
                    self.block("<hr>\n")
                elif self.alt is not None:
                    self.alt.append("\n")
                else:  # a line break is no part of a heading's id
                    out.append("<br>\n" if event == "HardBreak" else "\n")
                continue
            [(kind, value)] = event.items()
            if kind == "Text":
                if self.html_block is not None:
                    self.html_block.append(value)
                elif self.alt is None and self.slug is None:
                    out.append(_escape(value))  # the most frequent event by far
                else:
                    self.text(value)
            elif kind == "Start":
                if value == "Paragraph":  # here, not in start(): the most frequent block
                    self.block("<p>")
                else:
                    self.start(value)
            elif kind == "End":
                if value == "Paragraph":
                    out.append("</p>\n")
                else:
                    self.end(value)
            elif kind == "Code":
                if self.alt is not None:
                    self.alt.append(value)
                else:
                    if self.slug is not None:
                        self.slug.append(value)
                    out.append(f"<code>{_escape(value)}</code>")
            elif kind == "Html" and self.html_block is not None:
                self.html_block.append(value)
            elif kind in ("Html", "InlineHtml"):
                self.raw(value)
            elif kind == "FootnoteReference":
                self.footnote_reference(value)
        body = "".join(out)
        return fit(body + self.footnotes() if self.numbers else body)


# --- the renderers ---------------------------------------------------------------------------


def _events(md: pyromark.Markdown, text: str) -> Iterable[str | dict]:
    try:
        return md.events(text)
    except UnicodeEncodeError:  # a lone surrogate cannot cross into Rust; no file holds one
        return md.events(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def article_renderer(unsafe_html: bool, base_path: str = "/") -> Callable[[str], str]:
    """CommonMark with tables, strikethrough, footnotes and heading anchors on h2-h4."""
    prefix = base_path.rstrip("/")
    return lambda text: _Writer(article=True, raw_html=unsafe_html, prefix=prefix).write(
        _events(_ARTICLE, text)
    )


def analysis_renderer(base_path: str = "/") -> Callable[[str], str]:
    """Model output is untrusted: no raw HTML, only http(s) and relative links, and images
    shown as their alt text (an image would be a request leaving the site)."""
    prefix = base_path.rstrip("/")
    return lambda text: _Writer(article=False, raw_html=False, prefix=prefix).write(
        _events(_ANALYSIS, text)
    )


class HtmlStore:
    """Markdown rendered when a page asks, once per text per build, in memory.

    The feed and the page of an article share one rendering. Nothing is kept on disk any
    more: writing a cached file cost three renders (0.18 ms against 0.05 an article), and
    reading one back saved 0.03 ms from the page cache and cost more than a render from
    the disk. The memo is bounded: forked workers mostly render each text once.
    """

    MEMO_SIZE = 2048

    def __init__(self, unsafe_html: bool, base_path: str) -> None:
        self._renderers = {
            "article": article_renderer(unsafe_html, base_path),
            "analysis": analysis_renderer(base_path),
        }
        self._memo: dict[tuple[str, str], Markup] = {}

    def render(self, kind: str, text: str) -> Markup:
        """kind is 'article' (the editor's Markdown) or 'analysis' (untrusted model text)."""
        key = (kind, text)
        rendered = self._memo.pop(key, None)
        if rendered is None:
            rendered = Markup(self._renderers[kind](text))
            if len(self._memo) >= self.MEMO_SIZE:
                del self._memo[next(iter(self._memo))]  # the least recently used
        self._memo[key] = rendered
        return rendered
