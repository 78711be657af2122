"""The article out of a page: text as Markdown and its metadata (trafilatura), with the
publication time and declared authors and keywords read from JSON-LD and meta tags,
which trafilatura gives as a day and a joined string."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from ..content import is_web_url
from .urls import clean_url, web_url

# og:type values and JSON-LD @types of pages that are news articles
_ARTICLE_TYPE = re.compile(r"article|blogposting|posting|report", re.I)
_DATE_METAS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "dc.date.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
)
_AUTHOR_METAS = ("author", "article:author", "dc.creator", "byl", "parsely-author")
_MIN_TEXT_CHARS = 150  # less is a teaser or a caption, not an article


class Unusable(Exception):
    """This page cannot become an article; the message says why."""


@dataclass(frozen=True)
class Captured:
    """What an article file is made of."""

    title: str
    published: datetime | date
    source: str | None
    source_name: str | None
    authors: list[str]
    summary: str | None
    tags: list[str]
    body: str  # Markdown


def extract_article(html: str, url: str | None) -> Captured:
    """The article of a page fetched from url (None for a saved file); Unusable if there
    is none (not an article, no title, no text, no date)."""
    try:
        return _extract(html, url)
    except (ValueError, TypeError, RecursionError, etree.LxmlError) as exc:
        # trafilatura catches most of these itself; a page must never end the run
        raise Unusable(f"cannot be read as HTML ({exc.__class__.__name__}: {exc})") from None


def _extract(html: str, url: str | None) -> Captured:
    tree = load_html(html)
    if tree is None:
        raise Unusable("not an HTML page")
    linked = _json_ld(tree)
    article = next((item for item in linked if _ARTICLE_TYPE.search(_types(item))), None)
    page_type = _meta(tree, "og:type")
    if article is None and page_type and not _ARTICLE_TYPE.search(page_type):
        raise Unusable(f"not an article (the page says it is a {page_type!r})")
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_links=True,
        include_formatting=True,
        include_tables=True,
        with_metadata=True,
    )
    if doc is None:
        raise Unusable("no article text found")
    title = _one_line(doc.title or str((article or {}).get("headline") or ""))
    if not title:
        raise Unusable("no title")
    body = _with_quotes_marked(_without_title(doc.text or "", title), doc.body)
    if len(body) < _MIN_TEXT_CHARS:
        raise Unusable("no article text found")
    published = _published(tree, article) or parse_moment(doc.date)
    if published is None:
        raise Unusable("no publication date")
    # the page's canonical URL; where it was fetched from if it names none we can use
    source = (web_url(doc.url, url or "") if doc.url else None) or url
    sitename = _one_line(doc.sitename or "")
    return Captured(
        title=title,
        published=published,
        source=clean_url(source) if source and is_web_url(source) else None,
        source_name=None if _is_host_name(sitename, [source, url, doc.hostname]) else sitename,
        authors=_authors(tree, article, doc.author),
        summary=_one_line(doc.description or "") or None,
        tags=_unique(_keywords(article) or [t for tag in doc.tags or [] for t in tag.split(",")]),
        body=body,
    )


def markdown_of_fragment(html: str) -> str:
    """A piece of article HTML (a feed entry's content) as Markdown."""
    text = trafilatura.extract(
        f"<html><body><article><div>{html}</div></article></body></html>",
        output_format="markdown",
        include_comments=False,
        include_links=True,
        include_formatting=True,
    )
    return (text or "").strip()


def _is_host_name(name: str, urls: list[str | None]) -> bool:
    """Whether name is empty or only a host name (trafilatura's stand-in for a site name;
    the build derives that from `source` itself)."""
    hosts = {(urlsplit(u).netloc if "://" in u else u).lower() for u in urls if u}
    return not name or name.lower().removeprefix("www.") in {h.removeprefix("www.") for h in hosts}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _without_title(markdown: str, title: str) -> str:
    """The body without a first heading that repeats the title (the page shows it)."""
    first, _, rest = markdown.strip().partition("\n")
    if first.startswith("#") and _one_line(first.lstrip("#")) == title:
        return rest.strip()
    return markdown.strip()


def _with_quotes_marked(markdown: str, body: etree._Element | None) -> str:
    """Block quotes as Markdown `>` blocks: trafilatura keeps a quote's text but writes
    it as a plain paragraph. A quote whose text is not found once, whole, is left so."""
    for quote in body.iter("quote") if body is not None else ():
        text = xmltotxt(quote, True).strip()
        block = f"\n\n{text}\n"
        if text and markdown.count(block) == 1:
            marked = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
            markdown = markdown.replace(block, f"\n\n{marked}\n")
    return markdown


def _json_ld(tree: HtmlElement) -> list[dict]:
    """Every JSON-LD object of the page, @graph members included; broken blocks ignored."""
    found: list[dict] = []

    def collect(value: object) -> None:
        if isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            found.append(value)
            collect(value.get("@graph"))

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            collect(json.loads(script.text or ""))
        except ValueError:
            continue
    return found


def _types(item: dict) -> str:
    kind = item.get("@type", "")
    return " ".join(kind) if isinstance(kind, list) else str(kind)


def _metas(tree: HtmlElement, name: str) -> list[str]:
    """Contents of <meta property|name|itemprop=name>, case-insensitively, in page order."""
    values = []
    for meta in tree.iter("meta"):
        keys = (meta.get("property"), meta.get("name"), meta.get("itemprop"))
        if any(key and key.strip().lower() == name for key in keys):
            content = _one_line(meta.get("content") or "")
            if content:
                values.append(content)
    return values


def _meta(tree: HtmlElement, name: str) -> str | None:
    values = _metas(tree, name)
    return values[0] if values else None


def parse_moment(text: object) -> datetime | date | None:
    """An ISO 8601 date or date-time as written (with its zone); a date alone stays a date."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _published(tree: HtmlElement, article: dict | None) -> datetime | date | None:
    candidates = [(article or {}).get("datePublished")]
    candidates += [value for name in _DATE_METAS for value in _metas(tree, name)]
    return next((moment for text in candidates if (moment := parse_moment(text))), None)


def _names(value: object) -> list[str]:
    """Names from a JSON-LD author: a string, a Person object, or a list of either."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        value = value.get("name")
    return [_one_line(value)] if isinstance(value, str) and value.strip() else []


def _authors(tree: HtmlElement, article: dict | None, found: str | None) -> list[str]:
    """JSON-LD authors, else trafilatura's (meta tags and bylines), else the author meta
    tags as written (trafilatura drops some names, e.g. in CJK scripts)."""
    names = _names((article or {}).get("author"))
    if not names and found:
        names = [_one_line(name) for name in found.split(";")]
    if not names:
        names = [
            value for name in _AUTHOR_METAS for value in _metas(tree, name) if not is_web_url(value)
        ]
    return _unique(names)


def _keywords(article: dict | None) -> list[str]:
    value = (article or {}).get("keywords")
    if isinstance(value, str):
        value = value.split(",")
    return [str(item) for item in value] if isinstance(value, list) else []


def _unique(names: list[str]) -> list[str]:
    """Names in order, blank ones and case-insensitive repeats left out."""
    seen: set[str] = set()
    kept = []
    for name in (_one_line(name) for name in names):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept
