"""serve's search index, made after the pages are published and the browser reloaded.

Pagefind takes about 3.5 ms an article and has no partial index: before the reload, it
would keep a save in a 10,000-article archive from showing for half a minute. So serve's
builds leave indexing to this module (search.Later): one run at a time (search.Indexing:
a thread writes the documents and runs Pagefind), polled by serve's main thread, stopped
when a save comes and replaced by the newer build's. Until it is done, site/pagefind/ holds the last bundle if every article page it
points to is still there (a text edit moves no page), and no bundle at all otherwise (an
article removed or moved: no result may point to a missing page; serve's /search/ says
the index is being made). The bundle is made whole in .cache/ and published between
rebuilds, on the main thread; once it is, site/ is what `build` writes.
"""

from __future__ import annotations

from pathlib import Path

from .. import search, stamp
from ..build import CACHE_DIR, Rendering
from ..errors import Problems
from ..output import SITE_DIR, Outputs, PublishReport, publish


class BackgroundIndex:
    """The index serve still has to make, and the run making it."""

    def __init__(self, root: Path) -> None:
        self.cache_dir = root / CACHE_DIR
        self.site_dir = root / SITE_DIR
        self.served: frozenset[str] | None = None  # article URLs of site/pagefind/'s bundle
        self.wanted: Rendering | None = None  # the site whose index is still to be published
        self.key = ""
        self.running: search.Indexing | None = None

    @property
    def later(self) -> search.Later:
        return search.Later(self.served)

    @property
    def pending(self) -> bool:
        return self.wanted is not None

    def want(self, rendering: Rendering) -> None:
        """After a successful build: index its articles unless site/pagefind/ has them."""
        site = rendering.site
        key = search.index_key(site) if site.settings.search and site.articles else ""
        if key == rendering.search_key:  # the build published it (or there is none to make)
            self.served = search.article_urls(site) if key else frozenset()
            self.drop()
            return
        if f"{search.BUNDLE_DIR}/{search.ENTRY}" not in rendering.sizes:
            self.served = frozenset()  # the build took the old bundle away
        if self.running is not None and self.running.key != key:
            self.stop_run()
        self.wanted, self.key = rendering, key

    def drop(self) -> None:
        """Make nothing more (a build failed, serve stops, or the index is there)."""
        self.stop_run()
        self.wanted = None

    def stop_run(self) -> None:
        """Stop the run under way, if any: a save has come, whose rebuild it would slow
        (Pagefind takes both cores) and which most likely changes the index. step()
        starts it again if it is still wanted."""
        if self.running is not None:
            self.running.cancel()
            self.running = None

    def step(self, *, wait: bool = False) -> PublishReport | None:
        """Start the wanted run, or publish its bundle once it is done (at once with
        `wait`): the report then. Raise InputError if Pagefind failed; the index is not
        tried again until the next build."""
        rendering = self.wanted
        if rendering is None:
            return None
        folder = search.cached(self.cache_dir, self.key)
        if folder is None:
            if self.running is None:
                self.running = search.Indexing(self.cache_dir, rendering.site, self.key)
            if not wait and not self.running.done():
                return None
            running, self.running, self.wanted = self.running, None, None
            folder = running.result()
        self.wanted = None
        return self._publish(rendering, folder)

    def _publish(self, rendering: Rendering, folder: Path) -> PublishReport:
        """Put the bundle in site/pagefind/ and remove the last one's other files."""
        prefix = f"{search.BUNDLE_DIR}/"
        outputs = Outputs()
        problems = Problems()
        outputs.add_tree(folder, prefix, self.cache_dir, problems)
        problems.raise_if_errors()
        published = publish(self.site_dir, outputs, prune=False)
        old = [
            rel for rel in rendering.sizes if rel.startswith(prefix) and rel not in outputs.owners
        ]
        for rel in old:
            (self.site_dir / rel).unlink(missing_ok=True)
            del rendering.sizes[rel]
        rendering.sizes.update(published.sizes)
        rendering.search_key = self.key
        self.served = search.article_urls(rendering.site)
        stamp.forget(self.cache_dir)  # the next `build` checks its inputs itself
        unchanged = len(published.sizes) - published.written
        return PublishReport(published.written, unchanged, len(old), published.total_bytes)
