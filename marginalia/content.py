"""Reading content/: front matter validated into Article and Page records.

Every problem is collected with its file and line; nothing here renders or writes.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import dates, frontmatter
from .errors import Problems
from .reading import reading_minutes
from .records import RecordCache, no_cache
from .slugs import is_safe_slug, slugify
from .summary import summary_of

CONTENT_DIR = "content"
PAGES_DIR = "pages"

ARTICLE_KEYS = frozenset(
    [
        "title",
        "date",
        "source",
        "source_name",
        "authors",
        "tags",
        "summary",
        "slug",
        "draft",
        "updated",
        "analysis",
        "language",
    ]
)
PAGE_KEYS = frozenset(["title", "date", "summary", "slug", "draft", "language"])


def article_sha256(title: str, body: str) -> str:
    """The hash an analysis is tied to (design §3): title, a newline, the stripped body.

    Part of the sidecar contract: changing it makes every analysis stale.
    """
    text = title + "\n" + body.replace("\r\n", "\n").replace("\r", "\n").strip()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(eq=False)
class Article:
    """One news article; the assemble step fills the fields after `body`."""

    path: str  # relative to content/, POSIX separators
    title: str
    date: datetime
    updated: datetime | None
    source: str | None
    source_name: str | None
    author_names: list[str]
    tag_names: list[str]
    summary: str
    slug: str
    draft: bool
    wants_analysis: bool
    language: str | None
    extra: dict[str, Any]
    body: str
    sha256: str
    has_time: bool  # false for `date: 2024-06-20`: pages show the day alone
    reading_minutes: int  # of the body (reading.py): lists and the page show it
    digest: str  # of the file's bytes: what the build cache and dependency records key on
    # Filled by archive.assemble / render:
    url: str = ""
    authors: list[Any] = field(default_factory=list)
    tags: list[Any] = field(default_factory=list)
    source_term: Any = None
    analysis: Any = None
    fingerprint: str = ""  # a digest of all a template can see of it (archive.assemble)
    month_url: str = ""  # site path of its month's archive page
    html_store: Any = None  # markdown.HtmlStore: the body is rendered when a page asks

    @property
    def has_analysis(self) -> bool:
        return self.analysis is not None

    @property
    def html(self) -> str:
        return self.html_store.render("article", self.body)


@dataclass(eq=False)
class Page:
    """A standalone page from content/pages/: no date archive, no analysis."""

    path: str
    title: str
    date: datetime | None
    summary: str
    slug: str
    draft: bool
    language: str | None
    extra: dict[str, Any]
    body: str
    digest: str
    url: str = ""
    html_store: Any = None

    @property
    def html(self) -> str:
        return self.html_store.render("article", self.body)


_URL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def is_web_url(text: str) -> bool:
    """An http(s) URL with a host and, if it has one, a port, and no control character
    (a tab or a newline in `--base-url` would be in every page): what an article's
    `source` must be, and what any URL from outside must be before it is used."""
    if _URL_CONTROL.search(text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname  # None for 'https://:80/'; ValueError for 'http://[::1'
        parts.port  # noqa: B018 - ValueError for 'http://h:80x/' and 'http://h:99999/'
    except ValueError:
        return False
    return host is not None and parts.scheme in ("http", "https")


# user info, then a bracketed IPv6 address or a host of ASCII letters, digits, '.', '-'
# and '_' (an IDN in its xn-- form), then a port
_SERVICE_NETLOC = re.compile(r"(?:[^@]*@)?(\[[^\]]*\]|[A-Za-z0-9_.-]+)(?::[0-9]+)?")


def is_service_url(text: str) -> bool:
    """A web URL (is_web_url) that every HTTP client takes: ASCII, no space,
    and a host that is a name, a valid IPv4 address or a valid IPv6 one in brackets. What
    the model service's address must be: the openai client raises, at once and with a
    traceback, on 'http://256.1.1.1/', 'http://[::1]x/' or a host no IDNA encoder takes."""
    if not (is_web_url(text) and text.isascii() and " " not in text):
        return False
    netloc = _SERVICE_NETLOC.fullmatch(urlsplit(text).netloc)
    if netloc is None:
        return False
    host = netloc[1]
    try:
        if host.startswith("["):
            ipaddress.IPv6Address(host[1:-1])
        elif re.fullmatch(r"[0-9.]+", host):
            ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


class _Fields:
    """Reads typed values out of one document, recording located problems."""

    def __init__(self, doc: frontmatter.Document, path: str, problems: Problems) -> None:
        self.doc = doc
        self.path = path
        self.problems = problems

    def error(self, key: str | list, message: str) -> None:
        key_path = [key] if isinstance(key, str) else key
        self.problems.error(self.path, self.doc.line_of(key_path), message)

    def text(self, key: str, *, required: bool = False) -> str | None:
        return self.text_at([key], required=required)

    def text_at(self, key_path: list, *, required: bool = False) -> str | None:
        """A text value; a scalar YAML typed (`Yes`, `2024`) comes back as written."""
        key = str(key_path[0])
        value = _dig(self.doc.meta, key_path)
        if value is None:
            if required:
                self.error(key_path, f"'{key}' is required")
            return None
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, bool | int | float | date):
            value = self.doc.text_of(key_path) or str(value)
        else:
            self.error(key_path, f"'{key}' must be text, not a {_kind(value)}")
            return None
        if required and not value:
            self.error(key_path, f"'{key}' must not be empty")
            return None
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.doc.meta.get(key, default)
        if not isinstance(value, bool):
            self.error(key, f"'{key}' must be true or false, not {value!r}")
            return default
        return value

    def moment(self, key: str, zone: ZoneInfo, *, required: bool = False) -> datetime | None:
        """A date or date-time; naive ones are in the site's time zone."""
        value = self.doc.meta.get(key)
        if value is None:
            if required:
                self.error(key, f"'{key}' is required (e.g. {key}: 2024-06-20T16:00:00+00:00)")
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                self.error(
                    key,
                    f"'{key}' is not a date: {value!r} (use 2024-06-20 or 2024-06-20T16:00:00+02:00)",
                )
                return None
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=zone)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=zone)
        self.error(key, f"'{key}' must be a date, not a {_kind(value)}")
        return None

    def names(self, key: str, *, split_commas: bool) -> list[str]:
        """A list of names given as a list or as one (comma-separated) string."""
        value = self.doc.meta.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            items = value.split(",") if split_commas else [value]
            return [" ".join(item.split()) for item in items if item.strip()]
        key_paths = [[key, i] for i in range(len(value))] if isinstance(value, list) else [[key]]
        names = (self.text_at(key_path) for key_path in key_paths)
        return [" ".join(name.split()) for name in names if name]

    def url(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        if not is_web_url(value):
            self.error(key, f"'{key}' must be an http(s) URL, not {value!r}")
            return None
        return value

    def slug(self, default_from: str) -> str:
        value = self.text("slug")
        if value is None:
            slug = slugify(default_from)
            if not slug:
                self.error(
                    "title",
                    f"cannot make a URL slug from the file name {default_from!r}; set 'slug'",
                )
            return slug
        if not is_safe_slug(value):
            self.error(
                "slug",
                f"'slug' must be lowercase letters, digits and hyphens, like {slugify(value) or 'my-article'!r}",
            )
            return slugify(value)
        return value

    def language(self) -> str | None:
        """A language tag (`de`, `pt-BR`); one whose dates Babel cannot write is a warning."""
        value = self.text("language")
        unknown = dates.unknown_language(value, "the site's language") if value else None
        if unknown:
            self.problems.warn(self.path, self.doc.line_of(["language"]), unknown)
        return value

    def warn_unknown(self, known: frozenset[str]) -> dict[str, Any]:
        """Unknown keys are kept for templates; near-misses of known ones get a warning."""
        extra = {key: value for key, value in self.doc.meta.items() if key not in known}
        for key in extra:
            close = near_miss(key, known)
            if close:
                line = self.doc.line_of([key])
                self.problems.warn(self.path, line, f"unknown key '{key}': did you mean '{close}'?")
        return extra


def near_miss(key: str, known: frozenset[str]) -> str | None:
    """The known key `key` is likely a typo of: one edit or swap away (`tgas`), or close."""
    folded = key.casefold()
    for name in sorted(known):
        if folded == name or _one_edit(folded, name):
            return name
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    return close[0] if close else None


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i, j = diff
            return a[i] == b[j] and a[j] == b[i]
        return len(diff) == 1
    short, long = sorted((a, b), key=len)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _has_time(value: Any) -> bool:
    """Whether a date was written with a time of day (`2024-06-20` was not)."""
    if isinstance(value, str):
        return len(value.strip()) > len("2024-06-20")
    return not (isinstance(value, date) and not isinstance(value, datetime))


def _dig(mapping: dict, key_path: list) -> Any:
    """The value at key_path, or None where any step is absent."""
    value: Any = mapping
    for step in key_path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list"}.get(type(value), type(value).__name__)


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_document(path: str | Path, shown: str, problems: Problems) -> frontmatter.Document | None:
    """Read and split one file, or record why it cannot be."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return frontmatter.parse(frontmatter.decode(data), file_digest(data))
    except frontmatter.FrontMatterError as exc:
        problems.error(shown, exc.line, exc.message)
    except OSError as exc:
        problems.error(shown, None, f"cannot be read: {exc.strerror}")
    return None


def parse_article(
    doc: frontmatter.Document, rel: str, zone: ZoneInfo, problems: Problems
) -> Article | None:
    """Validate an article's front matter; None (with problems recorded) if it is unusable."""
    shown = f"{CONTENT_DIR}/{rel}"
    before = len(problems.errors)
    fields = _Fields(doc, shown, problems)
    title = fields.text("title", required=True)
    published = fields.moment("date", zone, required=True)
    article = Article(
        path=rel,
        title=title or "",
        date=published or datetime.min,
        updated=fields.moment("updated", zone),
        source=fields.url("source"),
        source_name=fields.text("source_name"),
        author_names=fields.names("authors", split_commas=False),
        tag_names=fields.names("tags", split_commas=True),
        summary=fields.text("summary") or summary_of(doc.body),
        slug=fields.slug(Path(rel).stem),
        draft=fields.flag("draft", False),
        wants_analysis=fields.flag("analysis", True),
        language=fields.language(),
        extra=fields.warn_unknown(ARTICLE_KEYS),
        body=doc.body,
        sha256=article_sha256(title or "", doc.body),
        has_time=_has_time(doc.meta.get("date")),
        reading_minutes=reading_minutes(doc.body),
        digest=doc.digest,
    )
    return article if len(problems.errors) == before else None


def parse_page(
    doc: frontmatter.Document, rel: str, zone: ZoneInfo, problems: Problems
) -> Page | None:
    """Validate a standalone page's front matter (only the title is required)."""
    shown = f"{CONTENT_DIR}/{rel}"
    before = len(problems.errors)
    fields = _Fields(doc, shown, problems)
    page = Page(
        path=rel,
        title=fields.text("title", required=True) or "",
        date=fields.moment("date", zone),
        summary=fields.text("summary") or summary_of(doc.body),
        slug=fields.slug(Path(rel).stem),
        draft=fields.flag("draft", False),
        language=fields.language(),
        extra=fields.warn_unknown(PAGE_KEYS),
        body=doc.body,
        digest=doc.digest,
    )
    return page if len(problems.errors) == before else None


def content_files(root: Path) -> list[tuple[str, str]]:
    """(path relative to content/, file path) of every Markdown file, sorted."""
    return markdown_files(root / CONTENT_DIR)


def markdown_files(base: Path) -> list[tuple[str, str]]:
    """(path relative to base, file path) of every .md file below base, sorted; files and
    folders whose names start with a dot are left out. Plain strings: an archive has tens
    of thousands of files, and every build lists them all."""
    found: list[tuple[str, str]] = []

    def walk(folder: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir():
                walk(entry.path, prefix + name + "/")
            elif name.endswith(".md"):
                found.append((prefix + name, entry.path))

    walk(str(base), "")
    return sorted(found)


@dataclass
class Content:
    articles: list[Article]
    pages: list[Page]
    article_files: set[str]  # every article file, drafts and broken ones included


def load_content(
    root: Path,
    zone: ZoneInfo,
    problems: Problems,
    *,
    drafts: bool = False,
    records: RecordCache | None = None,
) -> Content:
    """Every article and page under root/content, drafts only when asked for."""
    records = records or no_cache()
    files = content_files(root)

    def parser(rel: str, path: str) -> Callable[[Problems], Article | Page | None]:
        parse_one = parse_page if rel.startswith(PAGES_DIR + "/") else parse_article

        def parse(found: Problems) -> Article | Page | None:
            doc = read_document(path, f"{CONTENT_DIR}/{rel}", found)
            return parse_one(doc, rel, zone, found) if doc is not None else None

        return parse

    items = [(f"{CONTENT_DIR}/{rel}", path, parser(rel, path)) for rel, path in files]
    articles: list[Article] = []
    pages: list[Page] = []
    for item in records.get_many(items, problems):
        if item is not None and (drafts or not item.draft):
            (pages if isinstance(item, Page) else articles).append(item)
    article_files = {rel for rel, _ in files if not rel.startswith(PAGES_DIR + "/")}
    return Content(articles, pages, article_files)
