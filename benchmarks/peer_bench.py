"""The peer beside which search is measured: Hugo + Pagefind on the shared news corpus,
and Pagefind alone on Marginalia's own search documents (its floor time per page).

By the shared peers' method (issue 19): a minimal Hugo site over the corpus's content/
(its front matter is Hugo's: title, date, tags), then `pagefind --site public`, with the
same Pagefind binary Marginalia runs (the one in the `pagefind[extended]` wheel, found as
marginalia/search/pagefind.py finds it). The Hugo site is written into the workdir by this script:
hugo.toml (title, base_url, the corpus's content/ as contentDir) and two templates, one
for articles (title, date, body and tags, the article marked `data-pagefind-body`, so
that Pagefind indexes articles only) and one for every list (home, sections, tags).

Measured, as subprocesses timed with time.perf_counter(), median of --runs:

- Hugo alone, Pagefind alone and both, cold: no public/ nor resources/ (deleted first;
  the page cache dropped before, as build_bench.settle() does);
- one edit: a sentence appended to one article (a different one each run), then `hugo`
  and `pagefind --site public` again (neither has a partial build outside `hugo server`);
- peak memory: the summed PSS of each command's process tree (build_bench's sampler), on
  one more cold run, not on the timed ones; "both" is the larger of the two;
- Pagefind alone on Marginalia's documents: the HTML documents marginalia/search/
  gives Pagefind for the same corpus (document.py's, one per article, written as
  one unsharded folder), indexed with Marginalia's flags (`--site DOCS
  --output-path OUT --quiet`): time, milliseconds per article, peak memory.

Beside the cold wall times, their CPU time (user + system, as build_bench.py counts it),
which other processes on the machine change less. `cat /proc/loadavg` is printed before,
after and with each run: other processes slow timings, not memory.

    python benchmarks/peer_bench.py [--size 10000] [--runs 3] [--workdir DIR] [--keep]

Needs `hugo` on PATH (Debian: apt-get install hugo, 0.111) and `pip install -e .`
(pagefind[extended]). Corpora are made and cached in --workdir as build_bench.py makes
them (corpus-N/, reused); without --workdir a temporary folder is used and deleted at
the end unless --keep. The table goes to stdout, progress to stderr; a failing command
stops the benchmark with exit status 1 and shows its output.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from build_bench import (
    REPO,
    BenchError,
    close_workdir,
    cpu_seconds,
    edit_article,
    ensure_corpus,
    machine_line,
    open_workdir,
    positive,
    progress,
    python_code,
    restore_pending,
    run,
    settle,
)

HUGO_CONFIG = """\
baseURL = "https://example.github.io/news/"
title = "Hugo peer benchmark"
contentDir = "{content}"
"""
HUGO_SINGLE = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><main><article data-pagefind-body>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
{{ .Content }}
<ul class="tags">{{ range .GetTerms "tags" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
</article></main></body></html>
"""
HUGO_LIST = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><main><h1>{{ .Title }}</h1>
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ .Date.Format "2 January 2006" }}</li>{{ end }}</ul>
</main></body></html>
"""
# Writes Marginalia's search documents for the corpus argv[1] into argv[2]; prints how many.
WRITE_DOCUMENTS = """
import sys
from pathlib import Path
from marginalia.build import attach_html, load_site
from marginalia.config import load_settings
from marginalia.errors import Problems
from marginalia.output import output_path
from marginalia.search.document import document
root, docs = Path(sys.argv[1]), Path(sys.argv[2])
site = load_site(root, load_settings(root), Problems(), drafts=False)
attach_html(site)
for article in site.articles:
    path = docs / output_path(article.url)
    path.parent.mkdir(parents=True, exist_ok=True)
    language = article.language or site.settings.language
    path.write_text(document(article, language), encoding="utf-8")
print(len(site.articles))
"""


def pagefind_binary() -> Path:
    """The binary Marginalia runs: the one in the pagefind[extended] wheel."""
    from pagefind.service import get_executable

    executable = get_executable()
    if executable is None:
        raise BenchError("no Pagefind binary: pip install 'pagefind[extended]'")
    return Path(executable)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


# --------------------------------------------------------------------------------------
# Hugo + Pagefind


def make_hugo_site(workdir: Path, corpus: Path) -> Path:
    site = workdir / "hugo-site"
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    content = (corpus / "content").resolve().as_posix()
    (site / "hugo.toml").write_text(HUGO_CONFIG.format(content=content), encoding="utf-8")
    (layouts / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    return site


@dataclass(frozen=True)
class Step:
    """One command's run: wall seconds, CPU seconds (user + system), peak MiB or nan."""

    wall: float
    cpu: float
    peak: float


def step(cmd: list[str], cwd: Path = REPO, *, sample_memory: bool = False) -> Step:
    used = cpu_seconds()
    wall, peak = run(cmd, cwd=cwd, sample_memory=sample_memory)
    return Step(wall, cpu_seconds() - used, peak)


@dataclass(frozen=True)
class Peer:
    cold: list[tuple[Step, Step]]  # (hugo, pagefind) of each run
    one_edit: list[tuple[Step, Step]]
    peak: tuple[Step, Step]  # one more cold run, its memory sampled


def hugo_then_pagefind(site: Path, *, sample_memory: bool = False) -> tuple[Step, Step]:
    """`hugo` then `pagefind --site public` in site."""
    hugo = step(["hugo", "--quiet"], site, sample_memory=sample_memory)
    command = [str(pagefind_binary()), "--site", "public"]
    return hugo, step(command, site, sample_memory=sample_memory)


