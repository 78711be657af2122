"""Progress of a long analyze run: a bar with counts and ETA on a terminal, lines elsewhere."""

from __future__ import annotations

import shutil
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Call `done(path, ok)` per finished article; `close()` at the end."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.interactive = stream.isatty()
        self.finished = 0
        self.failed = 0
        self.started = time.monotonic()

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        remaining = (self.total - self.finished) * elapsed / self.finished if self.finished else 0
        eta = (
            f" · ETA {_duration(remaining)}" if self.finished and self.finished < self.total else ""
        )
        failed = f" · {self.failed} failed" if self.failed else ""
        return f"{self.finished}/{self.total}{failed} · {_duration(elapsed)}{eta}"

    def done(self, path: str, ok: bool, reason: str = "") -> None:
        self.finished += 1
        self.failed += not ok
        if self.interactive:
            width = shutil.get_terminal_size((80, 20)).columns
            status = self.status()
            bar_width = max(10, min(40, width - len(status) - 4))
            filled = bar_width * self.finished // max(self.total, 1)
            line = f"[{'#' * filled}{'.' * (bar_width - filled)}] {status}"
            self.stream.write("\r" + line[: width - 1].ljust(width - 1))
        else:
            outcome = "ok" if ok else f"FAILED: {reason}"
            self.stream.write(f"[{self.finished}/{self.total}] {path}: {outcome}\n")
        self.stream.flush()

    def say(self, line: str) -> None:
        """A line of its own, above the bar on a terminal."""
        self.stream.write(("\r\x1b[K" if self.interactive else "") + line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self.total:
            self.stream.write("\n")
            self.stream.flush()
