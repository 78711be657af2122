"""Search (issues 12 and 19, design §8): Pagefind's index of the articles in monthly
shards, /search/ merging them, the header's box and /opensearch.xml.

In Chromium (tests/test_browser.py's set-up: the example site, 13 shards, built for and
served on 127.0.0.1 under the sub-path /sub/archive/, no request allowed off the origin):
/search/?q= finds the one article with a word (and no other shard's near miss), words of
the oldest and the newest shard, an analysis-only word as an analysis match, the
Japanese article by a Japanese word; a tag's count is its articles' in every shard and
checking it leaves those; newest first runs across shards; results are reached from the
keyboard with a visible focus; the header's form lands on /search/?q= without
JavaScript, where the page says search needs it; axe-core finds nothing serious, light
and dark. Without a browser: the OpenSearch description, the `search: false` switch,
clean builds giving the same bundles, an edit indexing only the shards it touches (and
the site then a clean build's), a failing indexer reported with site/ left as it was,
and the memory budget's setting.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from conftest import MINIMAL_CONFIG, article, tree_digest, write_files

# test_browser's `browser` fixture, imported so that tests here take it as a parameter
from test_browser import (
    AXE,
    SCHEMES,
    SCREENSHOTS,
    WIDTHS,
    assert_no_serious_axe_violations,
    open_page,
)
from test_browser import browser as browser
from test_validators import REPO, Served, copy_example, serve_example, unavailable

from marginalia.build import CACHE_DIR, build
from marginalia.search import CACHE_FOLDER, MEMORY_ENV
from marginalia.search.shards import YEAR_ENV

UNIQUE_WORD = "aquifer"  # in one example article, in no other and in no analysis
UNIQUE_ARTICLE = "content/2024/11/data-centre-water-permits.md"
ANALYSIS_WORD = "clinician"  # in one example analysis only
ANALYSED_ARTICLE = "analyses/2023/12/ai-triage-trial.md"
JAPANESE_WORD = "住民投票"  # referendum
JAPANESE_ARTICLE = "content/2024/03/kitahama-line-vote.md"
COMMON_WORD = "council"
OLDEST_WORD = "estuary"  # in the example's oldest article (March 2022), in no other
OLDEST_ARTICLE = "content/2022/03/tidal-turbines-ferries.md"
NEWEST_WORD = "battery"  # in its newest (March 2025), in no other
NEWEST_ARTICLE = "content/2025/03/electric-ferry-trial.md"
EVERYWHERE_WORD = "the"  # in every English article
TAG = "transport"
RESULT = ".pagefind-ui__result"
RESULT_LINK = ".pagefind-ui__result > .pagefind-ui__result-inner > .pagefind-ui__result-title a"


def files_with(word: str, folder: str) -> list[str]:
    return sorted(
        path.relative_to(REPO).as_posix()
        for path in (REPO / folder).rglob("*.md")
        if word.lower() in path.read_text(encoding="utf-8").lower()
    )


def test_the_chosen_words_are_where_the_tests_say() -> None:
    """The browser tests rely on the example site's text: check it, not assume it."""
    assert files_with(UNIQUE_WORD, "content") == [UNIQUE_ARTICLE]
    assert files_with(UNIQUE_WORD, "analyses") == []
    assert files_with(ANALYSIS_WORD, "analyses") == [ANALYSED_ARTICLE]
    assert files_with(ANALYSIS_WORD, "content") == []
    assert files_with(JAPANESE_WORD, "content") == [JAPANESE_ARTICLE]
    assert len(files_with(COMMON_WORD, "content")) >= 3
    assert files_with(OLDEST_WORD, "content") == [OLDEST_ARTICLE]
    assert files_with(NEWEST_WORD, "content") == [NEWEST_ARTICLE]
    articles = [rel for rel in files_with("", "content") if not rel.startswith("content/pages/")]
    months = sorted(Path(rel).parent.as_posix() for rel in articles)
    assert months[0] + "/" in OLDEST_ARTICLE and months[-1] + "/" in NEWEST_ARTICLE
    assert len(tagged_english(TAG)) >= 3  # in shards of three years


