"""serve: build, serve site/ as GitHub Pages would, rebuild on change, reload the browser.

- The site is served from site/ under the base_url's path prefix (`/` redirects there),
  with site/404.html for missing pages, by a ThreadingHTTPServer in a thread.
- watchdog watches content/, analyses/, layouts/, prompts/, static/ and config.yaml; its
  handler only records that something changed. The main thread waits until no event has
  come for SETTLE seconds (a `git checkout` of 500 files is one rebuild), then rebuilds
  (live.py): an edit to articles' text is applied to the site kept in memory, anything
  else is the ordinary incremental build, given a record cache kept in memory so
  unchanged files are neither re-read nor unpickled.
- A successful rebuild bumps an epoch; a failed one keeps the last good site/ served and
  remembers the error list. HTML responses (and only those, never site/ itself) get a
  small script that listens on EVENTS (Server-Sent Events): it reloads the page when the
  epoch changes and shows the errors, escaped, in an overlay while the build is broken;
  pages fetched while broken carry the same list.
- Never calls the model. Ctrl-C stops it: at once when idle, after the build in progress
  otherwise (so site/ is never left half-published); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import gc
import html
import json
import mimetypes
import os
import posixpath
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, unquote, urlsplit

from .config import CONFIG_FILE, load_settings
from .errors import InputError, MarginaliaError, Problem
from .output import SITE_DIR

EVENTS = "/__marginalia/events"  # Server-Sent Events: hello, reload, failed
STATUS = "/__marginalia/status"  # JSON: epoch, builds, failures, errors, prefix
WATCHED_DIRS = ("content", "analyses", "layouts", "prompts", "static")
WATCHED_FILES = (CONFIG_FILE,)
SETTLE = 0.1  # seconds without a file event before a rebuild starts
MAX_SETTLE = 3.0  # a stream of events that never pauses still gets a rebuild
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


# -- what the server shows ---------------------------------------------------------------


@dataclass
class Snapshot:
    version: int
    epoch: int
    builds: int
    failures: int
    errors: list[str]
    prefix: str
    building: bool

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
        )

    def listening(self, change: int) -> None:
        with self.cond:
            self.listeners += change

    def set_building(self, building: bool) -> None:
        with self.cond:
            self.building = building

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
    if (state.token !== token) location.reload(); else show(state.errors);
  });
  events.addEventListener("reload", (e) => {
    if (JSON.parse(e.data).token !== token) location.reload();
  });
  events.addEventListener("failed", (e) => show(JSON.parse(e.data).errors));
})();
</script>
"""
OVERLAY_STYLE = (
    "position:fixed;z-index:2147483647;left:0;right:0;bottom:0;max-height:60vh;overflow:auto;"
    "margin:0;padding:1em;background:#fff4f4;color:#600;border-top:3px solid #c00;"
    "font:14px/1.4 monospace;text-align:left"
)


def injection(snapshot: Snapshot) -> bytes:
    """What serve adds before </body> of every HTML response: the error list while the
    build is broken, and the live-reload script."""
    banner = ""
    if snapshot.errors:
        banner = (
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
        parts = urlsplit(self.path)
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
                data = inject(path.read_bytes(), injection(snapshot))
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
            self._event("hello", {"token": seen.token, "epoch": seen.epoch, "errors": seen.errors})
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


# -- watching ----------------------------------------------------------------------------


class Watcher:
    """watchdog on the site's inputs; events only set `changed` and the time of the last."""

    def __init__(self, root: Path) -> None:
        from watchdog import events
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer

        self.root = root
        self.changed = threading.Event()
        self.last_event = 0.0
        self.events = 0
        # no open/close-without-write events: the build reads every file it watches
        self.kinds = [
            FileCreatedEvent,
            FileModifiedEvent,
            FileDeletedEvent,
            FileMovedEvent,
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
        ]
        if hasattr(events, "FileAttribEvent"):  # watchdog 6+: touch, chmod (before: modified)
            self.kinds.append(events.FileAttribEvent)
        watcher = self

        class Handler(FileSystemEventHandler):
            def __init__(self, top_level: bool) -> None:
                self.top_level = top_level

            def on_any_event(self, event: Any) -> None:
                watcher._seen(event, self.top_level)

        self.observer = Observer()
        self.observer.daemon = True
        self.top = Handler(True)
        self.below = Handler(False)
        self.watches: dict[str, tuple[Any, int]] = {}  # dir name -> (watch, inode)
        self.observer.schedule(self.top, str(root), recursive=False, event_filter=self.kinds)
        self.refresh()

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=2)

    def _seen(self, event: Any, top_level: bool) -> None:
        if event.is_directory and event.event_type in ("modified", "attrib"):
            return  # a folder's mtime: the file events inside it are what matters
        if top_level:
            names = {os.path.basename(p) for p in (event.src_path, event.dest_path) if p}
            if not names & {*WATCHED_FILES, *WATCHED_DIRS}:
                return  # site/, .cache/ and everything else at the top
        self.events += 1
        self.last_event = time.monotonic()
        self.changed.set()

    def refresh(self) -> None:
        """Watch each watched folder that exists (again, if it was replaced)."""
        for name in WATCHED_DIRS:
            path = self.root / name
            try:
                inode = path.stat().st_ino if path.is_dir() else None
            except OSError:
                inode = None
            old = self.watches.get(name)
            if old is not None and old[1] == inode:
                continue
            if old is not None:
                with contextlib.suppress(KeyError, OSError):
                    self.observer.unschedule(old[0])
                del self.watches[name]
            if inode is not None:
                try:
                    watch = self.observer.schedule(
                        self.below, str(path), recursive=True, event_filter=self.kinds
                    )
                except OSError:
                    continue
                self.watches[name] = (watch, inode)

    def settle(self, stopping: Callable[[], bool]) -> None:
        """Wait until no event has come for SETTLE seconds (at most MAX_SETTLE)."""
        started = time.monotonic()
        while not stopping():
            self.changed.clear()
            quiet = SETTLE - (time.monotonic() - self.last_event)
            if quiet <= 0 or time.monotonic() - started >= MAX_SETTLE:
                return
            self.changed.wait(quiet)


