"""The real example site, built under a sub-path base_url: every internal link resolves.

Design §4: every internal link carries the base_url's path prefix; the same input gives
byte-identical output. Issue 2: the example site builds with no warnings.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import REPO, tree_digest

from marginalia.config import load_settings

BASE_URL = "https://example.github.io/sub/path/"
PREFIX = "/sub/path/"
EXAMPLE_PARTS = ("config.yaml", "content", "analyses", "prompts")
LINK_ATTRS = ("href", "src")


def copy_example(dest: Path) -> Path:
    """The repository's example site, copied so that nothing is written into the repo."""
    dest.mkdir(parents=True)
    for name in EXAMPLE_PARTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        else:
            shutil.copy2(source, dest / name)
    return dest


class LinkCollector(HTMLParser):
    """Every href/src of a page, and every id on it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.duplicate_ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in LINK_ATTRS and value is not None:
                self.links.append((tag, value))
            elif name == "id" and value is not None:
                if value in self.ids or not value:
                    self.duplicate_ids.append(value)
                self.ids.add(value)
        if tag == "a":
            # <a name=...> is an anchor target too
            self.ids.update(value for name, value in attrs if name == "name" and value)

    handle_startendtag = handle_starttag


def parse_page(path: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    collector.close()
    return collector


def resolve(out: Path, url_path: str) -> Path | None:
    """The file a server would send for an internal path under PREFIX, or None."""
    rel = unquote(url_path.removeprefix(PREFIX))
    target = out / rel
    if rel == "" or rel.endswith("/") or target.is_dir():
        target = target / "index.html"
    try:
        target.resolve().relative_to(out.resolve())
    except ValueError:
        return None
    return target if target.is_file() else None


@pytest.fixture(scope="module")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the example site under the sub-path, shared by the link tests."""
    from marginalia.cli import main

    root = copy_example(tmp_path_factory.mktemp("links") / "example")
    assert main(["build", "--root", str(root), "--base-url", BASE_URL]) == 0
    return root / "site"


def _html_pages(out: Path) -> list[Path]:
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 20, "the example site should have many pages"
    return pages


def test_every_internal_link_resolves_to_a_file(example_build: Path) -> None:
    out = example_build
    broken: list[str] = []
    checked = 0
    parsed = {page: parse_page(page) for page in _html_pages(out)}
    for page, info in parsed.items():
        shown = page.relative_to(out).as_posix()
        for tag, url in info.links:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https"):
                if parts.netloc != urlsplit(BASE_URL).netloc:
                    continue  # external: an outlet's original article, for instance
                path = parts.path
            elif parts.scheme or parts.netloc:
                broken.append(f"{shown}: <{tag}> {url!r}: unexpected scheme or host")
                continue
            elif url.startswith("#"):
                continue  # same-page fragments: see the next test
            else:
                path = parts.path
            if not path.startswith(PREFIX):
                broken.append(f"{shown}: <{tag}> {url!r} lacks the base path {PREFIX}")
                continue
            target = resolve(out, path)
            checked += 1
            if target is None:
                broken.append(f"{shown}: <{tag}> {url!r} resolves to no file")
            elif parts.fragment and target.suffix == ".html":
                ids = (parsed.get(target) or parse_page(target)).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{shown}: <{tag}> {url!r}: no id {parts.fragment!r} there")
    assert not broken, "\n".join(broken)
    assert checked > 100


def test_fragment_links_point_to_a_unique_id_on_the_same_page(example_build: Path) -> None:
    out = example_build
    missing: list[str] = []
    jumps = 0
    duplicates: list[str] = []
    for page in _html_pages(out):
        info = parse_page(page)
        shown = page.relative_to(out).as_posix()
        for tag, url in info.links:
            if url.startswith("#"):
                if url == "#original":
                    jumps += 1
                if unquote(url[1:]) not in info.ids:
                    missing.append(f"{shown}: <{tag}> {url!r}")
        if info.duplicate_ids:
            duplicates.append(f"{shown}: {info.duplicate_ids}")
    assert not missing, "\n".join(missing)
    assert not duplicates, "duplicate or empty ids:\n" + "\n".join(duplicates)
    articles = list(REPO.glob("content/[0-9]*/**/*.md"))
    assert jumps >= len(articles) > 0  # every article page links down to its original


def test_non_latin_slugs_are_percent_encoded_and_resolve(example_build: Path) -> None:
    out = example_build
    encoded = [
        url
        for page in _html_pages(out)
        for _tag, url in parse_page(page).links
        if url.startswith(PREFIX) and "%" in url
    ]
    assert encoded, (
        "the example site has a non-Latin article or term: its links are percent-encoded"
    )
    for url in encoded:
        assert all(ord(char) < 128 for char in url), url
        assert resolve(out, urlsplit(url).path) is not None, url


def test_sitemap_and_feed_urls_resolve(example_build: Path) -> None:
    out = example_build
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [
        el.text or "" for el in ET.fromstring((out / "sitemap.xml").read_bytes()).iter(f"{ns}loc")
    ]
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring((out / "feed.xml").read_bytes())
    hrefs = [link.get("href") or "" for link in feed.iter(f"{atom}link")]
    assert locs and hrefs
    for url in locs + hrefs:
        assert url.startswith(BASE_URL), url
        assert resolve(out, urlsplit(url).path) is not None, url


def test_two_builds_give_identical_trees_without_warnings(tmp_path: Path, run) -> None:
    first = copy_example(tmp_path / "first")
    second = copy_example(tmp_path / "second")
    results = [run("build", "--root", root, "--base-url", BASE_URL) for root in (first, second)]
    for result in results:
        assert result.status == 0, result.err
        assert result.err == "", f"the example site builds with warnings:\n{result.err}"
    assert tree_digest(first / "site") == tree_digest(second / "site")


def test_example_site_builds_with_its_own_config_and_no_warnings(tmp_path: Path, run) -> None:
    root = copy_example(tmp_path / "example")
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    assert result.err == ""
    assert (root / "site" / "index.html").is_file()


def test_every_page_has_one_h1_and_the_home_page_not_the_site_title(example_build: Path) -> None:
    """One h1 a page (issue 12): the site's title is the header's, not the home page's h1."""
    counts = {
        page.relative_to(example_build).as_posix(): page.read_text(encoding="utf-8").count("<h1")
        for page in _html_pages(example_build)
    }
    assert {rel: n for rel, n in counts.items() if n != 1} == {}
    home = (example_build / "index.html").read_text(encoding="utf-8")
    title = load_settings(REPO).title
    assert f"<h1>{title}</h1>" not in home and "<h1>Latest articles</h1>" in home
