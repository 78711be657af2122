"""Dependency records: which pages a build may skip because nothing they show changed.

A page's key is a hash of everything its template is given (each article by its
fingerprint: file, analysis, URL and terms) and of what every page shares (settings,
templates, standalone pages, Marginalia's version). The keys of the last successful
build are kept in .cache/; a page whose key is unchanged and whose file is still in
site/ is not rendered again. What a template reaches beyond its declared context (such as
`term.articles` from an article page) is not recorded: `build --full` renders everything.
Keys are only compared with keys: a key may change when nothing a reader sees does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import __version__, atomic
from .archive import AnalysisView, MonthArchive, Site, Term, YearArchive
from .content import Article, Page
from .pages import Pagination

MANIFEST = "outputs.pickle"


def fingerprint(value: Any) -> str:
    """A stable text of what a template can see of a value; unknown types are an error,
    so that nothing new in a context can escape the record unnoticed."""
    if isinstance(value, Article):
        return "A" + value.fingerprint
    if isinstance(value, Term):
        return "T" + value.token
    if isinstance(value, Page):
        return f"P{value.digest}:{value.url}:{value.language}"
    if isinstance(value, AnalysisView):
        return f"V{value.sidecar.digest}:{value.is_stale}"
    if isinstance(value, YearArchive):
        return f"Y{value.year}:{value.count}:" + fingerprint(value.months)
    if isinstance(value, MonthArchive):
        return f"M{value.year}-{value.month}:{value.count}"
    if isinstance(value, Pagination):
        return f"G{value.first_url}:{value.number}:{value.total}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={fingerprint(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(fingerprint(v) for v in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return repr(value)
    raise TypeError(f"no fingerprint for a {type(value).__name__} in a template context")


def _digest(*parts: str) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x00")
    return hasher.hexdigest()


def shared_key(site: Site, template_dirs: list[Path], asset_dirs: list[Path]) -> str:
    """What every page depends on: version, settings, every template (by its bytes), every
    static file (by size and modification time: images are large), standalone pages."""
    files = []
    for base in [*template_dirs, *asset_dirs]:
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file():
                if base in template_dirs:
                    version = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
                else:
                    stat = path.stat()
                    version = f"{stat.st_size}:{stat.st_mtime_ns}"
                files.append(f"{base.name}/{path.relative_to(base)}:{version}")
    return _digest(__version__, site.settings.model_dump_json(), *files, fingerprint(site.pages))


def page_key(shared: str, template: str, context: dict[str, Any]) -> str:
    return _digest(shared, template, fingerprint(context))


@dataclass
class Manifest:
    """The last successful build's key and size of each rendered output."""

    entries: dict[str, tuple[str, int]]

    @classmethod
    def load(cls, cache_dir: Path) -> Manifest:
        entries = atomic.read_pickle(cache_dir / MANIFEST)
        return cls(entries if isinstance(entries, dict) else {})

    def unchanged(self, site_dir: Path, rel: str, key: str) -> bool:
        """The output was made from the same inputs and is still there, untouched in size."""
        recorded = self.entries.get(rel)
        if recorded is None or recorded[0] != key:
            return False
        try:
            return (site_dir / rel).stat().st_size == recorded[1]
        except OSError:
            return False


def save_record(cache_dir: Path, entries: dict[str, tuple[str, int]]) -> None:
    """Keep this build's keys for the next one (only after it has published)."""
    atomic.write_pickle(cache_dir / MANIFEST, entries)
