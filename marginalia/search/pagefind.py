"""Running Pagefind on the units of a plan (search/shards.py), and the bundles .cache/ keeps.

The binary is run on a folder of documents rather than fed records through the wrapper's
PagefindIndex: pagefind 1.5.2's Python service reads one reply per 0.1 s
(pagefind/service/__init__.py, _wait_for_responses): 50 records took 5 s, 1,000 would
take 100.

Pagefind has no incremental index, and holds every page of a run in memory (about 0.35 MB
an article). Each unit is one run, kept in .cache/ under its own key, so an edit runs
Pagefind on the shards it touched and no other. Runs go on side by side, one per core,
as long as their estimated memory fits the budget (MEMORY_ENV, MiB): a run always starts
when none is under way, so the peak is the larger of the budget and the largest shard's.

Pagefind 1.5.2 is deterministic but for its filter indexes: it writes a filter's values
in hash-map order, which differs from run to run (Pagefind issue #638), so filter/*, the
pagefind.*.pf_meta that names them and pagefind-entry.json may differ between two
indexings of the same articles; the word index and the fragments (the bulk) do not.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import NoReturn

from ..errors import InputError, Problem
from ..output import output_path
from .document import document
from .shards import STUB, Plan, Unit

CACHE_FOLDER = "search"  # in .cache/marginalia/: the bundle of each unit, and work folders
ENTRY = "pagefind-entry.json"  # written last by Pagefind: a bundle without it is incomplete
INDEX_PARTS = ("index", "fragment", "filter")  # a shard's bundle: these, ENTRY and *.pf_meta
STUB_WORD = "\u01c2"  # the stub's documents' one word (ǂ): Pagefind indexes no empty page
MEMORY_ENV = "MARGINALIA_SEARCH_MEMORY_MB"
DEFAULT_MEMORY_MB = 1024
RUN_MB, ARTICLE_MB = 16, 0.4  # a run's memory: measured 50 MB at 109 articles, 450 at 1,263
POLL_SECONDS = 0.01
# the files of a bundle (the stub's, or a shard's in its folder) that two indexings of the
# same articles may write differently (see above)
UNSTABLE = re.compile(
    r"(?:\d{4}(?:-\d{2})?/)?(?:filter/.*|pagefind\.[^/]*\.pf_meta|pagefind-entry\.json)"
)

log = logging.getLogger(__name__)


def cache_folder(cache_dir: Path, unit: Unit) -> Path:
    """Named by the shard and the key: which shards were indexed shows in .cache/."""
    return cache_dir / CACHE_FOLDER / f"{unit.name or 'stub'}.{unit.key}"


def cached(cache_dir: Path, unit: Unit) -> Path | None:
    """The folder of the unit's bundle if .cache/ has it whole."""
    done = cache_folder(cache_dir, unit)
    return done if (done / ENTRY).is_file() else None


def missing(cache_dir: Path, plan: Plan) -> tuple[Unit, ...]:
    return tuple(unit for unit in plan.units if cached(cache_dir, unit) is None)


def prune_cache(cache_dir: Path, plan: Plan) -> None:
    """Remove the bundles of units the plan no longer has, and dead runs' work folders."""
    keep = {cache_folder(cache_dir, unit).name for unit in plan.units}
    store = cache_dir / CACHE_FOLDER
    for old in store.iterdir() if store.is_dir() else ():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def start(cache_dir: Path, plan: Plan) -> Indexing | None:
    """Start making the bundles of the plan that .cache/ lacks (a build's way: see
    Indexing); None if it has them all."""
    todo = missing(cache_dir, plan)
    return Indexing(cache_dir, todo, background=False) if todo else None


def index(cache_dir: Path, plan: Plan) -> None:
    """Make every bundle of the plan that .cache/ lacks. Raise InputError (naming
    Pagefind) if the binary fails; a failed run leaves nothing."""
    indexing = start(cache_dir, plan)
    if indexing is not None:
        indexing.result()


def memory_budget_mb() -> float:
    value = os.environ.get(MEMORY_ENV, "")
    try:
        return float(value) if value else DEFAULT_MEMORY_MB
    except ValueError:
        _fail(f"{MEMORY_ENV} must be a number of MiB, not {value!r}")


def estimate_mb(unit: Unit) -> float:
    return RUN_MB + ARTICLE_MB * len(unit.articles)


