"""Markdown to HTML with markdown-it-pyrs: articles (the editor's) and analyses (untrusted).

markdown-it-pyrs binds markdown-it.rs, markdown-it in Rust (here 9 times as fast as
markdown-it-py on articles, 13 times on analyses, passes included). It takes no Python
rules and cannot render a changed tree, so what its plugins do not do is done by passes
over the HTML it emits. They are sound because every parser rule is chosen here: with raw
HTML off, each `<`, `>` and `"` of the text, attribute values included, comes out escaped,
so every tag is the renderer's own, in the one form it writes it: `<h2>`, `<a href="…"…>`,
`</a>`, `<img src="…" alt="…"…>`, and the footnote plugin's `<sup class="footnote-ref">…`
and closing section. The passes:

- heading ids (articles, h2-h4): heading_id() of the heading's text as mdit-py-plugins'
  anchors plugin took it (text and code only: tags removed, entities decoded, line breaks
  and footnote marks left out), de-duplicated like it: `x`, `x-1`, `x-2`;
- footnotes numbered, listed and linked as markdown-it-py did (see _number_footnotes);
- site-root links (`href="/…"`, `src="/…"`, not `//host`) get the base path;
- analyses: a link that is neither http(s) nor relative loses its tag and keeps its text,
  every other link gets rel="nofollow noopener", an image becomes its alt text.

markdown-it.rs itself, like markdown-it-py, makes no link of javascript:, vbscript:, file:
or data: (other than data:image/gif|png|jpeg|webp) URLs: their Markdown stays as text.

With `markdown.unsafe_html: true` the editor's raw HTML is kept, and the article passes
treat raw tags written in the same form as Markdown ones, as an editor would expect: a
bare `<h2>…</h2>` (lower case, no attribute) gets an id, one with attributes is left as it
is; a double-quoted site-root `href`/`src` gets the base path, so it works under /repo/ too.

Two passes over the Markdown keep what markdown-it-py did where markdown-it.rs 0.6 differs:
a footnote definition right under a line of text gets a blank line before it (markdown-it-py
let it end the paragraph; markdown-it.rs would show it as text), and a text that makes
markdown-it.rs panic (a `[` then a backtick run nothing closes: `[a `b`,
markdown-it-rust/markdown-it#40) is rendered again with its lone backtick runs escaped,
which is what they are anyway: literal backticks.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable

from markdown_it_pyrs import MarkdownIt
from markupsafe import Markup

from .slugs import slugify

# Ids the default theme gives its own elements (skip link, "Scroll down" link target).
PAGE_IDS = frozenset({"main", "original"})

# The "commonmark" preset less html_block and html_inline; "zero" starts with no rule.
_COMMONMARK = [
    *("blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph"),
    *("reference", "autolink", "backticks", "emphasis", "entity", "escape", "image"),
    *("link", "newline"),
]


def heading_id(text: str) -> str:
    """A heading's anchor: never empty, never one of the page's own ids."""
    slug = slugify(text) or "section"
    return f"{slug}-heading" if slug in PAGE_IDS else slug


# --- passes over the Markdown --------------------------------------------------------------

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_FOOTNOTE_DEFINITION = re.compile(r"\[\^[^\]\s]+\]:")
_QUOTE_OR_TABLE = re.compile(r" {0,3}>|\|? *:?-+:? *\|")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_ESCAPE_OR_TICKS = re.compile(r"\\.|`+", re.DOTALL)


def _fenced(lines: list[str]) -> list[bool]:
    """Which lines are in a fenced code block at the top level (fence lines included)."""
    flags: list[bool] = []
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        rest = line[match.end() :] if match else ""
        if fence:
            flags.append(True)
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
                fence = "" if not rest.strip() else fence
        else:
            fence = match[1] if match and not (match[1][0] == "`" and "`" in rest) else ""
            flags.append(bool(fence))
    return flags


def _separate_footnote_definitions(text: str) -> str:
    """A blank line before each `[^n]:` line that follows a line of a paragraph or list
    (not of a quote or table, which markdown-it-py let it continue), outside fenced code."""
    if "[^" not in text:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    continues = False  # the block above is a quote or a table
    for i, (line, fenced) in enumerate(zip(lines, _fenced(lines), strict=True)):
        if not line.strip() or fenced:
            continues = False
        elif _QUOTE_OR_TABLE.match(line):
            continues = True
        elif i and not continues and _FOOTNOTE_DEFINITION.match(line) and lines[i - 1].strip():
            out.append("\n")
        out.append(line)
    return "".join(out)


def _escape_runs(text: str, *, every_run: bool = False) -> str:
    """Backslash each backtick run that closes no code span in text (or every run)."""
    out: list[str] = []
    pos = 0
    for match in _ESCAPE_OR_TICKS.finditer(text):
        if match.start() < pos or match[0][0] == "\\":
            continue  # inside a code span already passed, or a backslash escape
        run = match[0]
        closer = None if every_run else re.compile(f"(?<!`){run}(?!`)").search(text, match.end())
        if closer is not None:
            out.append(text[pos : closer.end()])
            pos = closer.end()
        else:
            out.append(text[pos : match.start()] + "\\`" * len(run))
            pos = match.end()
    return "".join(out) + text[pos:]


def _escape_lone_backticks(text: str) -> str:
    """_escape_runs paragraph by paragraph (blank lines and ATX headings end one), outside
    fenced code."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    paragraph: list[str] = []
    for line, fenced in zip(lines, _fenced(lines), strict=True):
        heading = not fenced and _ATX_HEADING.match(line)
        if fenced or heading or not line.strip(" \t>\r\n"):
            out.append(_escape_runs("".join(paragraph)))
            out.append(_escape_runs(line) if heading else line)
            paragraph = []
        else:
            paragraph.append(line)
    out.append(_escape_runs("".join(paragraph)))
    return "".join(out)


