"""Batch files as JSON lines: the requests we send and the results an engine returns.

Both are the OpenAI Batch API's formats, which vLLM's `run-batch` reads and writes too:
a request line is {"custom_id", "method", "url", "body"}; a result line is {"id",
"custom_id", "response": {"status_code", "request_id", "body"}, "error"}. Results come
in any order, so they are joined to articles by custom_id, which names the article and
the versions of its text and of the prompt that were sent: a result for an article
edited since is recognised as stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHAT_COMPLETIONS = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # OpenAI: "up to 50,000 requests" per batch
MAX_BYTES = 200 * 1000 * 1000  # and "input files up to 200 MB" (decimal: the safe reading)
_UNANSWERED = ("batch_expired", "batch_cancelled")  # OpenAI's codes for requests never run
_DIGEST = 16  # hex digits of each hash kept in a custom_id: enough to notice any edit


@dataclass(frozen=True)
class RequestKey:
    """What a custom_id says: the article, and its text's and the prompt's hash prefixes."""

    path: str
    article_sha256: str
    prompt_sha256: str

    @property
    def custom_id(self) -> str:
        return f"{self.path}#{self.article_sha256[:_DIGEST]}.{self.prompt_sha256[:_DIGEST]}"

    @classmethod
    def parse(cls, custom_id: object) -> RequestKey | None:
        """The key of a custom_id we wrote; None for anything else."""
        if not isinstance(custom_id, str):
            return None
        path, _, digests = custom_id.rpartition("#")
        article, _, prompt = digests.partition(".")
        if not path or len(article) != _DIGEST or len(prompt) != _DIGEST:
            return None
        return cls(path, article, prompt)

    def matches(self, article_sha256: str, prompt_sha256: str) -> str:
        """'' when sent for these versions; else what changed since."""
        if not article_sha256.startswith(self.article_sha256):
            return "the article changed since it was sent"
        if not prompt_sha256.startswith(self.prompt_sha256):
            return "the prompt changed since it was sent"
        return ""


def request_line(custom_id: str, body: dict[str, Any]) -> bytes:
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_COMPLETIONS, "body": body}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def split_lines(
    lines: list[bytes], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES
) -> list[list[bytes]]:
    """Consecutive runs of lines, each within the provider's limits for one batch file."""
    files: list[list[bytes]] = []
    size = 0
    for line in lines:
        if not files or len(files[-1]) >= max_requests or size + len(line) > max_bytes:
            files.append([])
            size = 0
        files[-1].append(line)
        size += len(line)
    return files


def custom_ids(data: bytes) -> list[str]:
    """The custom_ids of a request file (a batch's input), in order."""
    found = []
    for raw in data.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            found.append(line["custom_id"])
    return found


@dataclass(frozen=True)
class Result:
    """One result line: a chat completion's JSON body, or the reason there is none."""

    line: int
    custom_id: str | None
    body: Any = None
    error: str = ""
    unanswered: bool = False  # the batch expired or was cancelled first: send it again


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or error.get("code")
        return str(message) if message else json.dumps(error)
    return str(error)


def read_result(number: int, raw: bytes) -> Result:
    try:
        line = json.loads(raw)
    except ValueError:
        return Result(number, None, error=f"line {number} is not JSON")
    if not isinstance(line, dict):
        return Result(number, None, error=f"line {number} is not a result object")
    custom_id = line.get("custom_id") if isinstance(line.get("custom_id"), str) else None
    error = line.get("error")
    if error:
        unanswered = isinstance(error, dict) and error.get("code") in _UNANSWERED
        return Result(
            number,
            custom_id,
            error=f"the engine reported: {_error_text(error)}",
            unanswered=unanswered,
        )
    response = line.get("response")
    if not isinstance(response, dict):
        return Result(number, custom_id, error="the result has no response")
    body = response.get("body")
    status = response.get("status_code")
    if status != 200:
        detail = _error_text(body.get("error")) if isinstance(body, dict) else ""
        return Result(number, custom_id, error=f"the request failed with status {status}: {detail}")
    return Result(number, custom_id, body=body)


def read_results(data: bytes) -> list[Result]:
    """Every non-blank line of an output (or error) file, in order."""
    return [
        read_result(number, raw)
        for number, raw in enumerate(data.splitlines(), start=1)
        if raw.strip()
    ]
