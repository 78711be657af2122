"""The shard rule: which articles each Pagefind bundle holds, and the key of each.

An article's shard is the month of its date (`2024-06`): a new article joins the shard of
its date, and no shard's membership depends on another's size, so an edit, an addition or
a removal changes the key of the one shard that holds the article and of no other
(README, "Search", says why a month: Pagefind's time and memory grow with the pages of
one run, what a query downloads with the number of bundles merged).

Besides the shards, one small bundle sits at site/pagefind/ itself, the stub: Pagefind's
scripts, styles and WebAssembly, and an index of one word-only document per language
(Pagefind indexes nothing smaller). The search page opens it as Pagefind's primary index,
which loads the WebAssembly of the reader's language once, and merges the shards into it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import metadata

from .. import __version__
from ..archive import Site
from ..content import Article

BUNDLE_DIR = "pagefind"  # in site/
STUB = ""  # the stub's name: its bundle is BUNDLE_DIR itself
SHARD_NAME = re.compile(r"\d{4}-\d{2}")


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


def shard_of(article: Article) -> str:
    return f"{article.date.year:04d}-{article.date.month:02d}"


def plan(site: Site) -> Plan:
    """The stub and the shards of the site's articles."""
    settings = site.settings
    common = [__version__, pagefind_version(), settings.language, settings.timezone]
    common.append(repr(settings.markdown.unsafe_html))
    by_shard: dict[str, list[Article]] = {}
    for article in site.articles:
        by_shard.setdefault(shard_of(article), []).append(article)
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
