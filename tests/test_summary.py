"""An article without a summary gets its first paragraph as one (issue 11): plain text,
cut at a word, in lists, feeds, the meta description and JSON-LD; a NUL in it shows as
U+FFFD, as in the rendered body, and no control character reaches any file (issue 18)."""

from __future__ import annotations

import gzip
import json
import pickle
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from conftest import article

from marginalia import records
from marginalia.build import CACHE_DIR
from marginalia.search import BUNDLE_DIR
from marginalia.summary import LIMIT, summary_of


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        ("First paragraph.\n\nSecond one.", "First paragraph."),
        ("Two lines\nof one paragraph.", "Two lines of one paragraph."),
        (
            "# A heading\n\nThe *real* **first** paragraph, with a [link](https://e.org/ 'x'), "
            "`code`, a snake_case_name, ~~struck~~ and _emphasis_.",
            "The real first paragraph, with a link, code, a snake_case_name, struck and emphasis.",
        ),
        ("```\nnot this\n\nnor this\n```\n\nAfter the code.", "After the code."),
        ("Setext heading\n==============\n\nThe text.", "The text."),
        ("- a list\n- of items\n\n> a quote\n\n| a | b |\n|---|---|\n\nAt last.", "At last."),
        ("    indented code\n\n![a photo](p.jpg)\n\nThe lead.", "The lead."),
        ("AT&amp;T \\*is not\\* emphasis<sup>1</sup>[^1].", "AT&T *is not* emphasis1."),
        ("", ""),
        ("```\nonly code\n```\n", ""),
        ("a &#1;&#x81; b &#xFEFF;c &#xFFFF;&#0;", "a b c \ufffd"),
    ],
    ids=[
        "first",
        "joined",
        "markup",
        "fence",
        "setext",
        "blocks",
        "code-and-image",
        "escapes",
        "empty",
        "no-paragraph",
        "references-to-controls",
    ],
)
def test_the_first_paragraph_as_plain_text(body: str, summary: str) -> None:
    assert summary_of(body) == summary


def test_a_long_paragraph_is_cut_at_a_word_with_an_ellipsis() -> None:
    words = " ".join(f"word{n}," for n in range(100))
    summary = summary_of(words)
    assert len(summary) <= LIMIT
    assert summary.endswith("…") and not summary.endswith(",…")
    assert words.startswith(summary[:-1] + ",")  # whole words only


def test_a_long_text_without_spaces_is_cut_too() -> None:
    summary = summary_of("北" * 500)
    assert summary == "北" * (LIMIT - 1) + "…"


BODY = (
    "## Background\n\nPyongyang and Moscow signed a **mutual defence** pact on "
    "[Wednesday](https://e.org/a), the first such treaty in decades; analysts say it "
    "changes the balance in the region, and that its terms go further than expected.\n\n"
    "A second paragraph that is not in the summary.\n"
)
DERIVED = (
    "Pyongyang and Moscow signed a mutual defence pact on Wednesday, the first such treaty "
    "in decades; analysts say it changes the balance in the region, and that…"
)


def test_the_summary_is_shown_in_lists_feeds_and_metadata(site, run) -> None:
    root = site(
        {
            "content/a.md": article(title="Pact", tags="[korea]", body=BODY),
            "content/b.md": article(title="Given", date="2024-06-21", summary="As written."),
        }
    )
    assert run("build", "--root", root).status == 0
    out = root / "site"
    assert len(DERIVED) <= LIMIT
    for listing in ("index.html", "tags/korea/index.html"):
        html = (out / listing).read_text(encoding="utf-8")
        assert f'<p class="summary">{DERIVED}</p>' in html, listing
    assert '<p class="summary">As written.</p>' in (out / "index.html").read_text()
    page = (out / "2024/06/a/index.html").read_text(encoding="utf-8")
    assert f'<meta name="description" content="{DERIVED}">' in page
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert json.loads(script[1])["description"] == DERIVED
    entries = {e.title: e for e in feedparser.parse((out / "feed.xml").read_bytes()).entries}
    assert entries["Pact"].summary == DERIVED
    assert entries["Given"].summary == "As written."


def test_new_writes_no_empty_summary(site, run) -> None:
    root = site()
    result = run("new", "A headline", "--root", root)
    assert result.status == 0, result.err
    written = (root / result.out.strip().removeprefix(str(root) + "/")).read_text()
    assert "summary" not in written


