"""check: everything a build validates, without writing; and what analyze would do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .analysis.plan import State, counts, make_plan
from .analysis.prompt import load_prompt
from .analysis.sidecar import ANALYSES_DIR
from .build import load_and_render
from .errors import Problem
from .notes.quotes import unmatched_problems
from .words import plural


@dataclass
class CheckReport:
    articles: int
    pages: int
    states: dict[State, int]
    prompt_stale: int
    warnings: list[Problem]

    def summary(self) -> str:
        lines = [
            f"OK: {plural(self.articles, 'article')}, {plural(self.pages, 'page')}; config, content, analyses and templates are valid."
        ]
        lines.append("Analyses: " + ", ".join(f"{self.states.get(s, 0)} {s.value}" for s in State))
        if self.prompt_stale:
            lines.append(
                f"  ({self.prompt_stale} of the stale ones only because the prompt changed)"
            )
        todo = self.states.get(State.MISSING, 0) + self.states.get(State.STALE, 0)
        if todo:
            lines.append(
                f"Run 'python build.py analyze' to write the "
                f"{plural(todo, 'missing or stale analysis', 'missing and stale analyses')}."
            )
        return "\n".join(lines)


def check(root: Path, *, drafts: bool = False) -> CheckReport:
    """Load and render everything in memory; raise InputError listing all problems."""
    site, _, _, problems = load_and_render(root, drafts=drafts)
    settings = site.settings
    prompt = load_prompt(root, settings.analysis.prompt)
    plan = make_plan(site.articles, prompt.sha256)
    prompt_only = sum(1 for item in plan if item.stale_reason == "prompt changed")
    quotes = [
        problem
        for item in plan
        if item.sidecar is not None
        for problem in unmatched_problems(
            item.article, item.sidecar.notes, f"{ANALYSES_DIR}/{item.article.path}"
        )
    ]
    return CheckReport(
        len(site.articles),
        len(site.pages),
        dict(counts(plan)),
        prompt_only,
        sorted(set(problems.warnings + quotes)),
    )
