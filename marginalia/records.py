"""Parsed files kept between builds: a file with the size and modification time it had
at the last build is neither read nor parsed again.

Records are stored pickled as they were parsed, before the build attaches anything to
them, together with the warnings parsing gave; files with errors are never stored.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from . import __version__, atomic
from .errors import Problem, Problems

RECORDS = "records.pickle"
T = TypeVar("T")


class RecordCache:
    def __init__(self, cache_dir: Path | None, salt: str) -> None:
        self.path = cache_dir / RECORDS if cache_dir is not None else None
        self.salt = f"{__version__}|{salt}"
        self.old: dict[str, tuple[int, int, bytes, list[Problem]]] = {}
        self.new: dict[str, tuple[int, int, bytes, list[Problem]]] = {}
        if self.path is not None:
            try:
                salt_seen, entries = pickle.loads(self.path.read_bytes())
                if salt_seen == self.salt and isinstance(entries, dict):
                    self.old = entries
            except (
                OSError,
                pickle.UnpicklingError,
                EOFError,
                ValueError,
                TypeError,
                AttributeError,
            ):
                pass

    def get(
        self, path: Path, key: str, problems: Problems, parse: Callable[[Problems], T | None]
    ) -> T | None:
        """The record of the file at path: from the cache if unchanged, else parse(problems)."""
        if self.path is None:
            return parse(problems)
        try:
            stat = os.stat(path)  # before reading: a later change shows as a new mtime
        except OSError:
            return parse(problems)
        seen = self.old.get(key)
        if seen is not None and seen[0] == stat.st_mtime_ns and seen[1] == stat.st_size:
            self.new[key] = seen
            problems.warnings.extend(seen[3])
            return pickle.loads(seen[2])
        found = Problems()
        record = parse(found)
        problems.extend(found)
        if record is not None and not found.errors:
            blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
            self.new[key] = (stat.st_mtime_ns, stat.st_size, blob, found.warnings)
        return record

    def save(self) -> None:
        if self.path is not None and self.new != self.old:
            data = pickle.dumps((self.salt, self.new), protocol=pickle.HIGHEST_PROTOCOL)
            atomic.write_bytes(self.path, data)


def no_cache() -> RecordCache:
    return RecordCache(None, "")
