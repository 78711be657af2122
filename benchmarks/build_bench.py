"""Benchmark of `build` on the shared news corpus, beside the one-process Python floor.

For each size N it makes (or reuses) a corpus with /work/shared/bench/make_corpus.py,
writes a config.yaml with only title and base_url, and times, as subprocesses of
`python -m marginalia build --root DIR` run from the repository root:

- floor: /work/shared/bench/floor.py on the same content, in the same run;
- cold: no site/ and no .cache/ (both deleted first);
- no-change: a build right after a build;
- one edit: a sentence appended to one article (a different one each run);
- template edit: layouts/article.html copied from the built-in theme into the corpus with
  a comment added, so a site-level override appears;
- index: the search index alone (marginalia/search/: every shard's documents made and
  Pagefind run on each, as a build runs them, into an empty cache), in a process of its
  own, and the size of the bundles it writes to site/pagefind/ (the cold, one-edit and
  template-edit builds include search: an edited article means its month's shard is
  indexed again, a template edit reuses them all).

Each timing is the median of --runs, measured with time.perf_counter() around the
subprocess (interpreter start included); the floor's and the cold build's CPU time
(user + system, all processes) is shown beside them. Before the floor and each cold
build, the page cache is written back and dropped and the corpus read again when run
as root on Linux (settle()): runs are otherwise not comparable on a virtual machine.
Peak memory is taken on one more cold build per size, not on the timed ones, so the
sampler's own CPU use does not slow them: the sum of PSS (RSS where PSS is unavailable)
over the build process and all its descendants, read from /proc every ~20 ms. The
edited article and the override are undone after every run.

    python benchmarks/build_bench.py [--sizes 1000,4000,10000] [--runs 3]
                                     [--workdir DIR] [--keep] [--profile] [--no-search]
                                     [--bytes]

Corpora are cached in --workdir (corpus-N/) and reused; without --workdir a temporary
directory is used and deleted at the end unless --keep. --profile instead runs one cold
build of the largest size under cProfile and prints the top 25 functions by cumulative
time (only the main process is profiled; worker processes are not). --no-search builds
with `search: false`, to compare with the figures from before search and with the floor.

After the timings, a second table gives the bytes of the last cold build of each size per
article, in all and by page kind (site_bytes()), with the input's bytes (content/ and
analyses/) beside them; --bytes prints only that table, after one cold build per size.

The table goes to stdout; progress and failures to stderr. Any build that exits non-zero
stops the benchmark with exit status 1 and shows the build's output.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared/bench")
MAKE_CORPUS = SHARED / "make_corpus.py"
FLOOR = SHARED / "floor.py"
BUILD = [sys.executable, "-m", "marginalia", "build", "--root"]

CONFIG = """\
title: Marginalia build benchmark
base_url: https://example.github.io/news/
"""
SAMPLE_EVERY = 0.020  # seconds between memory samples
# Times the search index on its own (argv[1]: the corpus); prints seconds and bundle bytes.
INDEX_ONLY = """
import sys, tempfile, time
from pathlib import Path
from marginalia import search
from marginalia.build import attach_html, load_site
from marginalia.config import load_settings
from marginalia.errors import Problems
root = Path(sys.argv[1])
site = load_site(root, load_settings(root), Problems(), drafts=False)
attach_html(site)
with tempfile.TemporaryDirectory() as cache:
    plan = search.plan(site)
    started = time.perf_counter()
    search.index(Path(cache), plan)
    seconds = time.perf_counter() - started
    folders = [search.cached(Path(cache), unit) for unit in plan.units]
    print(seconds, sum(p.stat().st_size for f in folders for p in f.rglob("*") if p.is_file()))
