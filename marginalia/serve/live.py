"""serve's rebuilds: the site kept in memory, and small edits applied to it.

An edit to the text of articles or their analyses, not to where an article stands (its
date, slug, terms: archive.PLACING_FIELDS), leaves the assembled site as it was but for
those articles. Such a rebuild reads what changed (by size and modification time, as
every build does), gives the kept articles their new text (archive.refresh), and renders
again only the pages and feeds whose keys hold those articles and changed. The search
index is made after either, while serve serves the new pages (serve/search_index.py).
Anything else (an article added, removed or moved, a page, a template, config.yaml,
static/, an analysis added or removed, an error) is a whole build, as `build` does it. Either way,
once the index is made, site/ is as `build` would leave it, and the dependency record on
disk says so.
"""

from __future__ import annotations

import pickle
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import stamp
from ..archive import MonthArchive, YearArchive, refresh
from ..build import (
    CACHE_DIR,
    BuildReport,
    Rendering,
    build,
    new_staging,
    read_sources,
    shared_key_of,
    templates_of,
)
from ..config import load_settings
from ..content import CONTENT_DIR, PAGES_DIR, Article
from ..depend import job_key, save_record
from ..errors import InputError, MarginaliaError, Problems
from ..output import SITE_DIR, Outputs, PublishReport, output_path, publish
from ..pages import PageJob
from ..records import RecordCache
from ..render import render_pages
from ..theme import make_environment
from .search_index import BackgroundIndex


class MemoryRecords(RecordCache):
    """A RecordCache that lives as long as serve: records are unpickled once and handed
    to each build as shallow copies (a build attaches URLs, terms and analyses to the
    records it is given, so it never sees another build's); nothing is written to disk
    after the first build."""

    def __init__(self, cache_dir: Path | None, salt: str) -> None:
        super().__init__(cache_dir, salt)
        self.live: dict[int, tuple[bytes, Any]] = {}  # id(blob) -> (blob, record)
        self.saved = False

    def load(self, blob: bytes) -> Any:
        kept = self.live.get(id(blob))
        if kept is None or kept[0] is not blob:
            kept = self.live[id(blob)] = (blob, pickle.loads(blob))
        record = kept[1]
        fresh = object.__new__(type(record))  # copy.copy, without its generic protocol
        fresh.__dict__.update(record.__dict__)
        return fresh

    def begin(self) -> None:
        """Before a build: what the last one found (if it failed, merged with the one
        before; every entry is still checked against its file's size and mtime)."""
        if self.new:
            self.old = {**self.old, **self.new}
            self.new = {}
        self.parsed = set()

    def save(self) -> None:
        """After a successful build: the first one saves to disk as `build` would, later
        ones only keep their records for the next."""
        if not self.saved:
            super().save()
            self.saved = True
        self.old, self.new = self.new, {}
        blobs = {id(entry[2]) for entry in self.old.values()}
        self.live = {key: kept for key, kept in self.live.items() if key in blobs}


class RecordHolder:
    """Gives build() the same MemoryRecords each time, or a new one when its salt (the
    version and time zone the records were parsed with) changes."""

    def __init__(self) -> None:
        self.cache: MemoryRecords | None = None
        self.made_for: tuple[Path | None, str] | None = None

    def __call__(self, cache_dir: Path | None, salt: str) -> RecordCache:
        if self.cache is None or self.made_for != (cache_dir, salt):
            self.cache = MemoryRecords(cache_dir, salt)
            self.made_for = (cache_dir, salt)
        self.cache.begin()
        return self.cache


