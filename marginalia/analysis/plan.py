"""Which articles need an analysis (fresh, missing, stale, locked or opted out), and the
site and prompt that is judged from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..archive import Site
from ..build import attach_html, load_site
from ..config import Settings, load_settings
from ..content import Article
from ..errors import Problems
from .prompt import Prompt, load_prompt
from .sidecar import Sidecar


class State(StrEnum):
    FRESH = "fresh"
    MISSING = "missing"
    STALE = "stale"  # article or prompt changed since the analysis was written
    LOCKED = "locked"  # an editor owns it: never rewritten
    OPTED_OUT = "opted out"  # analysis: false in the article


@dataclass(frozen=True)
class PlanItem:
    article: Article
    sidecar: Sidecar | None
    state: State

    @property
    def stale_reason(self) -> str:
        if self.state is not State.STALE or self.sidecar is None:
            return ""
        if self.sidecar.article_sha256 != self.article.sha256:
            return "article changed"
        return "prompt changed"


def state_of(article: Article, sidecar: Sidecar | None, prompt_sha256: str) -> State:
    if not article.wants_analysis:
        return State.OPTED_OUT
    if sidecar is None:
        return State.MISSING
    if sidecar.locked:
        return State.LOCKED
    if sidecar.article_sha256 != article.sha256 or sidecar.prompt_sha256 != prompt_sha256:
        return State.STALE
    return State.FRESH


def make_plan(articles: list[Article], prompt_sha256: str) -> list[PlanItem]:
    """One item per article in the given order (newest first: the order `--limit` takes)."""
    items = []
    for article in articles:
        sidecar = article.analysis.sidecar if article.analysis is not None else None
        items.append(PlanItem(article, sidecar, state_of(article, sidecar, prompt_sha256)))
    return items


def counts(plan: list[PlanItem]) -> Counter[State]:
    return Counter(item.state for item in plan)


def load_for_analysis(root: Path) -> tuple[Settings, Site, Prompt]:
    """The settings, the site without drafts and the prompt, as analyses are made from
    them; InputError listing every problem."""
    problems = Problems()
    settings = load_settings(root)
    site = load_site(root, settings, problems, drafts=False)
    problems.raise_if_errors()
    attach_html(site)  # notes' quotes are checked against the article as its page shows it
    return settings, site, load_prompt(root, settings.analysis.prompt)
