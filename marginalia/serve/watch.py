"""serve's file watcher: it says when the site's inputs changed and have settled.

watchdog watches content/, analyses/, layouts/, prompts/, static/ and config.yaml; its
handler only records that something changed. The main thread waits until no event has
come for SETTLE seconds (a `git checkout` of 500 files is one rebuild), then rebuilds.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE

WATCHED_DIRS = ("content", "analyses", "layouts", "prompts", "static")
WATCHED_FILES = (CONFIG_FILE,)
SETTLE = 0.1  # seconds without a file event before a rebuild starts
MAX_SETTLE = 3.0  # a stream of events that never pauses still gets a rebuild


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