"""
OVERRIDE_AT = "{% block content %}"  # the comment goes inside it, so every article page changes


class BenchError(Exception):
    """A step failed; the message carries the command and its output."""


# --------------------------------------------------------------------------------------
# Running things


def settle(root: Path) -> None:
    """Before a build from nothing: the same state of the page cache for every run.

    On these virtual machines writing into a page cache that earlier runs filled costs
    several times the system time of writing into an empty one, so cold timings drift
    from run to run. As root on Linux: write back and drop the page cache, then read the
    corpus again (a cold build's input is warm; its output has room). Elsewhere: nothing.
    """
    drop = Path("/proc/sys/vm/drop_caches")
    if os.name != "posix" or os.geteuid() != 0 or not drop.exists():
        return
    os.sync()
    drop.write_text("3\n")
    for path in sorted(root.rglob("*.md")):
        path.read_bytes()


def cpu_seconds() -> float:
    """User and system time of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], *, cwd: Path = REPO, sample_memory: bool = False) -> tuple[float, float]:
    """Run cmd to completion; return (wall seconds, peak MiB or nan). Raise if it fails."""
    sampler = None
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    if sample_memory:
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
    try:
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted: do not leave the build running
            proc.kill()
            proc.wait()
    wall = time.perf_counter() - started
    peak = float("nan")
    if sampler is not None:
        sampler.stop()
        peak = sampler.peak_bytes / 2**20
    if proc.returncode != 0:
        raise BenchError(
            f"command failed with exit status {proc.returncode} (cwd {cwd}):\n"
            f"  {' '.join(cmd)}\n--- stdout ---\n{out.rstrip()}\n--- stderr ---\n{err.rstrip()}"
        )
    return wall, peak


def build(root: Path, *, sample_memory: bool = False) -> tuple[float, float]:
    return run([*BUILD, str(root)], sample_memory=sample_memory)


def python_code(code: str, *args: str, doing: str) -> str:
    """Run code in a Python process of its own, from the repository; its stdout. Raise,
    saying what it was doing, if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{doing} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def index_only(root: Path) -> tuple[float, float]:
    """(seconds, bundle MB) of the search index made alone (INDEX_ONLY)."""
    seconds, size = python_code(INDEX_ONLY, str(root), doing=f"indexing {root}").split()
    return float(seconds), int(size) / 1e6


def clean_build_state(root: Path) -> None:
    for name in ("site", ".cache"):
        shutil.rmtree(root / name, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Memory of a process tree, from /proc (Linux)


def _pss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0  # gone already


def memory_method() -> str:
    if not Path("/proc/self/stat").exists():
        return "unavailable (no /proc)"
    return "PSS" if _pss_bytes(os.getpid()) is not None else "RSS"


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # comm (field 2) may hold spaces and parentheses; state and ppid follow the last ')'
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


@dataclass
class TreeMemorySampler:
    """Samples the summed PSS (else RSS) of a process and its descendants in a thread."""

    pid: int
    peak_bytes: int = 0
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._use_pss = memory_method() == "PSS"
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        if not Path("/proc/self/stat").exists():
            return
        while not self._done.is_set():
            total = 0
            for pid in tree_pids(self.pid):
                size = _pss_bytes(pid) if self._use_pss else None
                total += size if size is not None else _rss_bytes(pid)
            self.peak_bytes = max(self.peak_bytes, total)
            self._done.wait(SAMPLE_EVERY)


# --------------------------------------------------------------------------------------
# Corpus, and the edits made to it


def ensure_corpus(workdir: Path, size: int, search: bool = True) -> Path:
    root = workdir / f"corpus-{size}"
    restore_pending(workdir, size, root)
    if not (root / "content").is_dir():
        partial = workdir / f"corpus-{size}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        progress(f"[{size}] making the corpus in {root}")
        run([sys.executable, str(MAKE_CORPUS), str(partial), str(size)])
        partial.rename(root)
    config = CONFIG if search else CONFIG + "search: false\n"
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root


def builtin_article_template() -> Path:
    """The theme's article.html, found as marginalia/paths.py finds it."""
    packaged = REPO / "marginalia" / "builtin" / "layouts" / "article.html"
    return packaged if packaged.is_file() else REPO / "layouts" / "article.html"


def restore_dir(workdir: Path, size: int) -> Path:
    return workdir / f"restore-{size}"