def _render(md: MarkdownIt, text: str) -> str:
    """md.render; after markdown-it.rs's panic on lone backticks (see above), again with
    them escaped, and as the last resort with every backtick escaped: no code span left."""
    retries = (_escape_lone_backticks, functools.partial(_escape_runs, every_run=True))
    source = text
    for retry in (*retries, None):
        try:
            return md.render(source, xhtml=False)
        except BaseException as exc:  # pyo3's PanicException derives from BaseException
            if type(exc).__name__ != "PanicException":
                raise
            if retry is None:
                raise RuntimeError(f"markdown-it.rs failed on this text: {exc}") from exc
            source = retry(text)
    raise AssertionError("unreachable")


# --- passes over the HTML ------------------------------------------------------------------

_HEADING = re.compile(r"<h([2-4])>(.*?)</h\1>", re.DOTALL)
_FOOTNOTES = (
    '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n'
)
_FOOTNOTES_END = "</ol>\n</section>\n"
_FOOTNOTE_ITEM = re.compile(r'<li id="fn(\d+)" class="footnote-item">\n')
_FOOTNOTE_REF = re.compile(
    r'<sup class="footnote-ref"><a href="#fn(\d+)" id="fnref([\d:]+)">\[[\d:]+\]</a></sup>'
)
_BACKREF = re.compile(r' <a href="#fnref(\d+)" class="footnote-backref">↩︎</a>')
_TAG = re.compile(r"<[^>]*>")
_SITE_ROOT = re.compile(r'(\s(?:href|src)=")(/(?!/))')
_IMAGE = re.compile(r'<img src="[^"]*" alt="([^"]*)"[^>]*>')
_LINK = re.compile(r'<a href="([^"]*)"([^>]*)>|</a>')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _heading_text(inner_html: str) -> str:
    """The text the anchors plugin slugged: its text and code tokens, no breaks or marks."""
    inner_html = _FOOTNOTE_REF.sub("", inner_html).replace("\n", "")
    return html.unescape(_TAG.sub("", inner_html))


