"""Search (design §8): the Pagefind index of the articles in site/pagefind/, the /search/
page and /opensearch.xml.

What is indexed is what the archive knows, not the rendered pages: each article becomes a
small HTML document for Pagefind (the title weighted, the summary, the text, then the
analysis under a heading of its own, so that Pagefind's sub-results say when a match is in
the analysis), with its tags, outlet, authors and year as filters and its date as the sort
key. Pagefind's binary, shipped in the `pagefind[extended]` wheel (the extended build
segments Chinese, Japanese and Korean), indexes them: one index per language.

The binary is run on a folder of those documents rather than fed records through the
wrapper's PagefindIndex: pagefind 1.5.2's Python service reads one reply per 0.1 s
(pagefind/service/__init__.py, _wait_for_responses): 50 records took 5 s, 1,000 would
take 100.

Pagefind 1.5.2 is deterministic but for its filter indexes: it writes a filter's values
in hash-map order, which differs from run to run (Pagefind issue #638), so filter/*, the
pagefind.*.pf_meta that names them and pagefind-entry.json may differ between two
indexings of the same articles; the word index and the fragments (the bulk) do not.
Within one site the bytes stay put: see below.

Pagefind has no incremental index. The bundle is kept in .cache/ under a key of all that
is indexed: a build whose articles did not change copies it without indexing; any change
to an article's text, analysis or terms indexes them all again.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC
from importlib import metadata
from pathlib import Path
from typing import NoReturn
from xml.sax.saxutils import quoteattr

from . import __version__, dates
from .archive import Site
from .content import Article
from .errors import InputError, Problem
from .output import output_path
from .pages import PageJob
from .theme import Urls

SEARCH_URL = "/search/"
OPENSEARCH = "opensearch.xml"
BUNDLE_DIR = "pagefind"  # in site/
CACHE_FOLDER = "search"  # in .cache/marginalia/: the bundle of each key, and work folders
ENTRY = "pagefind-entry.json"  # written last by Pagefind: a bundle without it is incomplete
ANALYSIS_ID = "analysis"  # the article page's anchor of the analysis heading
ANALYSIS_HEADING = "Machine-written analysis"
UNSTABLE = re.compile(r"filter/.*|pagefind\.[^/]*\.pf_meta|pagefind-entry\.json")  # in the bundle
TITLE_WEIGHT = 10  # Pagefind's default weight is 1, a heading's up to 7


def search_page(site: Site, urls: Urls) -> PageJob:
    """/search/: Pagefind's UI, with the languages the index has to choose from."""
    languages = sorted({article.language or site.settings.language for article in site.articles})
    context = {
        "languages": languages,
        "canonical": urls.abs_url(SEARCH_URL),
        "page_title": "Search",
        "description": f"Search {site.settings.title}",
    }
    return PageJob(SEARCH_URL, "search.html", context, "")


def opensearch_xml(site: Site, urls: Urls) -> bytes:
    """The OpenSearch description that lets a browser add the archive as a search engine."""
    title = site.settings.title
    template = urls.abs_url(SEARCH_URL) + "?q={searchTerms}"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">',
        f"  <ShortName>{html.escape(_short_name(title), quote=False)}</ShortName>",
        f"  <Description>{html.escape(f'Search {title}', quote=False)}</Description>",
        "  <InputEncoding>UTF-8</InputEncoding>",
        f'  <Url type="text/html" method="get" template={quoteattr(template)}/>',
        "</OpenSearchDescription>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _short_name(title: str, limit: int = 16) -> str:
    """OpenSearch's ShortName holds 16 characters: the title's first words that fit."""
    short = ""
    for word in title.split():
        if len(short) + len(word) + bool(short) > limit:
            break
        short = f"{short} {word}" if short else word
    return short or title[:limit]


@functools.cache
def pagefind_version() -> str:
    return metadata.version("pagefind_bin_extended")


def article_urls(site: Site) -> frozenset[str]:
    """What an index of this site's articles points to."""
    return frozenset(article.url for article in site.articles)