def restore_pending(workdir: Path, size: int, root: Path) -> None:
    """Undo the edits of a run: put saved articles back, remove the layouts override.

    The originals are saved outside the corpus before an edit, so an interrupted run is
    undone the next time the same workdir is used.
    """
    saved = restore_dir(workdir, size)
    if saved.is_dir():
        for original in saved.rglob("*.md"):
            target = root / original.relative_to(saved)
            target.write_bytes(original.read_bytes())
        shutil.rmtree(saved)
    shutil.rmtree(root / "layouts", ignore_errors=True)  # the corpus has no layouts of its own


def edit_article(workdir: Path, size: int, root: Path, article: Path, run_no: int) -> None:
    backup = restore_dir(workdir, size) / article.relative_to(root)
    backup.parent.mkdir(parents=True, exist_ok=True)
    backup.write_bytes(article.read_bytes())
    text = article.read_text(encoding="utf-8").rstrip("\n")
    text += f"\n\nThe benchmark appended this sentence in run {run_no}.\n"
    article.write_text(text, encoding="utf-8")


def add_template_override(root: Path, run_no: int) -> None:
    source = builtin_article_template().read_text(encoding="utf-8")
    marker = f"<!-- build_bench run {run_no} -->"
    if OVERRIDE_AT in source:
        changed = source.replace(OVERRIDE_AT, OVERRIDE_AT + marker, 1)
    else:
        changed = source + marker + "\n"
    layouts = root / "layouts"
    layouts.mkdir(exist_ok=True)
    (layouts / "article.html").write_text(changed, encoding="utf-8")


# --------------------------------------------------------------------------------------
# Measuring


