"""The analysis request form: its fields, the article page's link that opens it
prefilled, and the reading of the issue body it produces.

The form is .github/ISSUE_TEMPLATE/request-analysis.yml. A link prefills its fields by
their ids (`?template=request-analysis.yml&article-path=...`); GitHub writes the
answers into the issue body as Markdown, each under its field's label as a `### `
heading, "_No response_" for an empty one. The ids and labels below are the form's
(tests/test_request.py holds the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from ..config import Settings
from ..content import Article
from ..theme import Urls

FORM_FILE = "request-analysis.yml"
REQUEST_LABEL = "analysis-request"  # the form puts it on every request
APPROVAL_LABEL = "analysis-approved"  # a maintainer's approval: the workflow runs
TITLE_PREFIX = "Analysis request: "
NO_RESPONSE = "_No response_"


@dataclass(frozen=True)
class Field:
    id: str  # the query parameter that prefills it
    label: str  # its heading in the issue body


ARTICLE_PATH = Field("article-path", "Article file")
ARTICLE_URL = Field("article-url", "Article page")


@dataclass(frozen=True)
class RequestLink:
    """What an article page offers a reader: the link's text and address."""

    text: str
    href: str


def request_link(settings: Settings, urls: Urls, article: Article) -> RequestLink | None:
    """The link to request a missing analysis, or a fresh one for an earlier version of
    the article; None without a repository, for an article opted out of analysis, and
    for a locked (reviewed) analysis, which no request may replace."""
    if settings.repository is None or not article.wants_analysis:
        return None
    analysis: Any = article.analysis
    if analysis is None:
        text = "Request an analysis"
    elif analysis.is_stale and not analysis.locked:
        text = "Request a fresh analysis"
    else:
        return None
    query = {
        "template": FORM_FILE,
        "title": TITLE_PREFIX + article.title,
        ARTICLE_PATH.id: article.path,
        ARTICLE_URL.id: urls.abs_url(article.url),
    }
    # quote, not quote_plus: GitHub's form shows a '+' in a field as a plus sign
    address = f"https://github.com/{settings.repository}/issues/new?"
    return RequestLink(text, address + urlencode(query, quote_via=quote))


def answers(body: str, field: Field) -> list[str]:
    """Every answer given under the field's heading in an issue body (a body written by
    hand may repeat a heading; one from the form has it once). An empty answer is ''."""
    found: list[str] = []
    current: list[str] | None = None
    for line in [*body.replace("\r\n", "\n").split("\n"), "### "]:
        if line.startswith("### "):
            if current is not None:
                text = "\n".join(current).strip()
                found.append("" if text == NO_RESPONSE else text)
            current = [] if line[4:].strip() == field.label else None
        elif current is not None:
            current.append(line)
    return found
