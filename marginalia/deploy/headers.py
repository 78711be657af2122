"""How each file of site/ is stored in the bucket: its Content-Type, its Cache-Control and
the phase it is uploaded in.

The phases put every file up after the files it names, so that no page, search result or
feed entry ever points at a file that is not there yet: assets first, then the search
index's hashed files, then the pages, and last the files that name pages or the index
(the Pagefind entry and loader, feeds, sitemaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from ..search import BUNDLE_DIR
from ..serve.http import content_type

FOREVER = "public, max-age=31536000, immutable"
"""Files whose URL changes with their bytes: the theme's static/ (linked with ?v=<hash>)
and the Pagefind bundle's hashed files (*.pf_*)."""
REVALIDATE = "public, no-cache"
"""The bundle's fixed names (pagefind-entry.json, pagefind.js, wasm): they name the hashed
files, which a deploy deletes once replaced, so a cache must ask again every time."""
SHORT = "public, max-age=300"
"""Pages, feeds, sitemaps and the site's own files: a deploy shows within five minutes."""

THEME_ASSETS = "static/"


class Phase(IntEnum):
    ASSETS = 1  # static/, images, robots.txt: named by pages, they name nothing new
    SEARCH_INDEX = 2  # the bundle's hashed files: named only by its entry
    PAGES = 3  # HTML: names the assets; named by search results, feeds and sitemaps
    INDEXES = 4  # the bundle's entry and loader, feeds, sitemaps: they name pages


@dataclass(frozen=True)
class Stored:
    content_type: str
    cache_control: str
    phase: Phase


def stored_as(rel: str) -> Stored:
    """How the file at rel (relative to site/, '/' separated) goes into the bucket."""
    path = Path(rel)
    kind = content_type(path)
    if rel.startswith(f"{BUNDLE_DIR}/"):
        if path.suffix.startswith(".pf_"):
            return Stored(kind, FOREVER, Phase.SEARCH_INDEX)
        return Stored(kind, REVALIDATE, Phase.INDEXES)
    if path.suffix == ".html":
        return Stored(kind, SHORT, Phase.PAGES)
    if path.suffix == ".xml":
        return Stored(kind, SHORT, Phase.INDEXES)
    return Stored(kind, FOREVER if rel.startswith(THEME_ASSETS) else SHORT, Phase.ASSETS)
