"""The small commands: new, init, check, and the console script."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import MINIMAL_CONFIG, PYTHON, REPO, article, console_script

from marginalia.cli import main
from marginalia.content import read_document
from marginalia.errors import Problems


def test_new_creates_a_dated_article_in_the_site_timezone(site, run) -> None:
    root = site({"config.yaml": MINIMAL_CONFIG + "timezone: Pacific/Auckland\n"})
    result = run(
        "new", 'A "quoted" headline: with colon', "--source", "https://e.com/a", "--root", root
    )
    assert result.status == 0, result.err
    path = root / result.out.strip().removeprefix(str(root) + "/")
    now = datetime.now(ZoneInfo("Pacific/Auckland"))
    assert path.parent == root / "content" / f"{now:%Y}" / f"{now:%m}"
    assert path.name == "a-quoted-headline-with-colon.md"
    doc = read_document(path, "new", Problems())
    assert doc.meta["title"] == 'A "quoted" headline: with colon'
    assert doc.meta["source"] == "https://e.com/a"
    assert doc.meta["date"].utcoffset() == now.utcoffset()
    assert run("build", "--root", root).status == 0


def test_new_never_overwrites(site, run) -> None:
    root = site()
    assert run("new", "Same title", "--root", root).status == 0
    again = run("new", "Same title", "--root", root)
    assert again.status == 1
    assert re.search(r"content/\d{4}/\d{2}/same-title\.md: already exists", again.err)


def test_new_refuses_a_source_that_is_not_http(site, run) -> None:
    root = site()
    result = run("new", "Headline", "--source", "javascript:alert(1)", "--root", root)
    assert result.status == 1
    assert "http" in result.err
    assert not (root / "content").exists()


def test_init_makes_a_site_that_builds_as_it_is(tmp_path, run) -> None:
    target = tmp_path / "fresh"
    assert run("init", target).status == 0
    assert (target / "prompts" / "analysis.md").read_bytes() == (
        REPO / "prompts" / "analysis.md"
    ).read_bytes()
    assert "site/" in (target / ".gitignore").read_text()
    checked = run("check", "--root", target)
    assert checked.status == 0, checked.err
    assert "1 missing" in checked.out
    built = run("build", "--root", target)
    assert built.status == 0, built.err
    assert (target / "site" / "index.html").is_file()
    # the one warning: base_url is init's placeholder
    assert built.err.splitlines() == [
        "config.yaml: warning: base_url is still the placeholder 'init' wrote: set it to the "
        "address the site is served at (the GitHub Pages workflow passes its own with --base-url)"
    ]


def test_a_build_for_the_pages_address_does_not_warn_of_the_placeholder(tmp_path, run) -> None:
    """As .github/workflows/pages.yml builds: with --base-url "${PAGES_BASE_URL}/"."""
    target = tmp_path / "fresh"
    assert run("init", target).status == 0
    workflow = (target / ".github/workflows/pages.yml").read_text(encoding="utf-8")
    assert 'python build.py --base-url "${PAGES_BASE_URL}/"' in workflow
    built = run("build", "--root", target, "--base-url", "https://someone.github.io/news/")
    assert built.status == 0, built.err
    assert built.err == ""  # no warnings


def test_init_readme_previews_with_serve(tmp_path, run) -> None:
    target = tmp_path / "fresh"
    assert run("init", target).status == 0
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert "python build.py serve" in readme
    assert "http.server" not in readme


def test_init_refuses_an_existing_site(site, run) -> None:
    root = site()
    before = (root / "config.yaml").read_bytes()
    result = run("init", root)
    assert result.status == 1
    assert "config.yaml: already exists" in result.err
    assert (root / "config.yaml").read_bytes() == before


def test_check_validates_without_writing(site, run) -> None:
    root = site({"content/a.md": article("A"), "content/b.md": article("B", tags="[x]")})
    result = run("check", "--root", root)
    assert result.status == 0, result.err
    assert "OK: 2 articles" in result.out
    assert "0 fresh, 2 missing" in result.out
    assert not (root / "site").exists()


def test_counts_read_as_english_for_one_and_for_more(site, run) -> None:
    root = site({"content/a.md": article("A")})
    result = run("check", "--root", root)
    assert "OK: 1 article, " in result.out
    assert "to write the 1 missing or stale analysis." in result.out
    (root / "content/b.md").write_text(article("B"))
    result = run("check", "--root", root)
    assert "OK: 2 articles, " in result.out
    assert "to write the 2 missing and stale analyses." in result.out
    (root / "content/b.md").write_text("---\ntitle: B\n---\nNo date.\n")
    result = run("build", "--root", root)
    assert (result.status, result.err.splitlines()[-1]) == (
        1,
        "Stopped: 1 error; nothing was written.",
    )
    (root / "content/c.md").write_text("---\ntitle: C\n---\nNo date.\n")
    assert run("build", "--root", root).err.splitlines()[-1] == (
        "Stopped: 2 errors; nothing was written."
    )


def test_check_reports_every_problem_and_writes_nothing(site, run) -> None:
    root = site(
        {
            "content/a.md": "---\ntitle: A\n---\nNo date.\n",
            "content/b.md": article("B", source="ftp://e.com/b"),
            "layouts/list.html": "{% if %}\n",
        }
    )
    result = run("check", "--root", root)
    assert result.status == 1
    assert "content/a.md:" in result.err and "'date' is required" in result.err
    assert "content/b.md:4: 'source' must be an http(s) URL" in result.err
    assert "layouts/list.html:1:" in result.err
    assert "Traceback" not in result.err
    assert not (root / "site").exists()


@pytest.mark.skipif(console_script("marginalia") is None, reason="the package is not installed")
def test_console_script_is_the_same_program(site) -> None:
    root = site({"content/a.md": article("A")})
    script = subprocess.run(
        [console_script("marginalia"), "check", "--root", str(root)],
        capture_output=True,
        text=True,
    )
    module = subprocess.run(
        [PYTHON, "build.py", "check", "--root", str(root)], capture_output=True, text=True, cwd=REPO
    )
    assert script.returncode == module.returncode == 0
    assert script.stdout == module.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["analyse"], "unknown command 'analyse' (did you mean 'analyze'?); the commands are "),
        (["--root", "x", "frobnicate"], "unknown command 'frobnicate'; the commands are "),
    ],
)
def test_an_unknown_command_lists_the_commands(args, said, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert said + "build, check, new, init, analyze, import, request-check, serve" in err


def test_an_empty_option_value_is_not_taken_for_a_command(site, run) -> None:
    """The Pages workflow passes --repository "$GITHUB_REPOSITORY", which may be empty."""
    root = site({"content/a.md": article("A")})
    result = run("--root", root, "--base-url", "https://example.org/x/", "--repository", "")
    assert result.status == 0, result.err