class LiveSite:
    """serve's site between rebuilds: the records, and what the last build rendered."""

    def __init__(self, root: Path, *, drafts: bool) -> None:
        self.root = root
        self.drafts = drafts
        self.records = RecordHolder()
        self.last: Rendering | None = None
        self.shown_in: dict[int, list[PageJob]] | None = None  # by id(article)
        self.edits_applied = 0  # rebuilds that were small edits to the kept site
        self.index = BackgroundIndex(root)

    def rebuild(self) -> BuildReport:
        """Apply a small edit to the kept site if that is all there is; else build. The
        search index is left to self.index (see finish_index)."""
        self.index.stop_run()  # its thread reads the site this changes
        try:
            report = self._rebuild()
        except BaseException:
            self.index.drop()  # the served site stays as it was, its index too
            raise
        assert report.rendering is not None
        self.index.want(report.rendering)
        return report

    def finish_index(self) -> PublishReport | None:
        """Make the search index of the last build and publish it, waiting for it."""
        return self.index.step(wait=True)

    def _rebuild(self) -> BuildReport:
        if self.last is not None:
            try:
                report = self._apply_edit(self.last)
            except BaseException:
                self.last = None  # half applied, perhaps: the next rebuild is a whole one
                raise
            if report is not None:
                self.edits_applied += 1
                return report
        self.last = self.shown_in = None
        report = build(
            self.root,
            drafts=self.drafts,
            record_cache=self.records,
            trust_stamp=False,
            search_later=self.index.later,
        )
        self.last = report.rendering
        return report

    def _apply_edit(self, last: Rendering) -> BuildReport | None:
        started = time.perf_counter()
        site = last.site
        cache_dir = self.root / CACHE_DIR
        try:
            settings = load_settings(self.root)
        except MarginaliaError:
            return None
        if settings != site.settings:
            return None
        records = self.records(cache_dir, settings.timezone)
        problems = Problems()
        content, sidecars = read_sources(
            self.root, settings, problems, drafts=self.drafts, records=records
        )
        if problems.errors or shared_key_of(self.root, site) != last.shared:
            return None
        # a fresh environment: a layouts/ folder may have appeared
        if templates_of(make_environment(self.root, settings, {}), last.jobs) != last.templates:
            return None
        kept = {article.path: article for article in site.articles}
        found = {article.path: article for article in content.articles}
        analysed = {article.path for article in site.articles if article.analysis is not None}
        if found.keys() != kept.keys() or sidecars.keys() != analysed:
            return None
        edited: dict[str, Article] = {}
        for key in records.parsed:
            folder, _, rel = key.partition("/")
            if folder == CONTENT_DIR and rel.startswith(PAGES_DIR + "/"):
                return None
            if rel in kept:
                edited[rel] = kept[rel]
        for rel, article in edited.items():
            if not refresh(site, article, found[rel], sidecars.get(rel)):
                return None
        published = self._render(last, list(edited.values()), cache_dir)
        records.save()
        seconds = time.perf_counter() - started
        warnings = sorted(set(problems.warnings))
        return BuildReport(len(last.sizes), published, seconds, warnings, rendering=last)

    def _render(self, last: Rendering, edited: list[Article], cache_dir: Path) -> PublishReport:
        """Render and publish the pages and feeds that show the edited articles, where
        their keys changed; keep the record on disk true."""
        if self.shown_in is None:
            self.shown_in = _shown_in(last)
        touched = {id(job): job for article in edited for job in self.shown_in.get(id(article), ())}
        keys: dict[str, str] = {}
        todo: list[PageJob] = []
        outputs = Outputs()
        for job in touched.values():
            rel, key = output_path(job.url), job_key(last.shared, last.templates, job)
            if key != last.record[rel][0]:
                keys[rel] = key
                todo.append(job)
        site_dir = self.root / SITE_DIR
        if todo:
            outputs.staging = new_staging(cache_dir)
        try:
            for result in render_pages(self.root, last.env, todo, site_dir, outputs.staging):
                if result.problem is not None:
                    raise InputError([result.problem])
                if result.staged is not None:
                    outputs.staged[result.rel] = (result.staged, result.size)
                else:
                    outputs.kept[result.rel] = result.size
            published = publish(site_dir, outputs, prune=False)
        finally:
            outputs.discard()
        for rel, size in published.sizes.items():
            last.record[rel] = (keys[rel], size)
            last.sizes[rel] = size
        save_record(cache_dir, last.record)
        stamp.forget(cache_dir)  # the next `build` checks its inputs itself
        unchanged = len(last.sizes) - published.written
        return PublishReport(published.written, unchanged, 0, sum(last.sizes.values()))


def _shown_in(rendering: Rendering) -> dict[int, list[PageJob]]:
    """Which pages and feeds hold each article in their keys (as depend.fingerprint walks
    inputs: in dicts, lists and tuples, and the titles /archive/ lists), by id(article)."""
    index: dict[int, list[PageJob]] = defaultdict(list)
    for job in rendering.jobs:
        for article in _articles_in(job.inputs):
            index[id(article)].append(job)
    return index


def _articles_in(value: Any) -> Iterator[Article]:
    if isinstance(value, Article):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _articles_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _articles_in(item)
    elif isinstance(value, YearArchive):
        yield from _articles_in(value.months)
    elif isinstance(value, MonthArchive):
        yield from value.listed
