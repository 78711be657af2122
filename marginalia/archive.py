"""The in-memory site: articles in order, taxonomies, date archives, pages. No I/O.

Everything a template needs is derived here once, so that rendering is a plain map
from this model to pages.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from . import dates
from .analysis.sidecar import Sidecar
from .config import Settings
from .content import Article, Page
from .errors import Problems
from .notes.model import Note
from .slugs import slugify

TAXONOMIES = ("tags", "sources", "authors")


@dataclass(eq=False)
class Term:
    """A tag, outlet or author: one term whatever its case, shown as first written."""

    kind: str
    name: str
    slug: str
    articles: list[Article] = field(default_factory=list)
    token: str = ""  # what a page shows of the term, for dependency records (when final)

    @property
    def url(self) -> str:
        return f"/{self.kind}/{self.slug}/"

    @property
    def count(self) -> int:
        return len(self.articles)


@dataclass(eq=False)
class AnalysisView:
    """What a reader is shown of a sidecar; its HTML is rendered when a page asks."""

    sidecar: Sidecar
    is_stale: bool
    html_store: Any = None  # markdown.HtmlStore

    @property
    def html(self) -> str:
        return self.html_store.render("analysis", self.body)

    @property
    def body(self) -> str:
        """The analysis's Markdown, without its notes."""
        return self.sidecar.body

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(self.sidecar.notes)

    @property
    def model(self) -> str:
        return self.sidecar.model

    @property
    def created(self):
        return self.sidecar.created

    @property
    def locked(self) -> bool:
        return self.sidecar.locked


ARCHIVE_LISTED = 10  # titles /archive/ lists of a month: its newest (its page has them all)
MORE_ON = 4  # articles an article page suggests at its end ("More on <tag>")


@dataclass(frozen=True)
class Link:
    """A labelled site path: a date archive's neighbour, or the page above it."""

    label: str
    url: str


ARCHIVE_LINK = Link("Archive", "/archive/")


def year_url(year: int) -> str:
    return f"/{year:04d}/"


def month_url(year: int, month: int) -> str:
    return f"/{year:04d}/{month:02d}/"


@dataclass
class MonthArchive:
    year: int
    month: int
    articles: list[Article]
    name: str  # of the month, in the site's language ("June")
    title: str  # the month of its year, in the site's language ("June 2024")
    older: Link | None = None  # the month before it that has articles
    newer: Link | None = None

    @property
    def url(self) -> str:
        return month_url(self.year, self.month)

    @property
    def listed(self) -> list[Article]:
        """What /archive/ shows of it: its newest articles (its own page has them all)."""
        return self.articles[:ARCHIVE_LISTED]

    @property
    def count(self) -> int:
        return len(self.articles)

    @property
    def up(self) -> list[Link]:
        """The pages above it, the archive first."""
        return [ARCHIVE_LINK, Link(str(self.year), year_url(self.year))]


@dataclass
class YearArchive:
    year: int
    articles: list[Article]
    months: list[MonthArchive]
    older: Link | None = None  # the year before it that has articles
    newer: Link | None = None

    @property
    def url(self) -> str:
        return year_url(self.year)

    @property
    def count(self) -> int:
        return len(self.articles)

    @property
    def up(self) -> list[Link]:
        return [ARCHIVE_LINK]


@dataclass
class Site:
    """The assembled archive; articles newest first."""

    settings: Settings
    articles: list[Article]
    pages: list[Page]
    terms: dict[str, list[Term]]  # kind -> terms sorted by slug
    years: list[YearArchive]  # newest first
    older: dict[int, Article | None]  # id(article) -> the article before it in time
    newer: dict[int, Article | None]
    # id(article) -> the term it shares with others and the nearest of those (MORE_ON)
    more_on: dict[int, tuple[Term, list[Article]]]


def source_name_of(article: Article) -> str | None:
    """The outlet's name: as given, else the source URL's host without 'www.'."""
    if article.source_name:
        return article.source_name
    if article.source:
        return urlsplit(article.source).hostname.removeprefix("www.")  # type: ignore[union-attr]
    return None


def permalink(pattern: str, article: Article) -> str:
    moment = article.date
    return pattern.format(
        year=f"{moment.year:04d}",
        month=f"{moment.month:02d}",
        day=f"{moment.day:02d}",
        slug=article.slug,
    )