def tagged_english(tag: str) -> list[str]:
    """The example's English articles with the tag (the search page's index is English)."""
    found = []
    for rel in files_with("", "content"):
        text = (REPO / rel).read_text(encoding="utf-8")
        tags = re.search(r"^tags: \[(.*)\]$", text, re.MULTILINE)
        if (
            tags
            and tag in [t.strip() for t in tags.group(1).split(",")]
            and "language:" not in text
        ):
            found.append(rel)
    return found


# --- in the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_example(tmp_path_factory.mktemp("search")) as site:
        yield site


def article_url(served: Served, source: str) -> str:
    """The served URL of an example article, found by its source path in its page."""
    slug = Path(source).stem
    match = [rel for rel in served.html_pages() if rel.endswith(f"/{slug}/")]
    assert len(match) == 1, (source, match)
    return served.url(match[0])


def search(page: Any, served: Served, query: str, extra: str = "") -> list[str]:
    """Open /search/?q=query and return the result links, in order."""
    page.goto(served.url(f"search/?q={quote(query)}{extra}"))
    page.wait_for_selector(f"{RESULT} .pagefind-ui__result-title a")
    return page.eval_on_selector_all(RESULT_LINK, "links => links.map(a => a.href)")


def test_a_word_in_one_article_finds_it_first_and_its_link_works(
    browser: Any, served: Served
) -> None:
    with open_page(browser, served) as (page, watch):
        links = search(page, served, UNIQUE_WORD)
        assert links[0] == article_url(served, UNIQUE_ARTICLE), links
        first = page.locator(RESULT).first
        assert first.locator("mark").first.inner_text().lower().startswith(UNIQUE_WORD)
        meta = first.locator(".pagefind-ui__result-tags").inner_text()
        assert re.search(r"Date: \d{1,2} \w+ \d{4}", meta) and "Outlet: " in meta, meta
        page.locator(RESULT_LINK).first.click()
        page.wait_for_url(links[0])
        assert page.locator("h1").first.is_visible()
        assert not watch.problems, watch.problems
        assert not watch.foreign, watch.foreign


def test_the_oldest_and_the_newest_shard_are_both_searched(browser: Any, served: Served) -> None:
    """Each month is a bundle of its own: a word of the oldest month and one of the newest
    find their one article each (and no other shard's near miss)."""
    with open_page(browser, served) as (page, watch):
        assert search(page, served, OLDEST_WORD) == [article_url(served, OLDEST_ARTICLE)]
        assert search(page, served, NEWEST_WORD) == [article_url(served, NEWEST_ARTICLE)]
        assert not watch.problems, watch.problems
        assert not watch.foreign, watch.foreign


def test_a_word_only_in_an_analysis_is_marked_as_an_analysis_match(
    browser: Any, served: Served
) -> None:
    analysed = article_url(served, ANALYSED_ARTICLE.replace("analyses/", "content/"))
    with open_page(browser, served) as (page, watch):
        links = search(page, served, ANALYSIS_WORD)
        assert links == [analysed]
        nested = page.locator(f"{RESULT} .pagefind-ui__result-nested")
        assert nested.count() == 1
        link = nested.locator("a")
        assert link.inner_text() == "Machine-written analysis"
        assert link.get_attribute("href").endswith("#analysis")
        assert nested.locator("mark").inner_text().lower().startswith(ANALYSIS_WORD)
        link.click()  # lands on the analysis heading, inside the <details> it opens
        page.wait_for_function("location.hash === '#analysis'")
        assert page.locator("#analysis").is_visible()
        assert not watch.problems, watch.problems


