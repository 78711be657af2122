"""A build that reuses the last one's cache and skips unchanged pages gives exactly the
bytes of a clean build, edit after edit."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MINIMAL_CONFIG, REPO, article, tree_digest, write_files

from marginalia import atomic
from marginalia.build import CACHE_DIR, build
from marginalia.depend import MANIFEST

FILES = {
    "config.yaml": MINIMAL_CONFIG + "paginate: 2\n",
    "content/pages/about.md": "---\ntitle: About\n---\nAbout us.\n",
    "content/2024/a.md": article("Alpha", "2024-01-05", "Alpha body.", tags="[energy, Korea]"),
    "content/2024/b.md": article("Beta", "2024-02-05", "Beta body.", tags="energy", authors="Ann"),
    "content/2024/c.md": article("Gamma", "2024-03-05", "Gamma body.", source="https://e.com/c"),
    "content/2023/d.md": article("Delta", "2023-07-01", "Delta body.", tags="[korea]"),
    "content/2023/e.md": article("Epsilon", "2023-08-01", "Epsilon body.", authors="[Ann, Bo]"),
    "analyses/2024/b.md": "---\nmodel: m\narticle_sha256: " + "0" * 64 + "\n---\nOld analysis.\n",
}
NOTE = "\n\n## Notes\n\n### check\n> Beta body, corrected\n\nSays who?\n"


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        file = root / path
        file.write_text(file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    return apply


def add(path: str, text: str) -> Callable[[Path], None]:
    return lambda root: write_files(root, {path: text})


def remove(path: str) -> Callable[[Path], None]:
    return lambda root: (root / path).unlink()


def rename(old: str, new: str) -> Callable[[Path], None]:
    return lambda root: (root / old).rename(root / new)


EDITS = [
    ("body", edit("content/2024/b.md", "Beta body.", "Beta body, corrected.")),
    ("title", edit("content/2024/c.md", "title: Gamma", "title: Gamma revised")),
    # Beta is in Alpha's "More on energy" and on /archive/: their pages show its title
    ("title shown elsewhere", edit("content/2024/b.md", "title: Beta", "title: Beta revised")),
    ("more on list", add("content/2024/g.md", article("Eta", "2024-02-20", "E.", tags="energy"))),
    ("month neighbours", add("content/2023/h.md", article("Theta", "2023-12-10", "T."))),
    ("year neighbours", add("content/2021/i.md", article("Iota", "2021-05-01", "I."))),
    (
        "new article",
        add("content/2024/f.md", article("Zeta", "2024-04-01", "Z.", tags="[new tag]")),
    ),
    ("deleted article", remove("content/2023/d.md")),
    ("renamed file", rename("content/2023/e.md", "content/2023/epsilon.md")),
    ("date moves it", edit("content/2024/a.md", "2024-01-05", "2022-12-31")),
    ("tag changed", edit("content/2024/b.md", "tags: energy", "tags: [climate]")),
    ("tag spelling", edit("content/2024/a.md", "[energy, Korea]", "[Energy, korea]")),
    ("analysis added", add("analyses/2024/c.md", "---\nmodel: m2\n---\nA new analysis.\n")),
    ("analysis edited", edit("analyses/2024/b.md", "Old analysis.", "Reviewed analysis.")),
    # notes (issue 20): placed by the article's text, so a page shows them as they are
    ("note added", edit("analyses/2024/b.md", "Reviewed analysis.", "Reviewed analysis." + NOTE)),
    ("note edited", edit("analyses/2024/b.md", "Says who?", "Who says so?")),
    ("note no longer placed", edit("content/2024/b.md", "Beta body, corrected.", "Beta, amended.")),
    ("page edited", edit("content/pages/about.md", "About us.", "About us, again.")),
    ("template", add("layouts/article.html", '{% extends "default/article.html" %}\n')),
    (
        "template edit",
        add("layouts/article.html", '{% extends "default/article.html" %}\n{# x #}\n'),
    ),
    ("config", edit("config.yaml", "paginate: 2", "paginate: 3")),
    ("static", add("static/extra.txt", "hello\n")),
    ("theme stylesheet", add("layouts/static/style.css", "body { color: teal; }\n")),
]


AN_HOUR_AGO = time.time() - 3600


def date_back(root: Path, step: int = 0) -> None:
    """Make the inputs look saved long ago, as the whole-build stamp trusts only those
    (stamp.RACY_NS): every file not dated back yet gets the time of this step."""
    for folder, _, files in os.walk(root):
        if Path(folder).relative_to(root).parts[:1] in (("site",), (".cache",)):
            continue
        for name in files:
            path = Path(folder, name)
            if path.stat().st_mtime > AN_HOUR_AGO + 1800:
                os.utime(path, (AN_HOUR_AGO + step, AN_HOUR_AGO + step))


def clean_build_of(root: Path, elsewhere: Path) -> dict[str, str]:
    if elsewhere.exists():
        shutil.rmtree(elsewhere)
    shutil.copytree(root, elsewhere, ignore=shutil.ignore_patterns("site", ".cache"))
    build(elsewhere)
    return tree_digest(elsewhere / "site")


def test_each_edit_gives_the_bytes_of_a_clean_build(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)
    for name, change in EDITS:
        change(root)
        report = build(root)
        assert report.published.written < report.pages, f"{name}: nothing was skipped"
        assert tree_digest(root / "site") == clean_build_of(root, tmp_path / "clean"), name


def test_the_stamp_sees_each_edit_and_then_nothing_to_do(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    date_back(root)
    assert not build(root).up_to_date
    assert build(root).up_to_date
    for step, (name, change) in enumerate(EDITS, start=1):
        change(root)
        date_back(root, step)
        assert not build(root).up_to_date, f"{name}: the stamp missed it"
        expected = clean_build_of(root, tmp_path / "clean")
        assert tree_digest(root / "site") == expected, name
        again = build(root)
        assert again.up_to_date, name
        assert again.published.written == again.published.removed == 0
        assert tree_digest(root / "site") == expected, name


def test_the_stamp_does_not_trust_files_saved_just_now(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)  # the files are seconds old: saved twice in one clock tick, they'd look alike
    assert not build(root).up_to_date
    date_back(root)
    build(root)
    assert build(root).up_to_date


def test_build_options_are_part_of_the_stamp(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, {**FILES, "content/2024/draft.md": article("Draft", "2024-05-01", "D.")})
    (root / "content/2024/draft.md").write_text(
        article("Draft", "2024-05-01", "D.").replace("---\n", "---\ndraft: true\n", 1)
    )
    date_back(root)
    build(root)
    assert not build(root, drafts=True).up_to_date
    assert (root / "site/2024/05/draft/index.html").is_file()
    assert not build(root).up_to_date
    assert not (root / "site/2024/05/draft").exists()
    assert not build(root, base_url="https://other.example/").up_to_date


def test_an_unchanged_rebuild_writes_nothing_and_renders_nothing(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)
    before = {p: p.stat().st_mtime_ns for p in (root / "site").rglob("*") if p.is_file()}
    report = build(root)
    assert report.published.written == 0
    assert {p: p.stat().st_mtime_ns for p in (root / "site").rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("damage", ["deleted", "edited by hand", "a stray file"])
@pytest.mark.parametrize("dated_back", [False, True], ids=["new inputs", "old inputs"])
def test_a_damaged_output_is_rendered_again(tmp_path: Path, damage: str, dated_back: bool) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    if dated_back:
        date_back(root)
    build(root)
    expected = tree_digest(root / "site")
    page = root / "site" / "2024" / "01" / "a" / "index.html"
    if damage == "deleted":
        page.unlink()
    elif damage == "edited by hand":
        page.write_bytes(page.read_bytes() + b"<!-- touched -->")
    else:
        (root / "site" / "2024" / "stray.html").write_text("not ours")
    assert not build(root).up_to_date
    assert tree_digest(root / "site") == expected


def test_full_ignores_the_record(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)
    assert (root / CACHE_DIR).is_dir()
    report = build(root, full=True)
    assert report.published.written == 0  # rendered again, but the same bytes
    assert tree_digest(root / "site") == clean_build_of(root, tmp_path / "clean")


def test_a_cache_that_cannot_be_read_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)
    for file in (root / CACHE_DIR).rglob("*.pickle"):
        file.write_bytes(b"garbage")
    edit("content/2024/b.md", "Beta body.", "Beta body 2.")(root)
    build(root)
    assert tree_digest(root / "site") == clean_build_of(root, tmp_path / "clean")


def keys_of(root: Path) -> dict[str, str]:
    """The dependency record of the last build: path in site/ -> its key."""
    entries = atomic.read_pickle(root / CACHE_DIR / MANIFEST)
    assert isinstance(entries, dict)
    return {rel: key for rel, (key, _) in entries.items()}


@pytest.mark.parametrize(
    ("template", "changes"),
    [
        ("article.html", {"2024/01/a/index.html"}),
        ("list.html", {"index.html", "tags/energy/index.html"}),
        ("partials/pagination.html", {"index.html"}),
        ("base.html", {"2024/01/a/index.html", "index.html", "tags/index.html"}),
        ("partials/article-item.html", {"2024/01/a/index.html", "index.html"}),  # any page may
    ],
)
def test_a_template_edit_changes_the_keys_of_the_pages_that_reach_it(
    tmp_path: Path, template: str, changes: set[str]
) -> None:
    root = tmp_path / "live"
    write_files(root, FILES)
    build(root)
    before = keys_of(root)
    source = (REPO / "layouts" / template).read_text(encoding="utf-8")
    write_files(root, {f"layouts/{template}": source + "{# edited #}\n"})
    build(root)
    after = keys_of(root)
    changed = {rel for rel in after if after[rel] != before.get(rel)}
    assert changes <= changed
    unreached = {
        "article.html": "index.html",
        "list.html": "2024/01/a/index.html",
        "partials/pagination.html": "tags/index.html",
    }.get(template)
    if unreached:
        assert unreached not in changed, f"{unreached} does not use {template}"
    assert "feed.xml" not in changed  # feeds use no template
    assert tree_digest(root / "site") == clean_build_of(root, tmp_path / "clean")


def test_a_template_that_names_another_by_a_variable_reaches_them_all(tmp_path: Path) -> None:
    root = tmp_path / "live"
    write_files(root, {**FILES, "layouts/page.html": '{% include "page" ~ "-part.html" %}\n'})
    write_files(root, {"layouts/page-part.html": "{{ page.title }}\n"})
    build(root)
    before = keys_of(root)
    write_files(root, {"layouts/page-part.html": "{{ page.title }}!\n"})
    build(root)
    assert keys_of(root)["about/index.html"] != before["about/index.html"]
    assert tree_digest(root / "site") == clean_build_of(root, tmp_path / "clean")
