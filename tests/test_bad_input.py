"""Bad input through the command line: exit 1, `path:line: message`, site/ untouched.

Each test builds a good site first, breaks one file, builds again, and checks that the
error names the file (relative to the site root) and its line, that nothing crashed,
and that site/ is byte for byte what the good build left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import MINIMAL_CONFIG, PYTHON, REPO, article, tree_digest, write_files

from marginalia.cli import main

GOOD = {
    "content/2024/a.md": article(title="First", date="2024-06-20T16:00:00+00:00", tags="[korea]"),
    "content/2024/b.md": article(title="Second", date="2024-06-21T16:00:00+00:00"),
    "content/2024/c.md": article(title="Third", date="2024-06-22T16:00:00+00:00"),
    "content/pages/about.md": "---\ntitle: About\n---\nAbout us.\n",
    "analyses/2024/a.md": "---\narticle: 2024/a.md\nmodel: example\nlocked: false\n---\n"
    "An example analysis.\n",
}


def error_lines(err: str) -> list[str]:
    """The `path[:line]: message` lines of stderr (not warnings, not the summary)."""
    return [
        line
        for line in err.splitlines()
        if re.match(r"^[\w./-]+(:\d+)?: ", line) and ": warning: " not in line
    ]


def located(err: str, path: str, line: int | None) -> str:
    """The one error line for path (and line): fails unless stderr has it."""
    where = re.escape(path) + (f":{line}" if line is not None else r"(:\d+)?")
    found = [e for e in error_lines(err) if re.match(where + ": ", e)]
    assert found, f"no error for {path}:{line} in:\n{err}"
    return found[0]


@pytest.fixture(scope="module")
def good_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good site, built once per module (each test breaks its own copy)."""
    root = tmp_path_factory.mktemp("good") / "site-root"
    write_files(root, {"config.yaml": MINIMAL_CONFIG, **GOOD})
    assert main(["build", "--root", str(root)]) == 0
    return root