def test_the_japanese_article_is_found_by_a_japanese_word(browser: Any, served: Served) -> None:
    with open_page(browser, served) as (page, watch):
        # the site's language is English: Japanese is picked on the page, then searched
        page.goto(served.url("search/"))
        page.wait_for_selector("#search .pagefind-ui__search-input")
        page.locator("#search .pagefind-ui__search-input").fill(JAPANESE_WORD)
        page.select_option(".search-options select[name=lang]", "ja")
        page.wait_for_load_state("networkidle")  # what typing started loads before we leave
        page.locator(".search-options button").click()
        page.wait_for_url(re.compile(r"lang=ja"))
        page.wait_for_selector(f"{RESULT} .pagefind-ui__result-title a")
        links = page.eval_on_selector_all(RESULT_LINK, "links => links.map(a => a.href)")
        assert links == [article_url(served, JAPANESE_ARTICLE)]
        marks = page.locator(f"{RESULT} mark").all_inner_texts()  # its segments: 住民, 投票
        assert marks and all(mark in JAPANESE_WORD for mark in marks), marks
        assert not watch.problems, watch.problems


def test_a_tag_filter_counts_and_narrows_across_shards(browser: Any, served: Served) -> None:
    """The tag's count is of its articles in every shard; checking it leaves those."""
    expected = sorted(article_url(served, rel) for rel in tagged_english(TAG))
    with open_page(browser, served) as (page, watch):
        search(page, served, EVERYWHERE_WORD)
        message = page.locator(".pagefind-ui__message")
        assert int(message.inner_text().split()[0]) > len(expected)
        # Pagefind's UI shows its filters once their index has loaded, after the results
        tag_filter = page.locator("summary.pagefind-ui__filter-name", has_text="Tag")
        tag_filter.wait_for(timeout=90_000)
        tag_filter.click()
        tag = page.locator(f"input.pagefind-ui__filter-checkbox[name=tag][value={TAG}]")
        label = page.locator(f"label.pagefind-ui__filter-label[for={tag.get_attribute('id')}]")
        assert label.inner_text().split()[-1] == f"({len(expected)})"
        tag.check()
        # settled: the list shows as many results as the message counts
        page.wait_for_function(
            """([selector, count]) => {
                const shown = document.querySelectorAll(selector).length;
                const said = document.querySelector(".pagefind-ui__message")?.textContent ?? "";
                return said.startsWith(`${count} result`) && shown === count;
            }""",
            arg=[RESULT_LINK, len(expected)],
        )
        assert message.inner_text().startswith(f"{len(expected)} result")
        narrowed = page.eval_on_selector_all(RESULT_LINK, "links => links.map(a => a.href)")
        assert sorted(narrowed) == expected
        assert not watch.problems, watch.problems


def test_results_are_newest_first_unless_asked_otherwise(browser: Any, served: Served) -> None:
    with open_page(browser, served) as (page, _watch):
        newest_first = search(page, served, COMMON_WORD)
        dates = [
            re.search(
                r'<time datetime="([^"]+)"', served.page_text(u.removeprefix(served.base_url))
            )
            for u in newest_first
        ]
        stamps = [d.group(1)[:10] for d in dates if d]
        assert stamps == sorted(stamps, reverse=True), stamps
        by_match = search(page, served, COMMON_WORD, "&order=relevance")
        assert sorted(by_match) == sorted(newest_first)


def test_results_are_reached_from_the_keyboard_with_a_visible_focus(
    browser: Any, served: Served
) -> None:
    with open_page(browser, served) as (page, _watch):
        links = search(page, served, COMMON_WORD)
        page.locator("#search .pagefind-ui__search-input").focus()
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.href") == links[0]:
                break
        else:
            pytest.fail("Tab never reached the first result")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), "keyboard focus on a result is not visible"
        page.keyboard.press("Enter")
        page.wait_for_url(links[0])


def test_the_header_form_without_javascript_lands_on_the_search_page(
    browser: Any, served: Served
) -> None:
    with open_page(browser, served, javascript=False) as (page, watch):
        page.goto(served.url("archive/"))
        box = page.get_by_role("searchbox", name="Search the archive")
        box.fill(f"{UNIQUE_WORD} water")
        box.press("Enter")
        page.wait_for_url(served.url(f"search/?q={UNIQUE_WORD}+water"))
        notice = page.locator(".search-noscript")
        assert "Search needs JavaScript" in notice.inner_text()
        hrefs = notice.locator("a").evaluate_all("links => links.map(a => a.href)")
        assert hrefs == [served.url("archive/"), served.url("tags/"), served.url("sources/")]
        assert not watch.problems, watch.problems


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_search_page_fits_and_axe_finds_no_serious_violations(
    browser: Any, served: Served, width: int, scheme: str
) -> None:
    if not AXE.is_file():
        unavailable(f"no {AXE.relative_to(REPO)} (npm ci installs axe-core)")
    with open_page(browser, served, width=width, scheme=scheme) as (page, watch):
        search(page, served, COMMON_WORD)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"search-{width}-{scheme}.png"), full_page=True)
        assert_no_serious_axe_violations(page)
        assert not watch.problems, watch.problems
        assert not watch.foreign, watch.foreign


