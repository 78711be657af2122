"""Walking the archive (issue 12): titles on /archive/, an article's date to its month,
months and years to their neighbours and up, "More on" a tag at an article's end, the
standfirst, reading time, and a home page that does not repeat the site's title.

Mini-sites written in each test, built by the CLI and read back as element trees.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import article, tree_digest
from test_article_page import Element, parse_html, squash

from marginalia.archive import ARCHIVE_LISTED, MORE_ON
from marginalia.reading import reading_minutes

CONFIG = "title: Walk Test\nbase_url: https://example.org/\npaginate: 3\n"


def build(site, run, files: dict[str, str]) -> Path:
    root = site({"config.yaml": CONFIG, **files})
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    return root / "site"


def doc(out: Path, url: str) -> Element:
    return parse_html((out / url.strip("/") / "index.html").read_text(encoding="utf-8"))


def hrefs(element: Element | None) -> list[str]:
    return [a.attrs["href"] for a in element.find_all("a")] if element is not None else []


def nav(page: Element, label: str) -> Element | None:
    return page.find("nav", **{"aria-label": label})


# --- /archive/ ----------------------------------------------------------------------------

SPREAD = {
    "content/a.md": article("Alpha", "2023-03-01", source="https://one.example/a"),
    "content/b.md": article("Beta", "2024-06-01", source_name="Two Post"),
    "content/c.md": article("Gamma", "2024-06-20"),
    "content/d.md": article("Delta", "2024-11-02"),
}


def test_the_archive_lists_each_months_titles_with_date_and_outlet(site, run) -> None:
    out = build(site, run, SPREAD)
    archive = doc(out, "/archive/")
    months = archive.find_all("section", class_="archive-month")
    assert [squash(m.find("h3").find("a").text) for m in months] == [
        "November 2024",
        "June 2024",
        "March 2023",
    ]
    june = months[1]
    assert hrefs(june.find("ul")) == ["/2024/06/c/", "/2024/06/b/"]
    assert [squash(li.text) for li in june.find_all("li")] == [
        "20 Jun Gamma",
        "1 Jun Beta Two Post",
    ]
    march = squash(months[2].find("li").text)
    assert march == "1 Mar Alpha one.example"
    for month in months:  # each title links to its article's page
        for href in hrefs(month.find("ul")):
            assert (out / href.strip("/") / "index.html").is_file(), href


def test_a_long_month_lists_its_newest_titles_and_links_to_the_rest(site, run) -> None:
    count = ARCHIVE_LISTED + 3
    files = {
        f"content/m{day:02d}.md": article(f"Day {day}", f"2024-05-{day:02d}")
        for day in range(1, count + 1)
    }
    out = build(site, run, files)
    may = doc(out, "/archive/").find("section", class_="archive-month")
    titles = [squash(a.text) for a in may.find("ul").find_all("a")]
    assert titles == [f"Day {day}" for day in range(count, count - ARCHIVE_LISTED, -1)]
    more = may.find("p", class_="archive-more")
    assert more is not None and hrefs(more) == ["/2024/05/"]
    assert squash(more.text) == f"All {count} articles of May 2024"


# --- dates, months and years --------------------------------------------------------------


def test_an_articles_date_links_to_its_month(site, run) -> None:
    out = build(site, run, SPREAD)
    page = doc(out, "/2024/06/b/")
    byline = page.find("p", class_="byline")
    date_link = byline.find("a", class_="date-link")
    assert date_link.attrs["href"] == "/2024/06/"
    assert date_link.find("time").attrs["datetime"].startswith("2024-06-01")
    assert "/2024/06/b/" in hrefs(doc(out, "/2024/06/").find("ol", class_="article-list"))


def test_month_pages_link_to_their_neighbours_and_up(site, run) -> None:
    out = build(site, run, SPREAD)
    months = {"/2023/03/": "March 2023", "/2024/06/": "June 2024", "/2024/11/": "November 2024"}
    order = list(months)
    for index, url in enumerate(order):
        page = doc(out, url)
        year = url.split("/")[1]
        assert hrefs(nav(page, "Breadcrumb")) == ["/archive/", f"/{year}/"]
        pager = nav(page, "Previous and next month")
        older = order[index - 1] if index else None
        newer = order[index + 1] if index + 1 < len(order) else None
        expected = [link for link in (older, newer) if link]
        assert hrefs(pager) == expected, url
        for link in expected:  # labelled with the month's name, and a page is there
            assert months[link] in squash(pager.text)
            assert (out / link.strip("/") / "index.html").is_file()


def test_year_pages_link_to_their_neighbours_and_up(site, run) -> None:
    out = build(site, run, {**SPREAD, "content/e.md": article("Eps", "2021-01-01")})
    years = ["/2021/", "/2023/", "/2024/"]  # 2022 has no article: it is skipped
    for index, url in enumerate(years):
        page = doc(out, url)
        assert hrefs(nav(page, "Breadcrumb")) == ["/archive/"]
        older = years[index - 1] if index else None
        newer = years[index + 1] if index + 1 < len(years) else None
        assert hrefs(nav(page, "Previous and next year")) == [y for y in (older, newer) if y]


def test_other_lists_have_no_date_neighbours(site, run) -> None:
    out = build(site, run, {**SPREAD, "content/d.md": article("Delta", "2024-11-02", tags="x")})
    for url in ["/", "/tags/x/", "/archive/"]:
        page = doc(out, url)
        assert nav(page, "Breadcrumb") is None, url
        assert not page.find_all("nav", class_="pager"), url


# --- More on ------------------------------------------------------------------------------


def tagged(count: int, tag: str, month: str = "2024-03") -> dict[str, str]:
    return {
        f"content/{tag}{n:02d}.md": article(f"{tag} {n}", f"{month}-{n:02d}", tags=f"[{tag}]")
        for n in range(1, count + 1)
    }


def more_on(out: Path, url: str) -> tuple[str, list[str]]:
    section = doc(out, url).find("section", class_="more-on")
    if section is None:
        return "", []
    return squash(section.find("h2").text), hrefs(section.find("ul"))


def test_more_on_lists_only_other_articles_nearest_in_time(site, run) -> None:
    out = build(site, run, tagged(MORE_ON + 4, "ferries"))
    newest = MORE_ON + 4
    for n in range(1, newest + 1):
        url = f"/2024/03/ferries{n:02d}/"
        heading, links = more_on(out, url)
        assert heading == "More on ferries"
        assert url not in links and len(links) == len(set(links)) == MORE_ON
        numbers = [int(link.strip("/")[-2:]) for link in links]
        assert numbers == sorted(numbers, reverse=True)  # newest first
        if n > MORE_ON:  # those just before it
            assert numbers == list(range(n - 1, n - 1 - MORE_ON, -1)), url
        else:  # the oldest: the nearest after it make up the number
            assert numbers == [m for m in range(MORE_ON + 1, 0, -1) if m != n], url
    assert hrefs(doc(out, "/2024/03/ferries01/").find("section", class_="more-on").find("h2")) == [
        "/tags/ferries/"
    ]


def test_more_on_takes_the_first_shared_tag_else_the_outlet(site, run) -> None:
    files = {
        "content/a.md": article("A", "2024-01-01", tags="[solo, shared]", source_name="Post"),
        "content/b.md": article("B", "2024-01-02", tags="[shared]", source_name="Post"),
        "content/c.md": article("C", "2024-01-03", tags="[alone]", source_name="Post"),
        "content/d.md": article("D", "2024-01-04", source_name="Lonely Wire"),
    }
    out = build(site, run, files)
    assert more_on(out, "/2024/01/a/") == ("More on shared", ["/2024/01/b/"])
    assert more_on(out, "/2024/01/c/") == ("More on Post", ["/2024/01/b/", "/2024/01/a/"])
    assert more_on(out, "/2024/01/d/") == ("", [])  # nothing shares a tag or its outlet


def test_the_pages_are_the_same_bytes_build_after_build(site, run, tmp_path: Path) -> None:
    files = {**tagged(7, "ferries"), **tagged(3, "ports", "2023-09"), **SPREAD}
    first = build(site, run, files)
    digest = tree_digest(first)
    (first.parent / ".cache").rename(tmp_path / "old-cache")
    result = run("build", "--root", first.parent, "--full")
    assert result.status == 0, result.err
    assert tree_digest(first) == digest


# --- standfirst, reading time, the home page ----------------------------------------------


def test_the_summary_is_the_standfirst_under_the_headline(site, run) -> None:
    files = {"content/a.md": article("Alpha", "2024-01-01", summary="In one sentence.")}
    page = doc(build(site, run, files), "/2024/01/a/")
    header = page.find("header", class_="article-header")
    kinds = [
        el.tag + "." + el.attrs.get("class", "")
        for el in header.children
        if not isinstance(el, str)
    ]
    assert kinds[:2] == ["h1.", "p.standfirst"]
    assert squash(header.find("p", class_="standfirst").text) == "In one sentence."


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("word " * 10, 1),  # at least a minute
        ("word " * 460, 2),
        ("word " * 2300, 10),
        ("[a link](https://example.org/a/long/path) " * 230, 2),  # targets are not words
        ("北浜線" * 350, 3),  # 1,050 characters of Japanese
        ("서울 시민 " * 230, 2),  # Korean, by its spaced words
        ("北浜線の存続。" * 100 + " word" * 230, 3),  # 600 characters and 230 words
    ],
)
def test_reading_time(text: str, minutes: int) -> None:
    assert reading_minutes(text) == minutes


def test_reading_time_on_the_article_and_in_lists(site, run) -> None:
    files = {"content/a.md": article("Alpha", "2024-01-01", "word " * 700, tags="t")}
    out = build(site, run, files)
    assert "3 min read" in squash(doc(out, "/2024/01/a/").find("p", class_="byline").text)
    for url in ["/", "/tags/t/", "/2024/01/"]:
        item = doc(out, url).find("li", class_="item")
        assert "3 min read" in squash(item.find("p", class_="meta").text), url


def test_the_home_page_heading_is_not_the_site_title(site, run) -> None:
    out = build(site, run, {**SPREAD, **tagged(4, "x")})
    for url in ["/", "/page/2/"]:
        page = doc(out, url)
        assert [squash(h.text) for h in page.find_all("h1")] == ["Latest articles"], url
    assert squash(doc(out, "/").find("title").text) == "Walk Test"
    assert squash(doc(out, "/page/2/").find("title").text).startswith("Latest articles (page 2")
