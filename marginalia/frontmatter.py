"""Splitting a Markdown file into YAML front matter and body, with file line numbers.

Articles, analysis sidecars and prompts share this format, so they share this code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from . import chars, yamltext

_FENCE_LINE = re.compile(r"^---[ \t]*(?:\n|\Z)", re.MULTILINE)


class FrontMatterError(Exception):
    """The file's front matter cannot be read; `line` is a line of the file."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Document:
    """A parsed file: its metadata mapping and its Markdown body (LF line endings)."""

    meta: dict[str, Any]
    body: str
    yaml_text: str
    digest: str = ""  # of the file's bytes, when read from a file

    def line_of(self, key_path: Sequence[str | int]) -> int:
        """The file line of a front-matter key (the opening fence if it is absent)."""
        line = yamltext.line_of(self.yaml_text, key_path) if self.yaml_text.strip() else None
        return 1 if line is None else line + 1

    def text_of(self, key_path: Sequence[str | int]) -> str | None:
        """The text the author wrote for a scalar, before YAML gave it a type."""
        return yamltext.scalar_text(self.yaml_text, key_path)


def field_line(key: str, value: str | list[str]) -> str:
    """One `key: value` line of front matter, quoted where YAML needs it (`title: 'Yes'`,
    colons, leading dashes); a list of strings is written in flow style on one line."""
    if isinstance(value, list):
        flow = yaml.safe_dump(value, allow_unicode=True, width=10_000, default_flow_style=True)
        return f"{key}: {flow.strip()}"
    return yaml.safe_dump({key: value}, allow_unicode=True, width=10_000).strip()


def decode(data: bytes) -> str:
    """UTF-8 text with LF line endings; a FrontMatterError names the line of a bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FrontMatterError(line, f"is not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def parse(text: str, digest: str = "") -> Document:
    """Split `---` YAML `---` body; the front matter must be a mapping.

    A fence is a line of three hyphens; spaces or tabs after them are allowed (editors
    leave them, and they are invisible). The body and every value are made fit for a page
    (chars.fit)."""
    opening = _FENCE_LINE.match(text)
    if opening is None:
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    start = opening.end()
    closing = _FENCE_LINE.search(text, start)
    if closing is None:
        raise FrontMatterError(1, "front matter opened here is never closed with '---'")
    yaml_text = text[start : closing.start()]
    body = chars.fit(text[closing.end() :])
    try:
        meta = yamltext.load(yaml_text) if yaml_text.strip() else {}
    except yamltext.YamlSyntaxError as exc:
        line = None if exc.line is None else exc.line + 1
        raise FrontMatterError(line, f"YAML syntax error in front matter: {exc.message}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        kind = type(meta).__name__
        raise FrontMatterError(2, f"front matter must be a mapping (key: value), not a {kind}")
    if any(not isinstance(key, str) for key in meta):
        bad = next(key for key in meta if not isinstance(key, str))
        raise FrontMatterError(2, f"front matter keys must be text, not {bad!r}")
    return Document(meta, body, yaml_text, digest)