# --- without a browser --------------------------------------------------------------------


def test_opensearch_description_and_every_page_links_it(site: Any, run: Any) -> None:
    root = site(
        {
            "config.yaml": "title: The Long Harbour Archive\nbase_url: https://example.org/repo/\n",
            "content/a.md": article(),
        }
    )
    assert run("build", "--root", root).status == 0
    xml = ElementTree.parse(root / "site/opensearch.xml").getroot()
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert xml.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    url = xml.find("os:Url", ns)
    assert url is not None and url.get("type") == "text/html"
    assert url.get("template") == "https://example.org/repo/search/?q={searchTerms}"
    short = xml.findtext("os:ShortName", namespaces=ns)
    assert short == "The Long Harbour"
    for page in (root / "site").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert (
            '<link rel="search" type="application/opensearchdescription+xml" '
            'title="The Long Harbour Archive" href="/repo/opensearch.xml">'
        ) in html, page
        assert '<form class="site-search" role="search" action="/repo/search/" method="get">' in (
            html
        )
    search_page = (root / "site/search/index.html").read_text(encoding="utf-8")
    assert 'src="/repo/pagefind/pagefind-ui.js"' in search_page
    assert (root / "site/pagefind/pagefind-entry.json").is_file()


def test_search_false_writes_no_bundle_no_page_and_no_box(site: Any, run: Any) -> None:
    root = site({"config.yaml": MINIMAL_CONFIG + "search: false\n", "content/a.md": article()})
    assert run("build", "--root", root).status == 0
    out = root / "site"
    for name in ("pagefind", "search", "opensearch.xml", "static/search.js", "static/search"):
        assert not (out / name).exists(), name
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert 'name="q"' not in html and 'rel="search"' not in html, page
    assert not (root / CACHE_DIR / CACHE_FOLDER).exists()
    # and back on: all of it appears
    write_files(root, {"config.yaml": MINIMAL_CONFIG})
    assert run("build", "--root", root).status == 0
    assert (out / "pagefind/pagefind-ui.js").is_file() and (out / "search/index.html").is_file()


def test_clean_builds_give_the_same_bundle(tmp_path: Path) -> None:
    """Byte for byte but for the few filter files Pagefind writes in hash-map order (see
    marginalia/search/pagefind.py): those are counted (tree_digest); the rest, words and
    fragments, compared."""
    first, second = copy_example(tmp_path / "one"), copy_example(tmp_path / "two")
    build(first)
    build(second)
    digest = tree_digest(first / "site")
    assert digest == tree_digest(second / "site")
    bundle = [rel for rel in digest if rel.startswith("pagefind/")]
    assert any(re.fullmatch(r"pagefind/\d{4}-\d{2}/fragment/.*", rel) for rel in bundle)
    assert any(re.fullmatch(r"pagefind/\d{4}-\d{2}/index/.*", rel) for rel in bundle)
    assert any(re.fullmatch(r"pagefind/\d{4}-\d{2}/filter/\(unstable\)", rel) for rel in bundle)


def dated(title: str, date: str, body: str = "Harbour news.") -> str:
    return article(title, date, body)


