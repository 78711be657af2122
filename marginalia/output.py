"""The one place outputs go through: no two sources at one path, nothing outside site/.

Rendering fills an `Outputs` in memory; only when the whole build has succeeded does
`publish` touch site/, writing changed files atomically and removing stale ones.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import atomic
from .errors import Problems

SITE_DIR = "site"
KEEP = frozenset({".git"})  # never pruned: a checkout some users deploy from


def output_path(site_path: str) -> str:
    """'/2024/06/x/' -> '2024/06/x/index.html'; '/feed.xml' stays a file."""
    rel = site_path.lstrip("/")
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


def is_contained(rel: str) -> bool:
    """True if rel names a file strictly inside site/ (no '..', no absolute path)."""
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel:
        return False
    normal = posixpath.normpath(rel)
    return normal == rel and not normal.startswith("../") and normal != ".."


@dataclass
class Outputs:
    """Every output of a build by path relative to site/: in memory (bytes, or a file to
    copy), staged (rendered into a hidden temporary file beside its target), or kept
    (unchanged since the last build, so not rendered at all)."""

    files: dict[str, bytes | Path] = field(default_factory=dict)
    staged: dict[str, tuple[Path, int]] = field(default_factory=dict)  # rel -> (file, size)
    kept: dict[str, int] = field(default_factory=dict)  # rel -> size
    owners: dict[str, str] = field(default_factory=dict)
    staging: Path | None = None  # the folder `staged` files are in, outside site/

    def claim(self, rel: str, owner: str, problems: Problems) -> bool:
        """Reserve rel for owner; False (with an error) if it escapes site/ or is taken."""
        if not is_contained(rel):
            problems.error(owner, None, f"would write outside site/: {rel!r}")
            return False
        if rel in self.owners:
            problems.error(
                owner,
                None,
                f"writes site/{rel}, which {self.owners[rel]} writes too; give one of them another slug",
            )
            return False
        self.owners[rel] = owner
        return True

    def add(self, rel: str, data: bytes | Path, owner: str, problems: Problems) -> None:
        if self.claim(rel, owner, problems):
            self.files[rel] = data

    def discard(self) -> None:
        """Remove the staging folder (after publishing, or when the build failed)."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.staged.clear()

    def add_tree(self, source: Path, prefix: str, owner_root: Path, problems: Problems) -> None:
        """Every file below source, at prefix + its relative path (static/ copies)."""
        if not source.is_dir():
            return
        for path in sorted(source.rglob("*")):
            if path.is_file():
                rel = prefix + path.relative_to(source).as_posix()
                self.add(rel, path, _shown(path, owner_root), problems)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@dataclass
class PublishReport:
    written: int
    unchanged: int
    removed: int
    total_bytes: int


def _same(target: Path, data: bytes | Path) -> bool:
    try:
        stat = target.stat()
    except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a file where a folder must be
        return False
    if isinstance(data, Path):
        if stat.st_size != data.stat().st_size:
            return False
        data = data.read_bytes()
    return stat.st_size == len(data) and target.read_bytes() == data


def publish(site_dir: Path, outputs: Outputs) -> PublishReport:
    """Make site_dir hold exactly `outputs`, writing only files whose bytes changed."""
    site_dir.mkdir(parents=True, exist_ok=True)
    written = unchanged = total = 0
    for rel, data in outputs.files.items():
        total += data.stat().st_size if isinstance(data, Path) else len(data)
        if _same(site_dir / rel, data):
            unchanged += 1
            continue
        payload = data.read_bytes() if isinstance(data, Path) else data
        _place(site_dir, rel, lambda target, payload=payload: atomic.write_bytes(target, payload))
        written += 1
    for rel, (staged, size) in outputs.staged.items():
        total += size
        _place(site_dir, rel, lambda target, staged=staged: _move(staged, target))
        written += 1
    unchanged += len(outputs.kept)
    total += sum(outputs.kept.values())
    removed = _prune(site_dir, set(outputs.owners))
    return PublishReport(written, unchanged, removed, total)


def _place(site_dir: Path, rel: str, write: Callable[[Path], None]) -> None:
    """Write one output, clearing a folder where the file goes or a file where a folder must."""
    target = site_dir / rel
    if target.is_dir():
        _remove_tree(target)
    try:
        write(target)
    except (NotADirectoryError, FileExistsError):
        _clear_file_parents(site_dir, target)
        write(target)


def _move(staged: Path, target: Path) -> None:
    """A rename when staging and site/ share a file system, else an atomic copy."""
    atomic.ensure_folder(target.parent)
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        atomic.write_bytes(target, staged.read_bytes())


def _clear_file_parents(site_dir: Path, target: Path) -> None:
    for parent in reversed(target.relative_to(site_dir).parents):
        if (site_dir / parent).is_file():
            (site_dir / parent).unlink()


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
    path.rmdir()


def _prune(site_dir: Path, wanted: set[str]) -> int:
    """Delete what no output claims (deleted articles, old pages); then empty folders."""
    removed = 0
    top = str(site_dir)
    for folder, _dirs, files in os.walk(top, topdown=False):
        rel_dir = os.path.relpath(folder, top).replace(os.sep, "/")
        if rel_dir.split("/")[0] in KEEP:
            continue
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in files:
            if prefix + name not in wanted and not (prefix == "" and name in KEEP):
                os.unlink(os.path.join(folder, name))
                removed += 1
        if folder != top and not os.listdir(folder):
            os.rmdir(folder)
    return removed
