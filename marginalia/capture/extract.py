"""The article out of a page: text as Markdown and its metadata (trafilatura), with the
declared authors and keywords read from JSON-LD and meta tags, which trafilatura gives as
a joined string. Whether the page is an article at all is pagekind's to say, and which
of its dates is the article's is dating's; this module gathers what they weigh."""

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
from .dating import Source, choose_date
from .pagekind import ARTICLE_TYPE, LISTING_TYPE, Evidence, refusal, running_paragraphs
from .urls import clean_url, web_url

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
_TITLE_METAS = ("og:title", "twitter:title")
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
    notes: tuple[str, ...] = ()  # what import says about how it read the page


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
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_links=True,
        include_formatting=True,
        include_tables=True,
        with_metadata=True,
    )
    page_titles = _page_titles(tree)
    article = _article_block(linked, page_titles)
    headline = _one_line(str((article or {}).get("headline") or ""))
    # trafilatura takes the first JSON-LD headline, which may be a related story's
    found_title = _one_line((doc.title if doc else None) or "")
    title = headline if _is_headline_of(headline, page_titles) else found_title or headline
    body = _with_quotes_marked(_without_title(doc.text or "", title), doc.body) if doc else ""
    source = _own_address(tree, url)
    dated = choose_date(source, _date_sources(tree, article, doc.date if doc else None))
    reason = refusal(
        Evidence(
            typed_article=article is not None,
            declared=_meta(tree, "og:type"),
            listing=next(
                (kind for item in linked for kind in _types(item) if LISTING_TYPE.match(kind)), None
            ),
            address=source,
            dated=dated is not None,
            paragraphs=running_paragraphs(body),
        )
    )
    if reason:
        raise Unusable(reason)
    if doc is None:
        raise Unusable("no article text found")
    if not title:
        raise Unusable("no title")
    if len(body) < _MIN_TEXT_CHARS:
        raise Unusable("no article text found")
    if dated is None:
        raise Unusable("no publication date")
    sitename = _one_line(doc.sitename or "")
    return Captured(
        title=title,
        published=dated.moment,
        source=clean_url(source) if source and is_web_url(source) else None,
        source_name=None if _is_host_name(sitename, [source, url, doc.hostname]) else sitename,
        authors=_authors(tree, article, doc.author),
        summary=_one_line(doc.description or "") or None,
        tags=_unique(_keywords(article) or [t for tag in doc.tags or [] for t in tag.split(",")]),
        body=body,
        notes=(dated.note,) if dated.note else (),
    )


def _own_address(tree: HtmlElement, url: str | None) -> str | None:
    """The page's canonical URL (`<link rel="canonical">`, else og:url) if it names one we
    can use, else where it was fetched from. Not trafilatura's URL, which falls back to
    `<base href>`: the site's address, not the article's."""
    hrefs = [link.get("href") or "" for link in tree.xpath('//link[@rel="canonical"]')]
    hrefs += _metas(tree, "og:url")
    return next((found for href in hrefs if (found := web_url(href, url or ""))), None) or url


def _article_block(linked: list[dict], titles: list[str]) -> dict | None:
    """The JSON-LD block about the page's own article: of those whose @type is an article
    kind, the first whose headline is the page's title, else the first (a page may carry
    blocks for related stories too)."""
    typed = [item for item in linked if any(ARTICLE_TYPE.search(kind) for kind in _types(item))]
    named = (item for item in typed if _is_headline_of(str(item.get("headline") or ""), titles))
    return next(named, typed[0] if typed else None)


def _is_headline_of(headline: str, titles: list[str]) -> bool:
    """Whether headline is one of the page's titles, or begins it (`Headline | Outlet`)."""
    wanted = _comparable(headline)
    return bool(wanted) and any(
        (page := _comparable(title)).startswith(wanted) and not page[len(wanted) :][:1].isalnum()
        for title in titles
    )


def _page_titles(tree: HtmlElement) -> list[str]:
    """What the page calls itself: og:title and the like, <title>, the first <h1>."""
    titles = [value for name in _TITLE_METAS for value in _metas(tree, name)]
    for element in tree.xpath("(//title)[1] | (//h1)[1]"):
        titles.append(_one_line(element.text_content()))
    return titles


def _comparable(title: str) -> str:
    return _one_line(title).casefold()


def _date_sources(tree: HtmlElement, article: dict | None, found: str | None) -> list[Source]:
    """The dates the page offers for its article, most trusted first (see dating)."""
    sources = []
    if moment := parse_moment((article or {}).get("datePublished")):
        sources.append(Source("the article's JSON-LD", moment))
    metas = (value for name in _DATE_METAS for value in _metas(tree, name))
    if moment := next((moment for text in metas if (moment := parse_moment(text))), None):
        sources.append(Source("its meta tags", moment))
    if moment := parse_moment(found):
        sources.append(Source("htmldate", moment))
    return sources


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
            collect(value.get("mainEntity"))

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            collect(json.loads(script.text or ""))
        except ValueError:
            continue
    return found


def _types(item: dict) -> list[str]:
    kind = item.get("@type", "")
    return [str(k) for k in kind] if isinstance(kind, list) else [str(kind)]


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
