"""serve's HTTP side: what the browser is shown, and how it hears of rebuilds.

- The site is served from site/ under the base_url's path prefix (`/` redirects there),
  with site/404.html for missing pages, by a ThreadingHTTPServer in a thread.
- HTML responses (and only those, never site/ itself) get a small script that listens on
  EVENTS (Server-Sent Events): it reloads the page when the epoch changes and shows the
  errors, escaped, in an overlay while the build is broken; pages fetched while broken
  carry the same list.
- While serve makes the search index (serve/search_index.py), /search/ says so (a shard
  it makes again may be missing or show the old text meanwhile), and reloads when the
  index is published (the `indexed` event).
"""

from __future__ import annotations

import html
import json
import mimetypes
import os
import posixpath
import secrets
import shutil
import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .. import search
from ..output import output_path

EVENTS = "/__marginalia/events"  # Server-Sent Events: hello, reload, failed, indexed
STATUS = "/__marginalia/status"  # JSON: token, epoch, builds, failures, errors, prefix, building,
# indexing, indexed, listeners
SEARCH_PAGE = output_path(search.SEARCH_URL)  # the page told of the index being made
KEEPALIVE = 15.0  # seconds between SSE comments, so dead connections are noticed

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",  # feeds and sitemaps, as GitHub Pages does
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


@dataclass
class Snapshot:
    version: int
    epoch: int
    builds: int
    failures: int
    errors: list[str]
    prefix: str
    building: bool
    indexing: bool
    indexed: int

    @property
    def token(self) -> str:
        return f"{RUN}-{self.epoch}"


RUN = secrets.token_hex(4)  # epochs of another serve run never look current to a page


@dataclass
class ServeState:
    """What the build loop tells the HTTP threads; `version` changes with everything the
    browser must hear about."""

    prefix: str = "/"
    epoch: int = 0  # successful builds
    builds: int = 0  # finished builds, successful or not
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    building: bool = False
    indexing: bool = False  # the search index is being made
    indexed: int = 0  # search indexes published
    stopping: bool = False
    version: int = 0
    listeners: int = 0  # open event streams (browser tabs)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def snapshot(self) -> Snapshot:
        with self.cond:
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        return Snapshot(
            self.version,
            self.epoch,
            self.builds,
            self.failures,
            list(self.errors),
            self.prefix,
            self.building,
            self.indexing,
            self.indexed,
        )

    def listening(self, change: int) -> None:
        with self.cond:
            self.listeners += change

    def set_building(self, building: bool) -> None:
        with self.cond:
            self.building = building

    def set_indexing(self, indexing: bool) -> None:
        with self.cond:
            self.indexing = indexing

    def index_published(self) -> None:
        with self.cond:
            self.indexed += 1
            self.version += 1
            self.cond.notify_all()

    def succeeded(self, prefix: str) -> None:
        with self.cond:
            self.prefix = prefix
            self.epoch += 1
            self.builds += 1
            self.errors = []
            self.building = False
            self.version += 1
            self.cond.notify_all()

    def failed(self, errors: list[str]) -> None:
        with self.cond:
            self.builds += 1
            self.failures += 1
            self.errors = errors
            self.building = False
            self.version += 1
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def wait(self, version: int, timeout: float) -> Snapshot | None:
        """The state once it differs from `version` (or after timeout); None: stopping."""
        with self.cond:
            self.cond.wait_for(lambda: self.version != version or self.stopping, timeout)
            return None if self.stopping else self._snapshot()


