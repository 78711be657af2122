"""RSS and Atom feeds: the entries they list, newest first, and an article made from an
entry's own text when its page cannot be fetched."""

from __future__ import annotations

import calendar
import email.utils
from dataclasses import dataclass
from datetime import date, datetime

import feedparser
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import load_html

from ..content import is_web_url
from .extract import Captured, Unusable, markdown_of_fragment, parse_moment
from .fetch import Response
from .urls import clean_url, web_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml")


@dataclass(frozen=True)
class Entry:
    """One item of a feed, with what it says about the article it links to."""

    link: str | None  # resolved against the feed's URL; as written if it is no usable URL
    title: str
    published: datetime | date | None
    authors: list[str]
    tags: list[str]
    summary: str | None
    full_text: str | None  # HTML of the whole article, when the feed carries it
    feed_title: str | None
    order: float  # seconds since the epoch of its date (-inf without one), for sorting


def feed_link(page: Response) -> str | None:
    """The feed an HTML page names with <link rel="alternate" type="...rss/atom...">,
    resolved against the page's URL (as written if it is no usable URL)."""
    tree = load_html(page.text)
    if tree is None:
        return None
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "alternate" in rel and (link.get("type") or "").lower() in FEED_TYPES:
            href = (link.get("href") or "").strip()
            if href:
                return web_url(href, page.final_url) or href
    return None


def entries(response: Response) -> list[Entry] | None:
    """The feed's entries, newest first (those without a date last, in feed order); None
    if the response is no RSS or Atom feed. Parsed once: feeds can be large."""
    parsed = _parse(response)
    if not parsed.get("version"):
        return None
    feed_title = " ".join(str(parsed.feed.get("title", "")).split()) or None
    found = [_entry(item, response.final_url, feed_title) for item in parsed.entries]
    return sorted(found, key=lambda entry: -entry.order)


def captured_from_entry(entry: Entry) -> Captured:
    """An article from the entry itself; Unusable unless it carries the full text."""
    if not entry.full_text:
        raise Unusable("the feed has only a summary of it")
    body = markdown_of_fragment(entry.full_text)
    if not body:
        raise Unusable("the feed's text of it is empty")
    if not entry.title:
        raise Unusable("no title")
    if entry.published is None:
        raise Unusable("no publication date")
    return Captured(
        title=entry.title,
        published=entry.published,
        source=clean_url(entry.link) if entry.link and is_web_url(entry.link) else None,
        source_name=entry.feed_title,
        authors=entry.authors,
        summary=entry.summary,
        tags=entry.tags,
        body=body,
    )


def _parse(response: Response) -> feedparser.FeedParserDict:
    # content-location: relative links resolve against where the feed really is
    headers = {"content-location": response.final_url, "content-type": response.media_type}
    if response.charset:
        headers["content-type"] += f"; charset={response.charset}"
    return feedparser.parse(response.body, response_headers=headers)


def _entry(item: feedparser.FeedParserDict, base: str, feed_title: str | None) -> Entry:
    link = item.get("link")
    stamp = item.get("published_parsed") or item.get("updated_parsed")
    summary = item.get("summary")
    contents = [part.get("value", "") for part in item.get("content", [])]
    full_text = next((text for text in contents if text.strip() and text != summary), None)
    return Entry(
        link=(web_url(link, base) or link.strip()) if link else None,
        title=" ".join(str(item.get("title", "")).split()),
        published=_feed_date(item.get("published") or item.get("updated")),
        authors=[
            " ".join(a["name"].split())
            for a in item.get("authors", [])
            if a.get("name", "").strip()
        ],
        tags=[tag["term"].strip() for tag in item.get("tags", []) if tag.get("term", "").strip()],
        summary=_plain(summary) if summary else None,
        full_text=full_text,
        feed_title=feed_title,
        order=calendar.timegm(stamp) if stamp else float("-inf"),
    )


def _feed_date(text: str | None) -> datetime | date | None:
    """An RSS (RFC 822) or Atom (ISO 8601) date as written, with its zone."""
    if not text:
        return None
    moment = parse_moment(text)
    if moment is not None:
        return moment
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def _plain(html: str) -> str | None:
    """The text of an HTML summary, on one line."""
    try:
        text = lxml_html.fromstring(f"<div>{html}</div>").text_content()
    except (ValueError, TypeError, etree.LxmlError):
        text = html
    return " ".join(text.split()) or None
