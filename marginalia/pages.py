"""Every HTML page of the site: its URL, its template and its declared context.

Contexts are TypedDicts so that a theme author can read here exactly what each
template is given (docs/template-context.md describes the same for users).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

import jinja2

from .archive import Link, Site, Term, YearArchive
from .content import Article, Page
from .notes.view import ArticleNotes, article_notes
from .request.form import RequestLink, request_link
from .theme import Urls


@dataclass(frozen=True)
class Pagination:
    """Where a list page stands among its pages; small whatever the list's length."""

    number: int  # 1-based
    total: int
    first_url: str

    def url_of(self, number: int) -> str:
        return page_url(self.first_url, number)

    @property
    def previous_url(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.total else None

    @property
    def page_urls(self) -> list[tuple[int, str]]:
        """Every page of the list (long for long lists: prefer `window`)."""
        return [(n, self.url_of(n)) for n in range(1, self.total + 1)]

    @property
    def window(self) -> list[tuple[int, str] | None]:
        """The first and last pages and two either side of this one; None marks a gap."""
        shown = sorted(
            {1, self.total, *range(max(1, self.number - 2), min(self.total, self.number + 2) + 1)}
        )
        window: list[tuple[int, str] | None] = []
        for number in shown:
            if window and window[-1] is not None and number - window[-1][0] > 1:
                window.append(None)
            window.append((number, self.url_of(number)))
        return window


class _Common(TypedDict):
    canonical: str | None
    page_title: str
    description: str


class ArticleContext(_Common):
    article: Article
    analysis: Any  # archive.AnalysisView | None
    previous: Article | None
    next: Article | None
    more_on: Term | None  # the tag (or outlet) of "More on ..."
    more: list[Article]  # its articles nearest in time to this one, newest first
    jsonld: dict[str, Any]
    request: RequestLink | None
    notes: ArticleNotes | None  # the analysis's notes, and the body cut where they go


class ListContext(_Common):
    heading: str
    kind: str
    term: Term | None
    articles: list[Article]
    pagination: Pagination
    feed_url: str | None
    older: Link | None  # year and month pages: the one before and the one after
    newer: Link | None
    up: list[Link]  # year and month pages: the pages above, the archive first


class YearContext(_Common):
    """A year's page: its months with their newest titles (its months' pages list every
    article; a year's own paginated list would only repeat them)."""

    heading: str
    kind: str
    term: None
    feed_url: None
    year: YearArchive
    older: Link | None
    newer: Link | None
    up: list[Link]


class TermsContext(_Common):
    heading: str
    kind: str
    terms: list[Term]


class ArchiveContext(_Common):
    years: list[YearArchive]


class PageContext(_Common):
    page: Page


@dataclass(frozen=True)
class PageJob:
    """One page (or feed) to render: site path ('/2024/06/x/'), template, inputs, source
    file.

    `inputs` are what the page shows, besides what every page shares (settings,
    templates): its dependency key is made from them. The template's context is `derive`
    of them, made only when the page is rendered; without `derive`, the inputs are the
    context. A derived value must be a function of the inputs and the settings alone.
    A feed has no template: `make` writes its bytes from its inputs.
    """

    url: str
    template: str
    inputs: dict[str, Any]
    source: str
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    make: Callable[[dict[str, Any]], bytes] | None = None

    @property
    def context(self) -> dict[str, Any]:
        return self.derive(self.inputs) if self.derive is not None else self.inputs

    def render(self, env: jinja2.Environment) -> bytes:
        if self.make is not None:
            return self.make(self.inputs)
        return env.get_template(self.template).render(self.context).encode("utf-8")


TERM_HEADINGS = {"tags": "Tags", "sources": "Sources", "authors": "Authors"}


def page_url(first_url: str, number: int) -> str:
    return first_url if number == 1 else f"{first_url}page/{number}/"


def _paginated(
    urls: Urls,
    first_url: str,
    articles: list[Article],
    per_page: int,
    *,
    title: str | None = None,
    **fields: Any,
) -> Iterator[PageJob]:
    """A list of articles cut into pages: first_url, then first_url/page/2/... The first
    page's title is `title`, else the heading."""
    total = max(1, -(-len(articles) // per_page))
    heading = fields["heading"]
    for number in range(1, total + 1):
        url = page_url(first_url, number)
        context: ListContext = {
            "older": None,
            "newer": None,
            "up": [],
            **fields,  # type: ignore[typeddict-item]
            "articles": articles[(number - 1) * per_page : number * per_page],
            "pagination": Pagination(number, total, first_url),
            "canonical": urls.abs_url(url),
            "page_title": (title or heading)
            if number == 1
            else f"{heading} (page {number} of {total})",
        }
        yield PageJob(url, "list.html", dict(context), "")


def article_jsonld(site: Site, urls: Urls, article: Article) -> dict[str, Any]:
    """schema.org NewsArticle metadata for search engines."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "datePublished": article.date.isoformat(),
        "dateModified": (article.updated or article.date).isoformat(),
        "url": urls.abs_url(article.url),
        "inLanguage": article.language,
        "publisher": {"@type": "Organization", "name": site.settings.title},
    }
    if article.summary:
        data["description"] = article.summary
    if article.authors:
        data["author"] = [{"@type": "Person", "name": a.name} for a in article.authors]
    if article.tags:
        data["keywords"] = [t.name for t in article.tags]
    if article.source:
        data["isBasedOn"] = article.source
    return data


def article_pages(site: Site, urls: Urls) -> Iterator[PageJob]:
    """An article page shows its article, analysis and neighbours; the rest of its context
    (metadata, JSON-LD) is made from those and the settings when it is rendered."""

    def derive(inputs: dict[str, Any]) -> dict[str, Any]:
        article = inputs["article"]
        context: ArticleContext = {
            **inputs,  # type: ignore[typeddict-item]
            "jsonld": article_jsonld(site, urls, article),
            "request": request_link(site.settings, urls, article),
            "notes": article_notes(article),
            "canonical": urls.abs_url(article.url),
            "page_title": article.title,
            "description": article.summary or site.settings.description,
        }
        return dict(context)

    for article in site.articles:
        more_on, more = site.more_on.get(id(article), (None, []))
        inputs = {
            "article": article,
            "analysis": article.analysis,
            "previous": site.older[id(article)],
            "next": site.newer[id(article)],
            "more_on": more_on,
            "more": more,
        }
        yield PageJob(article.url, "article.html", inputs, f"content/{article.path}", derive)


def list_pages(site: Site, urls: Urls) -> Iterator[PageJob]:
    """Home, term, year and month lists, paginated; the term, archive and standalone pages."""
    settings = site.settings
    per_page = settings.paginate
    description = settings.description
    yield from _paginated(
        urls,
        "/",
        site.articles,
        per_page,
        title=settings.title,
        heading="Latest articles",  # the site's title is in every page's header
        kind="home",
        term=None,
        feed_url="/feed.xml",
        description=description,
    )
    for kind, terms in site.terms.items():
        for term in terms:
            feed = f"{term.url}feed.xml" if kind == "tags" else None
            yield from _paginated(
                urls,
                term.url,
                term.articles,
                per_page,
                heading=term.name,
                kind=kind,
                term=term,
                feed_url=feed,
                description=f"{TERM_HEADINGS[kind]}: {term.name}",
            )
        terms_context: TermsContext = {
            "heading": TERM_HEADINGS[kind],
            "kind": kind,
            "terms": terms,
            "canonical": urls.abs_url(f"/{kind}/"),
            "page_title": TERM_HEADINGS[kind],
            "description": description,
        }
        yield PageJob(f"/{kind}/", "terms.html", dict(terms_context), "")
    for year in site.years:
        year_context: YearContext = {
            "heading": str(year.year),
            "kind": "year",
            "term": None,
            "feed_url": None,
            "year": year,
            "older": year.older,
            "newer": year.newer,
            "up": year.up,
            "canonical": urls.abs_url(year.url),
            "page_title": str(year.year),
            "description": f"Articles of {year.year}",
        }
        yield PageJob(year.url, "year.html", dict(year_context), "")
        for month in year.months:
            heading = month.title
            yield from _paginated(
                urls,
                month.url,
                month.articles,
                per_page,
                heading=heading,
                kind="month",
                term=None,
                feed_url=None,
                description=f"Articles of {heading}",
                older=month.older,
                newer=month.newer,
                up=month.up,
            )
    archive: ArchiveContext = {
        "years": site.years,
        "canonical": urls.abs_url("/archive/"),
        "page_title": "Archive",
        "description": description,
    }
    yield PageJob("/archive/", "archive.html", dict(archive), "")
    for page in site.pages:
        context: PageContext = {
            "page": page,
            "canonical": urls.abs_url(page.url),
            "page_title": page.title,
            "description": page.summary or description,
        }
        yield PageJob(page.url, "page.html", dict(context), f"content/{page.path}")
    not_found: _Common = {
        "canonical": None,
        "page_title": "Page not found",
        "description": description,
    }
    yield PageJob("/404.html", "404.html", dict(not_found), "")
