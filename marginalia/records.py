"""Parsed files kept between builds: a file with the size and modification time it had
at the last build is neither read nor parsed again.

Records are stored pickled as they were parsed, before the build attaches anything to
them, together with the warnings parsing gave; files with errors are never stored. They
are kept in SHARDS files by a hash of their path: the cache of a large archive is about
as large as the archive, and a build that read a few files anew rewrites only the
shards that hold them.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import __version__, atomic
from .errors import Problem, Problems
from .workers import map_ranges

RECORDS = "records-{:02}.pickle"
FORMAT = 5
"""Raised whenever what parsing gives changes for the same file (2: a summary made from
the first paragraph; 3: reading time; 4: text made fit for a page, chars.fit; 5: an
analysis's notes), so that records an older Marginalia parsed are parsed again."""
SHARDS = 16
PARSE_PARALLEL_FROM = 500  # fewer files than this parse faster than a pool starts
T = TypeVar("T")
Parse = Callable[[Problems], T | None]


def _stat(path: str | Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


Entry = tuple[int, int, bytes, list[Problem]]  # mtime, size, pickled record, warnings


def _shard(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % SHARDS


def _by_shard(entries: dict[str, Entry]) -> list[dict[str, Entry]]:
    shards: list[dict[str, Entry]] = [{} for _ in range(SHARDS)]
    for key, entry in entries.items():
        shards[_shard(key)][key] = entry
    return shards


class RecordCache:
    def __init__(self, cache_dir: Path | None, salt: str) -> None:
        self.dir = cache_dir
        self.salt = f"{__version__}|{FORMAT}|{salt}"
        self.old: dict[str, Entry] = {}
        self.new: dict[str, Entry] = {}
        self.parsed: set[str] = set()  # keys of the files read anew (not from the cache)
        for number in range(SHARDS) if cache_dir is not None else ():
            stored = atomic.read_pickle(cache_dir / RECORDS.format(number))
            if (
                isinstance(stored, tuple)
                and len(stored) == 2
                and stored[0] == self.salt
                and isinstance(stored[1], dict)
            ):
                self.old.update(stored[1])

    def get(self, path: str | Path, key: str, problems: Problems, parse: Parse[T]) -> T | None:
        """The record of the file at path: from the cache if unchanged, else parse(problems)."""
        return self.get_many([(key, path, parse)], problems)[0]

    def get_many(
        self, items: list[tuple[str, str | Path, Parse[T]]], problems: Problems
    ) -> list[T | None]:
        """Records of many files: unchanged ones from the cache, the rest parsed, in forked
        workers when there are many (a cold build of a large archive)."""
        results: list[T | None] = [None] * len(items)
        misses: list[int] = []
        for index, (key, path, _) in enumerate(items):
            seen = self.old.get(key)
            if seen is not None and seen[:2] == _stat(path):
                self.new[key] = seen
                problems.warnings.extend(seen[3])
                results[index] = self.load(seen[2])
            else:
                misses.append(index)

        def parse_range(
            start: int, stop: int
        ) -> list[tuple[tuple[int, int] | None, bytes | None, Problems]]:
            parsed = []
            for index in misses[start:stop]:
                _, path, parse = items[index]
                stat = _stat(path)  # before reading: a later change shows as a new mtime
                found = Problems()
                record = parse(found)
                kept = record is not None and not found.errors
                parsed.append(
                    (
                        stat,
                        pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL) if kept else None,
                        found,
                    )
                )
            return parsed

        self.parsed.update(items[index][0] for index in misses)
        outcomes = map_ranges(parse_range, len(misses), minimum=PARSE_PARALLEL_FROM)
        for index, (stat, blob, found) in zip(misses, outcomes, strict=True):
            problems.extend(found)
            if blob is not None:
                results[index] = self.load(blob)
                if stat is not None and self.dir is not None:
                    self.new[items[index][0]] = (*stat, blob, found.warnings)
        return results

    def load(self, blob: bytes) -> Any:
        """A record from its stored bytes, as parsed: a long-lived cache (serve's) may
        keep it unpickled and hand out copies."""
        return pickle.loads(blob)

    def save(self) -> None:
        """Write the shards whose records changed since the cache was read."""
        if self.dir is None or self.new == self.old:
            return
        before = _by_shard(self.old)
        for number, entries in enumerate(_by_shard(self.new)):
            if entries != before[number]:
                atomic.write_pickle(self.dir / RECORDS.format(number), (self.salt, entries))
        (self.dir / "records.pickle").unlink(missing_ok=True)  # the one file of 0.1.0


def no_cache() -> RecordCache:
    return RecordCache(None, "")
