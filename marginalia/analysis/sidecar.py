"""Analysis sidecars (design §3): analyses/<article path>, front matter + Markdown.

A sidecar is the durable record of one model call (model, usage, hashes, time) and the
editor's place to review it: `locked: true` means a person owns it now.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .. import atomic, frontmatter
from ..content import markdown_files, read_document
from ..errors import Problems
from ..notes.model import Note, join_notes, split_notes
from ..records import RecordCache, no_cache

ANALYSES_DIR = "analyses"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Sidecar:
    article: str  # path relative to content/
    model: str
    body: str  # the analysis, without its notes
    prompt: str = "analysis"
    prompt_sha256: str | None = None
    article_sha256: str | None = None
    created: datetime | None = None
    usage: dict[str, int] = field(default_factory=dict)
    locked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    digest: str = ""  # of the file's bytes, when read from a file
    notes: list[Note] = field(default_factory=list)  # in the order of the file


def sidecar_path(root: Path, article_rel: str) -> Path:
    return root / ANALYSES_DIR / article_rel


def parse_sidecar(doc: frontmatter.Document, rel: str, problems: Problems) -> Sidecar | None:
    """Validate a sidecar's front matter; a broken one is an error naming file and line."""
    shown = f"{ANALYSES_DIR}/{rel}"
    meta = dict(doc.meta)
    before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(shown, doc.line_of([key]), message)

    model = meta.pop("model", None)
    if not isinstance(model, str) or not model.strip():
        bad("model", "'model' is required: the model that wrote this analysis")
    hashes = {}
    for key in ("prompt_sha256", "article_sha256"):
        value = meta.pop(key, None)
        if isinstance(value, int):  # an all-digit hex digest, typed by YAML
            value = doc.text_of([key])
        if value is not None and not (isinstance(value, str) and _HEX64.fullmatch(value)):
            bad(key, f"'{key}' must be 64 lowercase hex digits")
        hashes[key] = value
    created = meta.pop("created", None)
    if isinstance(created, str):
        with contextlib.suppress(ValueError):
            created = datetime.fromisoformat(created)
    if created is not None and not (isinstance(created, datetime) and created.tzinfo):
        bad("created", "'created' must be a date-time with a time zone")
    usage = meta.pop("usage", None) or {}
    if not (isinstance(usage, dict) and all(isinstance(v, int) for v in usage.values())):
        bad("usage", "'usage' must map token kinds to whole numbers")
    locked = meta.pop("locked", False)
    if not isinstance(locked, bool):
        bad("locked", "'locked' must be true or false")
    prompt = meta.pop("prompt", "analysis")
    if not isinstance(prompt, str):
        bad("prompt", "'prompt' must be the prompt's name")
    article = meta.pop("article", rel)
    if article != rel:
        problems.warn(
            shown,
            doc.line_of(["article"]),
            f"'article' says {article!r} but this sidecar belongs to content/{rel}",
        )
    body_line = doc.yaml_text.count("\n") + 3  # after the opening and closing fences
    analysis, notes = split_notes(doc.body, shown, problems, body_line)
    if len(problems.errors) != before:
        return None
    return Sidecar(
        article=rel,
        model=model.strip(),
        body=analysis.strip() + "\n",
        notes=notes,
        prompt=prompt,
        created=created,
        usage=usage,
        locked=locked,
        extra=meta,
        digest=doc.digest,
        **hashes,
    )


def sidecar_item(
    root: Path, article_rel: str
) -> tuple[str, str, Callable[[Problems], Sidecar | None]]:
    """(cache key, file, parser) of an article's sidecar, for RecordCache."""
    path = os.path.join(root, ANALYSES_DIR, article_rel)  # not a Path: made for every sidecar
    shown = f"{ANALYSES_DIR}/{article_rel}"

    def parse(found: Problems) -> Sidecar | None:
        doc = read_document(path, shown, found)
        return parse_sidecar(doc, article_rel, found) if doc else None

    return shown, path, parse


def read_sidecar(
    root: Path, article_rel: str, problems: Problems, records: RecordCache | None = None
) -> Sidecar | None:
    """The sidecar of an article, None if there is none (or it is broken: see problems)."""
    key, path, parse = sidecar_item(root, article_rel)
    if not os.path.isfile(path):
        return None
    return (records or no_cache()).get(path, key, problems, parse)


def sidecar_files(root: Path) -> list[str]:
    """Paths (relative to analyses/) of every sidecar present."""
    return [rel for rel, _ in markdown_files(root / ANALYSES_DIR)]


class _Dumper(yaml.SafeDumper):
    """Writes date-times as ISO 8601 with a 'T', as the contract shows them."""


_Dumper.add_representer(
    datetime,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat()),
)


def render_sidecar(sidecar: Sidecar) -> str:
    """The sidecar file's text; keys in the contract's order, extra keys kept after them."""
    meta: dict[str, Any] = {
        "article": sidecar.article,
        "model": sidecar.model,
        "prompt": sidecar.prompt,
        "prompt_sha256": sidecar.prompt_sha256,
        "article_sha256": sidecar.article_sha256,
        "created": sidecar.created,
        "usage": sidecar.usage,
        "locked": sidecar.locked,
        **sidecar.extra,
    }
    head = yaml.dump(
        meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None
    )
    return f"---\n{head}---\n{join_notes(sidecar.body, sidecar.notes)}"


def write_sidecar(root: Path, sidecar: Sidecar) -> Path:
    """Write atomically: an interrupted run leaves the old sidecar or the new, never half."""
    path = sidecar_path(root, sidecar.article)
    atomic.write_bytes(path, render_sidecar(sidecar).encode("utf-8"))
    return path