def _number_footnotes(out: str) -> str:
    """Footnotes numbered, listed and linked as markdown-it-py did: by first reference, a
    repeated one marked [1:1]. markdown-it.rs numbers them by definition, and counts twice
    a reference its link scanner passed over (a backlink to nothing, left out here)."""
    if _FOOTNOTES not in out:
        return out
    numbers: dict[str, int] = {}  # markdown-it.rs's footnote number -> ours
    ref_ids: dict[str, str] = {}  # markdown-it.rs's reference number -> our id
    seen: dict[str, int] = {}
    for match in sorted(_FOOTNOTE_REF.finditer(out), key=lambda m: int(m[2])):
        number = numbers.setdefault(match[1], len(numbers) + 1)
        count = seen[match[1]] = seen.get(match[1], -1) + 1
        ref_ids[match[2]] = f"{number}:{count}" if count else str(number)

    def ref(match: re.Match[str]) -> str:
        link = f'<a href="#fn{numbers[match[1]]}" id="fnref{ref_ids[match[2]]}">'
        return f'<sup class="footnote-ref">{link}[{ref_ids[match[2]]}]</a></sup>'

    def backref(match: re.Match[str]) -> str:
        ref_id = ref_ids.get(match[1])
        return f' <a href="#fnref{ref_id}" class="footnote-backref">↩︎</a>' if ref_id else ""

    body, section = _FOOTNOTE_REF.sub(ref, out).rsplit(_FOOTNOTES, 1)
    parts = _FOOTNOTE_ITEM.split(_BACKREF.sub(backref, section.removesuffix(_FOOTNOTES_END)))
    items = sorted(
        zip(parts[1::2], parts[2::2], strict=True), key=lambda i: numbers.get(i[0], 1 << 30)
    )
    # the referenced footnotes first, so item i is footnote i + 1
    listed = "".join(
        f'<li id="fn{i + 1}" class="footnote-item">{item}' for i, (_, item) in enumerate(items)
    )
    return body + _FOOTNOTES + parts[0] + listed + _FOOTNOTES_END


def _add_heading_ids(out: str) -> str:
    taken: set[str] = set()

    def with_id(match: re.Match[str]) -> str:
        level, inner = match[1], match[2]
        slug = base = heading_id(_heading_text(inner))
        number = 1
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        # slugify keeps letters, marks, digits and "-": nothing to escape in the attribute
        return f'<h{level} id="{slug}">{inner}</h{level}>'

    return _HEADING.sub(with_id, out)


def _site_root_prefixer(base_path: str) -> Callable[[str], str]:
    """Site-root links ('/about/') get the base path, so they work under /repo/ too."""
    prefix = base_path.rstrip("/")
    if not prefix:
        return lambda out: out
    # most pages have no site-root link: the search alone costs a third of a render
    return lambda out: _SITE_ROOT.sub(lambda m: m[1] + prefix + m[2], out) if '="/' in out else out


def _safe_link(href: str) -> bool:
    """http(s) or relative, by the scheme a browser reads from the attribute's value."""
    url = re.sub(r"[\t\n\r]", "", html.unescape(href)).lstrip(_C0_AND_SPACE)
    scheme = _SCHEME.match(url)
    return scheme is None or scheme[0].lower() in ("http:", "https:")


def _police_links(out: str) -> str:
    """rel="nofollow noopener" on kept links; others unwrapped (nested links are possible)."""
    kept: list[bool] = []

    def tag(match: re.Match[str]) -> str:
        if match[1] is None:  # </a>
            return "</a>" if kept.pop() else ""
        kept.append(_safe_link(match[1]))
        return f'<a href="{match[1]}"{match[2]} rel="nofollow noopener">' if kept[-1] else ""

    return _LINK.sub(tag, out)


# --- the renderers ---------------------------------------------------------------------------


def article_renderer(unsafe_html: bool, base_path: str = "/") -> Callable[[str], str]:
    """CommonMark with tables, strikethrough, footnotes and heading anchors on h2-h4."""
    md = MarkdownIt("zero").enable_many(
        [*_COMMONMARK, "table", "strikethrough", "footnote"]
        + (["html_block", "html_inline"] if unsafe_html else [])
    )
    prefix = _site_root_prefixer(base_path)
    return lambda text: prefix(
        _add_heading_ids(_number_footnotes(_render(md, _separate_footnote_definitions(text))))
    )


def analysis_renderer(base_path: str = "/") -> Callable[[str], str]:
    """Model output is untrusted: no raw HTML, only http(s) and relative links, and images
    shown as their alt text (an image would be a request leaving the site)."""
    md = MarkdownIt("zero").enable_many([*_COMMONMARK, "table", "strikethrough"])
    prefix = _site_root_prefixer(base_path)
    return lambda text: prefix(_police_links(_IMAGE.sub(r"\1", _render(md, text))))


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
