"""serve: build, serve site/ as GitHub Pages would, rebuild on change, reload the browser.

This is the loop between http.py (what the browser sees) and watch.py (when the
inputs changed):
- Once the watcher has settled, the main thread rebuilds (live.py): an edit to articles'
  text is applied to the site kept in memory, anything else is the ordinary incremental
  build, given a record cache kept in memory so unchanged files are neither re-read nor
  unpickled.
- A successful rebuild bumps an epoch; a failed one keeps the last good site/ served and
  remembers the error list.
- After the reload, the search index is made in the background (search_index.py): the loop
  polls Pagefind's run between changes and publishes its bundle when it is done; its
  failure is shown as a failed build's.
- Never calls the model. Ctrl-C stops it: at once when idle, after the build in progress
  otherwise (so site/ is never left half-published); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..config import load_settings
from ..errors import InputError, MarginaliaError, Problem
from ..output import SITE_DIR
from ..words import plural
from .http import Server, ServeState
from .watch import Watcher


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

    def guarded(action: Callable[[], None]) -> None:
        """Run a build step as a build: Ctrl-C waits for it, its errors are shown."""
        interrupt.building = True
        try:
            action()
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
        finally:
            interrupt.building = False
            state.set_building(False)
            state.set_indexing(live.index.pending)

    def rebuild(first: bool) -> None:
        started = time.perf_counter()
        state.set_building(True)
        prefix = load_settings(root).base_path
        report = live.rebuild()
        # before the reload: the status is never "all done" early
        state.set_indexing(live.index.pending)
        state.succeeded(prefix)
        _print_new(report.warnings, warned)
        pub = report.published
        what = "Built" if first else "Rebuilt"
        print(
            f"{what} in {time.perf_counter() - started:.2f} s: {pub.written} written, "
            f"{pub.removed} removed, {plural(report.pages, 'file')}",
            file=out,
            flush=True,
        )

    def index() -> None:
        report = live.index.step()
        if report is not None:  # told before the browsers are, so the log is in order
            print(
                f"Search index published: {report.written} written, {report.removed} removed",
                file=out,
                flush=True,
            )
            state.index_published()

    try:
        watcher.start()
        thread.start()
        print(
            f"Serving {root / SITE_DIR} at http://{shown_host}:{port}{state.prefix} "
            "(Ctrl-C to stop)",
            file=out,
            flush=True,
        )
        guarded(lambda: rebuild(first=True))
        _tidy_memory(watcher)
        while not interrupt.requested:
            if not watcher.changed.wait(0.1 if live.index.pending else 0.5):
                if live.index.pending:
                    guarded(index)
                continue
            live.index.stop_run()
            watcher.settle(lambda: interrupt.requested)
            if interrupt.requested:
                break
            watcher.refresh()
            guarded(lambda: rebuild(first=False))
            _tidy_memory(watcher)
    except KeyboardInterrupt:
        pass
    finally:
        live.index.drop()  # a run under way stops; site/ keeps the last bundle published
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
    print(
        f"Build failed: {plural(len(errors), 'error')}; still serving the last good "
        "build. Fix and save to rebuild.",
        file=sys.stderr,
        flush=True,
    )