SCRIPT = """\
<script>/* injected by marginalia serve; not part of site/ */
(() => {
  const token = %(token)s;
  const indexed = %(indexed)s;  // null: not the search page
  const id = "marginalia-serve-errors";
  const show = (errors) => {
    let box = document.getElementById(id);
    if (!errors.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      document.body.appendChild(box);
    }
    box.setAttribute("style", %(style)s);
    const head = document.createElement("strong");
    head.textContent = "Build failed; still serving the last good build. Fix these and the page reloads:";
    const list = document.createElement("pre");
    list.style.whiteSpace = "pre-wrap";
    list.textContent = errors.join("\\n");
    box.replaceChildren(head, list);
  };
  const events = new EventSource(%(events)s);
  events.addEventListener("hello", (e) => {
    const state = JSON.parse(e.data);
    if (state.token !== token || (indexed !== null && state.indexed !== indexed)) location.reload();
    else show(state.errors);
  });
  events.addEventListener("reload", (e) => {
    if (JSON.parse(e.data).token !== token) location.reload();
  });
  events.addEventListener("failed", (e) => show(JSON.parse(e.data).errors));
  events.addEventListener("indexed", () => { if (indexed !== null) location.reload(); });
})();
</script>
"""
OVERLAY_STYLE = (
    "position:fixed;z-index:2147483647;left:0;right:0;bottom:0;max-height:60vh;overflow:auto;"
    "margin:0;padding:1em;background:#fff4f4;color:#600;border-top:3px solid #c00;"
    "font:14px/1.4 monospace;text-align:left"
)


INDEXING_NOTE = (
    '<p id="marginalia-serve-indexing" style="position:fixed;z-index:2147483647;left:0;right:0;'
    'top:0;margin:0;padding:.5em 1em;background:#fffbe6;color:#000;font:14px/1.4 sans-serif">'
    "The search index is being made again; this page reloads when it is ready.</p>\n"
)


def injection(snapshot: Snapshot, search_page: bool = False) -> bytes:
    """What serve adds before </body> of every HTML response: the error list while the
    build is broken, and the live-reload script; on the search page, a note while the
    index is being made."""
    banner = INDEXING_NOTE if search_page and snapshot.indexing else ""
    if snapshot.errors:
        banner += (
            f'<div id="marginalia-serve-errors" style="{OVERLAY_STYLE}"><strong>Build failed; '
            "still serving the last good build. Fix these and the page reloads:</strong>"
            '<pre style="white-space:pre-wrap">'
            + html.escape("\n".join(snapshot.errors))
            + "</pre></div>\n"
        )
    script = SCRIPT % {
        "token": _js(snapshot.token),
        "style": _js(OVERLAY_STYLE),
        "events": _js(EVENTS),
        "indexed": json.dumps(snapshot.indexed if search_page else None),
    }
    return (banner + script).encode("utf-8")


