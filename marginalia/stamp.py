"""The whole build's stamp: when no input has changed since the last successful build and
site/ still holds what it wrote, there is nothing to do, and the build ends before
anything is read, parsed or rendered.

Inputs are known by the size, modification time and inode of every file under
content/, analyses/, layouts/ (the site's and the built-in theme), static/ and of
config.yaml, with the build's options and Marginalia's version. As in git's "racy
clean" rule, the stamp is trusted only for files last modified a while before it was
taken: a file saved twice within the file system's clock tick, at the same size, would
otherwise look unchanged.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__, atomic
from .config import CONFIG_FILE
from .errors import Problem
from .output import SiteFiles

STAMP = "stamp.pickle"
INPUT_FOLDERS = ("content", "analyses", "layouts", "static")
RACY_NS = 2_000_000_000  # files this close to (or after) the stamp are not trusted by it


@dataclass(frozen=True)
class Inputs:
    """What a build reads, as of when it started."""

    digest: str
    newest_ns: int  # the latest modification time among them
    taken_ns: int  # when they were looked at


@dataclass(frozen=True)
class Stamp:
    """A successful build: its inputs, every file it left in site/ and its warnings."""

    inputs: Inputs
    outputs: dict[str, int]  # path in site/ -> size
    pages: int
    warnings: list[Problem]


def _tree(folder: str, prefix: str, parts: list[str], newest: list[int]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:  # absent, or not a folder
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _tree(entry.path, f"{prefix}{entry.name}/", parts, newest)
            continue
        try:
            stat = entry.stat()
        except OSError:  # removed while we look, or a broken link
            parts.append(f"{prefix}{entry.name}:?")
            continue
        parts.append(f"{prefix}{entry.name}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}")
        newest[0] = max(newest[0], stat.st_mtime_ns)


def read_inputs(root: Path, theme: Path, options: str) -> Inputs:
    """The state of every input file; `options` is what else the output depends on."""
    taken = time.time_ns()
    parts = [__version__, options]
    newest = [0]
    for name in INPUT_FOLDERS:
        parts.append(f"[{name}]")
        _tree(str(root / name), "", parts, newest)
    parts.append("[theme]")
    _tree(str(theme), "", parts, newest)
    parts.append("[config]")
    try:
        config = os.stat(root / CONFIG_FILE)
        parts.append(f"{config.st_size}:{config.st_mtime_ns}:{config.st_ino}")
        newest[0] = max(newest[0], config.st_mtime_ns)
    except OSError:
        parts.append("?")
    digest = hashlib.blake2b("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return Inputs(digest, newest[0], taken)


def current(cache_dir: Path, site_dir: Path, inputs: Inputs) -> Stamp | None:
    """The last build's stamp if it stands for these inputs and site/ is as it left it."""
    stamp = atomic.read_pickle(cache_dir / STAMP)
    if not isinstance(stamp, Stamp) or stamp.inputs.digest != inputs.digest:
        return None
    if inputs.newest_ns >= stamp.inputs.taken_ns - RACY_NS:
        return None
    present = SiteFiles(site_dir)
    if len(present.files) != len(stamp.outputs):
        return None
    if any(present.size(rel) != size for rel, size in stamp.outputs.items()):
        return None
    return stamp


def save(cache_dir: Path, stamp: Stamp) -> None:
    atomic.write_pickle(cache_dir / STAMP, stamp)


def forget(cache_dir: Path) -> None:
    (cache_dir / STAMP).unlink(missing_ok=True)
