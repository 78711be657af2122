"""The HTML document Pagefind indexes for one article: what the archive knows of it, not
its rendered page (its title weighted, the summary, the text, then the analysis under a
heading of its own, so that Pagefind's sub-results say when a match is in the analysis),
with its tags, outlet, authors and year as filters and its date as the sort key."""

from __future__ import annotations

import html
import re
from datetime import UTC

from .. import dates
from ..content import Article

ANALYSIS_ID = "analysis"  # the article page's anchor of the analysis heading
ANALYSIS_HEADING = "Machine-written analysis"
TITLE_WEIGHT = 10  # Pagefind's default weight is 1, a heading's up to 7

_HEADING_ID = re.compile(r'(<h[1-6]) id="[^"]*"')


def document(article: Article, language: str) -> str:
    """The HTML that Pagefind indexes for one article. Headings with an id start a
    sub-result: the article's own, and the analysis's heading (its inner ones lose theirs,
    so that every match in it is shown as the analysis's)."""
    esc = html.escape
    sort_date = article.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = [
        f'<meta data-pagefind-meta="date[content]" content="{esc(dates.style(language).human_date(article.date))}">',
        f'<meta data-pagefind-sort="date[content]" content="{sort_date}">',
        f'<meta data-pagefind-filter="year[content]" content="{article.date.year}">',
    ]
    if article.source_term is not None:
        outlet = esc(article.source_term.name)
        head.append(f'<meta data-pagefind-meta="outlet[content]" content="{outlet}">')
        head.append(f'<meta data-pagefind-filter="outlet[content]" content="{outlet}">')
    for kind, terms in (("tag", article.tags), ("author", article.authors)):
        for term in terms:
            head.append(f'<meta data-pagefind-filter="{kind}[content]" content="{esc(term.name)}">')
    body = [f'<h1 data-pagefind-weight="{TITLE_WEIGHT}">{esc(article.title)}</h1>']
    if article.summary:
        body.append(f"<p>{esc(article.summary)}</p>")
    body.append(str(article.html))
    if article.analysis is not None:
        body.append(f'<h2 id="{ANALYSIS_ID}">{ANALYSIS_HEADING}</h2>')
        body.append(_HEADING_ID.sub(r"\1", str(article.analysis.html)))
        for note in article.analysis.notes:  # a match in a note is an analysis match
            text = article.analysis.html_store.render("analysis", note.text)
            body.append(_HEADING_ID.sub(r"\1", str(text)))
    return (
        f'<!doctype html><html lang="{esc(language)}"><head><meta charset="utf-8">'
        + "".join(head)
        + "</head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
