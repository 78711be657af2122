"""Atom feeds and the sitemap, read back by real parsers (feedparser, xml.etree).

Design §4: /feed.xml and /tags/{tag}/feed.xml are full-content Atom feeds of the newest
`feed.limit` articles (`feed.tag_limit` for a tag's, issue 21); feeds and sitemap carry absolute URLs under base_url.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from conftest import article

from marginalia.config import Settings
from marginalia.feeds import SITEMAP_LIMIT, sitemaps
from marginalia.theme import Urls

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

HOSTILE_TITLE = '<script>alert(1)</script> & "quotes" ]]> \u0007'
HOSTILE_SHOWN = HOSTILE_TITLE.replace("\u0007", "")  # XML 1.0 cannot carry U+0007
HOSTILE_PARSED = HOSTILE_SHOWN.strip()  # feedparser trims surrounding white space

# (file, title, date, tags, authors, distinctive sentence of the body)
ARTICLES = [
    (
        "2021/01/oldest.md",
        "Oldest story",
        "2021-01-05T09:00:00+00:00",
        "[Energy]",
        "[Ann Author]",
        "The oldest turbine hummed beside the quay.",
    ),
    (
        "2022/02/second.md",
        "Second story",
        "2022-02-10T10:00:00+01:00",
        "[energy, Port Elling]",
        "[Bo Writer]",
        "Ferries queued for the second charging berth.",
    ),
    (
        "2023/03/third.md",
        "Third story",
        "2023-03-15T11:30:00-05:00",
        "[Port Elling]",
        "[Ann Author, Cy Third]",
        "A third councillor abstained on the harbour vote.",
    ),
    (
        "2024/04/fourth.md",
        "Fourth story",
        "2024-04-20T12:00:00+00:00",
        "[energy]",
        "Dee Fourth",
        "Fourth-quarter tidal output beat every forecast.",
    ),
    (
        "2024/06/hostile.md",
        '"<script>alert(1)</script> & \\"quotes\\" ]]> \\a"',
        "2024-06-20T16:00:00+00:00",
        "[energy, Россия]",
        '["O\'Brien & Sons <ltd>"]',
        "The hostile headline story ends with a plain sentence.",
    ),
]
TITLES_NEWEST_FIRST = [
    HOSTILE_PARSED,
    "Fourth story",
    "Third story",
    "Second story",
    "Oldest story",
]


def _config(base_url: str, feed: str | None = None) -> str:
    text = f"title: Feed Test\nbase_url: {base_url}\ndescription: Feeds under test.\n"
    return text + (f"feed: {feed}\n" if feed is not None else "")


def _files(base_url: str, feed: str | None = None) -> dict[str, str]:
    files = {"config.yaml": _config(base_url, feed)}
    for rel, title, date, tags, authors, sentence in ARTICLES:
        files[f"content/{rel}"] = article(
            title=title,
            date=date,
            tags=tags,
            authors=authors,
            body=f"Opening paragraph.\n\n{sentence}\n\n## A subheading\n\nClosing *words*.",
        )
    return files


def _url_of(base_url: str, rel: str) -> str:
    """The absolute URL of content/<rel> under the default permalink /{year}/{month}/{slug}/."""
    year, month, name = rel.removesuffix(".md").split("/")
    return f"{base_url}{year}/{month}/{name}/"


def _built(site, run, base_url: str, feed: str | None = None) -> Path:
    root = site(_files(base_url, feed))
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    return root / "site"


def _parse(path: Path) -> feedparser.FeedParserDict:
    assert path.is_file(), f"missing feed {path}"
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    assert parsed.version == "atom10"
    return parsed


def _published(entry) -> datetime:
    return datetime.fromisoformat(entry.published)


@pytest.mark.parametrize("base_url", ["https://example.org/", "https://example.org/news/archive/"])
def test_site_feed_entries_are_absolute_newest_first_full_content(site, run, base_url: str) -> None:
    out = _built(site, run, base_url)
    feed = _parse(out / "feed.xml")

    assert [e.title for e in feed.entries] == TITLES_NEWEST_FIRST
    moments = [_published(e) for e in feed.entries]
    assert moments == sorted(moments, reverse=True)

    by_link = {e.link: e for e in feed.entries}
    for rel, _title, _date, _tags, _authors, sentence in ARTICLES:
        url = _url_of(base_url, rel)
        assert url in by_link, f"no entry links to {url}: {sorted(by_link)}"
        entry = by_link[url]
        assert entry.id == url
        assert sentence in entry.content[0].value
        assert "<h2" in entry.content[0].value  # the whole body as HTML, not a summary
        assert "<em>words</em>" in entry.content[0].value

    assert feed.feed.title == "Feed Test"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == f"{base_url}feed.xml"
    assert links["alternate"] == base_url


def test_entries_carry_authors_and_tags(site, run) -> None:
    feed = _parse(_built(site, run, "https://example.org/") / "feed.xml")
    entries = {e.title: e for e in feed.entries}
    assert [a.name for a in entries["Third story"].authors] == ["Ann Author", "Cy Third"]
    assert [a.name for a in entries["Fourth story"].authors] == ["Dee Fourth"]
    assert [a.name for a in entries[HOSTILE_PARSED].authors] == ["O'Brien & Sons <ltd>"]
    # Terms are one whatever their case, shown as first written (Energy came first).
    assert [t.label for t in entries["Second story"].tags] == ["Energy", "Port Elling"]
    assert [t.label for t in entries[HOSTILE_PARSED].tags] == ["Energy", "Россия"]


def test_hostile_title_round_trips(site, run) -> None:
    out = _built(site, run, "https://example.org/")
    feed = _parse(out / "feed.xml")
    assert feed.entries[0].title_detail.type == "text/plain"
    assert feed.entries[0].title == HOSTILE_PARSED
    # The XML text itself is exact, trailing space included.
    root = ET.fromstring((out / "feed.xml").read_bytes())
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert titles[0] == HOSTILE_PARSED  # U+0007 dropped as read, then trimmed
    assert b"<script>" not in (out / "feed.xml").read_bytes()


def test_feeds_are_bounded_by_feed_limit_and_tag_limit(site, run) -> None:
    out = _built(site, run, "https://example.org/", feed="{limit: 2, tag_limit: 3}")
    feed = _parse(out / "feed.xml")
    assert [e.title for e in feed.entries] == TITLES_NEWEST_FIRST[:2]
    energy = _parse(out / "tags" / "energy" / "feed.xml")
    assert [e.title for e in energy.entries] == [HOSTILE_PARSED, "Fourth story", "Second story"]
    assert "<h2" in energy.entries[1].content[0].value  # a tag's entries keep their full text


@pytest.mark.parametrize("base_url", ["https://example.org/", "https://user.github.io/repo/"])
def test_tag_feeds_hold_only_their_tag(site, run, base_url: str) -> None:
    out = _built(site, run, base_url)
    energy = _parse(out / "tags" / "energy" / "feed.xml")
    assert [e.title for e in energy.entries] == [
        HOSTILE_PARSED,
        "Fourth story",
        "Second story",
        "Oldest story",
    ]
    assert all(e.link.startswith(base_url) for e in energy.entries)
    assert energy.entries[1].link == _url_of(base_url, "2024/04/fourth.md")
    assert "Fourth-quarter tidal output beat every forecast." in energy.entries[1].content[0].value
    links = {link.rel: link.href for link in energy.feed.links}
    assert links["self"] == f"{base_url}tags/energy/feed.xml"
    assert links["alternate"] == f"{base_url}tags/energy/"

    harbour = _parse(out / "tags" / "port-elling" / "feed.xml")
    assert [e.title for e in harbour.entries] == ["Third story", "Second story"]

    russia = _parse(out / "tags" / "россия" / "feed.xml")
    assert [e.link for e in russia.entries] == [_url_of(base_url, "2024/06/hostile.md")]
    self_link = {link.rel: link.href for link in russia.feed.links}["self"]
    assert self_link == f"{base_url}tags/{quote('россия')}/feed.xml"


@pytest.mark.parametrize("base_url", ["https://example.org/", "https://example.org/news/archive/"])
def test_sitemap_lists_every_article_absolute(site, run, base_url: str) -> None:
    out = _built(site, run, base_url)
    root = ET.fromstring((out / "sitemap.xml").read_bytes())
    assert root.tag == f"{SITEMAP_NS}urlset"
    locs = [loc.text or "" for loc in root.iter(f"{SITEMAP_NS}loc")]
    assert locs, "empty sitemap"
    assert all(loc.startswith(base_url) for loc in locs), locs
    assert len(set(locs)) == len(locs)
    for rel, *_ in ARTICLES:
        assert _url_of(base_url, rel) in locs
    assert base_url in locs  # the home page
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {base_url}sitemap.xml" in robots


def test_more_than_50000_urls_make_a_sitemap_index() -> None:
    base_url = "https://example.org/big/"
    urls = Urls(Settings(title="Big", base_url=base_url))
    pages = [(f"/p/{n}/", None) for n in range(SITEMAP_LIMIT + 1)]
    files = dict(sitemaps(urls, pages))

    index = ET.fromstring(files.pop("/sitemap.xml"))
    assert index.tag == f"{SITEMAP_NS}sitemapindex"
    parts = [loc.text or "" for loc in index.iter(f"{SITEMAP_NS}loc")]
    assert len(parts) == 2
    listed = []
    for loc in parts:
        assert loc.startswith(base_url)
        path = "/" + loc.removeprefix(base_url)
        part = ET.fromstring(files.pop(path))
        assert part.tag == f"{SITEMAP_NS}urlset"
        locs = [el.text or "" for el in part.iter(f"{SITEMAP_NS}loc")]
        assert 0 < len(locs) <= SITEMAP_LIMIT
        listed += locs
    assert not files, f"sitemap files not in the index: {sorted(files)}"
    assert listed == [f"{base_url}p/{n}/" for n in range(SITEMAP_LIMIT + 1)]


def test_exactly_50000_urls_stay_one_sitemap() -> None:
    urls = Urls(Settings(title="Big", base_url="https://example.org/"))
    files = dict(sitemaps(urls, [(f"/p/{n}/", None) for n in range(SITEMAP_LIMIT)]))
    assert list(files) == ["/sitemap.xml"]
    root = ET.fromstring(files["/sitemap.xml"])
    assert root.tag == f"{SITEMAP_NS}urlset"
    assert len(list(root.iter(f"{SITEMAP_NS}loc"))) == SITEMAP_LIMIT
