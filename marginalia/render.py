"""Rendering pages to files, in worker processes when there are many.

Workers are forked after the site is assembled, so they share the site model without
copying it. Each writes the pages that changed into a staging folder outside site/;
nothing is moved into site/ until every page has rendered (output.publish).
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .errors import Problem
from .output import output_path
from .pages import PageJob
from .theme import template_problem

PARALLEL_FROM = 200  # fewer pages than this render faster than a pool starts


@dataclass(frozen=True)
class Rendered:
    """One page's outcome: unchanged on disk, staged in a file, or a template error."""

    rel: str
    size: int = 0
    staged: Path | None = None
    problem: Problem | None = None


# What forked workers inherit: (site root, environment, jobs, site/, staging folder).
_WORK: tuple[Path, jinja2.Environment, Sequence[PageJob], Path | None, Path | None] | None = None


def _render_one(
    root: Path, env: jinja2.Environment, job: PageJob, site_dir: Path | None, staging: Path | None
) -> Rendered:
    rel = output_path(job.url)
    try:
        html = env.get_template(job.template).render(job.context).encode("utf-8")
    except jinja2.TemplateError as exc:
        return Rendered(rel, problem=template_problem(root, exc).errors[0])
    if site_dir is None or staging is None:  # check: rendered to find errors, written nowhere
        return Rendered(rel, len(html))
    target = site_dir / rel
    try:
        if target.stat().st_size == len(html) and target.read_bytes() == html:
            return Rendered(rel, len(html))
    except OSError:  # not there, or a folder (or a file standing where a folder must be)
        pass
    staged = (
        staging / hashlib.blake2b(rel.encode(), digest_size=16).hexdigest()
    )  # flat: no folders to make
    staged.write_bytes(html)
    return Rendered(rel, len(html), staged=staged)


def _render_range(bounds: tuple[int, int]) -> list[Rendered]:
    assert _WORK is not None
    root, env, jobs, site_dir, staging = _WORK
    results = []
    for job in jobs[bounds[0] : bounds[1]]:
        result = _render_one(root, env, job, site_dir, staging)
        results.append(result)
        if result.problem is not None:  # one template error is enough to stop
            break
    return results


def worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def render_pages(
    root: Path,
    env: jinja2.Environment,
    jobs: Sequence[PageJob],
    site_dir: Path | None,
    staging: Path | None,
) -> list[Rendered]:
    """Render every job; in forked workers when there are enough pages and cores."""
    global _WORK
    try:
        for name in sorted({job.template for job in jobs}):
            env.get_template(name)  # compiled once here: workers inherit them
    except jinja2.TemplateError as exc:
        return [Rendered("", problem=template_problem(root, exc).errors[0])]
    workers = worker_count()
    _WORK = (root, env, jobs, site_dir, staging)
    try:
        fork = "fork" in multiprocessing.get_all_start_methods()
        if workers < 2 or len(jobs) < PARALLEL_FROM or not fork:
            return _render_range((0, len(jobs)))
        chunk = max(8, len(jobs) // (workers * 16))
        ranges = [(start, min(start + chunk, len(jobs))) for start in range(0, len(jobs), chunk)]
        results: list[Rendered] = []
        gc.freeze()  # the garbage collector would touch, and so copy, every inherited object
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part in pool.imap(_render_range, ranges):
                results.extend(part)
        return results
    finally:
        gc.unfreeze()
        _WORK = None
