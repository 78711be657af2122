"""Atom feeds and the sitemap: XML written directly, escaped, with absolute URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from . import __version__
from .archive import Site
from .content import Article
from .notes.view import notes_after
from .pages import PageJob
from .theme import Urls

SITEMAP_LIMIT = 50_000  # URLs per sitemap file, by the sitemaps.org protocol
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text(value: str) -> str:
    """Escaped element text; characters XML 1.0 forbids are dropped."""
    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("", value))


def _changed(article: Article) -> datetime:
    return article.updated or article.date


@dataclass(frozen=True)
class Feed:
    """What one Atom feed holds: its newest articles (`feed.limit` of the site's,
    `feed.tag_limit` of a tag's)."""

    path: str  # site path: /feed.xml, /tags/korea/feed.xml
    title: str
    page_url: str  # the HTML page the feed mirrors
    entries: list[Article]


def atom_feed(site: Site, urls: Urls, feed: Feed) -> bytes:
    """A full-content Atom feed."""
    updated = max((_changed(a) for a in feed.entries), default=_EPOCH)
    home = urls.abs_url(feed.page_url)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={_attr(site.settings.language)}>',
        f"  <title>{_text(feed.title)}</title>",
    ]
    if site.settings.description:
        lines.append(f"  <subtitle>{_text(site.settings.description)}</subtitle>")
    lines += [
        f'  <link href={_attr(urls.abs_url(feed.path))} rel="self" type="application/atom+xml"/>',
        f'  <link href={_attr(home)} rel="alternate" type="text/html"/>',
        f"  <id>{_text(home)}</id>",
        f"  <updated>{updated.isoformat()}</updated>",
        f"  <author><name>{_text(site.settings.title)}</name></author>",
        f'  <generator version="{__version__}">Marginalia</generator>',
    ]
    for article in feed.entries:
        lines += _entry(urls, article)
    lines.append("</feed>\n")
    return "\n".join(lines).encode("utf-8")


def _entry(urls: Urls, article: Article) -> Iterator[str]:
    link = urls.abs_url(article.url)
    yield "  <entry>"
    yield f'    <title type="text">{_text(article.title)}</title>'
    yield f'    <link href={_attr(link)} rel="alternate" type="text/html"/>'
    yield f"    <id>{_text(link)}</id>"
    yield f"    <published>{article.date.isoformat()}</published>"
    yield f"    <updated>{_changed(article).isoformat()}</updated>"
    for author in article.authors:
        yield f"    <author><name>{_text(author.name)}</name></author>"
    for tag in article.tags:
        yield f"    <category term={_attr(tag.slug)} label={_attr(tag.name)}/>"
    if article.summary:
        yield f'    <summary type="text">{_text(article.summary)}</summary>'
    content = str(article.html) + notes_after(article)  # never inline in the text
    yield f'    <content type="html" xml:base={_attr(link)}>{_text(content)}</content>'
    yield "  </entry>"


def site_feeds(site: Site) -> Iterator[Feed]:
    """The main feed and one feed per tag."""
    limits = site.settings.feed
    yield Feed("/feed.xml", site.settings.title, "/", site.articles[: limits.limit])
    for tag in site.terms["tags"]:
        title = f"{site.settings.title}: {tag.name}"
        yield Feed(f"{tag.url}feed.xml", title, tag.url, tag.articles[: limits.tag_limit])


def feed_jobs(site: Site, urls: Urls) -> Iterator[PageJob]:
    """The feeds, to be rendered (and skipped when unchanged) like the pages."""

    def make(inputs: dict[str, Any]) -> bytes:
        return atom_feed(site, urls, Feed(**inputs))

    for feed in site_feeds(site):
        inputs = {
            "path": feed.path,
            "title": feed.title,
            "page_url": feed.page_url,
            "entries": feed.entries,
        }
        yield PageJob(feed.path, "atom", inputs, "", make=make)


def _urlset(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for loc, lastmod in entries:
        modified = f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{_text(loc)}</loc>{modified}</url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def sitemaps(urls: Urls, pages: list[tuple[str, datetime | None]]) -> Iterator[tuple[str, bytes]]:
    """/sitemap.xml; past 50,000 URLs it becomes an index of /sitemaps/N.xml."""
    entries = [(urls.abs_url(path), lastmod) for path, lastmod in pages]
    if len(entries) <= SITEMAP_LIMIT:
        yield "/sitemap.xml", _urlset(entries)
        return
    index = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for number, start in enumerate(range(0, len(entries), SITEMAP_LIMIT), start=1):
        path = f"/sitemaps/{number}.xml"
        yield path, _urlset(entries[start : start + SITEMAP_LIMIT])
        index.append(f"  <sitemap><loc>{_text(urls.abs_url(path))}</loc></sitemap>")
    index.append("</sitemapindex>\n")
    yield "/sitemap.xml", "\n".join(index).encode("utf-8")


def robots_txt(urls: Urls) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {urls.abs_url('/sitemap.xml')}\n".encode()
