"""Dependency records: which pages a build may skip because nothing they show changed.

A page's key is a hash of its inputs (what its template is given, or what that is made
from: pages.PageJob; each article by its fingerprint: file, analysis, URL and terms) and
of what every page shares (settings, templates, standalone pages, Marginalia's version). The keys of the last successful
build are kept in .cache/; a page whose key is unchanged and whose file is still in
site/ is not rendered again. What a template reaches beyond its declared context (such as
`term.articles` from an article page) is not recorded: `build --full` renders everything.
Keys are only compared with keys: a key may change when nothing a reader sees does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from . import __version__, atomic
from .archive import AnalysisView, Link, MonthArchive, Site, Term, YearArchive
from .content import Article, Page
from .output import SiteFiles
from .pages import PageJob, Pagination

MANIFEST = "outputs.pickle"


def _mapping(value: dict) -> str:
    return "{" + ",".join([f"{k}={_one(v)}" for k, v in sorted(value.items())]) + "}"


def _sequence(value: list | tuple) -> str:
    return "[" + ",".join([_one(v) for v in value]) + "]"


_FINGERPRINTS: dict[type, Callable[[Any], str]] = {
    # Articles and terms carry theirs, made when the site is assembled: C-level getters,
    # as a list page's key takes twenty of them.
    Article: attrgetter("fingerprint"),
    Term: attrgetter("token"),
    Page: lambda page: f"P{page.digest}:{page.url}:{page.language}",
    AnalysisView: lambda view: f"V{view.sidecar.digest}:{view.is_stale}",
    YearArchive: lambda year: f"Y{year.year}:{year.count}:" + fingerprint(year.months),
    MonthArchive: lambda month: (
        f"M{month.year}-{month.month}:{month.count}:" + fingerprint(month.listed)
    ),
    Link: lambda link: f"L{link.url}:{link.label}",
    Pagination: lambda pages: f"G{pages.first_url}:{pages.number}:{pages.total}",
    dict: _mapping,
    list: _sequence,
    tuple: _sequence,
    date: date.isoformat,
    datetime: datetime.isoformat,
    str: repr,
    int: repr,
    float: repr,
    bool: repr,
    type(None): repr,
}


def _one(value: Any) -> str:
    return (_FINGERPRINTS.get(type(value)) or fingerprint)(value)


def fingerprint(value: Any) -> str:
    """A stable text of what a template can see of a value; unknown types are an error,
    so that nothing new in a context can escape the record unnoticed.

    Looked up by exact type (a page key is thousands of these calls); a subclass of a
    known type is fingerprinted as its nearest known base.
    """
    kind = type(value)
    make = _FINGERPRINTS.get(kind)
    if make is None:
        base = next((base for base in kind.__mro__ if base in _FINGERPRINTS), None)
        if base is None:
            raise TypeError(f"no fingerprint for a {kind.__name__} in a template context")
        make = _FINGERPRINTS[kind] = _FINGERPRINTS[base]
    return make(value)


def _digest(*parts: str) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x00")
    return hasher.hexdigest()


def shared_key(site: Site, asset_dirs: list[Path]) -> str:
    """What every page depends on: version, settings, every static file (by size and
    modification time: images are large), standalone pages. Templates: template_keys."""
    files = []
    for number, base in enumerate(asset_dirs):
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file():
                stat = path.stat()
                files.append(f"{number}/{path.relative_to(base)}:{stat.st_size}:{stat.st_mtime_ns}")
    return _digest(__version__, site.settings.model_dump_json(), *files, fingerprint(site.pages))


def template_keys(env: jinja2.Environment, names: set[str], always: list[str]) -> dict[str, str]:
    """Each named template's key: the bytes of every template it reaches (extends,
    include, import) and of `always` (those that Python globals render, as article_item
    does). A template that names another by a variable, or cannot be read or parsed,
    reaches them all (and rendering reports the error)."""
    sources: dict[str, str] = {}

    def source(name: str) -> str:
        if name not in sources:
            sources[name] = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        return sources[name]

    def reached(name: str) -> list[str]:
        seen: set[str] = set()
        todo = [name, *always]
        try:
            while todo:
                current = todo.pop()
                if current not in seen:
                    seen.add(current)
                    for found in meta.find_referenced_templates(env.parse(source(current))):
                        if found is None:
                            return env.list_templates()
                        todo.append(found)
        except jinja2.TemplateError:
            return env.list_templates()
        return sorted(seen)

    def version(name: str) -> str:
        try:
            return hashlib.blake2b(source(name).encode(), digest_size=16).hexdigest()
        except jinja2.TemplateError:
            return "?"

    return {name: _digest(*(f"{n}:{version(n)}" for n in reached(name))) for name in names}


def job_key(shared: str, templates: dict[str, str], job: PageJob) -> str:
    """A page's key: what every page shares, its templates' and its inputs' (a feed has
    no template)."""
    reached = "" if job.make is not None else templates[job.template]
    return _digest(shared, reached, job.template, fingerprint(job.inputs))


@dataclass
class Manifest:
    """The last successful build's key and size of each rendered output."""

    entries: dict[str, tuple[str, int]]

    @classmethod
    def load(cls, cache_dir: Path) -> Manifest:
        entries = atomic.read_pickle(cache_dir / MANIFEST)
        return cls(entries if isinstance(entries, dict) else {})

    def unchanged(self, present: SiteFiles, rel: str, key: str) -> bool:
        """The output was made from the same inputs and is still there, untouched in size."""
        recorded = self.entries.get(rel)
        return recorded is not None and recorded[0] == key and present.size(rel) == recorded[1]


def save_record(cache_dir: Path, entries: dict[str, tuple[str, int]]) -> None:
    """Keep this build's keys for the next one (only after it has published)."""
    atomic.write_pickle(cache_dir / MANIFEST, entries)
