"""Whether a page is an article, from all it shows; og:type is a hint, not a verdict.

Many outlets put og:type `website` on every page, or `video.other` on an article with a
video in it. So a page is refused as "not an article" only when it clearly is something
else, in this order: an article-typed JSON-LD block makes it an article whatever else it
shows; an address that is a home page's or a tag or topic page's, or a one-word section's
(`/world/`, unless og:type says article) makes it a list page; og:type `article` makes it
an article; JSON-LD saying it lists other pages (CollectionPage, ItemList) makes it a list
page; and a page whose og:type names another kind (`website`, `video.other`) is an
article only with a publication date and MIN_PARAGRAPHS paragraphs of running text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# og:type values and JSON-LD @types of news articles (NewsArticle, ReportageNewsArticle,
# AnalysisNewsArticle, BlogPosting, LiveBlogPosting, Report, ...)
ARTICLE_TYPE = re.compile(r"article|blogposting|posting|report", re.I)
# JSON-LD @types of pages made of links to other pages
LISTING_TYPE = re.compile(r"^(CollectionPage|ItemList|SearchResultsPage|ProfilePage)$", re.I)
# first segments of addresses that list articles by tag, topic, author or date
LISTING_PREFIXES = frozenset(
    [
        "tag",
        "tags",
        "topic",
        "topics",
        "category",
        "categories",
        "section",
        "sections",
        "author",
        "authors",
        "search",
        "label",
        "labels",
        "keyword",
        "keywords",
        "archive",
        "archives",
        "theme",
        "themen",
        "thema",
        "rubrique",
    ]
)
MIN_PARAGRAPHS = 3  # of running text, on a page that says it is not an article
PARAGRAPH_CHARS = 80  # shorter blocks are teasers, captions and credits
_INDEX_FILE = re.compile(r"^(index|default|home)\.[a-z]+$", re.I)
_PAGE_NUMBER = re.compile(r"^(page|p)$", re.I)


@dataclass(frozen=True)
class Evidence:
    """What a page shows about its kind."""

    typed_article: bool  # a JSON-LD block's @type is an article kind
    declared: str | None  # og:type
    listing: str | None  # a JSON-LD @type of a page that lists others
    address: str | None  # canonical URL, else the address it was fetched from
    dated: bool  # a publication date was found
    paragraphs: int  # paragraphs of running text trafilatura extracted


def refusal(evidence: Evidence) -> str | None:
    """Why the page is not an article ("not an article (...)"); None if it may be one."""
    if evidence.typed_article:
        return None
    declared_article = bool(evidence.declared and ARTICLE_TYPE.search(evidence.declared))
    front = front_kind(evidence.address, declared_article)
    if front:
        return f"not an article (its address, {_path(evidence.address)}, is {front})"
    if declared_article:
        return None
    if evidence.listing:
        return f"not an article (its JSON-LD says it is a {evidence.listing!r})"
    if evidence.declared is None:
        return None
    lacking = []
    if not evidence.dated:
        lacking.append("no publication date")
    if evidence.paragraphs < MIN_PARAGRAPHS:
        lacking.append(
            f"{evidence.paragraphs} of the {MIN_PARAGRAPHS} paragraphs of text an article has"
        )
    if lacking:
        return f"not an article (the page says it is a {evidence.declared!r} and has {' and '.join(lacking)})"
    return None


def front_kind(address: str | None, declared_article: bool) -> str | None:
    """What kind of list page an address is ("a home page", "a tag or topic page",
    "a section front"), or None if it may be an article's. A one-word section address
    (`/world/`) counts only when og:type does not say article: some blogs file posts so."""
    if not address:
        return None
    segments = _segments(address)
    if not segments:  # `/?p=959` is a post's address
        return None if urlsplit(address).query else "a home page"
    if segments[0].lower() in LISTING_PREFIXES and len(segments) <= 3:
        return "a tag or topic page"
    words = re.split(r"[-_]", segments[0])
    if len(segments) == 1 and len(words) <= 2 and not re.search(r"[0-9]", segments[0]):
        return None if declared_article else "a section front"
    return None


def _segments(address: str) -> list[str]:
    """The path's segments, without an index file name or a trailing page number."""
    segments = [part for part in unquote(urlsplit(address).path).split("/") if part]
    if segments and _INDEX_FILE.match(segments[-1]):
        segments.pop()
    if len(segments) >= 2 and _PAGE_NUMBER.match(segments[-2]) and segments[-1].isdigit():
        del segments[-2:]
    return segments


def _path(address: str | None) -> str:
    return urlsplit(address or "").path or "/"


def running_paragraphs(markdown: str) -> int:
    """How many blocks of the Markdown are paragraphs of running text: not headings,
    list items, quotes or tables, and not shorter than a sentence or two."""
    blocks = (block.strip() for block in markdown.split("\n\n"))
    return sum(
        1
        for block in blocks
        if len(block) >= PARAGRAPH_CHARS and not re.match(r"[#>|]|([*+-]|[0-9]+[.)])\s", block)
    )
