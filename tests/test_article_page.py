"""The article page of design §5, and the safety rules of design §6 on it.

Pages are built from mini-sites written in each test and read back with the standard
library's HTML parser into a small element tree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser

import pytest
from conftest import article
from markupsafe import Markup

from marginalia import markdown
from marginalia.content import article_sha256

BASE_URL = "https://example.org/news/"
PREFIX = "/news/"
CONFIG = f"title: Page Test\nbase_url: {BASE_URL}\n"
VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)


# --- a small element tree on html.parser --------------------------------------------------


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    def iter(self, tag: str | None = None):
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter(tag)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            el
            for el in self.iter(tag)
            if all(_has(el, name.rstrip("_"), value) for name, value in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def ancestors(self) -> list[Element]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


def _has(el: Element, name: str, value: str) -> bool:
    if name == "class":
        return value in el.attrs.get("class", "").split()
    return el.attrs.get(name) == value


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Element:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- building -----------------------------------------------------------------------------


def sidecar(
    body: str,
    *,
    model: str = "gpt-test-model",
    article_hash: str | None = None,
    created: str = "2024-06-21T08:15:00+00:00",
) -> str:
    lines = ["---", f"model: {model}", "prompt: analysis", f"created: {created}"]
    if article_hash is not None:
        lines.append(f"article_sha256: {article_hash}")
    return "\n".join([*lines, "---", body, ""])


def build_page(site, run, files: dict[str, str], url: str) -> tuple[str, Element]:
    root = site({"config.yaml": CONFIG, **files})
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    path = root / "site" / url.strip("/") / "index.html"
    text = path.read_text(encoding="utf-8")
    return text, parse_html(text)


STORY_TITLE = "Harbour board approves tidal turbines"
STORY_BODY = "The board voted seven to two on Friday.\n\nConstruction starts next spring."
STORY = article(
    title=STORY_TITLE,
    date="2024-06-20T16:00:00+02:00",
    body=STORY_BODY,
    source="https://www.example-news.com/world/turbines",
    source_name="Example News",
    authors="[Jane Doe, John Roe]",
    tags="[North Korea, Energy]",
    summary="The harbour board approved four tidal turbines.",
)
STORY_URL = "/2024/06/story/"
ANALYSIS_TEXT = "The article relies on a single official source."


def fresh_hash() -> str:
    return article_sha256(STORY_TITLE, STORY_BODY)


# --- anatomy ------------------------------------------------------------------------------


def test_article_page_anatomy(site, run) -> None:
    files = {
        "content/2024/06/story.md": STORY,
        "analyses/2024/06/story.md": sidecar(ANALYSIS_TEXT, article_hash=fresh_hash()),
    }
    text, doc = build_page(site, run, files, STORY_URL)

    h1s = doc.find_all("h1")
    assert [squash(h.text) for h in h1s] == [STORY_TITLE]

    stamp = datetime.fromisoformat(doc.find("article").find("time").attrs["datetime"])
    assert stamp.utcoffset() is not None
    assert stamp.isoformat() == "2024-06-20T16:00:00+02:00"

    jumps = [
        a
        for a in doc.find_all("a", href="#original")
        if "Scroll down for original article" in a.text
    ]
    assert len(jumps) == 1
    original = doc.find(id="original")
    assert original is not None
    assert "Construction starts next spring." in squash(original.text)
    source_links = original.find_all("a", href="https://www.example-news.com/world/turbines")
    assert source_links, "the original section links to the source"

    details = doc.find("details")
    assert details is not None, "the analysis sits in <details>: it opens without JavaScript"
    assert details.find("summary") is not None
    shown = squash(details.text)
    assert ANALYSIS_TEXT in shown
    assert "gpt-test-model" in shown
    assert re.search(r"machine-(written|generated)|language model", shown, re.IGNORECASE), shown
    assert [t.attrs.get("datetime", "")[:10] for t in details.find_all("time")] == ["2024-06-21"]
    assert "earlier version" not in text
    assert "No analysis yet" not in text
    # The analysis comes before the original article, which the jump link skips to.
    order = [el for el in doc.iter() if el is details or el is original]
    assert order == [details, original]


def test_tags_authors_and_outlet_are_links(site, run) -> None:
    _text, doc = build_page(site, run, {"content/2024/06/story.md": STORY}, STORY_URL)
    links = {(a.attrs.get("href"), squash(a.text)) for a in doc.find_all("a")}
    for expected in [
        (f"{PREFIX}tags/north-korea/", "North Korea"),
        (f"{PREFIX}tags/energy/", "Energy"),
        (f"{PREFIX}authors/jane-doe/", "Jane Doe"),
        (f"{PREFIX}authors/john-roe/", "John Roe"),
        (f"{PREFIX}sources/example-news/", "Example News"),
    ]:
        assert expected in links, f"no link {expected}"


def test_canonical_open_graph_and_description(site, run) -> None:
    _text, doc = build_page(site, run, {"content/2024/06/story.md": STORY}, STORY_URL)
    canonical = doc.find_all("link", rel="canonical")
    assert [link.attrs["href"] for link in canonical] == [f"{BASE_URL}2024/06/story/"]
    og = {
        m.attrs["property"]: m.attrs.get("content")
        for m in doc.find_all("meta")
        if "property" in m.attrs
    }
    assert og["og:title"] == STORY_TITLE
    assert og["og:url"] == f"{BASE_URL}2024/06/story/"
    assert og["og:type"] == "article"
    assert (
        doc.find("meta", name="description").attrs["content"]
        == "The harbour board approved four tidal turbines."
    )


def test_previous_and_next_articles(site, run) -> None:
    files = {
        "content/a/old.md": article(title="Old one", date="2024-01-01"),
        "content/a/mid.md": article(title="Middle one", date="2024-02-01"),
        "content/a/new.md": article(title="New one", date="2024-03-01"),
    }
    root = site({"config.yaml": CONFIG, **files})
    assert run("build", "--root", root).status == 0

    def rels(url: str) -> dict[str, tuple[str, str]]:
        doc = parse_html((root / "site" / url / "index.html").read_text(encoding="utf-8"))
        found = {}
        for a in doc.find_all("a"):
            for rel in a.attrs.get("rel", "").split():
                if rel in ("prev", "next"):
                    assert rel not in found, f"two rel={rel} links on {url}"
                    found[rel] = (a.attrs["href"], squash(a.text))
        return found

    middle = rels("2024/02/mid")
    assert middle["prev"][0] == f"{PREFIX}2024/01/old/" and "Old one" in middle["prev"][1]
    assert middle["next"][0] == f"{PREFIX}2024/03/new/" and "New one" in middle["next"][1]
    assert set(rels("2024/01/old")) == {"next"}
    assert set(rels("2024/03/new")) == {"prev"}


# --- analysis states ----------------------------------------------------------------------


def test_no_sidecar_says_no_analysis_yet(site, run) -> None:
    text, doc = build_page(site, run, {"content/2024/06/story.md": STORY}, STORY_URL)
    assert "No analysis yet." in squash(doc.find("main").text)
    assert doc.find("details") is None
    assert "not analyzed" not in text


def test_analysis_false_says_not_analysed(site, run) -> None:
    files = {
        "content/2024/06/story.md": article(title="Obituary", date="2024-06-20", analysis="false")
    }
    text, doc = build_page(site, run, files, "/2024/06/story/")
    assert "This article is not analyzed." in squash(doc.find("main").text)
    assert "No analysis yet" not in text
    assert doc.find("details") is None


def test_stale_analysis_says_earlier_version(site, run) -> None:
    old_hash = article_sha256(STORY_TITLE, "An earlier draft of the body.")
    assert old_hash != fresh_hash()
    files = {
        "content/2024/06/story.md": STORY,
        "analyses/2024/06/story.md": sidecar(ANALYSIS_TEXT, article_hash=old_hash),
    }
    _text, doc = build_page(site, run, files, STORY_URL)
    details = doc.find("details")
    assert details is not None
    assert ANALYSIS_TEXT in squash(details.text)
    assert "written for an earlier version of this article" in squash(details.text)


def test_metadata_edits_keep_the_analysis_fresh(site, run) -> None:
    edited = STORY.replace("tags: [North Korea, Energy]", "tags: [Shipping]")
    files = {
        "content/2024/06/story.md": edited,
        "analyses/2024/06/story.md": sidecar(ANALYSIS_TEXT, article_hash=fresh_hash()),
    }
    text, doc = build_page(site, run, files, STORY_URL)
    assert ANALYSIS_TEXT in squash(doc.find("details").text)
    assert "earlier version" not in text


# --- JSON-LD ------------------------------------------------------------------------------


EVIL_TITLE = 'Evil </script><script>alert(1)</script> "x"'


def test_jsonld_is_valid_and_keeps_a_hostile_title(site, run) -> None:
    files = {
        "content/2024/06/evil.md": article(
            title="'" + EVIL_TITLE + "'",
            date="2024-06-20T16:00:00+00:00",
            authors="[Jane Doe]",
            tags="[Energy]",
            source="https://example-news.com/evil",
        )
    }
    text, doc = build_page(site, run, files, "/2024/06/evil/")
    assert "</script><script>" not in text
    scripts = doc.find_all("script")
    assert [s.attrs.get("type") for s in scripts] == ["application/ld+json"]
    data = json.loads(scripts[0].text)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == EVIL_TITLE
    assert data["url"] == f"{BASE_URL}2024/06/evil/"
    assert data["datePublished"] == "2024-06-20T16:00:00+00:00"
    assert [a["name"] for a in data["author"]] == ["Jane Doe"]
    assert [squash(h.text) for h in doc.find_all("h1")] == [EVIL_TITLE]


# --- safety -------------------------------------------------------------------------------

HOSTILE_ANALYSIS = """\
Marker sentence of the analysis.

