"""Rendering pages to files, in worker processes when there are many.

Workers are forked after the site is assembled, so they share the site model without
copying it. Each writes the pages that changed into a staging folder outside site/, at
the paths they will have there; nothing is moved into site/ until every page has
rendered (output.publish).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import atomic
from .errors import Problem
from .output import output_path
from .pages import PageJob
from .theme import template_problem
from .workers import map_ranges

PARALLEL_FROM = 200  # fewer pages than this render faster than a pool starts


@dataclass(frozen=True)
class Rendered:
    """One page's outcome: unchanged on disk, staged in a file, or a template error."""

    rel: str
    size: int = 0
    staged: Path | None = None
    problem: Problem | None = None


def _render_one(
    root: Path, env: jinja2.Environment, job: PageJob, site_dir: Path | None, staging: Path | None
) -> Rendered:
    rel = output_path(job.url)
    try:
        html = job.render(env)
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
    staged = staging / rel  # where it goes in site/: a first build moves the whole folder
    atomic.ensure_folder(staged.parent)
    staged.write_bytes(html)
    return Rendered(rel, len(html), staged=staged)


def render_pages(
    root: Path,
    env: jinja2.Environment,
    jobs: Sequence[PageJob],
    site_dir: Path | None,
    staging: Path | None,
) -> list[Rendered]:
    """Render every job; in forked workers when there are enough pages and cores."""
    try:
        for name in sorted({job.template for job in jobs if job.make is None}):
            env.get_template(name)  # compiled once here: workers inherit them
    except jinja2.TemplateError as exc:
        return [Rendered("", problem=template_problem(root, exc).errors[0])]

    def render_range(start: int, stop: int) -> list[Rendered]:
        results = []
        for job in jobs[start:stop]:
            results.append(_render_one(root, env, job, site_dir, staging))
            if results[-1].problem is not None:  # one template error is enough to stop
                break
        return results

    return map_ranges(render_range, len(jobs), minimum=PARALLEL_FROM)
