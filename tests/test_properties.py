"""Property: whatever an article file holds, the loader never crashes.

It yields an Article, or at least one error located at the file (and a line in it). And
whatever text the article holds, all the build derives from it (its page, the lists,
feeds, JSON-LD, meta description, search document) is what HTML's and XML's parsers take.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginalia import frontmatter
from marginalia.archive import assemble
from marginalia.build import Rendering, attach_html, render_site
from marginalia.chars import fit
from marginalia.config import load_settings
from marginalia.content import ARTICLE_KEYS, Article, load_content, parse_article, read_document
from marginalia.errors import Problems
from marginalia.feeds import feed_jobs
from marginalia.markdown import analysis_renderer, article_renderer
from marginalia.pages import article_pages, list_pages
from marginalia.search import search_page
from marginalia.search.document import document
from marginalia.slugs import is_safe_slug

ZONE = ZoneInfo("Europe/Berlin")
SHOWN = "content/2024/a.md"
ATOM = "{http://www.w3.org/2005/Atom}"
FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prop") / "content" / "2024" / "a.md"
    path.parent.mkdir(parents=True)
    return path


def load(file: Path, data: bytes) -> tuple[Article | None, Problems]:
    """read_document + parse_article, as the build does; asserts the loader's contract."""
    file.write_bytes(data)
    problems = Problems()
    doc = read_document(file, SHOWN, problems)
    found = parse_article(doc, "2024/a.md", ZONE, problems) if doc is not None else None
    lines = data.count(b"\n") + data.count(b"\r") + 1
    if found is None:
        assert problems.errors, "no article and no error"
    else:
        assert not problems.errors, problems.errors
        check_article(found)
    for problem in problems.errors + problems.warnings:
        assert problem.path == SHOWN
        assert problem.line is not None, f"unlocated: {problem}"
        assert 1 <= problem.line <= lines, (problem, lines)
        assert problem.message.strip()
    return found, problems


def check_article(found: Article) -> None:
    assert isinstance(found.title, str) and found.title.strip()
    assert isinstance(found.date, datetime) and found.date.tzinfo is not None
    assert found.updated is None or found.updated.tzinfo is not None
    assert all(isinstance(name, str) and name for name in found.tag_names + found.author_names)
    assert is_safe_slug(found.slug)
    assert found.source is None or found.source.startswith(("http://", "https://"))
    assert re.fullmatch(r"[0-9a-f]{64}", found.sha256)
    assert not set(found.extra) & ARTICLE_KEYS


# --- front matter built from YAML-ish fragments ---------------------------------------------

KEYS = [*sorted(ARTICLE_KEYS), "titel", "tgas", "extra", "x", "1", "? a", "- b", "<<", "", "a b"]
VALUES = [
    "",
    "Yes",
    "no",
    "~",
    "null",
    "2024",
    "0x1f",
    "1e400",
    "-.inf",
    "2024-06-20",
    "2024-02-30",
    "2024-06-20T16:00:00+02:00",
    "2024-06-20 16:00",
    "2024-13-01T25:61:00",
    "20/06/2024",
    "https://www.example.com/a",
    "ftp://x",
    "http://[::1",
    "https://:80/",
    "javascript:alert(1)",
    "[a, b]",
    "[a, b",
    "{a: 1}",
    "{a: ",
    "[[[]]]",
    "&anchor v",
    "*anchor",
    "*missing",
    "!!int x",
    "!!timestamp x",
    "!!binary ***",
    "!!python/object:os.system ls",
    "!!str",
    "!!set {a}",
    "'single",
    '"double',
    '"esc \\x00"',
    "|",
    ">-",
    "a: b",
    "- item",
    "# comment",
    "%YAML 1.1",
    "../../x",
    "Korea, korea, 북한",
    "\t",
    "\x00",
    "\x85",
    "\ufeff",
    "---",
    "...",
    "@",
    "`",
    "\u2028",
    "é" * 3,
    "%",
    "&",
    "*",
    "!",
    "?",
    ":",
]
INDENTS = ["", " ", "  ", "    ", "\t", "- ", "  - "]
LINE = st.one_of(
    st.builds(
        lambda indent, key, sep, value: f"{indent}{key}{sep}{value}",
        st.sampled_from(INDENTS),
        st.sampled_from(KEYS),
        st.sampled_from([": ", ":", " : ", ":\t", ""]),
        st.one_of(st.sampled_from(VALUES), st.text(max_size=12)),
    ),
    st.sampled_from(VALUES),
    st.text(max_size=20),
)
FRONT = st.lists(LINE, max_size=10).map("\n".join)
FENCES = st.sampled_from(["---\n", "---\r\n", "\ufeff---\n", "--- \n", "", "---"])
CLOSERS = st.sampled_from(["\n---\n", "\r\n---\r\n", "\n---", "\n...\n", "\n", "\n----\n"])
BODY = st.one_of(st.just("Body.\n"), st.text(max_size=40))