class _TermIndex:
    """Collects the terms of one taxonomy; the first spelling seen names the term.

    Spellings that differ only in case are one term by design (`Korea`, `korea`). Others
    that make the same slug (`U.S.`, `U.S`) are one term too, since they share its URL,
    but the editor is warned once for each, with the files that first used them.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.by_slug: dict[str, Term] = {}
        self.spellings: set[tuple[str, str]] = set()  # (slug, casefolded name) seen

    def add(self, name: str, article: Article, problems: Problems) -> Term | None:
        slug = slugify(name)
        if not slug:
            problems.error(
                f"content/{article.path}",
                None,
                f"{self.kind[:-1]} {name!r} has no letters or digits to make a URL from",
            )
            return None
        term = self.by_slug.get(slug)
        if term is None:
            term = self.by_slug[slug] = Term(self.kind, name, slug)
            self.spellings.add((slug, name.casefold()))
        elif (slug, name.casefold()) not in self.spellings:
            self.spellings.add((slug, name.casefold()))
            problems.warn(
                f"content/{article.path}",
                None,
                f"{self.kind[:-1]} {name!r} shares the URL {term.url} with {term.name!r} "
                f"(content/{term.articles[0].path}): both are shown as {term.name!r}; "
                "spell them alike, or apart",
            )
        if not term.articles or term.articles[-1] is not article:
            term.articles.append(article)
        return term

    def sorted_terms(self) -> list[Term]:
        for term in self.by_slug.values():
            term.articles.reverse()  # collected oldest first; lists show newest first
            term.token = f"T{term.kind}:{term.slug}:{term.name}:{term.count}"
        return sorted(self.by_slug.values(), key=lambda term: term.slug)


def _unique(terms: Iterable[Term | None]) -> list[Term]:
    return list(dict.fromkeys(term for term in terms if term is not None))  # Terms hash by id


def assemble(
    settings: Settings,
    articles: list[Article],
    pages: list[Page],
    sidecars: dict[str, Sidecar],
    problems: Problems,
) -> Site:
    """Order articles, give them URLs, terms, neighbours and analyses; build the archives."""
    oldest_first = sorted(articles, key=lambda a: (a.date, a.path))
    indexes = {kind: _TermIndex(kind) for kind in TAXONOMIES}
    for article in oldest_first:
        article.url = permalink(settings.permalink, article)
        article.tags = _unique(indexes["tags"].add(n, article, problems) for n in article.tag_names)
        article.authors = _unique(
            indexes["authors"].add(n, article, problems) for n in article.author_names
        )
        outlet = source_name_of(article)
        article.source_term = indexes["sources"].add(outlet, article, problems) if outlet else None
        if article.language is None:
            article.language = settings.language
        article.analysis = _analysis_view(article, sidecars.get(article.path))
    for page in pages:
        page.url = f"/{page.slug}/"
        if page.language is None:
            page.language = settings.language
    newest_first = oldest_first[::-1]
    older = {id(a): (oldest_first[i - 1] if i else None) for i, a in enumerate(oldest_first)}
    newer = {id(a): (newest_first[i - 1] if i else None) for i, a in enumerate(newest_first)}
    terms = {kind: index.sorted_terms() for kind, index in indexes.items()}
    for article in newest_first:  # term counts are final now
        article.fingerprint = _fingerprint(article)
        article.month_url = month_url(article.date.year, article.date.month)
    return Site(
        settings=settings,
        articles=newest_first,
        pages=sorted(pages, key=lambda p: (p.title.casefold(), p.path)),
        terms=terms,
        years=_date_archives(newest_first, dates.style(settings.language)),
        older=older,
        newer=newer,
        more_on=_more_on(newest_first, terms),
    )


def _is_stale(article: Article, sidecar: Sidecar) -> bool:
    """Written for another version of the article's text (a prompt change is not shown)."""
    return sidecar.article_sha256 is not None and sidecar.article_sha256 != article.sha256


def _analysis_view(article: Article, sidecar: Sidecar | None) -> AnalysisView | None:
    return None if sidecar is None else AnalysisView(sidecar, _is_stale(article, sidecar))


