"""Golden test: the whole output of a fixture site, byte for byte.

tests/golden/site/ is a small site with every kind of page (articles with tags, sources
and authors in several cases and scripts, a fresh, a stale and a missing analysis, an
article with `analysis: false`, a standalone page, static files, a sub-path base_url).
tests/golden/expected/ is its checked-in build output, but for the search bundle
(site/pagefind/): that is Pagefind's output, about 800 kB of its scripts and WebAssembly
that change with its version, and a few of its files differ from run to run
(marginalia/search/pagefind.py). The golden site has search on (the /search/ page, the header's
box, /opensearch.xml are compared); the bundle is checked by tests/test_search.py.

When a change to the output is intended, regenerate the expected tree, then review the
diff before committing it:

    python -m pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from marginalia.build import build
from marginalia.search import BUNDLE_DIR

GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURE = GOLDEN / "site"
EXPECTED = GOLDEN / "expected"
UPDATE_COMMAND = "python -m pytest tests/test_golden.py --update-golden"


def files_below(folder: Path) -> dict[str, Path]:
    """{relative POSIX path: path} of every file below folder, dotfiles included, but for
    the search bundle."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] != BUNDLE_DIR
    }


def text_diff(rel: str, expected: bytes, actual: bytes) -> str:
    try:
        old, new = expected.decode("utf-8"), actual.decode("utf-8")
    except UnicodeDecodeError:
        return f"{rel}: binary file differs ({len(expected)} bytes expected, {len(actual)} built)"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"expected/{rel}",
        tofile=f"built/{rel}",
    )
    return "".join(lines) or f"{rel}: differs only in bytes a text diff does not show"


def compare_trees(expected_dir: Path, built_dir: Path) -> list[str]:
    """Every difference between two trees, as lines of a report (empty if identical)."""
    expected, built = files_below(expected_dir), files_below(built_dir)
    missing = sorted(set(expected) - set(built))
    extra = sorted(set(built) - set(expected))
    differing = sorted(
        rel
        for rel in set(expected) & set(built)
        if expected[rel].read_bytes() != built[rel].read_bytes()
    )
    report = [f"missing from the build: {rel}" for rel in missing]
    report += [f"not in expected/: {rel}" for rel in extra]
    report += [f"differs: {rel}" for rel in differing]
    if differing:
        first = differing[0]
        report.append(text_diff(first, expected[first].read_bytes(), built[first].read_bytes()))
    return report


@pytest.fixture
def golden_build(tmp_path: Path) -> Path:
    """The fixture site built in a copy (the repository's tests/ is never written to)."""
    root = tmp_path / "golden-site"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("site"))
    report = build(root)
    assert report.warnings == [], report.warnings
    return root / "site"


def test_golden_site_output_matches_expected_tree(
    golden_build: Path, request: pytest.FixtureRequest
):
    if request.config.getoption("--update-golden"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        shutil.copytree(golden_build, EXPECTED)
        shutil.rmtree(EXPECTED / BUNDLE_DIR, ignore_errors=True)
    assert EXPECTED.is_dir(), f"no expected tree yet: run {UPDATE_COMMAND}"
    report = compare_trees(EXPECTED, golden_build)
    assert not report, (
        "the build of tests/golden/site/ differs from tests/golden/expected/; if the change is "
        f"intended, run {UPDATE_COMMAND} and review the diff\n" + "\n".join(report)
    )


def test_compare_trees_reports_missing_extra_and_differing_files(tmp_path: Path):
    """The comparison itself: a golden test that could not fail would be worthless."""
    expected, built = tmp_path / "expected", tmp_path / "built"
    for folder in (expected, built):
        (folder / "same").mkdir(parents=True)
        (folder / "same/index.html").write_text("<p>same</p>\n", encoding="utf-8")
    (expected / "gone.html").write_text("old\n", encoding="utf-8")
    (built / ".nojekyll").write_bytes(b"")
    (expected / "page.html").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (built / "page.html").write_text("one\n2\nthree\n", encoding="utf-8")
    (expected / "img.bin").write_bytes(b"\xff\x00")
    (built / "img.bin").write_bytes(b"\xff\x01")
    report = compare_trees(expected, built)
    assert "missing from the build: gone.html" in report
    assert "not in expected/: .nojekyll" in report
    assert "differs: img.bin" in report and "differs: page.html" in report
    assert report[-1] == "img.bin: binary file differs (2 bytes expected, 2 built)"
    assert compare_trees(expected / "same", built / "same") == []
    (built / "img.bin").write_bytes(b"\xff\x00")
    diff = compare_trees(expected, built)[-1]
    assert "--- expected/page.html" in diff and "-two\n+2\n" in diff
