"""One `import` run: pages (or saved files, or the entries of feeds) fetched a few at a
time, each made into an article file or reported with the reason it could not be."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import load_settings
from ..content import is_web_url
from ..errors import UsageError
from . import DEFAULT_TIMEOUT, feed
from .charset import decode_html
from .extract import Captured, Unusable, extract_article
from .fetch import Failure, Response, fetch_all
from .urls import url_key
from .write import archive_sources, new_path, write_article

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
HTML_TYPES = ("text/html", "application/xhtml+xml")
PROGRESS_FROM = 4  # pages; fewer finish before anyone wonders


@dataclass(frozen=True)
class ImportOptions:
    targets: list[str]  # URLs or saved .html files; feed URLs with feeds=True
    feeds: bool = False
    limit: int | None = None  # newest entries per feed
    dry_run: bool = False
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class ImportReport:
    written: list[tuple[Path, str]] = field(default_factory=list)  # (file, title)
    already: list[tuple[str, str]] = field(default_factory=list)  # (URL, content/… file)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (URL or file, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (URL, what was done instead)


@dataclass(frozen=True)
class _Job:
    """One article to capture: a URL to fetch or a saved page, maybe from a feed entry."""

    label: str  # the URL or file name, as shown in messages
    url: str | None = None
    saved_html: str | None = None
    entry: feed.Entry | None = None


def import_articles(
    root: Path, options: ImportOptions, progress: Callable[[str], None]
) -> ImportReport:
    """Capture what options name into root/content/; usage errors raise UsageError."""
    _check_usage(options)
    load_settings(root)  # a site folder, with a config that reads, as `new` wants
    report = ImportReport()
    sources = archive_sources(root)
    if options.feeds:
        jobs = _feed_jobs(options, sources, report)
    else:
        jobs = [_page_job(target) for target in options.targets]
    urls = [job.url for job in jobs if job.url]
    tick = (
        (lambda done, total, url: progress(f"[{done}/{total}] {url}"))
        if len(urls) >= PROGRESS_FROM
        else None
    )
    fetched = dict(zip(urls, fetch_all(urls, options.timeout, tick), strict=True))
    taken: set[Path] = set()
    for job in jobs:
        result = _capture(job, fetched.get(job.url) if job.url else None, report)
        if result is None:
            continue
        article, keys = result
        known = next((sources[key] for key in keys if key in sources), None)
        if known is not None:
            report.already.append((job.label, known))
            continue
        path = new_path(root, article, taken)
        if not options.dry_run:
            write_article(path, article)
        taken.add(path)
        rel = path.relative_to(root).as_posix()
        sources.update(dict.fromkeys(keys, rel))
        report.written.append((path, article.title))
    return report


def _check_usage(options: ImportOptions) -> None:
    """All that is wrong with the arguments at once, before anything is fetched."""
    problems = [
        problem for target in options.targets if (problem := _usage_problem(target, options.feeds))
    ]
    if problems:
        raise UsageError("\n".join(problems))


def _usage_problem(target: str, feeds: bool) -> str | None:
    """Why target is not something to import from; None if it is."""
    if is_web_url(target):
        return None
    if target.lower().startswith(("http://", "https://")):
        return f"{target}: not a usable URL"
    if feeds:
        return f"{target}: a feed must be an http(s) URL"
    if "://" in target:
        return f"{target}: only http(s) URLs can be imported"
    path = Path(target)
    if not path.is_file():
        return f"{target}: no such file (and not an http(s) URL)"
    try:
        with path.open("rb") as handle:
            start = handle.read(2048).lower()
    except OSError as exc:
        return f"{target}: cannot be read: {exc.strerror}"
    if path.suffix.lower() in HTML_SUFFIXES or b"<html" in start or b"<!doctype html" in start:
        return None
    return f"{target}: not an HTML file (save the page as .html)"


def _page_job(target: str) -> _Job:
    if is_web_url(target):
        return _Job(target, url=target)
    return _Job(target, saved_html=decode_html(Path(target).read_bytes()))


def _feed_jobs(options: ImportOptions, sources: dict[str, str], report: ImportReport) -> list[_Job]:
    """A job for each of the newest entries of each feed that is not in the archive."""
    jobs = []
    for url, response in zip(
        options.targets, fetch_all(options.targets, options.timeout), strict=True
    ):
        found = _feed_entries(response, options.timeout)
        if isinstance(found, Failure):
            report.failed.append((url, found.reason))
            continue
        for entry in found[: options.limit]:
            named = f"{url} ({entry.title or 'an entry'})"
            if entry.link is not None and not is_web_url(entry.link):
                report.failed.append((named, f"not a usable URL: {entry.link}"))
            elif entry.link is None and entry.full_text is None:
                report.failed.append((named, "no link and no text"))
            elif entry.link is not None and (known := sources.get(url_key(entry.link))):
                report.already.append((entry.link, known))
            else:
                jobs.append(_Job(entry.link or url, url=entry.link, entry=entry))
    return jobs


def _feed_entries(response: Response | Failure, timeout: float) -> list[feed.Entry] | Failure:
    """The feed's entries, following an HTML page's <link rel="alternate"> to the feed."""
    if isinstance(response, Failure):
        return response
    found = feed.entries(response)
    if found is not None:
        return found
    link = feed.feed_link(response) if response.media_type in HTML_TYPES else None
    if link is None:
        return Failure(response.url, "not an RSS or Atom feed, and the page links to none")
    if not is_web_url(link):
        return Failure(response.url, f"the feed the page names is not a usable URL: {link}")
    linked = fetch_all([link], timeout)[0]
    if isinstance(linked, Failure):
        return linked
    found = feed.entries(linked)
    if found is None:
        return Failure(response.url, f"{link}, which the page names as its feed, is not one")
    return found


def _capture(
    job: _Job, response: Response | Failure | None, report: ImportReport
) -> tuple[Captured, list[str]] | None:
    """The article of a job and the URL keys it is known by, canonical first; None
    (reported) if it cannot be used."""
    try:
        if job.saved_html is not None:
            article = extract_article(job.saved_html, None)
        elif isinstance(response, Response):
            if response.media_type not in HTML_TYPES:
                raise Unusable(f"not an HTML page ({response.media_type})")
            article = extract_article(response.text, response.final_url)
        elif job.entry is not None:
            reason = response.reason if isinstance(response, Failure) else "no link"
            article = feed.captured_from_entry(job.entry)
            report.notes.append(
                (job.label, f"page not fetched ({reason}); written from the feed's own text")
            )
        else:
            raise Unusable(response.reason if isinstance(response, Failure) else "nothing to read")
    except Unusable as exc:
        reason = str(exc)
        if isinstance(response, Failure) and job.entry is not None:
            reason = f"{response.reason} (the feed's entry cannot stand in: {reason})"
        report.failed.append((job.label, reason))
        return None
    report.notes.extend((job.label, note) for note in article.notes)
    urls = [article.source, job.url, response.final_url if isinstance(response, Response) else None]
    return article, list(dict.fromkeys(url_key(url) for url in urls if url))
