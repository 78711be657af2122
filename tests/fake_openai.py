"""A fake OpenAI-compatible Chat Completions server for tests.

It is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` on a free
port, served from a daemon thread), so the real ``openai`` client talks to it over
a socket exactly as it would talk to a provider: its own retries, timeouts and
response parsing all run.

``POST /v1/chat/completions`` (non-streaming) is implemented, and the Batch API's
files and batches (see "Batches" below).

Usage::

    with FakeOpenAI(latency=0.1) as fake:
        fake.enqueue(Reply(status=429, retry_after=0.1), Reply(content="hi"))
        client = OpenAI(api_key="test-key", base_url=fake.base_url)
        ...
        assert fake.calls == 2
        assert fake.requests[0].json["model"] == "gpt-test"

Each request takes the next ``Reply`` from the queue (``enqueue``); when the queue
is empty it asks ``responder(request_json)`` (if set; returning ``None`` means
"default"); otherwise it answers with the default reply: content
``"### What is reported\\nAnalysis of: <first 60 chars of the last user message>"``,
the request's model echoed back, ``finish_reason="stop"`` and estimated usage. A
request with a ``response_format`` (JSON) gets that analysis as a JSON object with notes
(``structured_content``): by default one note quoting the first words of the article
(the text between ``<<<`` and ``>>>``, else after the first blank line); ``Reply(notes=...)``
gives others.

Response formats: ``FakeOpenAI(structured="json_schema")`` (the default) takes
Structured Outputs as OpenAI does, refusing with a 400 a ``json_schema`` that strict
mode would refuse (an object without ``additionalProperties: false`` or with a property
not required); ``structured="json_object"`` is a server that knows JSON mode only and
answers a ``json_schema`` request with a 400, as llama.cpp's server did before September
2024 (``response_format type must be one of "text" or "json_object"``).

Batches: ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}`` and
``/v1/files/{id}/content``; ``POST /v1/batches`` (create, with metadata), ``GET
/v1/batches/{id}``, ``GET /v1/batches?limit=&after=`` (newest first, paged) and ``POST
/v1/batches/{id}/cancel``. A new batch is ``validating`` until the test calls
``finish_batches()``, which ends each unfinished batch as the next ``BatchPlan`` says
(``plan_batches``; by default: completed): every request line it answers takes the next
``Reply`` like a direct call (a non-2xx ``Reply`` becomes a line of the error file),
then output and error files are written in OpenAI's batch output format. A batch whose
input file is not valid batch JSONL fails validation by itself. ``faults`` inject a
failure on matching files/batches requests: ``Fault("POST", "/v1/batches", "hang")``.
"""

from __future__ import annotations

import collections
import contextlib
import email.parser
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = [
    "AUTO",
    "BatchPlan",
    "FakeOpenAI",
    "Fault",
    "RecordedRequest",
    "Reply",
    "default_content",
    "default_notes",
    "error_body",
    "fake_openai",
    "structured_content",
]


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()
"""Marker for ``Reply.content``: derive the content from the request (the default)."""

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"

# OpenAI-style error ``type`` / ``code`` for the statuses tests commonly script.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", None),
}


@dataclass(frozen=True)
class Reply:
    """How the fake answers one request. All fields are optional.

    Normal answer (status 200):
      content        str; ``""`` for an empty answer; ``None`` for JSON null
                     (pair with ``refusal``); ``AUTO`` (default) derives it
                     from the request.
      refusal        the message's ``refusal`` string (default ``None``).
      finish_reason  "stop" (default), "length", "content_filter", ...
      model          model name to report (default: server ``model``, else the
                     request's model).
      usage          ``{"prompt_tokens", "completion_tokens", "total_tokens"}``
                     (default: estimated, ~4 characters per token).
      notes          for a request with a ``response_format``, the notes of the AUTO
                     content: ``[{"quote", "kind", "text"}]`` (default: one).

    Failures:
      status         HTTP status; non-2xx answers with an OpenAI-shaped error
                     body ``{"error": {"message", "type", "param", "code"}}``.
      error_message  the error's ``message`` (default: a generic one).
      retry_after    seconds, sent as ``Retry-After`` (fractions allowed).
      headers        extra response headers, e.g. ``{"retry-after-ms": "100"}``.
      drop           close the connection without sending any response.
      hang           seconds to wait before answering (cut short by ``stop()``);
                     combined with a shorter client timeout it triggers
                     ``openai.APITimeoutError``.
      raw_body       send these bytes/str verbatim instead of a JSON body
                     (with ``status`` and ``content_type``).
      content_type   Content-Type header (default ``application/json``).
    """

    content: str | None = AUTO
    refusal: str | None = None
    finish_reason: str = "stop"
    model: str | None = None
    usage: Mapping[str, int] | None = None
    status: int = 200
    error_message: str | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False
    hang: float = 0.0
    raw_body: bytes | str | None = None
    content_type: str = "application/json"
    notes: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class BatchPlan:
    """How one batch ends when ``finish_batches()`` runs it.

    status    "completed" (default), "expired" (answers ``answered`` of the requests
              first; the rest go to the error file as ``batch_expired``) or "failed"
              (validation failed: ``errors``, no files).
    answered  share of the requests answered, for "expired".
    errors    validation error messages, for "failed".
    """

    status: str = "completed"
    answered: float = 1.0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fault:
    """A failure on the files/batches requests whose method and path match.

    path   a regular expression matched against the whole path (no query).
    kind   "hang" (until the server stops), "cut" (the body is cut off halfway:
           a network drop mid-download) or "status" (an error ``status``).
    times  how many matching requests it spoils (None: all).
    """

    method: str
    path: str
    kind: str = "hang"
    status: int = 500
    message: str | None = None
    times: int | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # header names lower-cased
    body: bytes
    json: Any  # parsed body, or None if it was not valid JSON
    received_at: float  # time.monotonic()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.json or {}).get("messages") or [])

    @property
    def last_user_message(self) -> str:
        return _last_user_text(self.json)


