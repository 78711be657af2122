"""The request workflow's decision on an approved request: run `analyze` for one
article, refuse with a reason, or ignore the event.

.github/workflows/request.yml gathers what GitHub says into JSON files (the `issues`
event, the issue as it is at run time, the permission of whoever applied the label, the
other open requests) and runs `python build.py request-check` on them. Everything a
reader wrote is data here: it is never run, never passed to a shell, never quoted back.
A comment is our own text; the only value passed on is the path of an article that
exists under content/, matched exactly against the site's articles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..analysis.plan import State, load_for_analysis, state_of
from ..archive import Site
from ..content import CONTENT_DIR, Article, is_web_url
from ..errors import InputError, Problem
from ..theme import Urls
from .form import APPROVAL_LABEL, ARTICLE_PATH, REQUEST_LABEL, answers

# what the collaborator permission API calls write access (`permission` folds maintain
# into write; `role_name` names it, and custom roles built on write)
WRITE_PERMISSIONS = {"admin", "write"}
WRITE_ROLES = {"admin", "maintain", "write"}

REASONS = {
    "permission": (
        "Only someone with write, maintain or admin permission on this repository can "
        "approve a request, and the label was applied by an account without it. A "
        f"maintainer can remove the `{APPROVAL_LABEL}` label and apply it again."
    ),
    "closed": "This request is closed, so it was not run.",
    "edited": (
        "The article named in this request was changed after the request was approved. "
        f"A maintainer can check it and apply the `{APPROVAL_LABEL}` label again."
    ),
    "no path": (
        "This request names no article. Use the *Request an analysis* link on the "
        "article's page, or give the article's file under content/, like "
        "`2024/06/story.md`."
    ),
    "several": "This request names more than one article; one request asks for one article.",
    "not a path": (
        "The article must be given as its file under content/, like `2024/06/story.md`; "
        "what this request gives is not such a path."
    ),
    "outside": "The article file in this request is not under content/.",
    "url": (
        "The web address in this request is not the page of an article on this site. "
        "Give the article's file under content/, like `2024/06/story.md`."
    ),
    "no article": "There is no article at the file this request names.",
}
STATE_REASONS = {
    State.OPTED_OUT: "The editors have chosen not to analyze {article}.",
    State.LOCKED: "The analysis of {article} has been reviewed by an editor; a request cannot replace it.",
    State.FRESH: "The analysis of {article} is up to date: there is nothing to request.",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|//")


class Action(StrEnum):
    RUN = "run"
    REFUSE = "refuse"
    IGNORE = "ignore"


@dataclass(frozen=True)
class Decision:
    action: Action
    comment: str = ""  # Markdown for the issue; '' when nothing is said
    article: str = ""  # when RUN: the article's path relative to the site, content/...


@dataclass(frozen=True)
class Request:
    """What GitHub says about an approval (the workflow's JSON files, read)."""

    number: int  # the issue's
    label: str  # the label just applied
    approved_body: str  # the issue body in the event: what was approved
    current_body: str  # the issue body read again at run time
    open: bool  # at run time
    labels: frozenset[str]  # at run time
    permission: dict[str, Any]  # the collaborator permission API's answer for the sender
    others: tuple[tuple[int, str], ...] = ()  # (number, body) of the other open requests


def code(text: str) -> str:
    """Text as Markdown inline code, whatever backticks it holds."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def has_write_access(permission: dict[str, Any]) -> bool:
    return (
        permission.get("permission") in WRITE_PERMISSIONS
        or permission.get("role_name") in WRITE_ROLES
    )


def find_article(text: str, site: Site, root: Path) -> Article | str:
    """The article a request's answer names, or the key of the reason it names none.

    The answer must be exactly an article's path under content/ (with or without the
    `content/` in front), or exactly the address of its page on this site."""
    if not text or len(text) > 1000 or _CONTROL.search(text):
        return "not a path"
    if re.match(r"[A-Za-z]:[/\\]", text):  # C:\ or C:/, not a URL's scheme
        return "outside"
    if _URL.match(text):
        if not is_web_url(text):  # another scheme, or malformed ('http://[::1', a port 80x)
            return "url"
        pages = {Urls(site.settings).abs_url(a.url): a for a in site.articles}
        parts = urlsplit(text)
        if not parts.query and not parts.fragment:
            return pages.get(text, "url")
        return "url"
    rel = text.removeprefix(f"{CONTENT_DIR}/")
    if text.startswith("/") or "\\" in text:
        return "outside"
    if any(part in ("", ".", "..") for part in rel.split("/")):
        return "outside"
    content = (root / CONTENT_DIR).resolve()
    if not (content / rel).resolve().is_relative_to(content):
        return "outside"
    found = next((a for a in site.articles if a.path == rel), None)
    return found if found is not None else "no article"


def _named(body: str) -> tuple[str, ...]:
    """The different answers under the form's article heading (one, if all is well)."""
    return tuple(sorted({answer for answer in answers(body, ARTICLE_PATH) if answer}))


