"""Search (design §8): Pagefind's index of the articles in site/pagefind/, the /search/
page and /opensearch.xml.

What is indexed is what the archive knows, not the rendered pages (document.py). The
articles are split into shards by month, each its own Pagefind bundle kept in .cache/
under a key of its own articles (shards.py), so an edit indexes again only the shards it
touches (pagefind.py); the search page merges them in the browser with Pagefind's
mergeIndex (layouts/static/search.js) from the list bundle.py writes. Pagefind's binary,
shipped in the `pagefind[extended]` wheel (the extended build segments Chinese, Japanese
and Korean), indexes them: one index per language in each bundle.
"""

from .bundle import MANIFEST, Later, Served, add_bundle
from .page import OPENSEARCH, SEARCH_URL, opensearch_xml, search_page
from .pagefind import (
    CACHE_FOLDER,
    ENTRY,
    MEMORY_ENV,
    UNSTABLE,
    Indexing,
    cache_folder,
    cached,
    index,
    missing,
    prune_cache,
    start,
)
from .shards import BUNDLE_DIR, Plan, Unit, plan

__all__ = [
    "BUNDLE_DIR",
    "CACHE_FOLDER",
    "ENTRY",
    "MANIFEST",
    "MEMORY_ENV",
    "OPENSEARCH",
    "SEARCH_URL",
    "UNSTABLE",
    "Indexing",
    "Later",
    "Plan",
    "Served",
    "Unit",
    "add_bundle",
    "cache_folder",
    "cached",
    "index",
    "missing",
    "opensearch_xml",
    "plan",
    "prune_cache",
    "search_page",
    "start",
]
