"""A note, and its form in an analysis sidecar.

The sidecar's Markdown body is the analysis, then, optionally, a section that starts at a
line `## Notes`. Each note in it is a `### KIND` heading, the quoted words of the article
as a block quote, and the note's text:

    ## Notes

    ### check
    > Pyongyang will supply artillery shells

    Which source reports the shipments? The article names none.

An editor deletes, rewords or adds a note by editing that text; `locked: true` keeps it.
A sidecar without the section has no notes and reads as it always did.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import Problems

KINDS = ("context", "check", "source", "missing", "language")
"""context: background; check: a claim or figure to verify; source: who says so and how
they would know; missing: a perspective or fact left out; language: loaded or vague
wording."""

NOTES_HEADING = "## Notes"
_NOTE_HEADING = re.compile(r"### +(\S.*?)[ \t#]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Note:
    kind: str  # one of KINDS
    quote: str  # the article's words, verbatim; "" if the note quotes none
    text: str  # Markdown, short
    line: int = 0  # of its `### KIND` heading in the sidecar file (1-based), 0 if new


def split_notes(
    body: str, shown: str, problems: Problems, first_line: int = 1
) -> tuple[str, list[Note]]:
    """(the analysis without its notes, the notes) of a sidecar's body. A malformed note
    is an error naming the file and line (`first_line` is the body's first line in the
    file); fenced code is never read as a heading."""
    if NOTES_HEADING not in body:  # most sidecars: nothing to look for
        return body, []
    lines = body.split("\n")
    start = _notes_start(lines)
    if start is None:
        return body, []
    analysis = "\n".join(lines[:start]).rstrip() + "\n"
    notes: list[Note] = []
    heading: tuple[int, str] | None = None
    chunk: list[str] = []

    def close() -> None:
        if heading is not None:
            note = _note(heading[1], chunk, shown, first_line + heading[0], problems)
            if note:
                notes.append(note)

    for number, line in enumerate(lines[start + 1 :], start + 1):
        found = _NOTE_HEADING.fullmatch(line) if line.startswith("###") else None
        if found:
            close()
            heading, chunk = (number, found[1]), []
        elif heading is not None:
            chunk.append(line)
        elif line.strip():
            problems.error(
                shown,
                first_line + number,
                f"under '{NOTES_HEADING}' each note starts with '### KIND'",
            )
    close()
    return analysis, notes


def _notes_start(lines: list[str]) -> int | None:
    fence = ""
    for number, line in enumerate(lines):
        if not fence and line.rstrip() == NOTES_HEADING:
            return number
        if "`" in line or "~" in line:  # the regular expression only where it can match
            fence = _fence_after(fence, line)
    return None


def _fence_after(fence: str, line: str) -> str:
    """The code fence open after `line` ("" if none), given the one open before it."""
    marker = _FENCE.match(line)
    if fence:
        closes = marker and marker[1][0] == fence[0] and len(marker[1]) >= len(fence)
        return "" if closes else fence
    return marker[1] if marker else ""


def _note(kind: str, chunk: list[str], shown: str, line: int, problems: Problems) -> Note | None:
    kind = kind.strip().lower()
    if kind not in KINDS:
        problems.error(
            shown, line, f"a note's kind must be one of {', '.join(KINDS)}, not {kind!r}"
        )
        return None
    while chunk and not chunk[0].strip():
        chunk = chunk[1:]
    quoted: list[str] = []
    while chunk and chunk[0].lstrip().startswith(">"):
        quoted.append(chunk.pop(0).lstrip()[1:].strip())
    if not quoted:
        problems.error(
            shown, line, "a note starts with the article's words it is about, as '> words'"
        )
        return None
    text = "\n".join(chunk).strip()
    if not text:
        problems.error(shown, line, "a note needs a text after its quoted words")
        return None
    return Note(kind=kind, quote=" ".join(q for q in quoted if q), text=text, line=line)


def join_notes(analysis: str, notes: Iterable[Note]) -> str:
    """The sidecar body for an analysis and its notes (the analysis alone if none). A
    stray `## Notes` line in the analysis is made a `###` heading, so that the notes
    section is always the one this writes."""
    lines = [
        "#" + line if line.rstrip() == NOTES_HEADING else line
        for line in analysis.strip().split("\n")
    ]
    fence = functools.reduce(_fence_after, lines, "")
    if fence:  # a code block left open would swallow the notes section
        lines.append(fence)
    parts = ["\n".join(lines)]
    notes = list(notes)
    if notes:
        parts.append(NOTES_HEADING)
        for note in notes:
            quote = " ".join(note.quote.split())
            text = "\n".join(
                "\\" + line if _NOTE_HEADING.fullmatch(line) else line
                for line in note.text.strip().split("\n")
            )
            parts.append(f"### {note.kind}\n> {quote}".rstrip() + f"\n\n{text}")
    return "\n\n".join(parts) + "\n"