# What decides where an article stands (its URL, terms, place in lists and archives) or
# what the sitemap shows of it: a change to one of these means assembling the site again.
PLACING_FIELDS = (
    "path",
    "date",
    "updated",
    "slug",
    "tag_names",
    "author_names",
    "source",
    "source_name",
    "draft",
    "language",
)
# The fields parse_article sets (the others, with defaults, are filled by assemble).
_PARSED_FIELDS = tuple(
    f.name for f in fields(Article) if f.default is MISSING and f.default_factory is MISSING
)


def _same(a: Any, b: Any) -> bool:
    """Equal, and for date-times in the same zone too: 16:00+00:00 and 18:00+02:00 are
    equal instants, but pages show them (and URLs and archives use them) as written."""
    return a == b and (not isinstance(a, datetime) or a.utcoffset() == b.utcoffset())


def refresh(site: Site, article: Article, record: Article, sidecar: Sidecar | None) -> bool:
    """Give an assembled article what a new parse of its file found, and its sidecar, as
    assembling the site again would, provided nothing of where it stands changed
    (PLACING_FIELDS) and it has an analysis if and only if it had one. False, changing
    nothing, otherwise. The article and its AnalysisView stay the same objects (pages
    hold them)."""
    language = record.language or site.settings.language
    for name in PLACING_FIELDS:
        value = language if name == "language" else getattr(record, name)
        if not _same(value, getattr(article, name)):
            return False
    view = article.analysis
    if (view is None) != (sidecar is None):
        return False
    for name in _PARSED_FIELDS:
        if name != "language":
            setattr(article, name, getattr(record, name))
    if view is not None and sidecar is not None:
        view.sidecar, view.is_stale = sidecar, _is_stale(article, sidecar)
    article.fingerprint = _fingerprint(article)
    return True


def _fingerprint(article: Article) -> str:
    """Everything a template can see of an article: its file, analysis, URL and terms."""
    analysis = article.analysis
    shown = f"{analysis.sidecar.digest}:{analysis.is_stale}" if analysis else "-"
    terms = [*article.tags, *article.authors, article.source_term]
    text = "|".join(
        [article.digest, shown, article.url, str(article.language)]
        + [term.token for term in terms if term is not None]
    )
    # a digest: a list page's key is made of twenty of these
    return "A" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _more_on(
    newest_first: list[Article], terms: dict[str, list[Term]]
) -> dict[int, tuple[Term, list[Article]]]:
    """For each article, its first tag that other articles share (else its outlet), and
    the MORE_ON of those nearest to it in time: those just before it, or after it when
    there are not enough. Nearest rather than newest: an article is suggested by a few
    pages only, so an edit to it renders a few pages again, not every page of its tag."""
    position = {
        id(term): {id(article): index for index, article in enumerate(term.articles)}
        for term in [*terms["tags"], *terms["sources"]]
    }
    more_on: dict[int, tuple[Term, list[Article]]] = {}
    for article in newest_first:
        term = next(
            (t for t in [*article.tags, article.source_term] if t is not None and t.count > 1),
            None,
        )
        if term is None:
            continue
        here = position[id(term)][id(article)]
        start = max(0, min(here, term.count - MORE_ON - 1))
        nearest = term.articles[start : start + MORE_ON + 1]
        more_on[id(article)] = (term, [other for other in nearest if other is not article])
    return more_on


def _date_archives(newest_first: list[Article], style: dates.DateStyle) -> list[YearArchive]:
    years: dict[int, YearArchive] = {}
    months: dict[tuple[int, int], MonthArchive] = {}
    for article in newest_first:
        y, m = article.date.year, article.date.month
        year = years.get(y)
        if year is None:
            year = years[y] = YearArchive(y, [], [])
        year.articles.append(article)
        month = months.get((y, m))
        if month is None:
            month = months[(y, m)] = MonthArchive(
                y, m, [], style.month_name(m), style.human_month(y, m)
            )
            year.months.append(month)
        month.articles.append(article)
    _link_neighbours(list(months.values()), lambda m: m.title)
    _link_neighbours(list(years.values()), lambda y: str(y.year))
    return list(years.values())


def _link_neighbours(newest_first: list[Any], label: Callable[[Any], str]) -> None:
    """Give each month (or year) a link to the one before and the one after it."""
    for newer, older in itertools.pairwise(newest_first):
        older.newer = Link(label(newer), newer.url)
        newer.older = Link(label(older), older.url)