def indexed(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The bundles the last build indexed, from its log."""
    found = sorted(r.args[0] for r in caplog.records if r.getMessage().startswith("indexed "))
    caplog.clear()
    return found


def test_an_edit_indexes_only_the_shards_it_touches(
    site: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Shards by month: adding an article to an old month, editing one in another and
    removing one from a third index those three again and no other; a template edit and
    no change index nothing; and the site is a clean build's."""
    caplog.set_level(logging.INFO, logger="marginalia.search.pagefind")
    files = {
        "content/2019/a.md": dated("Old ferry", "2019-03-02T10:00:00Z"),
        "content/2021/b.md": dated("Bridge vote", "2021-05-02T10:00:00Z"),
        "content/2022/c.md": dated("Quay repairs", "2022-08-02T10:00:00Z"),
        "content/2022/d.md": dated("Quay reopens", "2022-08-20T10:00:00Z"),
        "content/2024/e.md": dated("New tram", "2024-01-02T10:00:00Z"),
    }
    root = site(files)
    build(root)
    assert indexed(caplog) == ["2019-03", "2021-05", "2022-08", "2024-01", "stub"]
    store = root / CACHE_DIR / CACHE_FOLDER
    before = {path.name: path.stat().st_mtime_ns for path in store.iterdir()}
    write_files(root, {"layouts/page.html": '{% extends "default/page.html" %}\n'})
    build(root)
    assert indexed(caplog) == []
    write_files(
        root,
        {
            "content/2019/f.md": dated("Older ferry", "2019-03-09T10:00:00Z"),
            "content/2021/b.md": dated("Bridge vote", "2021-05-02T10:00:00Z", "Recounted."),
        },
    )
    (root / "content/2022/d.md").unlink()
    build(root)
    assert indexed(caplog) == ["2019-03", "2021-05", "2022-08"]
    after = {path.name: path.stat().st_mtime_ns for path in store.iterdir()}
    kept = {name for name in before if name.split(".")[0] in ("2024-01", "stub")}
    assert {name: after.get(name) for name in kept} == {name: before[name] for name in kept}
    assert len(after) == len(before), "the replaced shards' old bundles are removed"
    build(root)
    assert indexed(caplog) == []
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("site", ".cache"))
    build(clean)
    assert tree_digest(root / "site") == tree_digest(clean / "site")
    manifest = json.loads((root / "site/pagefind/shards.json").read_text(encoding="utf-8"))
    assert [shard["name"] for shard in manifest["shards"]] == [
        "2024-01",
        "2022-08",
        "2021-05",
        "2019-03",
    ]