Responder = Callable[[Any], "Reply | None"]


class FakeOpenAI:
    """A Chat Completions server on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        model: str | None = None,
        replies: Iterator[Reply] | list[Reply] | tuple[Reply, ...] = (),
        responder: Responder | None = None,
        api_key: str | None = None,
        structured: str = "json_schema",
    ) -> None:
        #: seconds to wait before answering every request (cut short by stop()).
        self.latency = latency
        #: model name reported in answers; None echoes the request's model.
        self.model = model
        #: callable(request_json) -> Reply | None, used when the queue is empty.
        self.responder = responder
        #: if set, requests without ``Authorization: Bearer <api_key>`` get a 401.
        self.api_key = api_key
        #: "json_schema": Structured Outputs taken; "json_object": JSON mode only.
        self.structured = structured

        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque(replies)
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        #: uploaded files: id -> {"object": file object, "data": bytes}
        self.files: dict[str, dict[str, Any]] = {}
        #: batches by id (the batch objects as served)
        self.batches: dict[str, dict[str, Any]] = {}
        #: injected failures on files/batches requests
        self.faults: list[Fault] = []
        self._plans: collections.deque[BatchPlan] = collections.deque()
        self._batch_plan: dict[str, BatchPlan] = {}
        self._file_ids = itertools.count(1)
        self._batch_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeOpenAI:
        if self._server is not None:
            raise RuntimeError("FakeOpenAI already started")
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAI:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving. Does not wait for hanging or slow requests."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes every latency/hang wait
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """e.g. ``http://127.0.0.1:PORT/v1`` — pass as the client's base_url."""
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        """Script the next requests: each consumes one Reply, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Number of scripted replies not yet consumed."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget recorded requests, the queue and the concurrency counters."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._max_in_flight = self._in_flight

    # -- observations ------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> int:
        """How many requests were received (dropped and hung ones included)."""
        with self._lock:
            return len(self._requests)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The highest number of requests being handled at the same time."""
        with self._lock:
            return self._max_in_flight

    # -- batches -------------------------------------------------------------

    def plan_batches(self, *plans: BatchPlan) -> None:
        """Script how the next created batches end, in order (default: completed)."""
        with self._lock:
            self._plans.extend(plans)

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        """The requests with this method whose path (without query) matches pattern."""
        return [
            r
            for r in self.requests
            if r.method == method and re.fullmatch(pattern, r.path.split("?")[0])
        ]

    def file_lines(self, file_id: str) -> list[dict[str, Any]]:
        """The JSON lines of a stored file."""
        return [json.loads(line) for line in self.files[file_id]["data"].splitlines() if line]

    def finish_batches(self) -> list[str]:
        """End every unfinished batch as planned; the ids of those it ended."""
        ended = []
        for batch_id, batch in list(self.batches.items()):
            if batch["status"] in ("completed", "expired", "failed", "cancelled"):
                continue
            ended.append(batch_id)
            now = int(time.time())
            if batch["status"] == "cancelling":
                self._set(batch_id, status="cancelled", cancelled_at=now)
                continue
            plan = self._batch_plan[batch_id]
            if plan.status == "failed":
                self._fail(batch_id, list(plan.errors))
                continue
            lines = self.file_lines(batch["input_file_id"])
            answered = round(len(lines) * plan.answered) if plan.status == "expired" else len(lines)
            output: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for number, line in enumerate(lines):
                if number >= answered:
                    errors.append(_result_line(line["custom_id"], None, _EXPIRED))
                    continue
                reply = self._next_reply(line["body"])
                if reply.status >= 300 or reply.drop:
                    status = reply.status if reply.status >= 300 else 500
                    body = error_body(status, reply.error_message)
                    errors.append(_result_line(line["custom_id"], (status, body), None))
                else:
                    body = self._completion(line["body"], reply)
                    output.append(_result_line(line["custom_id"], (200, body), None))
            files = {
                key: self._store(f"{batch_id}_{key}.jsonl", "batch_output", _jsonl(part))
                for key, part in (("output_file_id", output), ("error_file_id", errors))
                if part
            }
            counts = {
                "total": len(lines),
                "completed": len(output),
                "failed": len(errors) - (len(lines) - answered),
            }
            end = {"completed_at": now} if plan.status == "completed" else {"expired_at": now}
            self._set(batch_id, status=plan.status, request_counts=counts, **files, **end)
        return ended

    def _store(self, filename: str, purpose: str, data: bytes) -> str:
        with self._lock:
            file_id = f"file-fake{next(self._file_ids):06d}"
            self.files[file_id] = {
                "object": {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": int(time.time()),
                    "filename": filename,
                    "purpose": purpose,
                    "status": "processed",
                },
                "data": data,
            }
        return file_id

    def _set(self, batch_id: str, **changes: Any) -> None:
        with self._lock:
            self.batches[batch_id] = {**self.batches[batch_id], **changes}

    def _fail(self, batch_id: str, messages: list[str]) -> None:
        errors = {
            "object": "list",
            "data": [
                {"code": "invalid_request", "message": m, "param": None, "line": None}
                for m in messages
            ],
        }
        self._set(batch_id, status="failed", errors=errors, failed_at=int(time.time()))

    def _create_batch(self, request: Any) -> tuple[int, Any]:
        if not isinstance(request, dict) or request.get("input_file_id") not in self.files:
            return 400, error_body(400, "input_file_id: no such file.")
        if request.get("endpoint") != CHAT_COMPLETIONS_PATH:
            return 400, error_body(400, "endpoint: only /v1/chat/completions is supported.")
        lines = self.files[request["input_file_id"]]["data"].splitlines()
        with self._lock:
            batch_id = f"batch_fake{next(self._batch_ids):06d}"
            self._batch_plan[batch_id] = self._plans.popleft() if self._plans else BatchPlan()
            now = int(time.time())
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": request["endpoint"],
                "errors": None,
                "input_file_id": request["input_file_id"],
                "completion_window": request.get("completion_window", "24h"),
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": now,
                "expires_at": now + 86400,
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": request.get("metadata"),
            }
        problems = _invalid_lines(self.files[request["input_file_id"]]["data"])
        if problems:
            self._fail(batch_id, problems)
        return 200, self.batches[batch_id]

    def _list_batches(self, query: str) -> dict[str, Any]:
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        with self._lock:
            newest_first = sorted(self.batches.values(), key=lambda b: b["id"], reverse=True)
        if params.get("after"):
            ids = [b["id"] for b in newest_first]
            start = ids.index(params["after"]) + 1 if params["after"] in ids else len(ids)
            newest_first = newest_first[start:]
        limit = int(params.get("limit") or 20)
        page = newest_first[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(newest_first) > limit,
        }

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.method == method and re.fullmatch(fault.path, path):
                    if fault.times is not None:
                        left = fault.times - 1
                        self.faults[index] = Fault(**{**fault.__dict__, "times": left})
                        if left <= 0:
                            del self.faults[index]
                    return fault
        return None

    # -- internals (called from handler threads) ----------------------------

    def _enter(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_reply(self, request_json: Any) -> Reply:
        refused = self._format_refusal(request_json)
        if refused is not None:
            return refused
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self.responder
        if responder is not None:
            reply = responder(request_json)
            if reply is not None:
                return reply
        return Reply()

    def _format_refusal(self, request_json: Any) -> Reply | None:
        """The 400 this server gives a response_format it does not take, else None."""
        wanted = (request_json or {}).get("response_format") or {}
        if wanted.get("type") != "json_schema":
            return None
        if self.structured == "json_object":
            message = (
                'response_format type must be one of "text" or "json_object", but got: json_schema'
            )
            return Reply(status=400, error_message=message)
        problem = _strict_schema_problem((wanted.get("json_schema") or {}).get("schema"))
        if problem:
            name = (wanted.get("json_schema") or {}).get("name")
            return Reply(
                status=400,
                error_message=f"Invalid schema for response_format '{name}': {problem}",
            )
        return None

    def _sleep(self, seconds: float) -> bool:
        """Wait, unless the server stops first. Returns False if it stopped."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _completion(self, request_json: Any, reply: Reply) -> dict[str, Any]:
        content = reply.content
        if content is AUTO:
            content = default_content(request_json)
            if (request_json or {}).get("response_format"):
                notes = default_notes(request_json) if reply.notes is None else reply.notes
                content = structured_content(content, notes)
        model = reply.model or self.model or (request_json or {}).get("model") or ""
        usage = reply.usage
        if usage is None:
            prompt = _estimate_tokens(json.dumps((request_json or {}).get("messages")))
            completion = _estimate_tokens((content or "") + (reply.refusal or ""))
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": reply.refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": dict(usage),
            "system_fingerprint": "fp_fake",
        }


def default_content(request_json: Any) -> str:
    """The default answer's content for a request."""
    return f"### What is reported\nAnalysis of: {_last_user_text(request_json)[:60]}"


def structured_content(analysis: str, notes: list[dict[str, str]]) -> str:
    """An answer's content as the analysis pass asks for it: a JSON object."""
    return json.dumps({"analysis": analysis, "notes": notes}, ensure_ascii=False)


def default_notes(request_json: Any) -> list[dict[str, str]]:
    """One note quoting the first (at most six) words of the article asked about."""
    text = _last_user_text(request_json)
    if "<<<" in text:
        text = text.split("<<<", 1)[1].split(">>>", 1)[0]
    else:
        text = text.partition("\n\n")[2]
    words = text.split()[:6]
    if not words:
        return []
    return [{"quote": " ".join(words), "kind": "context", "text": "A note on the opening."}]


def _strict_schema_problem(schema: Any, where: str = "()") -> str:
    """What OpenAI's strict mode refuses in a JSON schema: an object whose properties
    are not all required, or that allows others; "" if nothing."""
    if not isinstance(schema, dict):
        return f"In context={where}, the schema must be an object" if where == "()" else ""
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        if sorted(schema.get("required") or []) != sorted(properties):
            return f"In context={where}, 'required' is required to be supplied and to be an array including every key in properties."
    children = [
        *((schema.get("properties") or {}).items()),
        *((schema.get("$defs") or {}).items()),
        *([("items", schema["items"])] if "items" in schema else []),
    ]
    for name, child in children:
        problem = _strict_schema_problem(child, f"{where}/{name}")
        if problem:
            return problem
    return ""


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """An OpenAI-shaped error body for ``status``."""
    kind, code = _ERROR_KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message or f"Fake error (HTTP {status})",
            "type": kind,
            "param": None,
            "code": code,
        }
    }