<script>alert(1)</script>

[x](javascript:alert(1)) and [x2](JavaScript:alert(2)) and <javascript:alert(3)>

<img src=x onerror=alert(1)>

<iframe src="https://evil.example"></iframe>

[y](data:text/html,<script>) and [z][ref] and [v](vbscript:msgbox)

![img](https://tracker.example/p.png)

<a href="javascript:alert(4)" onclick="alert(5)">raw anchor</a>

</div></details></article><script>alert(6)</script>

[fine](https://example.com/ok) and [relative](/somewhere/)

[m](mailto:a@b.example) <mailto:a@b.example> <a@b.example> [w][mail] [f](ftp://e.example/)

[ref]: javascript:alert(7)

[mail]: mailto:x@y.example
"""

ALLOWED_SCHEMES = ("", "http", "https")


def scheme_of(url: str) -> str:
    """The scheme a browser would see: tabs and newlines removed, C0 and space stripped."""
    cleaned = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


@pytest.mark.parametrize("unsafe_html", [False, True])
def test_hostile_analysis_cannot_run_script_or_escape(site, run, unsafe_html: bool) -> None:
    config = CONFIG + f"markdown:\n  unsafe_html: {str(unsafe_html).lower()}\n"
    files = {
        "config.yaml": config,
        "content/2024/06/story.md": STORY,
        "analyses/2024/06/story.md": sidecar(HOSTILE_ANALYSIS, article_hash=fresh_hash()),
    }
    root = site(files)
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    doc = parse_html((root / "site" / "2024/06/story/index.html").read_text(encoding="utf-8"))

    details = doc.find("details")
    assert details is not None
    assert "Marker sentence of the analysis." in squash(details.text)
    inside = list(details.iter())
    for el in inside:
        assert el.tag not in ("script", "iframe", "img", "object", "embed", "style", "form"), el.tag
        assert not [name for name in el.attrs if name.startswith("on")], el.attrs
        for name in ("href", "src", "action", "formaction"):
            if name in el.attrs:
                assert scheme_of(el.attrs[name]) in ALLOWED_SCHEMES, el.attrs[name]
    hrefs = [el.attrs["href"] for el in details.find_all("a") if "href" in el.attrs]
    assert "https://example.com/ok" in hrefs
    assert "/news/somewhere/" in hrefs  # a site-root link gets the base path

    # Nothing escaped the section either: the whole page has only the JSON-LD script,
    # no image, frame or event handler, and no javascript: link.
    assert [s.attrs.get("type") for s in doc.find_all("script")] == ["application/ld+json"]
    assert not doc.find_all("iframe") and not doc.find_all("img")
    for el in doc.iter():
        assert not [name for name in el.attrs if name.startswith("on")], el.attrs
        if "href" in el.attrs:
            assert scheme_of(el.attrs["href"]) in ALLOWED_SCHEMES, el.attrs["href"]
    # The page's own structure is intact after the analysis.
    assert doc.find(id="original") is not None
    assert details.parent is not None and details.find(id="original") is None


RAW_BODY = (
    'Intro.\n\n<div class="raw-marker">Boxed</div>\n\n'
    'Text with <span class="inline-marker">span</span>.'
)


def test_article_raw_html_is_escaped_by_default(site, run) -> None:
    body = RAW_BODY
    files = {"content/2024/06/raw.md": article(title="Raw", date="2024-06-20", body=body)}
    text, doc = build_page(site, run, files, "/2024/06/raw/")
    assert doc.find(class_="raw-marker") is None
    assert doc.find(class_="inline-marker") is None
    assert "&lt;div class=" in text
    assert "Boxed" in squash(doc.find(id="original").text)


def test_article_raw_html_renders_with_unsafe_html(site, run) -> None:
    body = RAW_BODY
    files = {
        "config.yaml": CONFIG + "markdown:\n  unsafe_html: true\n",
        "content/2024/06/raw.md": article(title="Raw", date="2024-06-20", body=body),
    }
    root = site(files)
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    doc = parse_html((root / "site/2024/06/raw/index.html").read_text(encoding="utf-8"))
    original = doc.find(id="original")
    marker = original.find(class_="raw-marker")
    assert marker is not None and marker.tag == "div" and squash(marker.text) == "Boxed"
    assert original.find("span", class_="inline-marker") is not None


def test_sha_helper_matches_design() -> None:
    """The fresh-case hash above is the design §3 hash: title, newline, stripped LF body."""
    body = "\r\n  Line one.\r\nLine two.  \n\n"
    expected = hashlib.sha256(b"T\nLine one.\nLine two.").hexdigest()
    assert article_sha256("T", body) == expected


def test_heading_ids_never_clash_with_the_page_ids(site, run) -> None:
    body = (
        "Intro.\n\n## Main\n\nOne.\n\n## Original\n\nTwo.\n\n## ???\n\nThree.\n\n## Main\n\nFour."
    )
    files = {
        "content/2024/06/story.md": STORY.replace(STORY_BODY, body),
        "analyses/2024/06/story.md": sidecar(
            "## Original\n\nText.", article_hash=article_sha256(STORY_TITLE, body)
        ),
    }
    _text, doc = build_page(site, run, files, STORY_URL)
    ids = [el.attrs["id"] for el in doc.iter() if "id" in el.attrs]
    assert all(ids), f"an empty id: {ids}"
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
    assert doc.find(id="original").tag == "section"
    assert doc.find(id="main").tag == "main"
    headings = [squash(h.text) for h in doc.find(id="original").find_all("h2") if "id" in h.attrs]
    assert headings == ["Main", "Original", "???", "Main"]


# --- the Markdown renderers (marginalia/markdown.py) -------------------------------------
# Exact HTML: these strings are what markdown-it-py and mdit-py-plugins wrote (before the
# moves to markdown-it-pyrs, then pyromark), so they also pin the output to what it was.


@pytest.fixture(scope="module")
def render_article():
    return markdown.article_renderer(unsafe_html=False, base_path="/sub/")


@pytest.fixture(scope="module")
def render_analysis():
    return markdown.analysis_renderer(base_path="/sub/")


def test_articles_are_commonmark_with_tables_and_strikethrough_only(render_article) -> None:
    text = (
        "| a | b |\n|---|:-:|\n| 1 | 2 |\n\n"
        '~~gone~~ www.example.com https://example.com "q" -- (c) ...\n'
    )
    assert render_article(text) == (
        '<table>\n<thead>\n<tr>\n<th>a</th>\n<th style="text-align:center">b</th>\n</tr>\n'
        '</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td style="text-align:center">2</td>\n</tr>\n'
        "</tbody>\n</table>\n"
        # no linkify, no typographer (quotes, dashes, (c) and ... stay as written)
        "<p><s>gone</s> www.example.com https://example.com &quot;q&quot; -- (c) ...</p>\n"
    )


def test_a_single_tilde_is_no_strikethrough(render_article, render_analysis) -> None:
    text = "From ~5% to ~6%, ~~not 7%~~. ![a ~b~](/m.png)"
    expected = '<p>From ~5% to ~6%, <s>not 7%</s>. <img src="/sub/m.png" alt="a ~b~"></p>\n'
    assert render_article(text) == expected
    assert render_analysis(text) == "<p>From ~5% to ~6%, <s>not 7%</s>. a ~b~</p>\n"


def test_void_elements_are_html_not_xhtml(render_article) -> None:
    assert render_article("a  \nb\n\n---\n\n![map](/static/map.png)\n") == (
        '<p>a<br>\nb</p>\n<hr>\n<p><img src="/sub/static/map.png" alt="map"></p>\n'
    )


@pytest.mark.parametrize("unsafe_html", [False, True])
def test_article_raw_html(unsafe_html: bool) -> None:
    render = markdown.article_renderer(unsafe_html, "/")
    text = '<div class="box">Boxed</div>\n\nSee <span onclick="x()">this</span>.\n'
    if unsafe_html:
        assert render(text) == (
            '<div class="box">Boxed</div>\n<p>See <span onclick="x()">this</span>.</p>\n'
        )
    else:
        assert render(text) == (
            "<p>&lt;div class=&quot;box&quot;&gt;Boxed&lt;/div&gt;</p>\n"
            "<p>See &lt;span onclick=&quot;x()&quot;&gt;this&lt;/span&gt;.</p>\n"
        )


def test_heading_anchors_on_h2_to_h4_with_our_ids(render_article) -> None:
    text = (
        "# One\n\n## Main\n\n## Original\n\n### ???\n\n#### Same\n\n#### Same\n\n"
        "#### Same-1\n\n##### Five\n\n## Title[^1] with `code` &amp; *em*\n\n[^1]: n.\n"
    )
    html = render_article(text)
    assert re.findall(r"<h\d[^>]*>", html) == [
        "<h1>",
        '<h2 id="main-heading">',  # never one of the page's own ids
        '<h2 id="original-heading">',
        '<h3 id="section">',  # nothing to slug
        '<h4 id="same">',
        '<h4 id="same-1">',  # de-duplicated like mdit-py-plugins' anchors
        '<h4 id="same-1-1">',
        "<h5>",
        '<h2 id="title-with-code-and-em">',  # text and code; no footnote mark, no tags
    ]
    assert '<h2 id="main-heading">Main</h2>\n' in html
    assert markdown.heading_id("Main") == "main-heading"
    assert markdown.heading_id("original") == "original-heading"


def test_footnotes_numbered_by_first_reference_as_before(render_article) -> None:
    text = "B first[^b], then A[^a], B again[^b].\n\n[^a]: Note A.\n\n[^b]: Note B.\n"
    assert render_article(text) == (
        '<p>B first<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>, '
        'then A<sup class="footnote-ref"><a href="#fn2" id="fnref2">[2]</a></sup>, '
        'B again<sup class="footnote-ref"><a href="#fn1" id="fnref1:1">[1:1]</a></sup>.</p>\n'
        '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n'
        '<li id="fn1" class="footnote-item"><p>Note B. '
        '<a href="#fnref1" class="footnote-backref">↩︎</a> '
        '<a href="#fnref1:1" class="footnote-backref">↩︎</a></p>\n</li>\n'
        '<li id="fn2" class="footnote-item"><p>Note A. '
        '<a href="#fnref2" class="footnote-backref">↩︎</a></p>\n</li>\n'
        "</ol>\n</section>\n"
    )


def test_footnote_definition_right_under_text(render_article) -> None:
    html = render_article("Text.[^1]\n[^1]: The note.\n")
    assert '<li id="fn1" class="footnote-item"><p>The note. ' in html
    assert "[^1]" not in html


def test_site_root_links_and_images_get_the_base_path(render_article, render_analysis) -> None:
    text = "[About](/about/) [far](//host/x) [rel](x/y) [abs](https://e.com/) ![m](/m.png)\n"
    assert render_article(text) == (
        '<p><a href="/sub/about/">About</a> <a href="//host/x">far</a> <a href="x/y">rel</a> '
        '<a href="https://e.com/">abs</a> <img src="/sub/m.png" alt="m"></p>\n'
    )
    assert '<a href="/sub/about/" rel="nofollow noopener">About</a>' in render_analysis(text)
    assert (
        markdown.article_renderer(False, "/")("[a](/about/)") == '<p><a href="/about/">a</a></p>\n'
    )


def test_unsafe_html_raw_headings_and_links_treated_like_markdown() -> None:
    render = markdown.article_renderer(unsafe_html=True, base_path="/sub/")
    text = (
        '## Intro\n\n<h2>Intro</h2>\n\n<h3 id="mine">Kept</h3>\n\n'
        '<p><a href="/about/">raw</a> <a class="x" href="/tags/">raw</a> <img src="/i.png">'
        ' <a href="//host/">far</a></p>\n\n<h4>A &amp; <em>B</em></h4>\n\nSee <a href="/y/">y</a>.\n'
    )
    assert render(text) == (
        '<h2 id="intro">Intro</h2>\n<h2 id="intro-1">Intro</h2>\n<h3 id="mine">Kept</h3>\n'
        '<p><a href="/sub/about/">raw</a> <a class="x" href="/sub/tags/">raw</a> '
        '<img src="/sub/i.png"> <a href="//host/">far</a></p>\n'
        '<h4 id="a-and-b">A &amp; <em>B</em></h4>\n<p>See <a href="/sub/y/">y</a>.</p>\n'
    )


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("A [bracket and a `lone backtick.", "<p>A [bracket and a `lone backtick.</p>\n"),
        ("[a `b` and `code`", "<p>[a <code>b</code> and <code>code</code></p>\n"),
        ("## [x `y\n`z` w", '<h2 id="x-y">[x `y</h2>\n<p><code>z</code> w</p>\n'),
        ("> [a ``b", "<blockquote>\n<p>[a ``b</p>\n</blockquote>\n"),
    ],
)
def test_texts_markdown_it_rs_panicked_on(render_article, render_analysis, text, html) -> None:
    """markdown-it-rust/markdown-it#40, the old engine's: rendered as markdown-it-py did."""
    assert render_article(text) == html
    assert render_analysis(text) == re.sub(r' id="[^"]*"', "", html)


HOSTILE_MARKDOWN = """\
<script>alert(1)</script>

[x](javascript:alert(1)) [X](JaVaScRiPt:alert(1)) [m](mailto:a@b.c) <mailto:a@b.c> <a@b.c>

<javascript:alert(3)> [d](data:text/html,x) [v](vbscript:x) [f](ftp://e.com/) [t](tel:1)

[z][js] [mm][mail] [dd][data] [vv][vb]

![x](http://evil/img.png) <img src=x onerror=alert(1)> [![pic](/p.png)](https://e.com/)

## main

### original

[ok](https://e.com/ok "T") [rel](/somewhere/) [rel2](page.html) [<http://a.b/>](mailto:x@y)

[js]: javascript:alert(7)

[mail]: mailto:x@y

[data]: data:text/html,x

[vb]: vbscript:x
"""


def test_analysis_markdown_is_defused(render_analysis) -> None:
    assert render_analysis(HOSTILE_MARKDOWN) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        # a link to any other scheme than http(s) loses its tag and keeps its text, and a
        # reference definition is no text at all, whatever its scheme
        "<p>x X m mailto:a@b.c a@b.c</p>\n"
        "<p>javascript:alert(3) d v f t</p>\n"
        "<p>z mm dd vv</p>\n"
        # images are their alt text: nothing is fetched from elsewhere
        '<p>x &lt;img src=x onerror=alert(1)&gt; <a href="https://e.com/" rel="nofollow noopener">'
        "pic</a></p>\n"
        # no ids at all in analyses: they cannot clash with the page's
        "<h2>main</h2>\n<h3>original</h3>\n"
        '<p><a href="https://e.com/ok" title="T" rel="nofollow noopener">ok</a> '
        '<a href="/sub/somewhere/" rel="nofollow noopener">rel</a> '
        '<a href="page.html" rel="nofollow noopener">rel2</a> '
        '<a href="http://a.b/" rel="nofollow noopener">http://a.b/</a></p>\n'
    )


def test_html_store_renders_each_text_once() -> None:
    store = markdown.HtmlStore(unsafe_html=False, base_path="/")
    first = store.render("article", "## Hi")
    assert first == '<h2 id="hi">Hi</h2>\n' and isinstance(first, Markup)
    assert store.render("article", "## Hi") is first
    assert store.render("analysis", "## Hi") == "<h2>Hi</h2>\n"