def index_key(site: Site) -> str:
    """A digest of all that is indexed: every article as its pages see it (file, analysis,
    URL, terms), in order, and what turns that into documents."""
    settings = site.settings
    hasher = hashlib.blake2b(digest_size=16)
    parts = [__version__, pagefind_version(), settings.language, settings.timezone]
    parts.append(repr(settings.markdown.unsafe_html))
    parts += [article.fingerprint for article in site.articles]
    hasher.update("\n".join(parts).encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


_HEADING_ID = re.compile(r'(<h[1-6]) id="[^"]*"')


def document(article: Article, language: str) -> str:
    """The HTML that Pagefind indexes for one article. Headings with an id start a
    sub-result: the article's own, and the analysis's heading (its inner ones lose theirs,
    so that every match in it is shown as the analysis's)."""
    esc = html.escape
    sort_date = article.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = [
        f'<meta data-pagefind-meta="date[content]" content="{esc(dates.style(language).human_date(article.date))}">',
        f'<meta data-pagefind-sort="date[content]" content="{sort_date}">',
        f'<meta data-pagefind-filter="year[content]" content="{article.date.year}">',
    ]
    if article.source_term is not None:
        outlet = esc(article.source_term.name)
        head.append(f'<meta data-pagefind-meta="outlet[content]" content="{outlet}">')
        head.append(f'<meta data-pagefind-filter="outlet[content]" content="{outlet}">')
    for kind, terms in (("tag", article.tags), ("author", article.authors)):
        for term in terms:
            head.append(f'<meta data-pagefind-filter="{kind}[content]" content="{esc(term.name)}">')
    body = [f'<h1 data-pagefind-weight="{TITLE_WEIGHT}">{esc(article.title)}</h1>']
    if article.summary:
        body.append(f"<p>{esc(article.summary)}</p>")
    body.append(str(article.html))
    if article.analysis is not None:
        body.append(f'<h2 id="{ANALYSIS_ID}">{ANALYSIS_HEADING}</h2>')
        body.append(_HEADING_ID.sub(r"\1", str(article.analysis.html)))
        for note in article.analysis.notes:  # a match in a note is an analysis match
            text = article.analysis.html_store.render("analysis", note.text)
            body.append(_HEADING_ID.sub(r"\1", str(text)))
    return (
        f'<!doctype html><html lang="{esc(language)}"><head><meta charset="utf-8">'
        + "".join(head)
        + "</head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


@dataclass(frozen=True)
class Later:
    """serve's way (serve/search_index.py): the build publishes a bundle .cache/ has, and otherwise
    leaves indexing for later. `served` holds the article URLs of the bundle now in
    site/pagefind/ (None: not known): it stays until the new one is ready if every one of
    them is still an article's URL, and is taken away otherwise."""

    served: frozenset[str] | None

    def keeps(self, site: Site) -> bool:
        return self.served is not None and self.served <= article_urls(site)


def cached(cache_dir: Path, key: str) -> Path | None:
    """The folder of the bundle for key if .cache/ has it whole."""
    done = cache_dir / CACHE_FOLDER / key
    return done if (done / ENTRY).is_file() else None


def bundle(cache_dir: Path, site: Site, key: str) -> Path:
    """The folder of the Pagefind bundle for key: indexed now unless .cache/ has it. Raise
    InputError (naming Pagefind) if the binary fails; a failed run leaves nothing."""
    return cached(cache_dir, key) or Indexing(cache_dir, site, key).result()


class Indexing:
    """One run of Pagefind for key, in a work folder of .cache/: a thread writes the
    documents (about 1 ms an article) and runs the binary as a subprocess, so that serve
    can serve meanwhile; the bundle is moved into .cache/ whole when it is done.

    The thread reads the site: nothing may change it until the run is done or cancelled
    (serve cancels the run before it rebuilds, and so before it forks build workers)."""

    def __init__(self, cache_dir: Path, site: Site, key: str) -> None:
        self.key = key
        self.site = site
        self.store = cache_dir / CACHE_FOLDER
        self.work = self.store / f"work-{secrets.token_hex(8)}"
        self.process: subprocess.Popen | None = None
        self.failure: BaseException | None = None
        self.cancelled = False
        self.lock = threading.Lock()  # between cancel() and the start of the binary
        self.thread = threading.Thread(target=self._run, name="search-index", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            docs = self.work / "docs"
            docs.mkdir(parents=True)  # a site with no articles yet has none
            for article in self.site.articles:
                if self.cancelled:
                    return
                path = docs / output_path(article.url)
                path.parent.mkdir(parents=True, exist_ok=True)
                language = article.language or self.site.settings.language
                path.write_text(document(article, language), encoding="utf-8")
            with self.lock:
                if self.cancelled:
                    return
                self.process = _start(docs, self.work / BUNDLE_DIR, self.work / "log.txt")
            if self.process is not None:
                self.process.wait()
        except BaseException as exc:  # handed to result()
            self.failure = exc

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self) -> Path:
        """Wait for the run; the bundle's folder in .cache/, or InputError."""
        try:
            self.thread.join()
            if self.failure is not None:
                raise self.failure
            if self.process is None:
                _fail("no Pagefind binary: pip install 'pagefind[extended]'")
            code = self.process.returncode
            out = self.work / BUNDLE_DIR
            if code != 0 or not (out / ENTRY).is_file():
                log = (self.work / "log.txt").read_text(encoding="utf-8", errors="replace")
                _fail(f"indexing failed ({code}): {log}")
            for old in self.store.iterdir():
                if old != self.work:
                    shutil.rmtree(old, ignore_errors=True)
            done = self.store / self.key
            out.rename(done)
            return done
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the run if it is under way and remove the work folder."""
        with self.lock:
            self.cancelled = True
            process = self.process
        if process is not None and process.poll() is None:
            process.kill()
        self.thread.join()
        shutil.rmtree(self.work, ignore_errors=True)


def _start(docs: Path, out: Path, log: Path) -> subprocess.Popen | None:
    """Pagefind on docs, writing to out, its messages to log; None if there is no binary."""
    from pagefind.service import get_executable  # the binary of pagefind_bin_extended

    executable = get_executable()
    if executable is None:
        return None
    command = [str(executable), "--site", str(docs), "--output-path", str(out), "--quiet"]
    with log.open("wb") as stream:
        return subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)


def _fail(message: str) -> NoReturn:
    raise InputError([Problem("pagefind", None, message.strip())])