@FAST
@given(fence=FENCES, front=FRONT, closer=CLOSERS, body=BODY)
def test_yaml_ish_front_matter_never_crashes(
    file: Path, fence: str, front: str, closer: str, body: str
) -> None:
    load(file, (fence + front + closer + body).encode("utf-8", "surrogatepass"))


# --- real YAML mappings, dumped ----------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=9, minutes=30))])),
)
VALUE = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
MAPPING = st.dictionaries(
    st.one_of(st.sampled_from(sorted(ARTICLE_KEYS)), st.text(max_size=10)), VALUE, max_size=8
)


@FAST
@given(meta=MAPPING, body=BODY)
def test_dumped_mappings_never_crash(file: Path, meta: dict, body: str) -> None:
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    load(file, f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass"))


YAML_BREAKS = {"\x85", "\u2028", "\u2029"}


def writable_exactly(value: object) -> bool:
    """NaN is not equal to itself; YAML line breaks come back folded (see the title below)."""
    return value == value and not (isinstance(value, str) and set(value) & YAML_BREAKS)


EXTRA_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(
    lambda k: k not in ARTICLE_KEYS
)


@FAST
@given(
    # NEL, LS and PS are line breaks to YAML; PyYAML's emitter (allow_unicode) writes them
    # raw inside quotes, where reading folds them to spaces: the writer cannot say them.
    title=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and not set(t) & YAML_BREAKS),
    when=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    extra=st.dictionaries(EXTRA_KEYS, SCALARS.filter(writable_exactly), max_size=4),
)
def test_a_valid_article_always_loads_as_written(
    file: Path, title: str, when: datetime, extra: dict
) -> None:
    front = yaml.safe_dump(
        {"title": title, "date": when, **extra}, allow_unicode=True, sort_keys=False
    )
    found, _ = load(file, f"---\n{front}---\nBody.\n".encode("utf-8", "surrogatepass"))
    # loaded as written, made fit for a page (chars.fit: controls a YAML escape writes go)
    if not fit(title).strip():
        assert found is None
        return
    assert found is not None
    assert found.title == fit(title).strip()
    assert found.date == when
    assert found.extra == {
        fit(key): fit(value) if isinstance(value, str) else value for key, value in extra.items()
    }


# --- arbitrary bytes ---------------------------------------------------------------------------


@FAST
@given(
    prefix=st.sampled_from(
        [b"", b"---\n", b"---\ntitle: t\ndate: 2024-06-20\n", b"\xef\xbb\xbf---\r\n"]
    ),
    data=st.binary(max_size=200),
)
def test_arbitrary_bytes_never_crash(file: Path, prefix: bytes, data: bytes) -> None:
    load(file, prefix + data)


def test_load_content_on_a_folder_of_hostile_files(tmp_path: Path) -> None:
    """The same through load_content: every bad file reported, good ones kept."""
    files = {
        "good.md": b"---\ntitle: Yes\ndate: 2024-06-20\n---\nOk.\n",
        "bytes.md": b"---\ntitle: \xff\xfe\n---\n",
        "deep.md": b"---\ntitle: " + b"[" * 1_000 + b"\ndate: 2024-06-20\n---\n",
        "tags.md": b"---\ntitle: t\ndate: 2024-06-20\ntags: !!int x\n---\n",
        "when.md": b"---\ntitle: t\ndate: 2024-02-30\n---\n",
        "alias.md": b"---\ntitle: &a [*a]\ndate: 2024-06-20\n---\n",
        "nul.md": b"---\ntitle: a\x00b\ndate: 2024-06-20\n---\n",
        "empty.md": b"",
    }
    for name, data in files.items():
        (tmp_path / "content" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "content" / name).write_bytes(data)
    problems = Problems()
    loaded = load_content(tmp_path, ZONE, problems)
    assert [a.title for a in loaded.articles] == ["Yes"]
    assert {e.path for e in problems.errors} == {f"content/{n}" for n in files if n != "good.md"}
    assert all(e.line is not None for e in problems.errors), problems.errors


# --- Markdown: model text can do nothing but show text and links ---------------------------