class Indexing:
    """The runs of Pagefind for some units, in a work folder of .cache/: each unit's
    documents are written (about 1 ms an article) and the binary started as a subprocess,
    as many at once as the cores and the memory budget allow; each bundle is moved into
    .cache/ whole when its run is done.

    In the background (serve), a thread does it all, so that serve can serve meanwhile;
    it reads the units' articles, so nothing may change them until the runs are done or
    cancelled (serve cancels before it rebuilds, and so before it forks build workers).
    Otherwise (build) the first runs start at once, go on while the build renders its
    pages (no thread: the build's workers are forked), and result() does the rest."""

    def __init__(self, cache_dir: Path, units: tuple[Unit, ...], *, background: bool) -> None:
        self.cache_dir = cache_dir
        self.work = cache_dir / CACHE_FOLDER / f"work-{secrets.token_hex(8)}"
        self.units = units
        self.pending = sorted(units, key=estimate_mb, reverse=True)
        self.running: dict[subprocess.Popen, tuple[Unit, float]] = {}
        self.failure: BaseException | None = None
        self.no_binary = False
        self.cancelled = False
        self.lock = threading.Lock()  # between cancel() and the start of a binary
        self.thread: threading.Thread | None = None
        if background:
            self.thread = threading.Thread(target=self._pump, name="search-index", daemon=True)
            self.thread.start()
        else:
            self._pump(wait=False)

    def _pump(self, wait: bool = True) -> None:
        """Start the runs that fit; with `wait`, until every run is done."""
        try:
            budget, cores = memory_budget_mb(), os.cpu_count() or 1
            while (self.pending or self.running) and not self.cancelled and not self.no_binary:
                used = sum(estimate_mb(unit) for unit, _ in self.running.values())
                fits = bool(self.pending) and (
                    not self.running or used + estimate_mb(self.pending[0]) <= budget
                )
                if fits and len(self.running) < cores:
                    self._start(self.pending.pop(0))
                    continue
                if not wait:
                    return
                time.sleep(POLL_SECONDS)
                for process in [p for p in self.running if p.poll() is not None]:
                    unit, started = self.running[process]
                    self._finish(unit, process.returncode)
                    seconds = time.perf_counter() - started
                    shard = unit.name or "stub"
                    log.info(
                        "indexed %s (%d articles) in %.2f s", shard, len(unit.articles), seconds
                    )
                    with self.lock:
                        del self.running[process]
        except BaseException as exc:  # handed to result()
            self.failure = exc

    def _start(self, unit: Unit) -> None:
        """Write the unit's documents and start Pagefind on them."""
        work = self.work / (unit.name or "stub")
        docs = work / "docs"
        docs.mkdir(parents=True)
        for rel, text in _documents(unit):
            path = docs / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        with self.lock:
            if self.cancelled:
                return
            process = _start(docs, work / "bundle", work / "log.txt")
            if process is None:
                self.no_binary = True
            else:
                self.running[process] = (unit, time.perf_counter())

    def _finish(self, unit: Unit, code: int) -> None:
        """Move the unit's bundle into .cache/ (a shard's without Pagefind's scripts, which
        the stub's bundle carries once), or fail with Pagefind's messages."""
        work = self.work / (unit.name or "stub")
        out = work / "bundle"
        if code != 0 or not (out / ENTRY).is_file():
            messages = (work / "log.txt").read_text(encoding="utf-8", errors="replace")
            _fail(f"indexing failed ({code}): {messages}")
        if unit.name != STUB:
            for path in out.iterdir():
                kept = path.name in INDEX_PARTS or path.name == ENTRY or path.suffix == ".pf_meta"
                if not kept:
                    path.unlink()
        done = cache_folder(self.cache_dir, unit)
        shutil.rmtree(done, ignore_errors=True)
        out.rename(done)

    def done(self) -> bool:
        return self.thread is None or not self.thread.is_alive()

    def result(self) -> None:
        """Wait for the runs; InputError if one failed."""
        try:
            if self.thread is not None:
                self.thread.join()
            elif self.failure is None:
                self._pump()
            if self.failure is not None:
                raise self.failure
            if self.no_binary:
                _fail("no Pagefind binary: pip install 'pagefind[extended]'")
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the runs under way, if any, and remove the work folder."""
        with self.lock:
            self.cancelled = True
            processes = list(self.running)
        for process in processes:
            if process.poll() is None:
                process.kill()
        if self.thread is not None:
            self.thread.join()
        for process in processes:
            process.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def _documents(unit: Unit) -> list[tuple[str, str]]:
    """(path in the documents folder, HTML) of each document of the unit."""
    if unit.name == STUB:
        page = '<!doctype html><html lang="{}"><head><meta charset="utf-8"></head><body><p>{}</p></body></html>\n'
        return [
            (f"{language}/index.html", page.format(language, STUB_WORD))
            for language in unit.languages
        ]
    return [
        (output_path(article.url), document(article, article.language or unit.language))
        for article in unit.articles
    ]


def _start(docs: Path, out: Path, log_file: Path) -> subprocess.Popen | None:
    """Pagefind on docs, writing to out, its messages to log_file; None without a binary."""
    from pagefind.service import get_executable  # the binary of pagefind_bin_extended

    executable = get_executable()
    if executable is None:
        return None
    command = [str(executable), "--site", str(docs), "--output-path", str(out), "--quiet"]
    with log_file.open("wb") as stream:
        return subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)


def _fail(message: str) -> NoReturn:
    raise InputError([Problem("pagefind", None, message.strip())])
