"""Inline mini-site tests of the build: each writes a small site in its body and checks one
rule of design §4 (output URLs) or §6 (output safety) on the files written to site/."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import MINIMAL_CONFIG, PYTHON, REPO, article, tree_digest, write_files

from marginalia.build import build

CORPUS_SCRIPT = Path("/work/shared/bench/make_corpus.py")
CORPUS_SIZE = 1000  # articles: a build of several seconds, a test well under a minute


def built(run, root: Path, *args: str) -> Path:
    """Build root with the CLI; fail the test with the output unless it exits 0."""
    result = run("build", "--root", root, *args)
    assert result.status == 0, result.err
    return root / "site"


def page(site_dir: Path, url: str) -> str:
    """The HTML of the page at a site URL ('/tags/korea/' -> site/tags/korea/index.html)."""
    path = site_dir / url.lstrip("/") / "index.html"
    assert path.is_file(), f"no page at {url}"
    return path.read_text(encoding="utf-8")


def titles_in(html: str) -> list[str]:
    """Article titles of a list page, in the order shown."""
    return re.findall(r'<li class="item">\n<h2><a href="[^"]*">([^<]*)</a>', html)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)


def links_in(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def config(**settings: str) -> str:
    return MINIMAL_CONFIG + "".join(f"{key}: {value}\n" for key, value in settings.items())


# --- URLs of articles -----------------------------------------------------------------


def test_default_permalink_is_year_month_slug(site, run):
    root = site(
        {"content/kim-putin.md": article("Kim and Putin", date="2024-06-20T16:00:00+00:00")}
    )
    out = built(run, root)
    assert "<h1>Kim and Putin</h1>" in page(out, "/2024/06/kim-putin/")


def test_article_slug_from_front_matter_wins_over_file_name(site, run):
    root = site({"content/a/b/file-name.md": article("T", slug="chosen")})
    out = built(run, root)
    assert (out / "2024/06/chosen/index.html").is_file()
    assert not (out / "2024/06/file-name").exists()


def test_custom_permalink(site, run):
    root = site(
        {
            "config.yaml": config(permalink="/news/{year}-{month}-{day}/{slug}/"),
            "content/x.md": article("Custom", date="2023-01-05T10:00:00+00:00"),
        }
    )
    out = built(run, root)
    assert "<h1>Custom</h1>" in page(out, "/news/2023-01-05/x/")
    assert not (out / "2023/01/x").exists()


# --- Lists ----------------------------------------------------------------------------


def test_index_is_paginated_newest_first_without_page_1(site, run):
    files = {f"content/a{n}.md": article(f"Article {n}", date=f"2024-0{n}-10") for n in range(1, 6)}
    root = site({"config.yaml": config(paginate="2"), **files})
    out = built(run, root)
    assert titles_in(page(out, "/")) == ["Article 5", "Article 4"]
    assert titles_in(page(out, "/page/2/")) == ["Article 3", "Article 2"]
    assert titles_in(page(out, "/page/3/")) == ["Article 1"]
    assert not (out / "page/1").exists()
    assert not (out / "page/4").exists()
    assert 'href="/page/2/"' in page(out, "/")


def test_tag_source_and_author_pages(site, run):
    root = site(
        {
            "content/one.md": article(
                "One",
                tags="[North Korea, Russia]",
                authors="[Jane Doe]",
                source="https://www.example.com/news/one",
                source_name="Example News",
            ),
            "content/two.md": article(
                "Two",
                date="2024-07-01",
                tags="north korea",
                authors="Jane Doe",
                source="https://www.other-paper.org/two",
            ),
        }
    )
    out = built(run, root)
    assert titles_in(page(out, "/tags/north-korea/")) == ["Two", "One"]
    assert titles_in(page(out, "/tags/russia/")) == ["One"]
    assert titles_in(page(out, "/sources/example-news/")) == ["One"]
    assert titles_in(page(out, "/sources/other-paper-org/")) == ["Two"]  # from the host name
    assert titles_in(page(out, "/authors/jane-doe/")) == ["Two", "One"]
    tags = page(out, "/tags/")
    assert 'href="/tags/north-korea/">North Korea</a>' in tags  # shown as first written
    assert 'href="/tags/russia/">Russia</a>' in tags
    assert 'href="/sources/example-news/">Example News</a>' in page(out, "/sources/")
    assert 'href="/authors/jane-doe/">Jane Doe</a>' in page(out, "/authors/")


def test_year_and_month_archives_and_archive_page_with_counts(site, run):
    root = site(
        {
            "content/a.md": article("A", date="2023-03-01"),
            "content/b.md": article("B", date="2024-06-01"),
            "content/c.md": article("C", date="2024-06-20"),
            "content/d.md": article("D", date="2024-11-02"),
        }
    )
    out = built(run, root)
    year = page(out, "/2024/")  # its months, newest first, with their titles
    assert re.findall(r'<h2><a href="(/2024/\d\d/)">', year) == ["/2024/11/", "/2024/06/"]
    assert re.search(r"<h1>2024</h1>\s*<p[^>]*>3 articles</p>", year)
    assert year.index(">D</a>") < year.index(">C</a>") < year.index(">B</a>")
    assert "/2024/page/2/" not in year and not (out / "2024/page").exists()
    assert titles_in(page(out, "/2024/06/")) == ["C", "B"]
    assert titles_in(page(out, "/2023/03/")) == ["A"]
    assert not (out / "2023/06").exists()
    archive = page(out, "/archive/")
    text = re.sub(r"<[^>]+>", "", archive)
    assert re.search(r"2024\s+3 articles", text)
    assert re.search(r"2023\s+1 article\b", text)
    assert re.search(r"June 2024\s+2 articles", text)
    assert re.search(r"November 2024\s+1 article\b", text)
    assert archive.index('href="/2024/"') < archive.index('href="/2023/"')


def test_previous_and_next_links(site, run):
    root = site(
        {
            "content/old.md": article("Old", date="2024-01-01"),
            "content/mid.md": article("Mid", date="2024-02-01"),
            "content/new.md": article("New", date="2024-03-01"),
        }
    )
    out = built(run, root)
    mid = page(out, "/2024/02/mid/")
    assert re.search(r'href="/2024/01/old/" rel="prev"', mid)
    assert re.search(r'href="/2024/03/new/" rel="next"', mid)
    old = page(out, "/2024/01/old/")
    assert 'rel="prev"' not in old and 'href="/2024/02/mid/" rel="next"' in old
    new = page(out, "/2024/03/new/")
    assert 'rel="next"' not in new and 'href="/2024/02/mid/" rel="prev"' in new


def test_standalone_page(site, run):
    root = site(
        {
            "content/pages/about.md": "---\ntitle: About us\n---\nWe keep *notes*.\n",
            "content/a.md": article("A"),
        }
    )
    out = built(run, root)
    about = page(out, "/about/")
    assert "<h1>About us</h1>" in about and "<em>notes</em>" in about
    assert 'href="/about/"' in page(out, "/")  # in the navigation
    assert titles_in(page(out, "/")) == ["A"]  # not an article: in no list, no archive
    assert not list(out.glob("*/*/about"))


# --- Hosting files and static copies --------------------------------------------------


def test_hosting_files(site, run):
    root = site({"config.yaml": config(cname="news.example.org"), "content/a.md": article()})
    out = built(run, root)
    assert "Page not found" in (out / "404.html").read_text(encoding="utf-8")
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert "Sitemap: https://example.org/sitemap.xml\n" in robots
    assert (out / ".nojekyll").read_bytes() == b""
    assert (out / "CNAME").read_text(encoding="utf-8") == "news.example.org\n"


def test_no_cname_without_the_setting(site, run):
    out = built(run, site({"content/a.md": article()}))
    assert not (out / "CNAME").exists()


def test_static_copied_as_is_and_theme_static_to_site_static(site, run):
    image = bytes(range(256)) * 4
    root = site(
        {
            "content/a.md": article(),
            "static/favicon.ico": image,
            "static/img/deep/pic.png": b"\x89PNG\r\n\x1a\n\x00",
            "static/notes.txt": b"line\r\nno newline at end",
            "layouts/static/extra.css": "body { color: red; }\n",
        }
    )
    out = built(run, root)
    assert (out / "favicon.ico").read_bytes() == image
    assert (out / "img/deep/pic.png").read_bytes() == b"\x89PNG\r\n\x1a\n\x00"
    assert (out / "notes.txt").read_bytes() == b"line\r\nno newline at end"
    assert (out / "static/extra.css").read_bytes() == b"body { color: red; }\n"
    builtin_css = (REPO / "layouts/static/style.css").read_bytes()
    assert (out / "static/style.css").read_bytes() == builtin_css  # the theme's own
    write_files(root, {"layouts/static/style.css": "/* mine */\n"})
    built(run, root)
    assert (out / "static/style.css").read_bytes() == b"/* mine */\n"  # overridden file by file


# --- Theme overrides ------------------------------------------------------------------


def test_site_layout_overrides_one_template_only(site, run):
    root = site(
        {
            "content/a.md": article("Hello"),
            "layouts/article.html": "<!doctype html><p class=mine>{{ article.title }}</p>\n"
            "</html>\n",
        }
    )
    out = built(run, root)
    assert page(out, "/2024/06/a/") == "<!doctype html><p class=mine>Hello</p>\n</html>\n"
    home = page(out, "/")
    assert "class=mine" not in home and '<ol class="article-list">' in home  # built-in list


def test_override_can_extend_the_builtin_base(site, run):
    root = site(
        {
            "content/a.md": article("Hello"),
            "layouts/base.html": "BROKEN-IF-USED\n",
            "layouts/article.html": (
                '{% extends "default/base.html" %}\n'
                "{% block content %}<p class=mine>{{ article.title }}</p>{% endblock %}\n"
            ),
        }
    )
    out = built(run, root)
    html = page(out, "/2024/06/a/")
    assert "<p class=mine>Hello</p>" in html
    assert html.startswith("<!doctype html>") and html.endswith("</html>\n")
    assert "BROKEN-IF-USED" not in html
    assert page(out, "/archive/") == "BROKEN-IF-USED\n"  # the site's base.html wins elsewhere


def test_template_syntax_error_names_file_and_line(site, run):
    root = site(
        {
            "content/a.md": article(),
            "layouts/article.html": '{% extends "base.html" %}\n{% block content %}\n{% if x %}\n',
        }
    )
    result = run("build", "--root", root)
    assert result.status == 1
    assert re.search(r"layouts/article\.html:\d+: template syntax error", result.err), result.err
    assert not (root / "site").exists()


def test_template_syntax_error_line_is_exact(site, run):
    root = site(
        {
            "content/a.md": article(),
            "layouts/list.html": "line one\nline two\n{{ oops( }}\nline four\n",
        }
    )
    result = run("build", "--root", root)
    assert result.status == 1
    assert "layouts/list.html:3:" in result.err, result.err


# --- Output safety --------------------------------------------------------------------


def test_two_builds_are_identical_and_rebuild_writes_nothing(site, run, tmp_path):
    files = {
        "content/pages/about.md": "---\ntitle: About\n---\nAbout.\n",
        "content/a.md": article("A", tags="[x, Y]", authors="Ann", source="https://e.com/a"),
        "content/b.md": article("B", date="2023-02-02T02:02:00+05:00", tags="y"),
        "analyses/a.md": "---\narticle: a.md\nmodel: m\n---\nAnalysis text.\n",
        "static/s.txt": "s\n",
    }
    root = site(files)
    out = built(run, root)
    first = tree_digest(out)
    again = run("build", "--root", root)
    assert again.status == 0
    assert "0 written" in again.out and "0 removed" in again.out, again.out
    assert tree_digest(out) == first
    other = tmp_path / "other-root"  # the same input elsewhere: the same bytes
    shutil.copytree(root, other, ignore=shutil.ignore_patterns("site"))
    assert tree_digest(built(run, other)) == first


def test_deleted_article_disappears_with_its_folder(site, run):
    root = site(
        {
            "content/keep.md": article("Keep", date="2024-06-01", tags="kept"),
            "content/gone.md": article("Gone", date="2023-01-01", tags="gone-tag"),
        }
    )
    out = built(run, root)
    assert (out / "2023/01/gone/index.html").is_file()
    (root / "content/gone.md").unlink()
    result = run("build", "--root", root)
    assert result.status == 0
    assert not (out / "2023").exists()  # page, month and year archives and empty folders
    assert not (out / "tags/gone-tag").exists()
    assert (out / "2024/06/keep/index.html").is_file()
    assert "Gone" not in page(out, "/")
    assert not [p for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]


def test_page_slug_colliding_with_a_generated_page_is_an_error(site, run):
    root = site(
        {
            "content/a.md": article(),
            "content/pages/tags.md": "---\ntitle: My tags\n---\nText.\n",
        }
    )
    result = run("build", "--root", root)
    assert result.status == 1
    assert "content/pages/tags.md" in result.err and "tags/index.html" in result.err, result.err
    assert not (root / "site").exists()


def test_base_url_path_prefixes_every_internal_link(site, run):
    root = site(
        {
            "content/pages/about.md": "---\ntitle: About\n---\nAbout.\n",
            "content/a.md": article("A", tags="[t1, t2]", authors="Ann", source="https://e.com/x"),
            "content/b.md": article("B", date="2023-05-05", tags="t1"),
            "analyses/a.md": "---\nmodel: m\n---\nAn analysis.\n",
        }
    )
    out = built(run, root, "--base-url", "https://u.github.io/repo/")
    assert checked_internal_links(out) > 50
    about = page(out, "/about/")
    assert 'href="https://u.github.io/repo/about/"' in about  # canonical
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert "Sitemap: https://u.github.io/repo/sitemap.xml" in robots


def test_site_root_links_in_markdown_get_the_base_path(site, run):
    body = "[About](/about/), [home](/), ![map](/static/map.png), [far](https://e.com/far)."
    root = site(
        {
            "content/pages/about.md": "---\ntitle: About\n---\nAbout.\n",
            "content/a.md": article("A", body=body),
            "analyses/a.md": "---\nmodel: m\n---\nSee [the tag list](/tags/).\n",
        }
    )
    out = built(run, root, "--base-url", "https://u.github.io/repo/")
    html = page(out, "/2024/06/a/")
    assert '<a href="/repo/about/">About</a>' in html
    assert '<a href="/repo/">home</a>' in html
    assert 'src="/repo/static/map.png"' in html
    assert '<a href="https://e.com/far">far</a>' in html
    assert 'href="/repo/tags/" rel="nofollow noopener"' in html
    assert checked_internal_links(out) > 10


def test_rendered_markdown_is_not_cached_on_disk(site, run):
    """Markdown renders faster than the files of the old HTML cache were written;
    a cache left by an older Marginalia is removed rather than carried along by CI."""
    root = site({"content/a.md": article("A", body="## Hello\n\nBody.")})
    old_cache = root / ".cache/marginalia/html/ab"
    old_cache.mkdir(parents=True)
    (old_cache / "abcdef").write_text("<p>old</p>", encoding="utf-8")
    out = built(run, root)
    assert '<h2 id="hello">Hello</h2>' in page(out, "/2024/06/a/")
    assert not (root / ".cache/marginalia/html").exists()


def checked_internal_links(out: Path) -> int:
    """Assert every link of every page is external, an anchor, or under /repo/; count them."""
    checked = 0
    for html_file in out.rglob("*.html"):
        for link in links_in(html_file.read_text(encoding="utf-8")):
            if link.startswith(("https://e.com/", "#")):
                continue  # the original article, an anchor in the page
            where = html_file.relative_to(out)
            if link.startswith("https://"):
                assert link.startswith("https://u.github.io/repo/"), (where, link)
            else:
                assert link.startswith("/repo/"), (where, link)
            checked += 1
    return checked


def test_sitemap_keeps_pages_whose_url_merely_contains_page(site, run):
    root = site(
        {
            "config.yaml": config(paginate="1"),
            "content/a.md": article("A", tags="Page"),
            "content/b.md": article("B", date="2023-01-01", tags="Page"),
            "content/pages/page.md": "---\ntitle: A page called page\n---\nText.\n",
        }
    )
    sitemap = (built(run, root) / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>([^<]*)</loc>", sitemap)
    assert "https://example.org/tags/page/" in locs
    assert "https://example.org/page/" in locs
    assert "https://example.org/" in locs
    assert not [loc for loc in locs if re.search(r"/page/\d+/$", loc)]  # continuation pages


def test_static_file_and_folder_may_swap_between_builds(site, run, tmp_path):
    root = site({"content/a.md": article(), "static/thing": "a file\n"})
    out = built(run, root)
    (root / "static/thing").unlink()
    write_files(root, {"static/thing/inner.txt": "now a folder\n"})
    assert (built(run, root) / "thing/inner.txt").read_text(encoding="utf-8") == "now a folder\n"
    shutil.rmtree(root / "static/thing")
    write_files(root, {"static/thing": "a file again\n"})
    assert (built(run, root) / "thing").read_text(encoding="utf-8") == "a file again\n"
    fresh = tmp_path / "fresh"  # the same as a build from scratch
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("site"))
    assert tree_digest(out) == tree_digest(built(run, fresh))


def test_build_function_returns_a_report(site):
    root = site({"content/a.md": article()})
    report = build(root)
    assert report.published.written == report.pages > 5
    assert build(root).published.written == 0


# --- A killed build -------------------------------------------------------------------


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _build_cmd(root: Path) -> list[str]:
    return [PYTHON, "-m", "marginalia", "build", "--root", str(root)]


def test_killed_build_leaves_no_half_written_file(tmp_path):
    """SIGKILL in the middle of a build: every page is whole, the next build cleans up.

    The corpus is big enough that the build takes seconds; the kill lands after about 40%
    of the first build's time, or as soon as the second build is seen writing pages,
    whichever comes later, so that it interrupts the writing and not only the rendering.
    """
    root = tmp_path / "corpus"
    subprocess.run(
        [PYTHON, str(CORPUS_SCRIPT), str(root), str(CORPUS_SIZE)], check=True, capture_output=True
    )
    shutil.copy(REPO / "config.yaml", root / "config.yaml")
    env = _subprocess_env()
    started = time.perf_counter()
    first = subprocess.run(_build_cmd(root), env=env, capture_output=True, text=True)
    expected = time.perf_counter() - started
    assert first.returncode == 0, first.stderr[-3000:]
    assert expected > 1.0, "the corpus must be large enough for a build to take over a second"

    articles = sorted((root / "content").rglob("*.md"))
    for path in articles:
        path.write_text(
            path.read_text(encoding="utf-8") + "\nEDITED-FOR-BUILD-TWO\n", encoding="utf-8"
        )
    site_dir = root / "site"
    pages = [
        site_dir / p.relative_to(root / "content").with_suffix("") / "index.html" for p in articles
    ]
    assert all(p.is_file() for p in pages)
    watched = pages[:: max(1, len(pages) // 50)]  # a sample of article pages

    proc = subprocess.Popen(
        _build_cmd(root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.perf_counter() + 0.4 * expected
        seen_writing = False
        while proc.poll() is None:
            now = time.perf_counter()
            if not seen_writing:
                seen_writing = any(b"EDITED-FOR-BUILD-TWO" in p.read_bytes() for p in watched)
            if (seen_writing and now >= deadline) or now > deadline + 3 * expected:
                break  # (the second case: never saw it writing; kill it anyway)
            time.sleep(0.01)
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert still_running, "the build finished before it could be killed; use a larger corpus"

    half = [
        p.relative_to(site_dir).as_posix()
        for p in site_dir.rglob("index.html")
        if not p.read_bytes().endswith(b"</html>\n")
    ]
    assert half == []

    final = subprocess.run(_build_cmd(root), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    assert [p for p in site_dir.rglob("*") if p.name.endswith(".tmp")] == []
    assert all(b"EDITED-FOR-BUILD-TWO" in p.read_bytes() for p in watched)


@pytest.mark.parametrize("name", ["x.tmp", ".index.html.abc123.tmp"])
def test_leftover_temporary_files_are_pruned(site, run, name):
    root = site({"content/a.md": article()})
    out = built(run, root)
    write_files(out, {f"2024/06/a/{name}": b"<!doctype html><p>half"})
    built(run, root)
    assert not (out / "2024/06/a" / name).exists()


# --- A first build: the staging folder becomes site/ ---------------------------------


@pytest.mark.parametrize("before", ["no site/", "an empty site/", "site/ with only .git"])
def test_a_first_build_gives_the_same_site_however_site_starts(site, tmp_path, before):
    root = site({"content/a.md": article(), "content/b.md": article("B", "2024-06-21")})
    if before != "no site/":
        (root / "site").mkdir()
    if before == "site/ with only .git":
        write_files(root, {"site/.git/HEAD": "ref: refs/heads/gh-pages\n"})
    report = build(root)
    assert report.published.written == report.pages
    assert (root / "site/.git/HEAD").is_file() == (before == "site/ with only .git")
    shutil.rmtree(root / "site/.git", ignore_errors=True)
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("site", ".cache"))
    build(fresh)
    assert tree_digest(root / "site") == tree_digest(fresh / "site")
    umask = os.umask(0)
    os.umask(umask)
    for folder in [root / "site", *(p for p in (root / "site").rglob("*") if p.is_dir())]:
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, folder  # not mkdtemp's 0700
    assert not list((root / ".cache/marginalia").glob("staging-*"))
