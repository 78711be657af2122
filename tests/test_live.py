"""serve's rebuilds (marginalia/serve/live.py): an edit to articles' text is applied to the kept
site, anything else is a whole build; after each, site/ holds the bytes of a clean build,
and the record on disk is true (a later `build` writes nothing)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import tree_digest, write_files
from test_incremental import FILES, NOTE, add, edit, remove

from marginalia.build import build
from marginalia.errors import InputError
from marginalia.serve.live import LiveSite

SIDECAR = "---\nmodel: m\narticle_sha256: " + "0" * 64 + "\n---\n"

# Each applied to the kept site: the articles' text changes, nothing of where they stand.
EDITS_APPLIED = [
    ("body", edit("content/2024/b.md", "Beta body.", "Beta body, corrected.")),
    ("same size", edit("content/2024/b.md", "Beta body, corrected.", "Beta body, amended!.")),
    ("back again", edit("content/2024/b.md", "Beta body, amended!.", "Beta body, corrected.")),
    ("title", edit("content/2024/c.md", "title: Gamma", "title: Gamma revised")),
    ("summary", edit("content/2023/d.md", "title: Delta", "title: Delta\nsummary: In brief.")),
    ("extra key", edit("content/2023/e.md", "title: Epsilon", "title: Epsilon\nmood: calm")),
    ("opt out", edit("content/2023/e.md", "title: Epsilon", "title: Epsilon\nanalysis: false")),
    ("analysis edited", edit("analyses/2024/b.md", "Old analysis.", "Reviewed analysis.")),
    ("analysis fresh", edit("analyses/2024/b.md", "0" * 64, "a" * 64)),
    ("note added", edit("analyses/2024/b.md", "Reviewed analysis.", "Reviewed analysis." + NOTE)),
    ("note edited", edit("analyses/2024/b.md", "Says who?", "Who says so?")),
    ("note no longer placed", edit("content/2024/b.md", "Beta body, corrected.", "Beta, amended.")),
    ("note placed again", edit("content/2024/b.md", "Beta, amended.", "Beta body, corrected.")),
    # Beta is in Alpha's "More on energy" and on /archive/: their pages show its title
    ("title shown elsewhere", edit("content/2024/b.md", "title: Beta", "title: Beta revised")),
]

# Each a whole build: where an article stands, or what every page shares, changed.
WHOLE_BUILDS = [
    ("date", edit("content/2024/a.md", "2024-01-05", "2022-12-31")),
    (
        "same instant, another zone",
        edit("content/2024/b.md", "2024-02-05", "2024-02-04T23:00:00-01:00"),
    ),
    ("tag", edit("content/2024/b.md", "tags: energy", "tags: [climate]")),
    ("more on list", edit("content/2023/d.md", "tags: [korea]", "tags: [climate, korea]")),
    ("language", edit("content/2024/c.md", "title: Gamma", "title: Gamma\nlanguage: fr")),
    ("new article", add("content/2024/f.md", "---\ntitle: Zeta\ndate: 2024-04-01\n---\nZ.\n")),
    ("deleted article", remove("content/2023/d.md")),
    ("analysis added", add("analyses/2024/c.md", SIDECAR + "A new analysis.\n")),
    ("analysis removed", remove("analyses/2024/c.md")),
    ("page", edit("content/pages/about.md", "About us.", "About us, again.")),
    ("template", add("layouts/article.html", '{% extends "default/article.html" %}\n')),
    ("config", edit("config.yaml", "paginate: 2", "paginate: 3")),
    ("static", add("static/extra.txt", "hello\n")),
    ("theme stylesheet", add("layouts/static/style.css", "body { color: teal; }\n")),
]


def clean_digest(root: Path, elsewhere: Path) -> dict[str, str]:
    shutil.rmtree(elsewhere, ignore_errors=True)
    shutil.copytree(root, elsewhere, ignore=shutil.ignore_patterns("site", ".cache"))
    build(elsewhere)
    return tree_digest(elsewhere / "site")


@pytest.fixture
def live(tmp_path: Path) -> LiveSite:
    root = tmp_path / "live"
    write_files(root, FILES)
    site = LiveSite(root, drafts=False)
    site.rebuild()
    site.finish_index()
    return site


def replay(live: LiveSite, tmp_path: Path, name: str, change: Callable[[Path], None]) -> None:
    time.sleep(0.02)  # past the file system's clock tick: files are known by size and mtime
    change(live.root)
    live.rebuild()
    live.finish_index()
    assert tree_digest(live.root / "site") == clean_digest(live.root, tmp_path / "clean"), name


def test_text_edits_are_applied_to_the_kept_site(live: LiveSite, tmp_path: Path) -> None:
    for count, (name, change) in enumerate(EDITS_APPLIED, start=1):
        replay(live, tmp_path, name, change)
        assert live.edits_applied == count, f"{name}: was a whole build"
    after = build(live.root)
    assert after.published.written == after.published.removed == 0


def test_other_changes_are_whole_builds(live: LiveSite, tmp_path: Path) -> None:
    body = "content/2024/b.md"
    for name, change in WHOLE_BUILDS:
        applied = live.edits_applied
        replay(live, tmp_path, name, change)
        assert live.edits_applied == applied, f"{name}: was applied as a text edit"
        replay(live, tmp_path, f"a text edit after: {name}", edit(body, "Beta body.", "Beta!"))
        assert live.edits_applied == applied + 1, f"after {name}: a whole build"
        replay(live, tmp_path, f"undone after: {name}", edit(body, "Beta!", "Beta body."))
    after = build(live.root)
    assert after.published.written == after.published.removed == 0


def test_a_text_edit_renders_only_the_pages_that_show_the_article(live: LiveSite) -> None:
    report = live.rebuild()  # nothing changed
    assert live.edits_applied == 1 and report.published.written == 0
    before = tree_digest(live.root / "site")
    edit("content/2024/b.md", "Beta body.", "Beta body.\n\nA second paragraph.")(live.root)
    live.rebuild()
    after = tree_digest(live.root / "site")
    changed = {rel for rel, digest in after.items() if before.get(rel) != digest}
    # its page, and the feeds with its full text: lists show no more of the body than its
    # first paragraph (as the summary it has not got); the search index comes after
    assert 1 <= len(changed) <= 4, changed
    assert not [rel for rel in changed if rel.startswith("pagefind/")], "indexed before"
    assert live.index.pending
    live.finish_index()
    indexed = tree_digest(live.root / "site")
    reindexed = {rel for rel in indexed.keys() | after.keys() if indexed.get(rel) != after.get(rel)}
    assert reindexed and all(rel.startswith("pagefind/") for rel in reindexed), reindexed


def test_an_error_keeps_the_site_and_the_next_rebuild_is_whole(
    live: LiveSite, tmp_path: Path
) -> None:
    before = tree_digest(live.root / "site")
    edit("content/2024/b.md", "title: Beta", "title: [unclosed")(live.root)
    with pytest.raises(InputError):
        live.rebuild()
    assert tree_digest(live.root / "site") == before
    replay(live, tmp_path, "fixed", edit("content/2024/b.md", "title: [unclosed", "title: Beta 2"))
