"""Bytes a reader downloads for one search: /search/?q=WORD in Chromium with a cold cache.

For each built site given (a Marginalia root whose site/ is built), the site is served on
127.0.0.1 by Python's http.server in a thread, under the base path of its config.yaml
(as GitHub Pages serves a project site), and headless Chromium (/usr/bin/chromium, driven
by Playwright, a fresh browser context, so an empty cache, for every query) opens
/search/?q=WORD, waits for the first result, then until the server has sent nothing for
a second (Pagefind's UI loads the filters and the first results' fragments after the
results appear). Requests leaving 127.0.0.1 are aborted and counted.

The bytes are counted where they are sent: the server adds up the body of every response
(any browser thread's: page, scripts, Pagefind's web worker), by kind of file:

- page + JS/CSS: the HTML page, stylesheets, scripts (pagefind.js and its UI included),
  icons: whatever is not below;
- wasm: Pagefind's WebAssembly (wasm.LANG.pagefind);
- entry/meta: pagefind-entry.json and the pagefind.*.pf_meta files;
- index chunks: index/*.pf_index, the parts of the word index the query needs;
- filters: filter/*.pf_filter;
- fragments: fragment/*.pf_fragment, one per result shown.

Files are told apart by name, so that several bundles merged in the browser (Pagefind's
mergeIndex) are counted the same way, whatever their folders.

The server sends files as they are; GitHub Pages gzips text (HTML, CSS, JavaScript,
JSON, SVG), so the "gzip" column is the total with those bodies gzip-compressed (level 6)
and the others as they are (Pagefind's index, filter, fragment and wasm files are already
gzip-compressed). Headers are not counted. The byte counts do not depend on the machine's
load, and a second run gives the same figures.

    python -m marginalia build --root /work/bench/corpus-10000
    python benchmarks/search_bench.py /work/bench/corpus-1000 /work/bench/corpus-10000 \\
        [--words harbour,reckless,okafor] [--build] [--files]

--build runs `python -m marginalia build --root ROOT` first; --files lists every file
sent for each query, with its size, on stderr. Needs `pip install -e
".[test]"` (Playwright) and Chromium (MARGINALIA_CHROMIUM names another binary). The
table goes to stdout; a site that is not built, or a query that finds nothing within the
timeout, stops the benchmark with exit status 1.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from build_bench import (  # benchmarks/ is sys.path[0] when this file is run as a script
    BUILD,
    REPO,
    BenchError,
    machine_line,
    progress,
    run,
)
from playwright.sync_api import TimeoutError as BrowserTimeout
from playwright.sync_api import sync_playwright

from marginalia.config import load_settings

sys.path.insert(0, str(REPO / "tests"))
# this machine's Chromium, started as the tests start it
from test_browser import CHROMIUM, CHROMIUM_FLAGS

KINDS = ("page + JS/CSS", "wasm", "entry/meta", "index chunks", "filters", "fragments")
BY_SUFFIX = {".pf_index": "index chunks", ".pf_filter": "filters", ".pf_fragment": "fragments"}
GZIPPED_TYPES = frozenset({".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"})
RESULT = ".pagefind-ui__result .pagefind-ui__result-title a"
QUIET = 1.0  # seconds without a request after which the page is done
TIMEOUT = 120.0  # seconds for the first result


def kind(rel: str) -> str:
    """The kind of a file of the site, by its name: Pagefind names its files by kind, in
    whatever folder a bundle is (one bundle in pagefind/, or several merged)."""
    name = PurePosixPath(rel).name
    if name.startswith("wasm.") and name.endswith(".pagefind"):
        return "wasm"
    if name == "pagefind-entry.json" or name.endswith(".pf_meta"):
        return "entry/meta"
    return BY_SUFFIX.get(PurePosixPath(name).suffix, "page + JS/CSS")


def sent_gzipped(path: Path, data: bytes) -> int:
    """The size GitHub Pages would send: text gzip-compressed, the rest as it is."""
    if path.suffix in GZIPPED_TYPES:
        return len(gzip.compress(data, compresslevel=6, mtime=0))
    return len(data)


# --------------------------------------------------------------------------------------
# The server, counting what it sends


@dataclass
class Sent:
    """What the server sent since the last reset: bytes by kind, and when it last sent."""

    bytes: Counter = field(default_factory=Counter)
    gzipped: Counter = field(default_factory=Counter)
    requests: Counter = field(default_factory=Counter)
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes) in order
    missing: list[str] = field(default_factory=list)
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.bytes.clear()
            self.gzipped.clear()
            self.requests.clear()
            self.files.clear()
            self.missing.clear()
            self.last = time.monotonic()

    def add(self, rel: str, path: Path, data: bytes) -> None:
        with self.lock:
            what = kind(rel)
            self.bytes[what] += len(data)
            self.gzipped[what] += sent_gzipped(path, data)
            self.requests[what] += 1
            self.files.append((rel, len(data)))
            self.last = time.monotonic()

    def not_found(self, rel: str) -> None:
        with self.lock:
            self.missing.append(rel)
            self.last = time.monotonic()


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves the site below its base path only, and counts every body it sends."""

    base_path: str
    sent: Sent

    def do_GET(self) -> None:
        route = unquote(urlsplit(self.path).path)
        rel = route.removeprefix(self.base_path)
        path = Path(self.directory, rel)
        if path.is_dir():
            path = path / "index.html"
        if not route.startswith(self.base_path) or not path.is_file():
            self.sent.not_found(route)
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.sent.add(path.relative_to(self.directory).as_posix(), path, data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the counts are the report


@contextmanager
def serve(site: Path, base_path: str) -> Iterator[tuple[str, Sent]]:
    """The site on 127.0.0.1 under base_path; yields (its base URL, the counter)."""
    sent = Sent()
    handler = type("Handler", (CountingHandler,), {"base_path": base_path, "sent": sent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{base_path}", sent
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------------------
# One query


@dataclass
class Query:
    site: str
    word: str
    results: str  # Pagefind's message: "123 results for harbour"
    bytes: Counter
    gzipped: Counter
    requests: Counter
    files: list[tuple[str, int]]
    foreign: int


def measure(browser: Any, base_url: str, sent: Sent, site: str, word: str) -> Query:
    context = browser.new_context()  # its own, empty cache
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    foreign: list[str] = []

    def route(route: Any) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        sent.reset()
        page.goto(f"{base_url}search/?q={quote(word)}")
        page.wait_for_selector(RESULT, timeout=TIMEOUT * 1000)
        while time.monotonic() - sent.last < QUIET:
            time.sleep(QUIET / 10)
        message = page.locator(".pagefind-ui__message").inner_text().strip()
    except BrowserTimeout as error:
        where = f"{base_url}search/?q={quote(word)}"
        raise BenchError(f"{site}: no {RESULT} at {where}: {error}") from None
    finally:
        context.close()
    with sent.lock:
        if sent.missing:
            raise BenchError(f"{site}: the search page asked for missing files: {sent.missing}")
        return Query(
            site,
            word,
            message,
            Counter(sent.bytes),
            Counter(sent.gzipped),
            Counter(sent.requests),
            list(sent.files),
            len(foreign),
        )


def measure_sites(roots: list[Path], words: list[str], files: bool) -> list[Query]:
    queries = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            for root in roots:
                site = root / "site"
                if not (site / "search" / "index.html").is_file():
                    raise BenchError(f"{site}: not built with search (no search/index.html)")
                with serve(site, load_settings(root).base_path) as (base_url, sent):
                    for word in words:
                        query = measure(browser, base_url, sent, root.name, word)
                        progress(f"{root.name} {word!r}: {sum(query.bytes.values()):,} bytes")
                        for rel, size in query.files if files else ():
                            progress(f"  {size:>9,} {rel}")
                        queries.append(query)
        finally:
            browser.close()
    return queries


# --------------------------------------------------------------------------------------


def table(queries: list[Query]) -> str:
    kb = lambda n: f"{n / 1000:,.1f}"  # noqa: E731 - a column format
    head = [
        "site",
        "query",
        "results",
        *(f"{k} kB" for k in KINDS),
        "total kB",
        "gzip kB",
        "requests",
        "outside",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * (len(head) - 3)]
    for q in queries:
        cells = [
            q.site,
            q.word,
            q.results,
            *(kb(q.bytes[k]) for k in KINDS),
            kb(sum(q.bytes.values())),
            kb(sum(q.gzipped.values())),
            str(sum(q.requests.values())),
            str(q.foreign),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", type=Path, nargs="+", help="Marginalia roots with site/ built")
    parser.add_argument(
        "--words", default="harbour,reckless,okafor", help="comma-separated one-word queries"
    )
    parser.add_argument("--build", action="store_true", help="build each root first")
    parser.add_argument("--files", action="store_true", help="list each file sent (stderr)")
    args = parser.parse_args()
    words = [w.strip() for w in args.words.split(",") if w.strip()]
    if not CHROMIUM.exists():
        print(f"search_bench: no Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    try:
        roots = [root.resolve() for root in args.roots]
        if args.build:
            for root in roots:
                seconds, _ = run([*BUILD, str(root)])
                progress(f"built {root} in {seconds:.1f} s")
        print(machine_line())
        print(f"Load average: {Path('/proc/loadavg').read_text().strip()}")
        print()
        print(table(measure_sites(roots, words, args.files)))
    except BenchError as error:
        print(f"search_bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