def decide(request: Request, site: Site, root: Path, prompt_sha256: str) -> Decision:
    """Whether an approved request runs (see the module's docstring)."""
    if request.label != APPROVAL_LABEL or APPROVAL_LABEL not in request.labels:
        return Decision(Action.IGNORE)  # another label, or the approval taken back
    if not has_write_access(request.permission):
        return Decision(Action.REFUSE, REASONS["permission"])
    if not request.open:
        return Decision(Action.REFUSE, REASONS["closed"])
    named = _named(request.current_body)
    if named != _named(request.approved_body):
        return Decision(Action.REFUSE, REASONS["edited"])
    if not named:
        return Decision(Action.REFUSE, REASONS["no path"])
    if len(named) > 1:
        return Decision(Action.REFUSE, REASONS["several"])
    article = find_article(named[0], site, root)
    if isinstance(article, str):
        return Decision(Action.REFUSE, REASONS[article])
    shown = code(f"{CONTENT_DIR}/{article.path}")
    sidecar = article.analysis.sidecar if article.analysis is not None else None
    state = state_of(article, sidecar, prompt_sha256)
    if state in STATE_REASONS:
        return Decision(Action.REFUSE, STATE_REASONS[state].format(article=shown))
    for number, body in sorted(request.others):
        other = _named(body)
        if (
            number < request.number
            and len(other) == 1
            and find_article(other[0], site, root) is article
        ):
            return Decision(
                Action.REFUSE,
                f"#{number} already requests an analysis of {shown}: please follow it there.",
            )
    return Decision(
        Action.RUN,
        f"Approved: analyzing {shown}. A pull request with the analysis will follow here.",
        f"{CONTENT_DIR}/{article.path}",
    )


# -- the workflow's files ----------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError([Problem(str(path), None, f"cannot read it as JSON ({exc})")]) from None


def _issues(pages: Any) -> Iterable[dict[str, Any]]:
    """The issues of a listing: one page (a list) or `gh api --paginate --slurp`'s list
    of pages."""
    for item in pages if isinstance(pages, list) else []:
        if isinstance(item, list):
            yield from (each for each in item if isinstance(each, dict))
        elif isinstance(item, dict):
            yield item


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _label_names(issue: dict[str, Any]) -> frozenset[str]:
    labels = issue.get("labels") if isinstance(issue.get("labels"), list) else []
    return frozenset(_text(label.get("name")) for label in labels if isinstance(label, dict))


def read_request(event: Path, issue: Path, permission: Path, requests: Path) -> Request:
    """The Request from the workflow's JSON files (a file that is no JSON is an error)."""
    event_data, now, sender, listing = (
        _read_json(path) for path in (event, issue, permission, requests)
    )
    event_data, now = (data if isinstance(data, dict) else {} for data in (event_data, now))
    approved = event_data.get("issue") or {}
    number = approved.get("number")
    others = tuple(
        (each["number"], _text(each.get("body")))
        for each in _issues(listing)
        if isinstance(each.get("number"), int)
        and each["number"] != number
        and "pull_request" not in each
        and REQUEST_LABEL in _label_names(each)
    )
    return Request(
        number=number if isinstance(number, int) else 0,
        label=_text((event_data.get("label") or {}).get("name")),
        approved_body=_text(approved.get("body")),
        current_body=_text(now.get("body")),
        open=now.get("state") == "open",
        labels=_label_names(now),
        permission=sender if isinstance(sender, dict) else {},
        others=others,
    )


def check_request(root: Path, request: Request) -> Decision:
    """decide() on the site at root, loaded as `analyze` loads it."""
    _, site, prompt = load_for_analysis(root)
    return decide(request, site, root, prompt.sha256)


def write_outputs(decision: Decision, output: Path, comment: Path) -> None:
    """The decision as step outputs (`key=value` lines appended to GITHUB_OUTPUT) and the
    comment as a file for `gh issue comment --body-file`."""
    for value in (decision.action.value, decision.article):
        assert not _CONTROL.search(value), "an output value is one line"
    with output.open("a", encoding="utf-8") as out:
        out.write(f"action={decision.action.value}\narticle={decision.article}\n")
    comment.write_text(decision.comment + "\n" if decision.comment else "", encoding="utf-8")
