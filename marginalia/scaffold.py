"""new and init: files an editor would otherwise copy by hand."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from . import atomic
from .analysis.prompt import PROMPTS_DIR
from .config import load_settings
from .content import CONTENT_DIR
from .errors import InputError, Problem
from .paths import builtin_dir
from .slugs import slugify

CONFIG_TEMPLATE = """\
# Marginalia site settings: every key is described in the README.
title: "My News Archive"
description: "News articles with critical analyses."
base_url: "https://USER.github.io/REPOSITORY/"   # where the site is served
language: en
timezone: UTC            # for dates written without one
paginate: 20             # articles per list page
permalink: "/{year}/{month}/{slug}/"
feed:
  limit: 20
analysis:
  model: gpt-4o-mini
  concurrency: 4
  max_retries: 5
  timeout: 120
  price_per_million_tokens: {input: 0.15, output: 0.60}
"""

SAMPLE_ARTICLE = """\
---
title: "Welcome to your archive"
date: {date}
source: https://www.example.com/news/welcome
source_name: Example News
authors: [Your Name]
tags: [meta]
summary: The first article of a new Marginalia archive.
---
Replace this article with your own. Each article is a Markdown file with YAML front
matter; `python build.py new "Headline"` creates one with today's date.
"""

GITIGNORE = "site/\n.cache/\n__pycache__/\n"


def _front_matter_line(key: str, value: str) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, width=10_000).strip()


def new_article(root: Path, title: str, *, source: str | None = None) -> Path:
    """content/YYYY/MM/<slug>.md dated now in the site's time zone; never overwrites."""
    settings = load_settings(root)
    if source is not None and (
        urlsplit(source).scheme not in ("http", "https") or not urlsplit(source).netloc
    ):
        raise InputError([Problem("--source", None, f"must be an http(s) URL, not {source!r}")])
    now = datetime.now(settings.zone).replace(microsecond=0)
    slug = slugify(title)
    if not slug:
        raise InputError(
            [Problem("new", None, f"cannot make a file name from the title {title!r}")]
        )
    path = root / CONTENT_DIR / f"{now:%Y}" / f"{now:%m}" / f"{slug}.md"
    if path.exists():
        raise InputError(
            [
                Problem(
                    path.relative_to(root).as_posix(), None, "already exists; choose another title"
                )
            ]
        )
    lines = ["---", _front_matter_line("title", title), f"date: {now.isoformat()}"]
    if source:
        lines.append(_front_matter_line("source", source))
    lines += ["authors: []", "tags: []", 'summary: ""', "---", "", ""]
    atomic.write_bytes(path, "\n".join(lines).encode("utf-8"))
    return path


def init_site(directory: Path) -> None:
    """A new site folder: config, a sample article, the default prompt, .gitignore."""
    if (directory / "config.yaml").exists():
        raise InputError(
            [
                Problem(
                    str(directory / "config.yaml"),
                    None,
                    "already exists: this folder is a site already",
                )
            ]
        )
    directory.mkdir(parents=True, exist_ok=True)
    today = datetime.now().astimezone().replace(microsecond=0)
    atomic.write_bytes(directory / "config.yaml", CONFIG_TEMPLATE.encode())
    sample = directory / CONTENT_DIR / f"{today:%Y}" / f"{today:%m}" / "welcome.md"
    atomic.write_bytes(sample, SAMPLE_ARTICLE.format(date=today.isoformat()).encode())
    (directory / PROMPTS_DIR).mkdir(exist_ok=True)
    shutil.copyfile(
        builtin_dir(PROMPTS_DIR) / "analysis.md", directory / PROMPTS_DIR / "analysis.md"
    )
    (directory / "analyses").mkdir(exist_ok=True)
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        atomic.write_bytes(gitignore, GITIGNORE.encode())