def test_a_quiet_year_is_one_shard_and_a_busy_year_a_shard_a_month(
    site: Any, run: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year of at most YEAR_ENV articles is one shard; once it holds more, its months
    replace it, and the other years' shards are kept."""
    monkeypatch.setenv(YEAR_ENV, "2")
    caplog.set_level(logging.INFO, logger="marginalia.search.pagefind")
    root = site(
        {
            "content/2021/b.md": dated("Bridge vote", "2021-05-02T10:00:00Z"),
            "content/2021/c.md": dated("Bridge opens", "2021-09-02T10:00:00Z"),
            "content/2022/d.md": dated("Quay repairs", "2022-01-02T10:00:00Z"),
            "content/2022/e.md": dated("Quay reopens", "2022-08-20T10:00:00Z"),
            "content/2022/f.md": dated("Quay closes", "2022-08-22T10:00:00Z"),
        }
    )
    build(root)
    assert indexed(caplog) == ["2021", "2022-01", "2022-08", "stub"]
    write_files(root, {"content/2021/g.md": dated("Bridge tolls", "2021-09-09T10:00:00Z")})
    build(root)
    assert indexed(caplog) == ["2021-05", "2021-09"]
    manifest = json.loads((root / "site/pagefind/shards.json").read_text(encoding="utf-8"))
    names = [shard["name"] for shard in manifest["shards"]]
    assert names == ["2022-08", "2022-01", "2021-09", "2021-05"]
    monkeypatch.setenv(YEAR_ENV, "many")
    result = run("build", "--root", root)
    assert result.status == 1 and "Traceback" not in result.err
    assert f"{YEAR_ENV}: must be a number of articles, not 'many'" in result.err


def test_a_failing_indexer_is_reported_and_site_is_kept(
    site: Any, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site({"content/a.md": article()})
    assert run("build", "--root", root).status == 0
    before = tree_digest(root / "site")
    broken = tmp_path / "pagefind-broken"
    broken.write_text("#!/bin/sh\necho 'cannot read the documents' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(broken))
    write_files(root, {"content/a.md": article(body="Changed.")})
    result = run("build", "--root", root)
    assert result.status == 1
    assert re.search(r"pagefind: indexing failed \(3\):.*cannot read the documents", result.err)
    assert "Traceback" not in result.err
    assert tree_digest(root / "site") == before
    leftovers = [p.name for p in (root / CACHE_DIR / CACHE_FOLDER).iterdir()]
    assert not [name for name in leftovers if name.startswith("work-")], leftovers
    monkeypatch.delenv("PAGEFIND_BINARY_PATH")
    assert run("build", "--root", root).status == 0


def test_a_memory_budget_that_is_not_a_number_is_reported(
    site: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site({"content/a.md": article()})
    monkeypatch.setenv(MEMORY_ENV, "lots")
    result = run("build", "--root", root)
    assert result.status == 1 and "Traceback" not in result.err
    assert f"{MEMORY_ENV} must be a number of MiB, not 'lots'" in result.err
    assert not (root / "site").exists()
    monkeypatch.setenv(MEMORY_ENV, "1")  # smaller than any run: one at a time
    assert run("build", "--root", root).status == 0


def test_a_site_with_no_articles_has_nothing_to_search_yet(site: Any, run: Any) -> None:
    """Pagefind refuses to index nothing: no bundle, and the page says why."""
    root = site({})
    assert run("build", "--root", root).status == 0
    assert not (root / "site/pagefind").exists()
    page = (root / "site/search/index.html").read_text(encoding="utf-8")
    assert "Nothing is published yet" in page and "pagefind" not in page
    write_files(root, {"content/a.md": article()})
    assert run("build", "--root", root).status == 0
    assert (root / "site/pagefind/pagefind-entry.json").is_file()


@pytest.mark.skipif(os.name != "posix", reason="the fake indexer is a shell script")
def test_the_index_documents_carry_the_filters(
    site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Pagefind is given: filters, sort key and the analysis heading (read from the
    documents a stand-in indexer copies out)."""
    root = site(
        {
            "content/a.md": article(
                "Ferry <strike>",
                tags="[Transport, port]",
                authors="[Ann Lee]",
                source="https://news.example.com/a",
                summary="Boats stop.",
            ),
            "analyses/a.md": "---\nmodel: m\n---\n## Framing\n\nA careful piece.\n"
            "\n## Notes\n\n### source\n> Body text\n\nWho *says* so?\n",
        }
    )
    keep = tmp_path / "documents"
    spy = tmp_path / "pagefind-spy"
    spy.write_text(
        "#!/bin/sh\n"  # --site DOCS --output-path OUT: copy DOCS, write an entry file
        f'[ -d "$2/2024" ] && cp -r "$2" {keep}\nmkdir -p "$4"\n'
        'echo \'{"languages": {"en": {}}}\' > "$4/pagefind-entry.json"\n'
    )
    spy.chmod(spy.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(spy))
    build(root)
    shutil.rmtree(root / CACHE_DIR)  # the spy's bundle must not be taken for a real one
    html = (keep / "2024/06/a/index.html").read_text(encoding="utf-8")
    assert '<h1 data-pagefind-weight="10">Ferry &lt;strike&gt;</h1>' in html
    for expected in (
        'data-pagefind-filter="tag[content]" content="Transport"',
        'data-pagefind-filter="tag[content]" content="port"',
        'data-pagefind-filter="author[content]" content="Ann Lee"',
        'data-pagefind-filter="outlet[content]" content="news.example.com"',
        'data-pagefind-filter="year[content]" content="2024"',
        'data-pagefind-sort="date[content]" content="2024-06-20T16:00:00Z"',
        '<h2 id="analysis">Machine-written analysis</h2>',
        "<h2>Framing</h2>",  # the analysis's own headings start no sub-result
        "<p>Boats stop.</p>",
    ):
        assert expected in html, expected
    # a note is part of the analysis: its text after the analysis's heading (issue 20)
    assert html.index("<p>Who <em>says</em> so?</p>") > html.index('<h2 id="analysis">')
    assert "## Notes" not in html
