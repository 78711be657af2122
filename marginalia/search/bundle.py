"""What site/pagefind/ holds: the stub's bundle, each shard's in a folder of its own, and
shards.json, the list the search page merges (each shard with its languages, newest first).

A build whose record (depend.Manifest) says a bundle of the same key is in site/, each of
its files there in the recorded size, keeps it without reading it: at 10,000 articles the
bundles are 13,000 files and 150 MB.

serve publishes a shard whose bundle is not made yet by the rule of search.Later: the
bundle of that shard already in site/ stays while every page it points to is still an
article's (a text edit moves no page), and is taken away otherwise (no result may point
to a missing page).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..depend import Manifest
from ..errors import Problems
from ..output import Outputs
from .pagefind import ENTRY, cached
from .shards import BUNDLE_DIR, SHARD_NAME, STUB, Plan, Unit

MANIFEST = "shards.json"  # in site/pagefind/
OWNER = "the search"

Served = dict[str, frozenset[str]]  # by unit name: the article URLs its bundle in site/ offers
Record = dict[str, tuple[str, int]]  # path in site/ -> (key, size), as depend.Manifest's


@dataclass(frozen=True)
class Later:
    """serve's way (serve/search_index.py): the build publishes the bundles .cache/ has,
    and leaves indexing the others for later. `served` tells the bundles now in site/ and
    the article URLs each offers (None: not known)."""

    served: Served | None

    def keeps(self, unit: Unit, articles: frozenset[str]) -> bool:
        offered = None if self.served is None else self.served.get(unit.name)
        return offered is not None and offered <= articles


def add_bundle(
    outputs: Outputs,
    problems: Problems,
    cache_dir: Path,
    plan: Plan,
    later: Later | None,
    manifest: Manifest,
    record: Record,
) -> tuple[Served, bool]:
    """Claim the bundles of the plan that .cache/ has, and with `later` the ones in site/
    it keeps, and the manifest of the shards among them; enter each file in `record`.
    What each bundle offers, and whether all of it is the plan's."""
    served: Served = {}
    listed: list[dict] = []
    articles = frozenset(url for unit in plan.units for url in unit.urls)
    recorded = _recorded_by_unit(manifest)
    complete = True
    for unit in plan.units:
        folder = cached(cache_dir, unit)
        if folder is not None:
            files = recorded.get(unit.name, [])
            if not _keep_recorded(outputs, problems, manifest, unit.key, files, record):
                _add_cached(outputs, problems, folder, unit, record)
            entry = folder / ENTRY
            served[unit.name] = unit.urls
        elif later is not None and later.keeps(unit, articles) and _keep(outputs, problems, unit):
            entry = Path(outputs.present.files[unit.folder + ENTRY].path)  # type: ignore[union-attr]
            served[unit.name] = later.served[unit.name]  # type: ignore[index]
            record.update((rel, manifest.entries[rel]) for rel in recorded.get(unit.name, []))
            complete = False
        else:
            complete = False
            continue
        if unit.name != STUB:
            languages = sorted(json.loads(entry.read_text(encoding="utf-8"))["languages"])
            listed.append({"name": unit.name, "languages": languages})
    if STUB in served:
        data = json.dumps({"shards": listed}, ensure_ascii=False, separators=(",", ":"))
        outputs.add(f"{BUNDLE_DIR}/{MANIFEST}", (data + "\n").encode(), OWNER, problems)
    return served, complete


def _recorded_by_unit(manifest: Manifest) -> dict[str, list[str]]:
    """The recorded files under site/pagefind/, by the name of the unit they belong to."""
    found: dict[str, list[str]] = {}
    prefix = f"{BUNDLE_DIR}/"
    for rel in manifest.entries:
        if rel.startswith(prefix) and rel != prefix + MANIFEST:
            first = rel.removeprefix(prefix).split("/")[0]
            found.setdefault(first if SHARD_NAME.fullmatch(first) else STUB, []).append(rel)
    return found


def _keep_recorded(
    outputs: Outputs,
    problems: Problems,
    manifest: Manifest,
    key: str,
    files: list[str],
    record: Record,
) -> bool:
    """Claim a bundle of `key` that site/ holds as recorded; False if it does not."""
    present = outputs.present
    if present is None or not files:
        return False
    if not all(manifest.unchanged(present, rel, key) for rel in files):
        return False
    for rel in files:
        if outputs.claim(rel, OWNER, problems):
            outputs.kept[rel] = manifest.entries[rel][1]
            record[rel] = manifest.entries[rel]
    return True


def _add_cached(
    outputs: Outputs, problems: Problems, folder: Path, unit: Unit, record: Record
) -> None:
    """Every file of the unit's bundle in .cache/, to be published where it goes. One that
    site/ lacks (or has in another size) is linked into the build's staging folder, and
    publish moves the link into site/ (neither copy is ever written in place); the others,
    or all where links are not to be had, are compared and copied if they differ."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = unit.folder + path.relative_to(folder).as_posix()
        size = path.stat().st_size
        record[rel] = (unit.key, size)
        present = outputs.present.size(rel) if outputs.present is not None else None
        staged = _linked(path, outputs.staging, rel) if present != size else None
        if staged is None:
            outputs.add(rel, path, OWNER, problems)
        elif outputs.claim(rel, OWNER, problems):
            outputs.staged[rel] = (staged, size)


def _linked(path: Path, staging: Path | None, rel: str) -> Path | None:
    """A hard link to path at rel in the staging folder; None if it cannot be made."""
    if staging is None:
        return None
    target = staging / rel
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    except OSError:
        return None
    return target


def _keep(outputs: Outputs, problems: Problems, unit: Unit) -> bool:
    """Claim the unit's bundle in site/ as it is; False if there is none."""
    present = outputs.present
    if present is None or present.size(unit.folder + ENTRY) is None:
        return False
    for rel in sorted(rel for rel in present.files if _in_unit(rel, unit)):
        size = present.size(rel)
        if size is not None and outputs.claim(rel, OWNER, problems):
            outputs.kept[rel] = size
    return True


def _in_unit(rel: str, unit: Unit) -> bool:
    if not rel.startswith(unit.folder):
        return False
    if unit.name != STUB:
        return True
    inside = rel.removeprefix(unit.folder)
    return inside != MANIFEST and not SHARD_NAME.fullmatch(inside.split("/")[0])
