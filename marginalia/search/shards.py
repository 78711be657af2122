"""The shard rule: which articles each Pagefind bundle holds, and the key of each.

An article's shard is the year of its date (`2024`), or, in a year of more than
YEAR_LIMIT articles, its month (`2024-06`). A new article joins the shard of its date,
and no shard's membership depends on another year's size, so an edit, an addition or a
removal changes the key of the one shard that holds the article and of no other (but
when a year passes YEAR_LIMIT: then its months replace it, once). README, "Search", says
why: Pagefind's time and memory grow with the pages of one run, what a query downloads
with the number of bundles merged.

Besides the shards, one small bundle sits at site/pagefind/ itself, the stub: Pagefind's
scripts, styles and WebAssembly, and an index of one word-only document per language
(Pagefind indexes nothing smaller). The search page opens it as Pagefind's primary index,
which loads the WebAssembly of the reader's language once, and merges the shards into it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata

from .. import __version__
from ..archive import Site
from ..content import Article
from ..errors import InputError, Problem

BUNDLE_DIR = "pagefind"  # in site/
STUB = ""  # the stub's name: its bundle is BUNDLE_DIR itself
SHARD_NAME = re.compile(r"\d{4}(?:-\d{2})?")
YEAR_ENV = "MARGINALIA_SEARCH_YEAR_LIMIT"
YEAR_LIMIT = 500
"""Articles a year may hold and stay one shard: 1.5 s of Pagefind's CPU to index again,
one index chunk a word for the reader; past it, a shard a month."""


@dataclass(frozen=True)
class Unit:
    """What one run of Pagefind indexes: a shard's articles, or the stub's languages."""

    name: str  # the shard's month, or STUB
    key: str  # a digest of all that is indexed and what turns it into documents
    articles: tuple[Article, ...]
    languages: tuple[str, ...]  # of the stub's documents; a shard's are its articles'
    language: str  # an article's when it names none (config.yaml's)

    @property
    def folder(self) -> str:
        """Where its bundle goes in site/."""
        return f"{BUNDLE_DIR}/{self.name}/" if self.name else f"{BUNDLE_DIR}/"

    @property
    def urls(self) -> frozenset[str]:
        """The article pages its results point to."""
        return frozenset(article.url for article in self.articles)


@dataclass(frozen=True)
class Plan:
    """The bundles of a site's search: the stub, then the shards newest first."""

    units: tuple[Unit, ...]
    key: str  # of them all


@functools.cache
def pagefind_version() -> str:
    return metadata.version("pagefind_bin_extended")


def year_limit() -> int:
    """YEAR_LIMIT, or the environment's YEAR_ENV (0: every year by month)."""
    value = os.environ.get(YEAR_ENV, "")
    if not value:
        return YEAR_LIMIT
    if not value.isdigit():
        raise InputError([Problem(YEAR_ENV, None, f"must be a number of articles, not {value!r}")])
    return int(value)


def shards_of(articles: Iterable[Article]) -> dict[str, list[Article]]:
    """The articles by shard: by year, and a year past the limit by month."""
    by_year: dict[int, list[Article]] = {}
    for article in articles:
        by_year.setdefault(article.date.year, []).append(article)
    limit = year_limit()
    by_shard: dict[str, list[Article]] = {}
    for year, in_year in by_year.items():
        for article in in_year:
            name = (
                f"{year:04d}" if len(in_year) <= limit else f"{year:04d}-{article.date.month:02d}"
            )
            by_shard.setdefault(name, []).append(article)
    return by_shard


def plan(site: Site) -> Plan:
    """The stub and the shards of the site's articles."""
    settings = site.settings
    common = [__version__, pagefind_version(), settings.language, settings.timezone]
    common.append(repr(settings.markdown.unsafe_html))
    by_shard = shards_of(site.articles)
    languages = tuple(sorted({article.language or settings.language for article in site.articles}))
    units = [Unit(STUB, _digest([*common, "stub", *languages]), (), languages, settings.language)]
    for name in sorted(by_shard, reverse=True):
        articles = tuple(by_shard[name])
        key = _digest([*common, name, *(article.fingerprint for article in articles)])
        units.append(Unit(name, key, articles, (), settings.language))
    return Plan(tuple(units), _digest([unit.key for unit in units]))


def _digest(parts: list[str]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update("\n".join(parts).encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()