def _js(value: str) -> str:
    """A JSON string that can sit inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


def inject(page: bytes, snippet: bytes) -> bytes:
    at = page.lower().rfind(b"</body>")
    return page + snippet if at < 0 else page[:at] + snippet + page[at:]


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TYPES:
        return TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "marginalia-serve"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: editors want errors only
        pass

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_GET(self) -> None:
        self._respond(body=True)

    def _respond(self, body: bool) -> None:
        try:
            parts = urlsplit(self.path)
        except ValueError:  # 'http://[x/': a client's, no browser's ('//[x' is read '/[x')
            return self.send_error(HTTPStatus.BAD_REQUEST, "not a usable request path")
        path = unquote(parts.path)
        query = f"?{parts.query}" if parts.query else ""
        state = self.server.state
        if path == EVENTS:
            return self._events() if body else self._head_only("text/event-stream")
        if path == STATUS:
            return self._send(HTTPStatus.OK, "application/json", self._status(), body)
        snapshot = state.snapshot()
        prefix = snapshot.prefix
        if not path.startswith(prefix):
            if path in ("/", prefix.rstrip("/")):
                return self._redirect(prefix + query, HTTPStatus.FOUND)
            return self._not_found(snapshot, body)
        target = self._locate(path[len(prefix) :])
        if target is None:
            return self._not_found(snapshot, body)
        if target.is_dir():
            if not path.endswith("/"):
                return self._redirect(quote(path) + "/" + query, HTTPStatus.MOVED_PERMANENTLY)
            target = target / "index.html"
            if not target.is_file():
                return self._not_found(snapshot, body)
        self._send_file(HTTPStatus.OK, target, snapshot, body)

    def _locate(self, rel: str) -> Path | None:
        """The file or folder below site/ that rel names; None if none or outside."""
        if "\x00" in rel or "\\" in rel:
            return None
        normal = posixpath.normpath("/" + rel).lstrip("/")
        if normal.split("/")[0] == "..":
            return None
        site_dir = self.server.site_dir
        target = site_dir / normal if normal not in ("", ".") else site_dir
        try:
            real = Path(os.path.realpath(target))
        except OSError:
            return None
        base = Path(os.path.realpath(site_dir))
        if real != base and base not in real.parents:
            return None
        return target if target.exists() else None

    def _status(self) -> bytes:
        snapshot = self.server.state.snapshot()
        return json.dumps(
            {
                "epoch": snapshot.epoch,
                "token": snapshot.token,
                "builds": snapshot.builds,
                "failures": snapshot.failures,
                "errors": snapshot.errors,
                "prefix": snapshot.prefix,
                "building": snapshot.building,
                "indexing": snapshot.indexing,
                "indexed": snapshot.indexed,
                "listeners": self.server.state.listeners,
            }
        ).encode()

    def _not_found(self, snapshot: Snapshot, body: bool) -> None:
        page = self.server.site_dir / "404.html"
        if page.is_file():
            return self._send_file(HTTPStatus.NOT_FOUND, page, snapshot, body)
        data = b"<!doctype html><title>Not found</title><h1>404 Not found</h1>\n"
        data = inject(data, injection(snapshot))
        self._send(HTTPStatus.NOT_FOUND, TYPES[".html"], data, body)

    def _send_file(self, status: HTTPStatus, path: Path, snapshot: Snapshot, body: bool) -> None:
        kind = content_type(path)
        try:
            if kind.startswith("text/html"):
                site_dir = self.server.site_dir
                search_page = path == site_dir / SEARCH_PAGE
                data = inject(path.read_bytes(), injection(snapshot, search_page))
                return self._send(status, kind, data, body)
            with path.open("rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                self._headers(status, kind, size)
                if body:
                    shutil.copyfileobj(stream, self.wfile)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # removed by a rebuild publishing between our look and our read
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"Not found\n", body)

    def _headers(self, status: HTTPStatus, kind: str, size: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _send(self, status: HTTPStatus, kind: str, data: bytes, body: bool) -> None:
        self._headers(status, kind, len(data))
        if body:
            self.wfile.write(data)

    def _head_only(self, kind: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.end_headers()

    def _redirect(self, location: str, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _events(self) -> None:
        """hello (current state) on connect, then reload after each successful build and
        failed after each failed one; a comment every KEEPALIVE seconds."""
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        state.listening(+1)
        try:
            seen = state.snapshot()
            hello = {"token": seen.token, "epoch": seen.epoch, "errors": seen.errors}
            self._event("hello", {**hello, "indexed": seen.indexed})
            while True:
                now = state.wait(seen.version, KEEPALIVE)
                if now is None:
                    return
                if now.version == seen.version:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                if now.epoch != seen.epoch:
                    self._event("reload", {"token": now.token, "epoch": now.epoch})
                if now.errors and (now.builds != seen.builds or now.errors != seen.errors):
                    self._event("failed", {"errors": now.errors, "builds": now.builds})
                if now.indexed != seen.indexed:
                    self._event("indexed", {"indexed": now.indexed})
                seen = now
        except OSError:  # the browser went away
            return
        finally:
            state.listening(-1)

    def _event(self, name: str, data: dict) -> None:
        self.wfile.write(f"retry: 1000\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site_dir: Path, state: ServeState) -> None:
        self.site_dir = site_dir
        self.state = state
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