MARKDOWN_BITS = st.sampled_from(
    [
        *("\n", "\n\n", "  \n", "\\\n", "# ", "## ", "> ", "- ", "1. ", "    ", "```\n", "---\n"),
        *("*", "_", "**", "~~", "`", "``", "[", "]", "(", ")", "![", "<", ">", "&", '"', "'"),
        *("| a | b |\n|---|---|\n", "[^1]", "[^1]: n\n", "&amp;", "&#106;", "&#x3A;", "\\"),
        *("javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "mailto:a@b.c", "on"),
        *("http://e.com/", "https://e.com/", "/root/", "//host/", "ftp://e.com/", "a@b.c"),
        *("<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">'),
        *("<svg onload=x>", "<iframe>", "</a>", "<http://e.com/>", "<javascript:x>", "\t", "\x00"),
        *("[x](javascript:alert(1))", "[x](http://e.com/ 'onerror=1')", "[r]", "\n[r]: ", "%20"),
        *("[^a]", "[^A]: ", "^[x]", "~", "~x~", "\n<div>\n", "<!--", "-->", "<h2>", "</h2>"),
        *("> > > > ", "- - - ", "1) ", "~~~\n", "| x |\n", "\n    ", "\t\t", "[a `b", "\r\n"),
    ]
)
MODEL_TEXT = st.lists(st.one_of(MARKDOWN_BITS, st.text(max_size=8)), max_size=40).map("".join)
# what no UTF-8 file holds, but a str may: lone surrogates
ANY_TEXT = st.lists(
    st.one_of(MARKDOWN_BITS, st.text(max_size=4), st.characters(categories=["Cs"])),
    max_size=40,
).map("".join)
ANALYSIS_TAGS = {"p", "a", "em", "strong", "code", "pre", "blockquote", "hr", "br", "s"}
ANALYSIS_TAGS |= {"ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}
ANALYSIS_TAGS |= {f"h{n}" for n in range(1, 7)}
render_analysis = analysis_renderer("/sub/")


class StartTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def browser_scheme(url: str) -> str:
    """The scheme a browser reads: tabs and newlines removed, leading C0 and space stripped."""
    cleaned = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


def checked_start_tags(html: str, allowed: set[str]) -> list[tuple[str, list]]:
    """The start tags of html, each one of allowed and without an event handler."""
    parser = StartTags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in allowed, (tag, html)
        assert not [name for name, _ in attrs if name.startswith("on")], (tag, attrs)
    return parser.tags


@FAST
@given(text=MODEL_TEXT)
def test_analysis_html_is_inert_whatever_the_model_writes(text: str) -> None:
    html = render_analysis(text)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    for tag, attrs in checked_start_tags(html, ANALYSIS_TAGS):
        for name, value in attrs:
            if name in ("href", "src"):
                assert browser_scheme(value or "") in ("", "http", "https"), (value, html)
        if tag == "a":
            assert ("rel", "nofollow noopener") in attrs, attrs


ARTICLE_TAGS = ANALYSIS_TAGS | {"img", "sup", "section"}
render_article = article_renderer(unsafe_html=False, base_path="/sub/")


@FAST
@given(text=MODEL_TEXT)
def test_article_html_has_only_the_renderers_tags(text: str) -> None:
    """Raw HTML off: every tag is one the renderer writes, every link a safe one."""
    html = render_article(text)
    for _tag, attrs in checked_start_tags(html, ARTICLE_TAGS):
        for name, value in attrs:
            if name in ("href", "src"):
                assert browser_scheme(value or "") not in ("javascript", "vbscript"), html


@FAST
@given(text=ANY_TEXT, unsafe_html=st.booleans())
def test_markdown_never_crashes(text: str, unsafe_html: bool) -> None:
    """No text stops a build: not markdown-it.rs's old panics (`[a `b`), nor a surrogate."""
    assert isinstance(article_renderer(unsafe_html, "/sub/")(text), str)
    assert isinstance(render_analysis(text), str)


# --- derived text: whatever the editor's text holds, pages and feeds can carry it -----------

# What the HTML standard's tokenizer reports as a parse error wherever it stands: NUL
# (unexpected-null-character), controls but ASCII white space, surrogates, noncharacters.
HTML_ERROR_CHARACTERS = "\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef" + "".join(
    f"{chr(plane | 0xFFFE)}{chr(plane | 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
)
NOT_FOR_HTML = re.compile(f"[{HTML_ERROR_CHARACTERS}]")
HOSTILE_BITS = st.sampled_from(
    [
        *("\x00", "\ufeff", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f"),
        *("\ufdd0", "\ufffe", "\uffff", "\U0010ffff", "\u2028", "\r", "\r\n", "\t", "\n\n"),
        *("&#0;", "&#1;", "&#12;", "&#x81;", "&#xFEFF;", "&#xFFFF;", "&#xD800;", "&amp;"),
        *("]]>", "</script>", "<!--", '"', "\\", "# ", "*", "`", "[a](/x)", " "),
    ]
)


def hostile_text(*, surrogates: bool) -> st.SearchStrategy[str]:
    """Any text, hostile characters likely. Only a str holds a lone surrogate: no UTF-8
    file, and no YAML value (PyYAML refuses the escape `"\\ud800"`)."""
    parts = [HOSTILE_BITS, st.text(max_size=6)]
    if surrogates:
        parts.append(st.characters(categories=["Cs"]))
    return st.lists(st.one_of(*parts), max_size=20).map("".join)


def named(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A title, tag or author: a letter amid hostile text, so it is never left empty."""
    return st.builds(lambda before, after: f"{before}X{after}", text, text)


class PageMetadata(HTMLParser):
    """The meta description and the JSON-LD of a page, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.description: str | None = None
        self.jsonld: list[str] = []
        self.in_jsonld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("name") == "description":
            self.description = found.get("content")
        self.in_jsonld = tag == "script" and found.get("type") == "application/ld+json"
        if self.in_jsonld:
            self.jsonld.append("")

    def handle_data(self, data: str) -> None:
        if self.in_jsonld:
            self.jsonld[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self.in_jsonld = False


def html_accepted(data: bytes, where: str) -> str:
    """UTF-8 with no character HTML's parser reports as an error: the text."""
    text = data.decode("utf-8")  # strict: a surrogate written with surrogatepass fails here
    bad = NOT_FOR_HTML.search(text)
    assert bad is None, f"{where}: {bad[0]!r} in {text[bad.start() - 60 : bad.end() + 20]!r}"
    return text


def page_metadata(text: str) -> PageMetadata:
    parser = PageMetadata()
    parser.feed(text)
    parser.close()
    return parser


def feed_accepted(data: bytes, where: str) -> feedparser.FeedParserDict:
    """A feed feedparser reads without a bozo flag."""
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{where}: {parsed.get('bozo_exception')}"
    return parsed


def lines_as_xml(text: str) -> str:
    """XML reads each CR and CR LF as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture(scope="module")
def rendering(tmp_path_factory: pytest.TempPathFactory) -> Rendering:
    """The build's rendering of an empty site: its environment renders every example's
    pages (made anew, its templates would be parsed again for each)."""
    root = tmp_path_factory.mktemp("derived")
    (root / "config.yaml").write_text("title: T\nbase_url: https://example.org/\n")
    problems = Problems()
    site = assemble(load_settings(root), [], [], {}, problems)
    return render_site(root, site, problems, site_dir=None, cache_dir=None)[1]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=named(hostile_text(surrogates=False)),
    tag=named(hostile_text(surrogates=False)),
    author=named(hostile_text(surrogates=False)),
    summary=st.none() | hostile_text(surrogates=False),
    body=hostile_text(surrogates=True),
)
def test_derived_text_is_what_html_and_xml_take(
    rendering: Rendering, title: str, tag: str, author: str, summary: str | None, body: str
) -> None:
    """The article's page, lists, feeds and search document, made from any text the
    loader is given: HTML's parser reports no character, XML's parser and feedparser take
    every feed, and the summary, title, JSON-LD and meta description read back as made."""
    meta = {"title": title, "date": "2024-06-20", "tags": [tag], "authors": [author]}
    if summary is not None:
        meta["summary"] = summary
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    problems = Problems()
    doc = frontmatter.parse(f"---\n{front}---\n{body}")
    found = parse_article(doc, "2024/a.md", ZONE, problems)
    assert found is not None and not problems.errors, problems.errors
    derived = [found.title, found.summary, *found.tag_names, *found.author_names]
    for text in derived:
        assert not NOT_FOR_HTML.search(text) and "\ufeff" not in text, (text, derived)
    config, urls = rendering.site.settings, rendering.urls
    site = assemble(config, [found], [], {}, problems)
    assert not problems.errors, problems.errors
    attach_html(site)
    jobs = [*article_pages(site, urls), *list_pages(site, urls), search_page(site, urls)]
    made = {job.url: job.render(rendering.env) for job in [*jobs, *feed_jobs(site, urls)]}
    made["search document"] = document(found, config.language).encode("utf-8")
    for where, data in made.items():
        if where.endswith(".xml"):
            ET.fromstring(data)  # expat refuses every character XML 1.0 forbids
        else:
            html_accepted(data, where)
    page = page_metadata(made[found.url].decode("utf-8"))
    assert (page.description or "") == (found.summary or config.description)
    [jsonld] = page.jsonld
    assert json.loads(jsonld)["headline"] == found.title
    assert json.loads(jsonld).get("description", "") == found.summary
    [parsed] = feed_accepted(made["/feed.xml"], "/feed.xml").entries
    assert parsed.title == lines_as_xml(found.title).strip()
    [entry] = ET.fromstring(made["/feed.xml"]).iter(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == lines_as_xml(found.title)
    assert entry.findtext(f"{ATOM}summary", "") == lines_as_xml(found.summary)