# -- the loop ----------------------------------------------------------------------------


class _Interrupt:
    """SIGINT/SIGTERM: stop at once when idle; during a build, after it (a second signal
    stops at once). Forked build workers inherit this handler: in them Ctrl-C is left to
    serve (a worker that died of it would hang its pool) and SIGTERM, which is how the
    pool ends its workers, ends them as usual."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.requested = False
        self.building = False
        self.pid = os.getpid()

    def __call__(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.pid:  # in a forked build worker
            if signum == signal.SIGTERM:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
            return
        if self.building and not self.requested:
            self.requested = True
            # os.write: print() from a signal handler can hit the buffer mid-write
            os.write(self.out.fileno(), b"Stopping after this build (Ctrl-C again to stop now)\n")
            return
        self.requested = True
        raise KeyboardInterrupt


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    drafts: bool = False


def serve(root: Path, options: ServeOptions, out: TextIO = sys.stdout) -> int:
    """Serve until interrupted; 0 when stopped by Ctrl-C, 1 if the port can't be had."""
    from .live import LiveSite

    root = root.resolve()
    state = ServeState()
    with contextlib.suppress(MarginaliaError):  # the first build reports it; until then: /
        state.prefix = load_settings(root).base_path
    try:
        server = Server((options.host, options.port), root / SITE_DIR, state)
    except OSError as exc:
        print(
            f"marginalia serve: cannot listen on {options.host}:{options.port}: {exc.strerror} "
            "(another --port?)",
            file=sys.stderr,
        )
        return 1
    host, port = server.server_address[:2]
    shown_host = f"[{host}]" if ":" in host else host
    live = LiveSite(root, drafts=options.drafts)
    interrupt = _Interrupt(sys.stderr)
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher = Watcher(root)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    warned: set[Problem] = set()

    def rebuild(first: bool) -> None:
        started = time.perf_counter()
        interrupt.building = True
        state.set_building(True)
        try:
            prefix = load_settings(root).base_path
            report = live.rebuild()
        except InputError as exc:
            state.failed([str(problem) for problem in exc.errors])
            _print_new(exc.warnings, warned)
            _report_failure(state.snapshot().errors)
        except MarginaliaError as exc:
            state.failed([str(exc)])
            _report_failure([str(exc)])
        except Exception as exc:  # a bug must not end the session: show it, keep serving
            traceback.print_exc()
            message = f"marginalia: internal error during the build: {type(exc).__name__}: {exc}"
            state.failed([message])
            _report_failure([message])
        else:
            state.succeeded(prefix)
            _print_new(report.warnings, warned)
            pub = report.published
            what = "Built" if first else "Rebuilt"
            print(
                f"{what} in {time.perf_counter() - started:.2f} s: {pub.written} written, "
                f"{pub.removed} removed, {report.pages} files",
                file=out,
                flush=True,
            )
        finally:
            interrupt.building = False
            state.set_building(False)

    try:
        watcher.start()
        thread.start()
        print(
            f"Serving {root / SITE_DIR} at http://{shown_host}:{port}{state.prefix} "
            "(Ctrl-C to stop)",
            file=out,
            flush=True,
        )
        rebuild(first=True)
        _tidy_memory(watcher)
        while not interrupt.requested:
            if not watcher.changed.wait(0.5):
                continue
            watcher.settle(lambda: interrupt.requested)
            if interrupt.requested:
                break
            watcher.refresh()
            rebuild(first=False)
            _tidy_memory(watcher)
    except KeyboardInterrupt:
        pass
    finally:
        state.stop()
        server.shutdown()
        server.server_close()
        watcher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Stopped.", file=out, flush=True)
    return 0


def _tidy_memory(watcher: Watcher) -> None:
    """The garbage collector, when idle. serve keeps a large archive's records in memory,
    and every collection during a build would walk them all (at 10,000 articles, about a
    third of a rebuild): builds run with automatic collection off (build.build), and after one, once the
    browsers have had their event and no change is waiting, one full collection runs and
    what survives it is frozen out of later collections' way."""
    if watcher.changed.wait(0.2):
        return  # another build comes first; its tidy-up will do
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _print_new(warnings: list[Problem], warned: set[Problem]) -> None:
    for warning in warnings:
        if warning not in warned:
            warned.add(warning)
            where, _, message = str(warning).partition(": ")
            print(f"{where}: warning: {message}", file=sys.stderr)


def _report_failure(errors: list[str]) -> None:
    for line in errors:
        print(line, file=sys.stderr)
    count = len(errors)
    print(
        f"Build failed: {count} error{'s' if count != 1 else ''}; still serving the last good "
        "build. Fix and save to rebuild.",
        file=sys.stderr,
        flush=True,
    )
