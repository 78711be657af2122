"""Work split over forked processes: the GIL keeps threads to one core.

Workers are forked after the data they need is in memory, so they share it instead of
receiving copies; only their results travel back. Where fork is not available (Windows,
some macOS setups) or the work is small, it runs in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable
from typing import Any

_TASK: Callable[[int, int], list[Any]] | None = None  # what forked workers inherit


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None
    return _TASK(*bounds)


def worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_ranges(task: Callable[[int, int], list[Any]], count: int, *, minimum: int) -> list[Any]:
    """task(start, stop) over [0, count) in slices; the results concatenated in order."""
    global _TASK
    workers = worker_count()
    if workers < 2 or count < minimum or "fork" not in multiprocessing.get_all_start_methods():
        return task(0, count)
    chunk = max(8, count // (workers * 16))
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    _TASK = task
    gc.freeze()  # the garbage collector would touch, and so copy, every inherited object
    try:
        results: list[Any] = []
        # a build pauses the collector (build._collector_paused); a worker renders
        # thousands of pages and collects as it goes
        with multiprocessing.get_context("fork").Pool(workers, initializer=gc.enable) as pool:
            for part in pool.imap(_run, ranges):
                results.extend(part)
        return results
    finally:
        gc.unfreeze()
        _TASK = None