@pytest.fixture
def built(good_site: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the built good site; returns (root, digest of its site/)."""
    root = tmp_path / "site-root"
    shutil.copytree(good_site, root)
    digest = tree_digest(root / "site")
    assert "2024/06/a/index.html" in digest
    return root, digest


def fails(run, root: Path, digest: dict[str, str]) -> str:
    """Build again: exit 1, no traceback, site/ unchanged; returns stderr."""
    result = run("build", "--root", root)
    assert result.status == 1, (result.out, result.err)
    assert "Traceback" not in result.out + result.err
    assert error_lines(result.err), result.err
    assert tree_digest(root / "site") == digest, "a failed build changed site/"
    return result.err


def test_unclosed_front_matter(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {
            "content/2024/b.md": "---\ntitle: Second\ndate: 2024-06-21\n\n"
            "The body, but no closing fence.\n"
        },
    )
    message = located(fails(run, root, digest), "content/2024/b.md", 1)
    assert "---" in message


def test_yaml_syntax_error(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {"content/2024/b.md": "---\ntitle: Second\ndate: 2024-06-21\nsummary: a: b\n---\nBody.\n"},
    )
    assert "YAML" in located(fails(run, root, digest), "content/2024/b.md", 4)


@pytest.mark.parametrize(
    ("front", "line", "column"),
    [
        ("title: Second\ndate: 2024-06-21\ntags:\n\t- korea\n", 5, 1),
        ("title: Second\n\tdate: 2024-06-21\n", 3, 1),
        ("title: Second\ndate: 2024-06-21\ntags:\n  -\tkorea\n", 5, 4),
    ],
    ids=["list-item", "key", "after-dash"],
)
def test_a_tab_in_indentation_says_yaml_allows_no_tabs(built, run, front, line, column) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": f"---\n{front}---\nBody.\n"})
    message = located(fails(run, root, digest), "content/2024/b.md", line)
    assert f"a tab at column {column}: YAML allows no tabs in indentation; use spaces" in message


def test_a_tab_in_config_yaml_is_located_too(built, run) -> None:
    root, digest = built
    write_files(
        root, {"config.yaml": "title: T\nbase_url: https://example.org/\nfeed:\n\tlimit: 5\n"}
    )
    assert "YAML allows no tabs" in located(fails(run, root, digest), "config.yaml", 4)


def test_yaml_bracket_never_closed_points_where_it_opened(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {
            "content/2024/b.md": "---\ntitle: Second\ndate: 2024-06-21\ntags: [a, b\n"
            "summary: s\n---\nBody.\n"
        },
    )
    located(fails(run, root, digest), "content/2024/b.md", 4)


def test_missing_title(built, run) -> None:
    root, digest = built
    write_files(
        root, {"content/2024/b.md": "---\ndate: 2024-06-21\nsummary: No title here.\n---\nBody.\n"}
    )
    assert "title" in located(fails(run, root, digest), "content/2024/b.md", None)


def test_missing_date(built, run) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": "---\ntitle: Second\n---\nBody.\n"})
    assert "date" in located(fails(run, root, digest), "content/2024/b.md", None)


@pytest.mark.parametrize(
    "date", ["next Tuesday", "2024-02-30", "2024-06-21T24:30:00", "20/06/2024"]
)
def test_unparseable_date(built, run, date: str) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": article(title="Second", date=date)})
    message = located(fails(run, root, digest), "content/2024/b.md", 3)
    assert "date" in message


@pytest.mark.parametrize("front", ["- a list\n- of things\n", "just a sentence\n", "42\n"])
def test_front_matter_that_is_not_a_mapping(built, run, front: str) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": "---\n" + front + "---\nBody.\n"})
    assert "mapping" in located(fails(run, root, digest), "content/2024/b.md", 2)


@pytest.mark.parametrize("source", ["ftp://example.com/a", "javascript:alert(1)", "example.com/a"])
def test_source_that_is_not_http(built, run, source: str) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": article(title="Second", source=source)})
    assert "source" in located(fails(run, root, digest), "content/2024/b.md", 4)


def test_two_articles_at_one_url(built, run) -> None:
    root, digest = built
    write_files(
        root, {"content/other/b.md": article(title="Same month, same slug", date="2024-06-28")}
    )
    errors = error_lines(fails(run, root, digest))
    both = [e for e in errors if "content/2024/b.md" in e and "content/other/b.md" in e]
    assert both, errors
    assert "2024/06/b" in both[0]


def test_a_slug_clashing_with_a_page(built, run) -> None:
    root, digest = built
    write_files(root, {"content/pages/archive.md": "---\ntitle: My archive page\n---\nx\n"})
    err = fails(run, root, digest)
    assert "content/pages/archive.md" in err


def test_file_that_is_not_utf8(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {
            "content/2024/b.md": article(title="Second", body="Line one.\n\nCaf\xe9").encode(
                "latin-1"
            )
        },
    )
    assert "UTF-8" in located(fails(run, root, digest), "content/2024/b.md", 7)


def test_unknown_config_key(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {"config.yaml": "title: Test Archive\nbase_url: https://example.org/\nfeed:\n  limt: 5\n"},
    )
    assert "feed.limt" in located(fails(run, root, digest), "config.yaml", 4)


def test_wrongly_typed_setting(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {"config.yaml": 'title: Test Archive\nbase_url: https://example.org/\npaginate: "3"\n'},
    )
    assert "paginate" in located(fails(run, root, digest), "config.yaml", 3)


def test_broken_sidecar_with_a_bad_flag(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {
            "analyses/2024/a.md": "---\narticle: 2024/a.md\nmodel: example\nlocked: maybe\n"
            "---\nText.\n"
        },
    )
    assert "locked" in located(fails(run, root, digest), "analyses/2024/a.md", 4)


def test_broken_sidecar_without_a_model(built, run) -> None:
    root, digest = built
    write_files(
        root, {"analyses/2024/a.md": "---\narticle: 2024/a.md\nlocked: false\n---\nText.\n"}
    )
    assert "model" in located(fails(run, root, digest), "analyses/2024/a.md", None)


def test_sidecar_with_unclosed_front_matter(built, run) -> None:
    root, digest = built
    write_files(root, {"analyses/2024/a.md": "---\nmodel: example\nText.\n"})
    located(fails(run, root, digest), "analyses/2024/a.md", 1)


@pytest.mark.parametrize("slug", ["../../x", "../../../etc", "a/b", ".."])
def test_unsafe_slug(built, run, slug: str) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": article(title="Second", slug=f"'{slug}'")})
    assert "slug" in located(fails(run, root, digest), "content/2024/b.md", 4)
    assert not (root / "x").exists()
    assert not (root.parent / "x").exists()


def test_three_bad_files_are_reported_in_one_run(built, run) -> None:
    root, digest = built
    write_files(
        root,
        {
            "content/2024/a.md": "---\ndate: 2024-06-20\n---\nNo title.\n",
            "content/2024/b.md": article(title="Second", date="someday"),
            "analyses/2024/c.md": "---\narticle: 2024/c.md\nmodel: example\nlocked: maybe\n"
            "---\nText.\n",
        },
    )
    err = fails(run, root, digest)
    located(err, "content/2024/a.md", None)
    located(err, "content/2024/b.md", 3)
    located(err, "analyses/2024/c.md", 4)


def test_a_good_build_after_the_fix_succeeds(built, run) -> None:
    root, digest = built
    write_files(root, {"content/2024/b.md": "---\ntitle: Second\n---\nBody.\n"})
    fails(run, root, digest)
    write_files(
        root, {"content/2024/b.md": article(title="Second fixed", date="2024-06-21T16:00:00+00:00")}
    )
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    assert "Second fixed" in (root / "site/2024/06/b/index.html").read_text(encoding="utf-8")


def test_unknown_option_is_a_usage_error_in_process(site, run) -> None:
    root = site(GOOD)
    with pytest.raises(SystemExit) as exited:
        run("build", "--root", root, "--no-such-option")
    assert exited.value.code == 2
    assert not (root / "site").exists()


# --- the real program, end to end ---------------------------------------------------------


def run_program(*args: str | Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    entry = ["-m", "marginalia"] if module else ["build.py"]
    return subprocess.run(
        [PYTHON, *entry, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_real_program_on_a_bad_site(site) -> None:
    root = site(GOOD)
    good = run_program("--root", root)
    assert good.returncode == 0, good.stderr
    digest = tree_digest(root / "site")
    write_files(
        root,
        {
            "content/2024/b.md": b"---\ntitle: Caf\xe9\ndate: 2024-06-21\n---\nBody.\n",
            "content/2024/c.md": "---\ntitle: [unclosed\n---\nBody.\n",
        },
    )
    for module in (False, True):
        bad = run_program("build", "--root", root, module=module)
        assert bad.returncode == 1, bad.stderr
        assert "Traceback" not in bad.stdout + bad.stderr
        located(bad.stderr, "content/2024/b.md", 2)
        located(bad.stderr, "content/2024/c.md", 2)
        assert tree_digest(root / "site") == digest


def test_the_real_program_exits_2_on_wrong_usage(site) -> None:
    root = site(GOOD)
    for args in (
        ("--root", root, "--no-such-option"),
        ("no-such-command-or-option", "--root", root),
    ):
        result = run_program(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        assert "usage" in result.stderr.lower()
    assert not (root / "site").exists()
