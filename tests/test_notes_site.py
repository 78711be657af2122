"""Notes on the built site (issue 20): beside their blocks on the article page, listed in
the analysis in reading order, after the article in full-content feeds; a stale
analysis keeps the notes whose words still match beside them, the others in the list."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
from conftest import article

BODY = "The council approved the budget.\n\nThe mayor called it *historic*.\n"
FRESH = "---\nmodel: m\n---\nThe analysis.\n\n## Notes\n"
NOTES = """
### check
> called it historic

Who else called it that?

### context
> words not in the article

An unplaced note.

### source
> The council approved

Which vote?
"""


def built(site, run, files: dict[str, str]) -> Path:
    root = site(files)
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    return root / "site"


def page_of(out: Path) -> str:
    return (out / "2024/06/a/index.html").read_text(encoding="utf-8")


def listed(page: str) -> list[str]:
    """The notes list of the analysis: each item's label and quote."""
    items = re.findall(r'<li>\n<p class="note-head">(.*?)</p>', page, re.DOTALL)
    return [re.sub(r"<[^>]+>", "", item) for item in items]


def test_notes_go_beside_their_blocks_and_are_listed_in_reading_order(site, run) -> None:
    page = page_of(
        built(site, run, {"content/a.md": article("A", body=BODY), "analyses/a.md": FRESH + NOTES})
    )
    blocks = re.findall(
        r'<div class="noted">\n(<p>.*?</p>)\n<aside class="margin-notes">(.*?)</aside>',
        page,
        re.DOTALL,
    )
    assert [re.findall(r'id="(note_\d)"', notes) for _, notes in blocks] == [["note_1"], ["note_2"]]
    assert (
        '<mark class="note-quote note-quote-end" id="quote_1" data-note="1">The council approved</mark>'
        in blocks[0][0]
    )
    assert "Which vote?" in blocks[0][1] and "Who else" in blocks[1][1]
    assert listed(page) == [
        "Source · on The council approved",
        "To check · on called it historic",
        "Context · on words not in the article (words the article does not contain)",
    ]
    assert "An unplaced note." in page and "## Notes" not in page


def test_a_stale_analysis_keeps_the_notes_that_still_match_beside_them(site, run) -> None:
    stale = FRESH.replace("model: m", "model: m\narticle_sha256: " + "0" * 64)
    edited = BODY.replace("called it *historic*", "called it a start")
    page = page_of(
        built(
            site, run, {"content/a.md": article("A", body=edited), "analyses/a.md": stale + NOTES}
        )
    )
    assert "written for an earlier version of this article" in page
    assert page.count('class="margin-note"') == 1 and "Which vote?" in page.split("</aside>")[0]
    assert "machine-written, for an earlier version" in page
    assert listed(page) == [
        "Source · on The council approved",
        "To check · on called it historic (words the article no longer contains)",
        "Context · on words not in the article (words the article no longer contains)",
    ]


def test_an_analysis_without_notes_leaves_the_body_as_it_was(site, run) -> None:
    page = page_of(
        built(
            site,
            run,
            {
                "content/a.md": article("A", body=BODY),
                "analyses/a.md": FRESH.replace("## Notes\n", ""),
            },
        )
    )
    assert "noted" not in page and "<mark" not in page and "notes-list" not in page
    assert (
        "<p>The council approved the budget.</p>\n<p>The mayor called it <em>historic</em>.</p>"
        in page
    )


def test_full_content_feeds_carry_the_notes_after_the_article(site, run) -> None:
    out = built(
        site,
        run,
        {"content/a.md": article("A", body=BODY, tags="[x]"), "analyses/a.md": FRESH + NOTES},
    )
    for feed in ("feed.xml", "tags/x/feed.xml"):
        parsed = feedparser.parse((out / feed).read_bytes())
        assert not parsed.bozo
        content = parsed.entries[0].content[0].value
        text, _, after = content.partition("<h2>Machine-written notes</h2>")
        assert "<mark" not in text and "The council approved the budget." in text
        assert "Written by a language model (m)" in after
        assert re.findall(r"<strong>(.*?)</strong>", after) == ["Source", "To check", "Context"]
        assert "“words not in the article”" in after and "<p>Which vote?</p>" in after