def clean_hugo(site: Path) -> None:
    for name in ("public", "resources", ".hugo_build.lock"):
        path = site / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def measure_peer(workdir: Path, corpus: Path, size: int, runs: int) -> Peer:
    site = make_hugo_site(workdir, corpus)
    articles = sorted((corpus / "content").rglob("*.md"))
    colds, edits = [], []
    for i in range(runs):
        clean_hugo(site)
        settle(corpus)
        cold = hugo_then_pagefind(site)
        article = articles[((2 * i + 1) * len(articles)) // (2 * runs)]
        try:
            edit_article(workdir, size, corpus, article, i + 1)
            one_edit = hugo_then_pagefind(site)
        finally:
            restore_pending(workdir, size, corpus)
        colds.append(cold)
        edits.append(one_edit)
        progress(
            f"[peer {size}] run {i + 1}/{runs}: hugo {cold[0].wall:.2f} s, pagefind "
            f"{cold[1].wall:.2f} s; one edit ({article.relative_to(corpus)}): hugo "
            f"{one_edit[0].wall:.2f} s, pagefind {one_edit[1].wall:.2f} s; load {loadavg()}"
        )
    clean_hugo(site)
    settle(corpus)
    peer = Peer(colds, edits, hugo_then_pagefind(site, sample_memory=True))
    progress(
        f"[peer {size}] peak: hugo {peer.peak[0].peak:.0f} MiB, "
        f"pagefind {peer.peak[1].peak:.0f} MiB"
    )
    return peer


# --------------------------------------------------------------------------------------
# Pagefind alone on Marginalia's documents


@dataclass
class Floor:
    articles: int = 0
    runs: list[Step] = field(default_factory=list)
    peak: float = float("nan")  # MiB


def write_documents(corpus: Path, docs: Path) -> int:
    shutil.rmtree(docs, ignore_errors=True)
    doing = f"writing the search documents of {corpus}"
    return int(python_code(WRITE_DOCUMENTS, str(corpus), str(docs), doing=doing))


def measure_floor(workdir: Path, corpus: Path, size: int, runs: int) -> Floor:
    docs, out = workdir / f"search-docs-{size}", workdir / f"search-bundle-{size}"
    floor = Floor(write_documents(corpus, docs))
    command = [str(pagefind_binary()), "--site", str(docs), "--output-path", str(out), "--quiet"]
    for i in range(runs + 1):
        shutil.rmtree(out, ignore_errors=True)
        done = step(command, sample_memory=i == runs)  # the last run: memory only
        if i < runs:
            floor.runs.append(done)
            progress(
                f"[pagefind alone {size}] run {i + 1}/{runs}: {done.wall:.2f} s; load {loadavg()}"
            )
        else:
            floor.peak = done.peak
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(docs, ignore_errors=True)
    return floor


# --------------------------------------------------------------------------------------


def report(size: int, runs: int, peer: Peer, floor: Floor) -> str:
    med = statistics.median
    hugo, pagefind = zip(*peer.cold, strict=True)
    edit_hugo, edit_pagefind = zip(*peer.one_edit, strict=True)
    peak_hugo, peak_pagefind = peer.peak[0].peak, peer.peak[1].peak
    rows = [
        ("Hugo alone", hugo, edit_hugo, peak_hugo),
        ("Pagefind alone (--site public)", pagefind, edit_pagefind, peak_pagefind),
    ]
    lines = [
        f"{size:,} articles, median of {runs} runs; Hugo + Pagefind: the median of the runs'",
        "sums, its peak the larger of the two (they run one after the other).",
        "",
        "| | cold s | cold CPU s | one edit s | peak MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cold, edit, peak in rows:
        wall, cpu = med(s.wall for s in cold), med(s.cpu for s in cold)
        lines.append(
            f"| {name} | {wall:.2f} | {cpu:.1f} | {med(s.wall for s in edit):.2f} | {peak:.0f} |"
        )
    both = med(h.wall + p.wall for h, p in peer.cold)
    both_cpu = med(h.cpu + p.cpu for h, p in peer.cold)
    both_edit = med(h.wall + p.wall for h, p in peer.one_edit)
    lines.append(
        f"| Hugo + Pagefind | {both:.2f} | {both_cpu:.1f} | {both_edit:.2f} | "
        f"{max(peak_hugo, peak_pagefind):.0f} |"
    )
    wall, cpu = med(s.wall for s in floor.runs), med(s.cpu for s in floor.runs)
    lines += [
        "",
        f"Pagefind alone on Marginalia's {floor.articles:,} search documents: {wall:.2f} s "
        f"({1000 * wall / floor.articles:.2f} ms an article), CPU {cpu:.1f} s "
        f"({1000 * cpu / floor.articles:.2f} ms an article), peak {floor.peak:.0f} MiB",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=positive, default=10000, help="articles in the corpus")
    parser.add_argument("--runs", type=positive, default=3, help="runs per timing (median)")
    parser.add_argument("--workdir", type=Path, help="corpus cache (kept); default: a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    args = parser.parse_args()
    if shutil.which("hugo") is None:
        print("peer_bench: no hugo on PATH (apt-get install hugo)", file=sys.stderr)
        return 2
    workdir = open_workdir(args.workdir, "peer-bench-")
    try:
        print(machine_line())
        print(subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip())
        print(f"Pagefind: {pagefind_binary()}")
        print(f"Load average before: {loadavg()}")
        corpus = ensure_corpus(workdir, args.size)
        peer = measure_peer(workdir, corpus, args.size, args.runs)
        floor = measure_floor(workdir, corpus, args.size, args.runs)
        print(f"Load average after: {loadavg()}")
        print()
        print(report(args.size, args.runs, peer, floor))
    except BenchError as error:
        print(f"peer_bench: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir / "hugo-site", ignore_errors=True)
        close_workdir(workdir, temporary=args.workdir is None and not args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
