"""A fake OpenAI-compatible Chat Completions server for tests.

It is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` on a free
port, served from a daemon thread), so the real ``openai`` client talks to it over
a socket exactly as it would talk to a provider: its own retries, timeouts and
response parsing all run.

Only ``POST /v1/chat/completions`` (non-streaming) is implemented.

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
the request's model echoed back, ``finish_reason="stop"`` and estimated usage.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
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
    "FakeOpenAI",
    "RecordedRequest",
    "Reply",
    "default_content",
    "error_body",
    "fake_openai",
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
    ) -> None:
        #: seconds to wait before answering every request (cut short by stop()).
        self.latency = latency
        #: model name reported in answers; None echoes the request's model.
        self.model = model
        #: callable(request_json) -> Reply | None, used when the queue is empty.
        self.responder = responder
        #: if set, requests without ``Authorization: Bearer <api_key>`` get a 401.
        self.api_key = api_key

        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque(replies)
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
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
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self.responder
        if responder is not None:
            reply = responder(request_json)
            if reply is not None:
                return reply
        return Reply()

    def _sleep(self, seconds: float) -> bool:
        """Wait, unless the server stops first. Returns False if it stopped."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _completion(self, request_json: Any, reply: Reply) -> dict[str, Any]:
        content = reply.content
        if content is AUTO:
            content = default_content(request_json)
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
        self._not_found()

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
        if self.path.split("?")[0] != CHAT_COMPLETIONS_PATH:
            self._not_found()
            return
        if fake.api_key is not None and (
            record.headers.get("authorization") != f"Bearer {fake.api_key}"
        ):
            self._send_json(401, error_body(401, "Incorrect API key provided."))
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

    def _not_found(self) -> None:
        message = f"Unknown request URL: {self.command} {self.path}."
        self._send_json(404, error_body(404, message))

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
