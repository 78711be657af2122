"""/search/ and /opensearch.xml: the page readers search on, and the description that lets a
browser add the archive as a search engine."""

from __future__ import annotations

import html
from xml.sax.saxutils import quoteattr

from ..archive import Site
from ..pages import PageJob
from ..theme import Urls

SEARCH_URL = "/search/"
OPENSEARCH = "opensearch.xml"


def search_page(site: Site, urls: Urls) -> PageJob:
    """/search/: Pagefind's UI, with the languages the index has to choose from."""
    languages = sorted({article.language or site.settings.language for article in site.articles})
    context = {
        "languages": languages,
        "canonical": urls.abs_url(SEARCH_URL),
        "page_title": "Search",
        "description": f"Search {site.settings.title}",
    }
    return PageJob(SEARCH_URL, "search.html", context, "")


def opensearch_xml(site: Site, urls: Urls) -> bytes:
    """The OpenSearch description that lets a browser add the archive as a search engine."""
    title = site.settings.title
    template = urls.abs_url(SEARCH_URL) + "?q={searchTerms}"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">',
        f"  <ShortName>{html.escape(_short_name(title), quote=False)}</ShortName>",
        f"  <Description>{html.escape(f'Search {title}', quote=False)}</Description>",
        "  <InputEncoding>UTF-8</InputEncoding>",
        f'  <Url type="text/html" method="get" template={quoteattr(template)}/>',
        "</OpenSearchDescription>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _short_name(title: str, limit: int = 16) -> str:
    """OpenSearch's ShortName holds 16 characters: the title's first words that fit."""
    short = ""
    for word in title.split():
        if len(short) + len(word) + bool(short) > limit:
            break
        short = f"{short} {word}" if short else word
    return short or title[:limit]