def test_records_an_older_marginalia_parsed_are_parsed_again(site, run) -> None:
    """Its records have no summary made up: they must not be taken for new ones."""
    root = site({"content/a.md": article(body="The first paragraph.")})
    assert run("build", "--root", root).status == 0
    for shard in (root / CACHE_DIR).glob("records-*.pickle"):
        salt, entries = pickle.loads(shard.read_bytes())
        for key, (mtime, size, blob, warnings) in entries.items():
            record = pickle.loads(blob)
            record.summary = ""  # as parsing gave before FORMAT 2
            entries[key] = (mtime, size, pickle.dumps(record), warnings)
        older = salt.replace(f"|{records.FORMAT}|", f"|{records.FORMAT - 1}|")
        shard.write_bytes(pickle.dumps((older, entries)))
    assert run("build", "--full", "--root", root).status == 0
    html = (root / "site/index.html").read_text(encoding="utf-8")
    assert '<p class="summary">The first paragraph.</p>' in html


# Written as an editor's tools can leave them: a BOM before the first paragraph, a NUL and
# a bell in it; YAML escapes put controls, a NUL and DEL in the title, tags and author.
HOSTILE_FILE = (
    b"---\n"
    b'title: "Control\\a characters\\x01 in a \\0 title"\n'
    b"date: 2025-01-15T10:00:00+00:00\n"
    b'tags: ["Ko\\x1brea", "Nul\\0tag"]\n'
    b'authors: ["Ann\\x7f Author"]\n'
    b"---\n" + "\ufeffText with a NUL \x00 char and a bell \x07 here.\n\nMore.\n".encode()
)
FIT_SUMMARY = "Text with a NUL \ufffd char and a bell here."
FIT_TITLE = "Control characters in a \ufffd title"
UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")


def site_texts(out: Path) -> dict[str, str]:
    """{path in site/: text} of every file the build wrote from the site's text: all but
    Pagefind's own program and binary index, whose fragments (gzip of "pagefind_dcd" and
    a JSON document) hold the indexed text and are read for it."""
    texts = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.suffix == ".pf_fragment":
            data = gzip.decompress(path.read_bytes()).removeprefix(b"pagefind_dcd")
            texts[rel] = json.dumps(json.loads(data), ensure_ascii=False)
        elif path.is_file() and not rel.startswith(f"{BUNDLE_DIR}/"):
            texts[rel] = path.read_bytes().decode("utf-8")
    return texts


def test_a_nul_bom_and_controls_reach_no_file_and_every_feed_parses(site, run) -> None:
    root = site({"content/2025/01/nul.md": HOSTILE_FILE})
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    out = root / "site"
    texts = site_texts(out)
    assert any(rel.endswith(".pf_fragment") for rel in texts), sorted(texts)
    for rel, text in texts.items():
        bad = UNFIT.search(text)
        assert bad is None, f"site/{rel}: {bad[0]!r} in {text[bad.start() - 60 : bad.end() + 20]!r}"
    assert f'<p class="summary">{FIT_SUMMARY}</p>' in texts["index.html"]
    assert f'<p class="summary">{FIT_SUMMARY}</p>' in texts["2025/01/index.html"]
    page = texts["2025/01/nul/index.html"]
    assert f'<meta name="description" content="{FIT_SUMMARY}">' in page
    # the body as the Markdown engine renders it (the bell's spaces are the summary's one)
    assert "<p>Text with a NUL \ufffd char and a bell  here.</p>" in page
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    jsonld = json.loads(script[1])
    assert (jsonld["headline"], jsonld["description"]) == (FIT_TITLE, FIT_SUMMARY)
    assert jsonld["keywords"] == ["Korea", "Nul\ufffdtag"]
    assert any(FIT_SUMMARY in text for rel, text in texts.items() if rel.endswith("fragment"))
    feeds = sorted(rel for rel in texts if rel.endswith("feed.xml"))
    assert len(feeds) == 3, feeds  # the site's and one for each tag
    for rel in [*feeds, "sitemap.xml"]:
        ET.fromstring(texts[rel].encode())
    for rel in feeds:
        parsed = feedparser.parse(texts[rel].encode())
        assert not parsed.bozo, f"{rel}: {parsed.get('bozo_exception')}"
        [entry] = parsed.entries
        assert (entry.title, entry.summary) == (FIT_TITLE, FIT_SUMMARY), rel
        assert [tag.label for tag in entry.tags] == ["Korea", "Nul\ufffdtag"]
