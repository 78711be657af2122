"""What the model is asked to answer, and how its answer is judged (issue 20).

The answer is one JSON object: the analysis (the Markdown sections the prompt asks for)
and notes, each the article's exact words it is about, its kind and a short text. It is
asked for with Structured Outputs (`json_schema`, strict) where the service takes them,
in JSON mode (`json_object`, the shape told in the system message) where it does not;
either way every answer is validated here, and one that is not JSON or has the wrong
shape fails its article only. The shape lives in code, not in the prompt, so that a
site's own prompt needs no change to be asked and answered this way.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pydantic

from ..notes.model import KINDS, Note

FORMATS = ("json_schema", "json_object")
"""The response formats, best first; config's analysis.structured may also be `auto`:
json_schema, then JSON mode for the rest of a run once the server refuses json_schema."""
SCHEMA_NAME = "analysis_with_notes"

_OUTER_FENCE = re.compile(r"\A```(?:markdown|md|json)?\s*\n(.*)\n```\s*\Z", re.DOTALL)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

ANSWER_SHAPE = f"""\
Answer with one JSON object and nothing else, of this shape:
{{"analysis": "the sections asked for, in Markdown",
 "notes": [{{"quote": "the exact words of the article the note is about",
   "kind": "one of {", ".join(KINDS)}",
   "text": "the note: one to three sentences of Markdown"}}]}}"""


class _Closed(pydantic.BaseModel):
    # Strict Structured Outputs demand `additionalProperties: false`; a JSON-mode answer
    # with a key more is still read.
    model_config = pydantic.ConfigDict(
        extra="ignore", json_schema_extra={"additionalProperties": False}
    )


class AnalysisNote(_Closed):
    quote: str
    kind: Literal[KINDS]  # type: ignore[valid-type]
    text: str

    @pydantic.field_validator("kind", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class AnalysisAnswer(_Closed):
    analysis: str
    notes: list[AnalysisNote]


SCHEMA = AnalysisAnswer.model_json_schema()


class BadAnswer(Exception):
    """The answer is not the JSON object asked for; the message says how."""


def system_message(system: str) -> str:
    """The prompt's system message and the answer's shape, as sent."""
    return f"{system}\n\n{ANSWER_SHAPE}"


def response_format(structured: str) -> dict[str, Any]:
    """The request's response_format for one of FORMATS."""
    if structured == "json_object":
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA},
    }


def clean_text(text: str) -> str:
    """Model text as stored (or parsed, for a JSON answer): control characters dropped,
    one wrapping ``` fence removed."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    match = _OUTER_FENCE.match(text)
    return match.group(1).strip() if match else text


def parse_answer(content: str) -> tuple[str, list[Note]]:
    """(the analysis, its notes) of an answer's content, or BadAnswer. A note's quote is
    kept on one line, as the sidecar writes it; a note without text says nothing and is
    left out."""
    try:
        data = json.loads(content, strict=False)  # raw newlines in strings, as models write
    except ValueError as exc:
        raise BadAnswer(f"the answer was not the JSON object asked for ({exc})") from None
    try:
        answer = AnalysisAnswer.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        more = exc.error_count() - 1
        also = f" (and {more} more)" if more else ""
        raise BadAnswer(
            f"the answer's JSON has the wrong shape: {where}: {first['msg']}{also}"
        ) from None
    notes = [
        Note(kind=note.kind, quote=" ".join(clean_text(note.quote).split()), text=text)
        for note in answer.notes
        if (text := clean_text(note.text))
    ]
    return answer.analysis, notes
