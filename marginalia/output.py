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


class SiteFiles:
    """What site/ holds when a build starts, listed once: to keep pages that need no
    rendering (their file must still be there) and to prune what no output claims."""

    def __init__(self, site_dir: Path) -> None:
        self.files: dict[str, os.DirEntry] = {}
        self.empty_folders: list[str] = []  # relative paths
        self._walk(str(site_dir), "")

    def _walk(self, folder: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:  # no site/ yet, or a file where it should be
            return
        if not entries and prefix:
            self.empty_folders.append(prefix.rstrip("/"))
        for entry in entries:
            if prefix == "" and entry.name in KEEP:
                continue
            if entry.is_dir(follow_symlinks=False):
                self._walk(entry.path, prefix + entry.name + "/")
            else:
                self.files[prefix + entry.name] = entry

    def size(self, rel: str) -> int | None:
        """The size of the file at rel, None if there is none."""
        entry = self.files.get(rel)
        try:
            return entry.stat(follow_symlinks=False).st_size if entry is not None else None
        except OSError:
            return None


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
    present: SiteFiles | None = None  # site/ as the build found it

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

    def sizes(self) -> dict[str, int]:
        """The size of every output, by its path in site/."""
        sizes = {rel: size for rel, (_, size) in self.staged.items()}
        sizes.update(self.kept)
        for rel, data in self.files.items():
            sizes[rel] = data.stat().st_size if isinstance(data, Path) else len(data)
        return sizes

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
    sizes: dict[str, int] = field(default_factory=dict)  # what was published, by path


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


def publish(site_dir: Path, outputs: Outputs, *, prune: bool = True) -> PublishReport:
    """Make site_dir hold exactly `outputs`, writing only files whose bytes changed;
    without `prune`, `outputs` are some of site/'s files and the others stay."""
    written = unchanged = 0
    staging = outputs.staging
    moved = staging is not None and bool(outputs.staged) and _move_whole(staging, site_dir)
    if moved:
        outputs.staging = None  # it is site/ now, with every staged page in place
    site_dir.mkdir(parents=True, exist_ok=True)
    for rel, data in outputs.files.items():
        if _same(site_dir / rel, data):
            unchanged += 1
            continue
        payload = data.read_bytes() if isinstance(data, Path) else data
        _place(site_dir, rel, lambda target, payload=payload: atomic.write_bytes(target, payload))
        written += 1
    for rel, (staged, _) in outputs.staged.items():
        if not moved:
            _place(site_dir, rel, lambda target, staged=staged: _move(staged, target))
        written += 1
    unchanged += len(outputs.kept)
    removed = 0
    if prune:
        present = outputs.present if outputs.present is not None else SiteFiles(site_dir)
        removed = _prune(site_dir, present, outputs.owners)
    sizes = outputs.sizes()
    return PublishReport(written, unchanged, removed, sum(sizes.values()), sizes)


def _move_whole(staging: Path, site_dir: Path) -> bool:
    """A first build (no site/, or an empty one): the staging folder becomes site/, one
    rename instead of one per page. False if site/ has files or is on another disk."""
    try:
        if site_dir.is_dir() and any(site_dir.iterdir()):
            return False
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, site_dir)  # onto an empty folder, too (POSIX rename)
    except OSError:
        return False
    return True


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


def _prune(site_dir: Path, present: SiteFiles, wanted: dict[str, str]) -> int:
    """Delete what no output claims (deleted articles, old pages); then the folders this
    leaves empty, and those that were empty already."""
    removed = 0
    emptied = set(present.empty_folders)
    for rel, entry in present.files.items():
        if rel not in wanted:
            try:
                os.unlink(entry.path)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                continue  # publish has put an output where it was (_place)
            removed += 1
            emptied.add(posixpath.dirname(rel))
    for rel in sorted(emptied, key=lambda folder: -folder.count("/")):  # deepest first
        while rel:
            try:
                os.rmdir(site_dir / rel)
            except OSError:  # not empty (it holds outputs), or gone
                break
            rel = posixpath.dirname(rel)
    return removed
