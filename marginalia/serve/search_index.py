"""serve's search index, made after the pages are published and the browser reloaded.

Pagefind takes about 3.5 ms an article and has no partial index; the index is split into
shards by month (search/shards.py), and an edit indexes again only the shards it touches.
serve's builds leave even that to this module (search.Later): one set of runs at a time
(search.Indexing: a thread writes the documents and runs Pagefind), polled by serve's main
thread, stopped when a save comes and replaced by the newer build's. Until they are done,
site/pagefind/ holds the last bundle of each shard if every article page it points to is
still there (a text edit moves no page), and no bundle of that shard otherwise (an article
removed or moved: no result may point to a missing page; the other shards stay
searchable, and while there is no bundle at all serve's /search/ says the index is being
made). The bundles are made whole in .cache/ and published between rebuilds, on the main
thread; once they are, site/ is what `build` writes.
"""

from __future__ import annotations

from pathlib import Path

from .. import search, stamp
from ..build import CACHE_DIR, Rendering
from ..depend import Manifest, save_record
from ..errors import Problems
from ..output import SITE_DIR, Outputs, PublishReport, publish


class BackgroundIndex:
    """The index serve still has to make, and the runs making it."""

    def __init__(self, root: Path) -> None:
        self.cache_dir = root / CACHE_DIR
        self.site_dir = root / SITE_DIR
        self.served: search.Served | None = None  # the bundles in site/pagefind/
        self.wanted: Rendering | None = None  # the site whose index is still to be published
        self.plan: search.Plan | None = None
        self.running: search.Indexing | None = None

    @property
    def later(self) -> search.Later:
        return search.Later(self.served)

    @property
    def pending(self) -> bool:
        return self.wanted is not None

    def want(self, rendering: Rendering) -> None:
        """After a successful build: index the shards site/pagefind/ lacks."""
        site = rendering.site
        self.served = rendering.search_served
        plan = search.plan(site) if site.settings.search and site.articles else None
        if plan is None or plan.key == rendering.search_key:  # published, or none to make
            self.drop()
            return
        if self.running is not None and self.running.units != search.missing(self.cache_dir, plan):
            self.stop_run()
        self.wanted, self.plan = rendering, plan

    def drop(self) -> None:
        """Make nothing more (a build failed, serve stops, or the index is there)."""
        self.stop_run()
        self.wanted = None

    def stop_run(self) -> None:
        """Stop the runs under way, if any: a save has come, whose rebuild they would slow
        (Pagefind takes both cores) and which most likely changes the index. step()
        starts them again if they are still wanted."""
        if self.running is not None:
            self.running.cancel()
            self.running = None

    def step(self, *, wait: bool = False) -> PublishReport | None:
        """Start the wanted runs, or publish the bundles once they are done (at once with
        `wait`): the report then. Raise InputError if Pagefind failed; the index is not
        tried again until the next build."""
        rendering, plan = self.wanted, self.plan
        if rendering is None or plan is None:
            return None
        todo = search.missing(self.cache_dir, plan)
        if todo:
            if self.running is None:
                self.running = search.Indexing(self.cache_dir, todo, background=True)
            if not wait and not self.running.done():
                return None
            running, self.running, self.wanted = self.running, None, None
            running.result()
        self.wanted = None
        return self._publish(rendering, plan)

    def _publish(self, rendering: Rendering, plan: search.Plan) -> PublishReport:
        """Put the bundles in site/pagefind/ and remove the last ones' other files."""
        prefix = f"{search.BUNDLE_DIR}/"
        outputs = Outputs()
        problems = Problems()
        record = rendering.record
        served, _ = search.add_bundle(
            outputs, problems, self.cache_dir, plan, None, Manifest(dict(record)), record
        )
        problems.raise_if_errors()
        published = publish(self.site_dir, outputs, prune=False)
        old = [
            rel for rel in rendering.sizes if rel.startswith(prefix) and rel not in outputs.owners
        ]
        for rel in old:
            (self.site_dir / rel).unlink(missing_ok=True)
            del rendering.sizes[rel]
            record.pop(rel, None)
        rendering.sizes.update(published.sizes)
        rendering.search_key, rendering.search_served = plan.key, served
        self.served = served
        search.prune_cache(self.cache_dir, plan)
        save_record(self.cache_dir, record)  # the next build keeps these bundles as they are
        stamp.forget(self.cache_dir)  # the next `build` checks its inputs itself
        unchanged = len(published.sizes) - published.written
        return PublishReport(published.written, unchanged, len(old), published.total_bytes)
