"""Writing files whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

_made: set[str] = set()  # folders this process has made or seen: mkdir is slow on some disks


def ensure_folder(folder: Path) -> None:
    """mkdir -p, once per folder per process."""
    key = str(folder)
    if key not in _made:
        folder.mkdir(parents=True, exist_ok=True)
        _made.add(key)


def forget_folders() -> None:
    """At the start of a build: folders may have been removed since the last one."""
    _made.clear()


def write_temp(path: Path, data: bytes, *, mode: int | None = 0o644) -> Path:
    """Write data to a new hidden file beside path (renamed into place later)."""
    ensure_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:  # the folder was removed since: make it again
        _made.discard(str(path.parent))
        ensure_folder(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_bytes(path: Path, data: bytes, *, mode: int | None = 0o644) -> None:
    """Write data to path atomically; a crash leaves the old file or the new, never half."""
    tmp = write_temp(path, data, mode=mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_pickle(path: Path, value: object) -> None:
    """A cache file, written whole or not at all."""
    write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), mode=None)


def read_pickle(path: Path) -> object | None:
    """A cache file's value; None if it is missing or cannot be read (as good as no cache)."""
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