@dataclass
class Result:
    size: int
    floor: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)  # user + system, all processes
    cold: list[float] = field(default_factory=list)
    cold_cpu: list[float] = field(default_factory=list)
    no_change: list[float] = field(default_factory=list)
    one_edit: list[float] = field(default_factory=list)
    template: list[float] = field(default_factory=list)
    index: list[float] = field(default_factory=list)
    bundle_mb: float = float("nan")
    peak_mib: float = float("nan")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(workdir: Path, size: int, runs: int, search: bool) -> Result:
    root = ensure_corpus(workdir, size, search)
    articles = sorted((root / "content").rglob("*.md"))
    floor_out = workdir / f"floor-{size}"
    result = Result(size)
    for i in range(runs):
        shutil.rmtree(floor_out, ignore_errors=True)
        settle(root)
        used = cpu_seconds()
        floor, _ = run([sys.executable, str(FLOOR), str(root / "content"), str(floor_out)])
        result.floor.append(floor)
        result.floor_cpu.append(cpu_seconds() - used)

        clean_build_state(root)
        settle(root)
        used = cpu_seconds()
        cold, _ = build(root)
        result.cold.append(cold)
        result.cold_cpu.append(cpu_seconds() - used)

        no_change, _ = build(root)
        result.no_change.append(no_change)

        # Spread the edited articles over the archive, a different one each run.
        article = articles[((2 * i + 1) * len(articles)) // (2 * runs)]
        try:
            edit_article(workdir, size, root, article, i + 1)
            one_edit, _ = build(root)
            result.one_edit.append(one_edit)

            add_template_override(root, i + 1)
            template, _ = build(root)
            result.template.append(template)
        finally:
            restore_pending(workdir, size, root)
        index, result.bundle_mb = index_only(root) if search else (0.0, 0.0)
        result.index.append(index)
        progress(
            f"[{size}] run {i + 1}/{runs}: floor {floor:.2f} s, cold {cold:.2f} s, "
            f"no-change {no_change:.2f} s, one edit {one_edit:.2f} s "
            f"({article.relative_to(root)}), template edit {template:.2f} s, "
            f"index {index:.2f} s ({result.bundle_mb:.1f} MB)"
        )

    clean_build_state(root)
    settle(root)
    _, result.peak_mib = build(root, sample_memory=True)
    progress(f"[{size}] cold build peak memory: {result.peak_mib:.0f} MiB")
    shutil.rmtree(floor_out, ignore_errors=True)
    return result


def profile(workdir: Path, size: int) -> None:
    root = ensure_corpus(workdir, size)
    clean_build_state(root)
    prof = workdir / f"profile-{size}.prof"
    progress(f"[{size}] cold build under cProfile -> {prof}")
    wall, _ = run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", *BUILD[2:], str(root)])
    out = io.StringIO()
    stats = pstats.Stats(str(prof), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(25)
    print(f"Cold build of {size} articles under cProfile: {wall:.2f} s wall (with overhead).")
    print("Main process only; worker processes, if any, are not in this profile.\n")
    print(out.getvalue().strip("\n"))


# --------------------------------------------------------------------------------------
# Bytes by page kind

# What each file of site/ is, by its path under the benchmark's permalink
# (/{year}/{month}/{slug}/); the first pattern that matches the whole path wins.
PAGE_KINDS = [
    ("article pages", re.compile(r"\d{4}/\d{2}/(?!page/)[^/]+/index\.html")),
    ("Pagefind bundle", re.compile(r"pagefind/.*")),
    ("site feed", re.compile(r"feed\.xml")),
    ("per-tag feeds", re.compile(r"tags/[^/]+/feed\.xml")),
    ("tag pages", re.compile(r"tags/.*\.html")),
    ("author pages", re.compile(r"authors/.*\.html")),
    ("outlet pages", re.compile(r"sources/.*\.html")),
    ("date lists", re.compile(r"(\d{4}/(\d{2}/)?(page/\d+/)?|archive/)index\.html")),
    ("home pages", re.compile(r"(page/\d+/)?index\.html")),
]
OTHER_KIND = "other"


def page_kind(rel: str) -> str:
    """The kind of the file at rel (a path under site/, with '/')."""
    return next((name for name, pattern in PAGE_KINDS if pattern.fullmatch(rel)), OTHER_KIND)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@dataclass
class SiteBytes:
    """What one build wrote, by page kind: files and bytes; and the input's bytes."""

    size: int
    input_bytes: int
    files: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)


def site_bytes(root: Path, size: int) -> SiteBytes:
    """Count root/site/ by page kind, and root's content/ and analyses/."""
    found = SiteBytes(size, folder_bytes(root / "content") + folder_bytes(root / "analyses"))
    site = root / "site"
    for path in site.rglob("*"):
        if path.is_file():
            kind = page_kind(path.relative_to(site).as_posix())
            found.files[kind] = found.files.get(kind, 0) + 1
            found.bytes[kind] = found.bytes.get(kind, 0) + path.stat().st_size
    return found


def bytes_table(measured: list[SiteBytes]) -> str:
    """Bytes per article by page kind, one column per size; files and MB in all below."""
    kinds = [name for name, _ in PAGE_KINDS] + [OTHER_KIND]
    head = ["bytes per article", *(f"{m.size:,}" for m in measured)]
    rows = [[kind, *(f"{m.bytes.get(kind, 0) / m.size:,.0f}" for m in measured)] for kind in kinds]
    totals = [sum(m.bytes.values()) for m in measured]
    rows += [
        ["total", *(f"{t / m.size:,.0f}" for t, m in zip(totals, measured, strict=True))],
        ["total MB", *(f"{t / 1e6:,.1f}" for t in totals)],
        ["files", *(f"{sum(m.files.values()):,}" for m in measured)],
        ["input MB", *(f"{m.input_bytes / 1e6:,.1f}" for m in measured)],
        [
            "output / input",
            *(f"{t / m.input_bytes:.2f}" for t, m in zip(totals, measured, strict=True)),
        ],
    ]
    widths = [max(len(row[c]) for row in [head, *rows]) for c in range(len(head))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return (
            "| "
            + " | ".join(
                [first.ljust(widths[0])]
                + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
            )
            + " |"
        )

    rule = (
        "|" + "-" * (widths[0] + 2) + "|" + "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|"
    )
    note = "Output of a cold build (search included) in bytes per article, by page kind."
    return "\n".join([note, "", line(head), rule, *(line(row) for row in rows)])


def measure_bytes(workdir: Path, size: int, search: bool) -> SiteBytes:
    """One cold build of the corpus of `size` articles, counted."""
    root = ensure_corpus(workdir, size, search)
    clean_build_state(root)
    build(root)
    progress(f"[{size}] built, counting its bytes")
    return site_bytes(root, size)


# --------------------------------------------------------------------------------------
# Reporting


def _capture(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def machine_line() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = platform.processor() or platform.machine()
    memory = "? GiB"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    commit = _capture(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    if _capture(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " + uncommitted changes"
    libyaml = _capture([sys.executable, "-c", "import yaml; print(yaml.__with_libyaml__)"])
    return (
        f"Machine: {cpus} CPUs (nproc), {model}, {memory} RAM; "
        f"Python {platform.python_version()} (libyaml: {libyaml or '?'}); "
        f"marginalia {commit}; peak memory: {memory_method()} of the build's process tree"
    )


def table(results: list[Result], runs: int) -> str:
    head = [
        "size",
        "floor s",
        "cold s",
        "cold/floor",
        "CPU floor/cold s",
        "no-change s",
        "ratio to cold",
        "one edit s",
        "ratio",
        "template edit s",
        "ratio",
        "index s",
        "bundle MB",
        "peak MiB",
    ]
    rows = []
    for r in results:
        floor, cold = statistics.median(r.floor), statistics.median(r.cold)
        no_change = statistics.median(r.no_change)
        one_edit, template = statistics.median(r.one_edit), statistics.median(r.template)
        rows.append(
            [
                f"{r.size:,}",
                f"{floor:.2f}",
                f"{cold:.2f}",
                f"{cold / floor:.2f}",
                f"{statistics.median(r.floor_cpu):.1f}/{statistics.median(r.cold_cpu):.1f}",
                f"{no_change:.2f}",
                f"{no_change / cold:.2f}",
                f"{one_edit:.2f}",
                f"{one_edit / cold:.2f}",
                f"{template:.2f}",
                f"{template / cold:.2f}",
                f"{statistics.median(r.index):.2f}",
                f"{r.bundle_mb:.1f}",
                f"{r.peak_mib:.0f}",
            ]
        )
    widths = [max(len(row[c]) for row in [head, *rows]) for c in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    note = f"Median of {runs} run{'s' if runs != 1 else ''}; wall time including interpreter start."
    return "\n".join([note, "", line(head), rule, *(line(row) for row in rows)])


# --------------------------------------------------------------------------------------


def open_workdir(given: Path | None, prefix: str) -> Path:
    """The corpus cache: --workdir (made if need be, kept), else a new temporary folder."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix=prefix))
    workdir = given.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def close_workdir(workdir: Path, *, temporary: bool) -> None:
    """At the end: delete a temporary workdir, or say where the kept one is."""
    if temporary:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        progress(f"workdir kept: {workdir}")


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[1000, 4000, 10000])
    parser.add_argument("--runs", type=positive, default=3, help="runs per timing (median)")
    parser.add_argument("--workdir", type=Path, help="corpus cache (kept); default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    parser.add_argument(
        "--profile", action="store_true", help="only profile a cold build of the largest size"
    )
    parser.add_argument(
        "--no-search",
        dest="search",
        action="store_false",
        help="build with search: false (no Pagefind index; index columns read 0)",
    )
    parser.add_argument(
        "--bytes",
        dest="bytes_only",
        action="store_true",
        help="only the bytes per article by page kind, after one cold build per size",
    )
    args = parser.parse_args()

    for needed in (MAKE_CORPUS, FLOOR):
        if not needed.is_file():
            print(f"build_bench: missing {needed}", file=sys.stderr)
            return 2
    workdir = open_workdir(args.workdir, "build-bench-")
    try:
        print(machine_line())
        print()
        if args.profile:
            profile(workdir, max(args.sizes))
        elif args.bytes_only:
            print(bytes_table([measure_bytes(workdir, n, args.search) for n in args.sizes]))
        else:
            results = [measure(workdir, size, args.runs, args.search) for size in args.sizes]
            print(table(results, args.runs))
            print()  # each corpus keeps the site/ of its last cold build
            counted = [site_bytes(workdir / f"corpus-{n}", n) for n in args.sizes]
            print(bytes_table(counted))
    except BenchError as error:
        print(f"build_bench: {error}", file=sys.stderr)
        return 1
    finally:
        close_workdir(workdir, temporary=args.workdir is None and not args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