_EXPIRED = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def _result_line(
    custom_id: str, response: tuple[int, Any] | None, error: dict[str, Any] | None
) -> dict[str, Any]:
    """A line of a batch output or error file, in OpenAI's (and vLLM's) format."""
    line_id = f"batch_req_{abs(hash(custom_id)):x}"
    return {
        "id": line_id,
        "custom_id": custom_id,
        "response": None
        if response is None
        else {"status_code": response[0], "request_id": f"req_{line_id}", "body": response[1]},
        "error": error,
    }


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _invalid_lines(data: bytes) -> list[str]:
    """What validation of a batch input file finds wrong (OpenAI checks the same)."""
    problems = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            problems.append(f"line {number}: not valid JSON")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            problems.append(f"line {number}: no request body")
        elif line.get("method") != "POST" or line.get("url") != CHAT_COMPLETIONS_PATH:
            problems.append(f"line {number}: method and url must be POST {CHAT_COMPLETIONS_PATH}")
        elif line.get("custom_id") in seen or not isinstance(line.get("custom_id"), str):
            problems.append(f"line {number}: custom_id missing or not unique")
        else:
            seen.add(line["custom_id"])
    return problems if problems or seen else ["the file has no requests"]


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = {}
    for part in message.get_payload() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        parts[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return parts


def _last_user_text(request_json: Any) -> str:
    if not isinstance(request_json, dict):
        return ""
    for message in reversed(request_json.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts
                return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging handler never blocks interpreter exit
    block_on_close = False  # server_close() does not join handler threads
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or disconnect are expected; stay quiet


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 5  # socket timeout while reading a request: no handler waits forever

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            request_json = json.loads(body) if body else None
        except ValueError:
            request_json = None
        record = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=request_json,
            received_at=time.monotonic(),
        )
        fake._enter(record)
        try:
            self._answer(fake, record)
        except OSError:
            pass  # the client went away (e.g. it timed out); nothing to answer
        finally:
            fake._leave()

    def _answer(self, fake: FakeOpenAI, record: RecordedRequest) -> None:
        path = self.path.split("?")[0]
        if fake.api_key is not None and (
            record.headers.get("authorization") != f"Bearer {fake.api_key}"
        ):
            self._send_json(401, error_body(401, "Incorrect API key provided."))
            return
        if path != CHAT_COMPLETIONS_PATH or self.command != "POST":
            self._batch_api(fake, record, path)
            return
        if not isinstance(record.json, dict):
            self._send_json(400, error_body(400, "The request body is not valid JSON."))
            return
        if record.json.get("stream"):
            self._send_json(400, error_body(400, "FakeOpenAI does not implement stream=true."))
            return

        reply = fake._next_reply(record.json)  # taken in arrival order
        if not fake._sleep(fake.latency):
            return self._drop()
        if reply.hang and not fake._sleep(reply.hang):
            return self._drop()
        if reply.drop:
            return self._drop()

        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers["Retry-After"] = f"{reply.retry_after:g}"
        if reply.raw_body is not None:
            raw = reply.raw_body
            data = raw.encode() if isinstance(raw, str) else raw
            self._send(reply.status, data, reply.content_type, headers)
        elif reply.status >= 300:
            body = error_body(reply.status, reply.error_message)
            self._send_json(reply.status, body, reply.content_type, headers)
        else:
            body = fake._completion(record.json, reply)
            self._send_json(reply.status, body, reply.content_type, headers)

    def _batch_api(self, fake: FakeOpenAI, record: RecordedRequest, path: str) -> None:
        fault = fake._fault_for(self.command, path)
        if fault is not None and fault.kind == "hang":
            fake._sleep(3600)
            return self._drop()
        if fault is not None and fault.kind == "status":
            return self._send_json(fault.status, error_body(fault.status, fault.message))
        status, payload = self._batch_route(fake, record, path)
        if isinstance(payload, bytes):
            if fault is not None and fault.kind == "cut":
                return self._cut(payload)
            return self._send(status, payload, "application/octet-stream", {})
        self._send_json(status, payload)

    def _batch_route(self, fake: FakeOpenAI, record: RecordedRequest, path: str) -> tuple[int, Any]:
        method = self.command
        file_match = re.fullmatch(r"/v1/files/([\w-]+)(/content)?", path)
        batch_match = re.fullmatch(r"/v1/batches/([\w-]+)(/cancel)?", path)
        if method == "POST" and path == "/v1/files":
            parts = _multipart(record.headers.get("content-type", ""), record.body)
            filename, data = parts.get("file", (None, b""))
            purpose = parts.get("purpose", (None, b""))[1].decode()
            if not filename or purpose != "batch":
                return 400, error_body(400, "Expected a file and purpose=batch.")
            file_id = fake._store(filename, purpose, data)
            return 200, fake.files[file_id]["object"]
        if method == "GET" and file_match and file_match.group(1) in fake.files:
            stored = fake.files[file_match.group(1)]
            return 200, stored["data"] if file_match.group(2) else stored["object"]
        if method == "POST" and path == "/v1/batches":
            return fake._create_batch(record.json)
        if method == "GET" and path == "/v1/batches":
            return 200, fake._list_batches(self.path.partition("?")[2])
        if batch_match and batch_match.group(1) in fake.batches:
            batch_id = batch_match.group(1)
            if method == "POST" and batch_match.group(2):
                if fake.batches[batch_id]["status"] in ("validating", "in_progress", "finalizing"):
                    fake._set(batch_id, status="cancelling", cancelling_at=int(time.time()))
                return 200, fake.batches[batch_id]
            if method == "GET" and not batch_match.group(2):
                return 200, fake.batches[batch_id]
        message = f"Unknown request URL: {method} {self.path}."
        return 404, error_body(404, message)

    def _cut(self, data: bytes) -> None:
        """Announce the whole body, send half of it, then close: a drop mid-download."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self._drop()

    def _drop(self) -> None:
        """Close the connection without a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(
        self,
        status: int,
        payload: Any,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._send(status, json.dumps(payload).encode(), content_type, headers or {})

    def _send(
        self, status: int, data: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_fake_{id(self):x}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI, stopped after the test."""
    with FakeOpenAI() as fake:
        yield fake
