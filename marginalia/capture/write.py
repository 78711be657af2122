"""The new article file: front matter in the format `check` reads, a file name no other
article has, and the sources already in the archive, so that no page is captured twice."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from pathlib import Path

from .. import atomic, frontmatter
from ..content import CONTENT_DIR, PAGES_DIR, content_files, is_web_url, read_document
from ..errors import Problems
from ..slugs import slugify
from .extract import Captured
from .urls import url_key

MAX_SLUG = 80  # file names stay well inside every file system's limits


def archive_sources(root: Path) -> dict[str, str]:
    """{url_key of its source: "content/…" path} of every article that names a source."""
    index: dict[str, str] = {}
    for rel, path in content_files(root):
        if rel.startswith(PAGES_DIR + "/"):
            continue
        doc = read_document(path, rel, Problems())  # a broken file is check's business
        source = doc.meta.get("source") if doc is not None else None
        if isinstance(source, str) and is_web_url(source.strip()):
            index.setdefault(url_key(source.strip()), f"{CONTENT_DIR}/{rel}")
    return index


def article_text(article: Captured) -> str:
    """The whole file: front matter (only the fields the page gave) and the Markdown body."""
    published = article.published
    if isinstance(published, datetime):
        published = published.replace(microsecond=0)
    lines = [
        "---",
        frontmatter.field_line("title", article.title),
        f"date: {published.isoformat()}",
    ]
    if article.source:
        lines.append(frontmatter.field_line("source", article.source))
    if article.source_name:
        lines.append(frontmatter.field_line("source_name", article.source_name))
    if article.authors:
        lines.append(frontmatter.field_line("authors", article.authors))
    if article.tags:
        lines.append(frontmatter.field_line("tags", article.tags))
    if article.summary:
        lines.append(frontmatter.field_line("summary", article.summary))
    return "\n".join([*lines, "---", article.body.strip(), ""])


def new_path(root: Path, article: Captured, taken: set[Path]) -> Path:
    """content/YYYY/MM/<slug>.md by the article's own date; <slug>-2.md and so on when
    that name is in the archive or was taken earlier in this run."""
    folder = root / CONTENT_DIR / f"{article.published.year:04d}" / f"{article.published.month:02d}"
    base = _file_slug(article.title)
    names = (f"{base}.md" if number == 1 else f"{base}-{number}.md" for number in count(1))
    return next(
        path for name in names if (path := folder / name) not in taken and not path.exists()
    )


def write_article(path: Path, article: Captured) -> None:
    """Write the file whole or not at all."""
    atomic.write_bytes(path, article_text(article).encode("utf-8"))


def _file_slug(title: str) -> str:
    slug = slugify(title)
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug or "article"
