"""`import`: news pages, saved pages and feeds captured into content/ (design §9).

A real HTTP server on 127.0.0.1 serves invented pages in the shapes news sites take
(tests/fixtures/capture/); each test imports from it with the real command and reads
the files it wrote.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marginalia import frontmatter
from marginalia.capture.dating import address_span
from marginalia.capture.fetch import MAX_IN_FLIGHT, USER_AGENT
from marginalia.capture.pagekind import front_kind
from marginalia.capture.urls import clean_url, url_key
from marginalia.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "capture"
PLACEHOLDER = b"http://news.test"  # fixture pages name the server by this; served as its URL

HTML = "text/html; charset=utf-8"
# path -> (fixture file, Content-Type)
PAGES = {
    "/business/2025/03/port-strike-dockers": ("jsonld-article.html", "text/html; charset=utf-8"),
    "/opinion/yes-column": ("opengraph-article.html", "text/html; charset=utf-8"),
    "/coast/night-trains": ("byline-in-text.html", "text/html"),
    "/city/cycle-lanes-bridge-road": ("cluttered-article.html", "text/html; charset=utf-8"),
    "/ru/parom-kruglyj-god": ("cp1251-header.html", "text/html; charset=windows-1251"),
    "/ja/kosho-heiten": ("shift-jis-meta.html", "text/html"),
    "/valley/orchard-frost": ("redirected-article.html", "text/html; charset=utf-8"),
    "/world/": ("section-front.html", "text/html; charset=utf-8"),
    "/feeds/world.rss": ("world.rss", "application/rss+xml"),
    "/feeds/valley.atom": ("valley.atom", "application/atom+xml"),
    "/files/budget.pdf": ("not-html.pdf", "application/pdf"),
    # URLs no parser can read (issue 18): in a feed's entries, a page's canonical link,
    # og:url and JSON-LD, and a page's <link rel="alternate">
    "/feeds/malformed.rss": ("malformed-links.rss", "application/rss+xml"),
    "/harbour/pilots-join-strike": ("malformed-canonical.html", "text/html; charset=utf-8"),
    "/coast/": ("malformed-feed-link.html", "text/html; charset=utf-8"),
    # real outlets' habits (issue 22): og:type that is not "article" on articles, list
    # pages to refuse, and dates that are not the article's
    "/culture/lighthouse-keepers-cottage-becomes-a-museum": ("website-article.html", HTML),
    "/video/2025/04/01/ice-road-closes-early": ("video-article.html", HTML),
    "/video/seals-breakwater": ("video-only.html", HTML),
    "/harbour/new-pilot-boat-named": ("website-block-dated-earlier.html", HTML),
    "/schools/board-passes-budget": ("meta-jsonld-disagree.html", HTML),
    "/schools/2019/05/02/board-passes-budget": ("meta-jsonld-disagree.html", HTML),
    "/city/2025/06/03/tram-line-extension-approved": ("date-in-address.html", HTML),
    "/opinion/letters-ferry-fares": ("undated.html", HTML),
    "/tag/ferries/": ("tag-page.html", HTML),
    "/": ("home-page.html", HTML),
}
REDIRECTS = {
    "/r/orchard": "/valley/orchard-frost?utm_source=newsletter&utm_medium=email&fbclid=x1&page=2"
}
SLOW = "/slow/story"
GZIPPED = "/business/2025/03/port-strike-dockers"  # sent gzipped to clients that accept it


@dataclass
class NewsServer:
    base: str
    requests: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def news() -> Iterator[NewsServer]:
    """A threaded HTTP server on 127.0.0.1 serving the fixture pages."""
    server_state = NewsServer("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with server_state.lock:
                server_state.in_flight += 1
                server_state.most_in_flight = max(
                    server_state.most_in_flight, server_state.in_flight
                )
            try:
                self.respond()
            finally:
                with server_state.lock:
                    server_state.in_flight -= 1

        def respond(self) -> None:
            server_state.requests.append({"path": self.path, **dict(self.headers.items())})
            path = self.path.split("?")[0]
            if path in REDIRECTS:
                self.send_response(301)
                self.send_header("Location", server_state.base + REDIRECTS[path])
                self.end_headers()
                return
            if path == SLOW:
                time.sleep(2)
            if path not in PAGES:
                self.send_error(404, "Not Found")
                return
            name, content_type = PAGES[path]
            body = (FIXTURES / name).read_bytes().replace(PLACEHOLDER, server_state.base.encode())
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if path == GZIPPED and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()


def front_matter(path: Path) -> tuple[dict, str]:
    doc = frontmatter.parse(path.read_text(encoding="utf-8"))
    return doc.meta, doc.body


def written_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "content").rglob("*.md"))


def test_pages_become_articles_field_by_field(site, run, news) -> None:
    root = site()
    paths = [
        "/business/2025/03/port-strike-dockers",
        "/opinion/yes-column",
        "/coast/night-trains",
        "/city/cycle-lanes-bridge-road",
        "/ru/parom-kruglyj-god",
        "/ja/kosho-heiten",
        "/r/orchard?utm_source=share",
    ]
    result = run("import", "--root", root, *(news.url(p) for p in paths))
    assert result.status == 0, result.err
    base = news.base
    expected = {
        "content/2025/03/port-strike-what-the-dockers-want.md": {
            "title": "Port strike: what the dockers want",
            "date": "2025-03-04T09:30:00+01:00",
            "source": f"{base}/business/2025/03/port-strike-dockers",
            "source_name": "The Harbour Gazette",
            "authors": ["Mira Castellan", "Tomas Brevik"],
            "tags": ["ports", "labour", "shipping"],
            "summary": "Dockers at the north quay walked out over night shifts; both sides say talks resume Friday.",
        },
        "content/2025/03/yes.md": {
            "title": "Yes",
            "date": "2025-03-06T18:05:00-05:00",
            "source": f"{base}/opinion/yes-column",
            "source_name": "Valley Courier",
            "authors": ["Priya Olafsdottir"],
            "tags": ["library", "bond vote", "local politics"],
            "summary": "Why the town should vote yes on the library bond: a columnist makes the case.",
        },
        "content/2025/03/night-trains-return-to-the-coast-line.md": {
            "title": "Night trains return to the coast line",
            "date": "2025-03-05",
            "source": f"{base}/coast/night-trains",
            "authors": ["Ada Quill"],
        },
        "content/2025/03/council-approves-cycle-lanes-on-the-bridge-road.md": {
            "title": "Council approves cycle lanes on the bridge road",
            "date": "2025-03-07T14:20:00+00:00",
            "source": f"{base}/city/cycle-lanes-bridge-road",
            "source_name": "Metro Daily",
            "authors": ["Jonas Whitfield"],
            "tags": ["transport", "cycling"],
            "summary": "After two years of consultation the council voted 31 to 19 for protected lanes.",
        },
        "content/2025/02/паром-на-остров-пойдёт-круглый-год.md": {
            "title": "Паром на остров пойдёт круглый год",
            "date": "2025-02-10T08:00:00+03:00",
            "source": f"{base}/ru/parom-kruglyj-god",
            "source_name": "Северный вестник",
            "authors": ["Ольга Берёзкина"],
            "summary": "Областные власти нашли деньги на зимние рейсы.",
        },
        "content/2025/01/駅前の古書店百年の歴史に幕.md": {
            "title": "駅前の古書店、百年の歴史に幕",
            "date": "2025-01-20T10:00:00+09:00",
            "source": f"{base}/ja/kosho-heiten",
            "source_name": "みなと新聞",
            "authors": ["山田花子"],
            "tags": ["書店", "地域"],
            "summary": "創業百年の古書店が三月末で閉店する。",
        },
        "content/2025/04/orchard-growers-count-frost-damage.md": {
            "title": "Orchard growers count frost damage",
            "date": "2025-04-01T12:00:00+02:00",
            "source": f"{base}/valley/orchard-frost?page=2",
            "source_name": "Valley Courier",
            "authors": ["Lena Marsh"],
            "summary": "A late frost hit the blossom in the upper valley.",
        },
    }
    assert written_files(root) == sorted(expected)
    assert result.out.split() == [str(root / rel) for rel in expected]
    for rel, fields in expected.items():
        meta, _ = front_matter(root / rel)
        # dates are compared as written: YAML reads them as dates, the text is what counts
        text = (root / rel).read_text(encoding="utf-8")
        assert f"\ndate: {fields['date']}\n" in text, rel
        assert {**meta, "date": fields["date"]} == fields, rel
    assert news.most_in_flight <= MAX_IN_FLIGHT
    # more than a few pages: progress on stderr, one line per page
    assert result.err.count("] http://127.0.0.1") == len(paths)

    check = run("check", "--root", root)
    assert check.status == 0, check.err
    assert "warning" not in check.err
    assert run("build", "--root", root).status == 0
    page = root / "site" / "2025" / "03" / "yes" / "index.html"
    assert "Priya Olafsdottir" in page.read_text(encoding="utf-8")


def test_bodies_keep_the_article_and_drop_the_boilerplate(site, run, news) -> None:
    root = site()
    paths = ["/business/2025/03/port-strike-dockers", "/city/cycle-lanes-bridge-road"]
    assert run("import", "--root", root, *(news.url(p) for p in paths)).status == 0

    _, body = front_matter(root / "content/2025/03/port-strike-what-the-dockers-want.md")
    assert body.startswith("Dockers at the north quay of Lindmouth walked off the job")
    assert "# Port strike" not in body  # the title is the page's, not repeated in the body
    assert "## Three demands" in body
    assert "- No more than two consecutive night shifts per crew." in body
    assert (
        "\n> We are not asking for a penny more. We are asking to see our children awake.\n" in body
    )
    assert (
        f"[February report on the backlog]({news.base}/business/2025/02/winter-storm-backlog)"
        in body
    )
    assert "settled\na similar dispute" in body or "settled a similar dispute" in body
    assert "© The Harbour Gazette" not in body

    _, body = front_matter(
        root / "content/2025/03/council-approves-cycle-lanes-on-the-bridge-road.md"
    )
    for paragraph in (
        "The city council voted 31 to 19 on Thursday night",
        "The lanes will be separated from traffic by a low kerb",
        "Shop owners on the eastern end had asked for a loading bay",
        "Cyclists' groups called the decision overdue.",
    ):
        assert paragraph in " ".join(body.split())
    for boilerplate in (
        "cookie",  # banner
        "Accept all",
        "Weather",  # navigation
        "Subscribe",
        "Share on",  # share buttons
        "Email this article",
        "Morning Briefing",  # newsletter box
        "Sign up",
        "Related stories",  # related links
        "Parking fees rise",
        "Comments (2)",  # comments
        "Finally! I have waited",
        "Ridiculous decision",
        "Privacy policy",  # footer
    ):
        assert boilerplate not in body, boilerplate


def test_charsets_come_out_as_utf8(site, run, news) -> None:
    root = site()
    result = run(
        "import", "--root", root, news.url("/ru/parom-kruglyj-god"), news.url("/ja/kosho-heiten")
    )
    assert result.status == 0, result.err
    ru = (root / "content/2025/02/паром-на-остров-пойдёт-круглый-год.md").read_text("utf-8")
    assert "добираться до материка по льду или вертолётом" in " ".join(ru.split())
    ja = (root / "content/2025/01/駅前の古書店百年の歴史に幕.md").read_text("utf-8")
    assert "「本が散らばらずに残るなら、それが一番うれしい」" in ja
    assert "\ufffd" not in ru + ja


def test_polite_fetching(site, run, news) -> None:
    root = site()
    assert run("import", "--root", root, news.url(GZIPPED)).status == 0
    request = news.requests[0]
    assert request["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("Marginalia/")
    assert "gzip" in request["Accept-Encoding"]
    # the gzipped page was read: its text is in the article
    assert (
        "container ships"
        in (root / "content/2025/03/port-strike-what-the-dockers-want.md").read_text()
    )


def test_pages_it_cannot_use_are_listed_and_the_others_written(site, run, news) -> None:
    root = site()
    result = run(
        "import",
        "--root",
        root,
        "--timeout",
        "0.5",
        news.url("/missing/story"),
        news.url("/world/"),
        news.url(SLOW),
        news.url("/files/budget.pdf"),
        news.url("/opinion/yes-column"),
    )
    assert result.status == 1
    assert written_files(root) == ["content/2025/03/yes.md"]
    assert f"{news.url('/missing/story')}: HTTP 404 Not Found" in result.err
    assert f"{news.url('/world/')}: not an article (its address, /world/, is a section front)" in (
        result.err
    )
    assert f"{news.url(SLOW)}: timed out after 0.5 s" in result.err
    assert f"{news.url('/files/budget.pdf')}: not an HTML page (application/pdf)" in result.err
    assert "wrote 1 article, 0 already in the archive, 4 could not be used" in result.err
    assert "Traceback" not in result.err
    assert run("build", "--root", root).status == 0


def test_importing_twice_writes_nothing_the_second_time(site, run, news) -> None:
    root = site()
    first = run("import", "--root", root, news.url("/r/orchard"), news.url("/opinion/yes-column"))
    assert first.status == 0
    before = {p: (root / p).read_bytes() for p in written_files(root)}

    # the same pages again, one of them by a tracking variant of its address
    again = run(
        "import",
        "--root",
        root,
        news.url("/valley/orchard-frost?page=2&utm_campaign=spring"),
        news.url("/opinion/yes-column"),
    )
    assert again.status == 0
    assert {p: (root / p).read_bytes() for p in written_files(root)} == before
    assert (
        "already in the archive: content/2025/04/orchard-growers-count-frost-damage.md" in again.out
    )
    assert "already in the archive: content/2025/03/yes.md" in again.out
    assert "wrote 0 articles, 2 already in the archive" in again.err


def test_an_article_edited_by_hand_is_still_found_by_its_source(site, run, news) -> None:
    root = site(
        {
            "content/2024/01/kept.md": "---\ntitle: Kept\ndate: 2024-01-02\n"
            f"source: {news.base.replace('http://', 'https://')}/opinion/yes-column/?utm_source=x\n"
            "---\nAn editor's own text.\n"
        }
    )
    result = run("import", "--root", root, news.url("/opinion/yes-column"))
    assert result.status == 0
    assert "already in the archive: content/2024/01/kept.md" in result.out
    assert written_files(root) == ["content/2024/01/kept.md"]


def test_same_slug_in_one_month_gets_distinct_names(site, run, news, tmp_path) -> None:
    root = site()
    page = (FIXTURES / "jsonld-article.html").read_text(encoding="utf-8")
    saved = tmp_path / "saved-copy.html"
    saved.write_text(page.replace("port-strike-dockers", "port-strike-dockers-follow-up"), "utf-8")
    assert (
        run("import", "--root", root, news.url("/business/2025/03/port-strike-dockers")).status == 0
    )
    result = run("import", "--root", root, saved)
    assert result.status == 0, result.err
    assert written_files(root) == [
        "content/2025/03/port-strike-what-the-dockers-want-2.md",
        "content/2025/03/port-strike-what-the-dockers-want.md",
    ]
    assert run("build", "--root", root).status == 0


def test_a_saved_page_is_imported_from_its_file(site, run) -> None:
    root = site()
    result = run("import", "--root", root, FIXTURES / "byline-in-text.html")
    assert result.status == 0, result.err
    meta, body = front_matter(root / "content/2025/03/night-trains-return-to-the-coast-line.md")
    # a saved page without a canonical link has no source to name
    assert meta == {
        "title": "Night trains return to the coast line",
        "authors": ["Ada Quill"],
        "date": meta["date"],
    }
    assert str(meta["date"]) == "2025-03-05"
    assert "Ada Quill" not in body  # the byline became the author
    assert "three nights a week" in body
    assert run("check", "--root", root).status == 0


def test_a_base_href_is_not_the_articles_address(site, run, tmp_path) -> None:
    # <base href> names the site, not the page: neither its source nor a home page
    page = (FIXTURES / "byline-in-text.html").read_text(encoding="utf-8")
    saved = tmp_path / "saved.html"
    saved.write_text(page.replace("<head>", '<head><base href="https://news.example/">'), "utf-8")
    root = site()
    result = run("import", "--root", root, saved)
    assert result.status == 0, result.err
    meta, _ = front_matter(root / "content/2025/03/night-trains-return-to-the-coast-line.md")
    assert "source" not in meta


def test_a_page_without_title_or_date_is_refused(site, run, tmp_path) -> None:
    root = site()
    text = "".join(
        f"<p>Paragraph {n} of a page that never says what it is called or when.</p>"
        for n in range(6)
    )
    untitled = tmp_path / "untitled.html"
    untitled.write_text(
        '<html><head><meta property="article:published_time" content="2025-03-01T10:00:00Z">'
        f"</head><body><article>{text}</article></body></html>",
        "utf-8",
    )
    undated = tmp_path / "undated.html"
    undated.write_text(
        f"<html><head><title>A page with no date</title></head><body><article>{text}</article>"
        "</body></html>",
        "utf-8",
    )
    result = run("import", "--root", root, untitled, undated)
    assert result.status == 1
    assert f"{untitled}: no title" in result.err
    assert f"{undated}: no publication date" in result.err
    assert written_files(root) == []


def test_articles_are_imported_whatever_their_og_type(site, run, news) -> None:
    root = site()
    website = news.url("/culture/lighthouse-keepers-cottage-becomes-a-museum")
    video = news.url("/video/2025/04/01/ice-road-closes-early")
    result = run("import", "--root", root, website, video)
    assert result.status == 0, result.err
    expected = {
        "content/2025/05/lighthouse-keepers-cottage-becomes-a-museum.md": {
            "title": "Lighthouse keeper's cottage becomes a museum",
            "date": "2025-05-20T07:45:00+02:00",
            "source": website,
            "source_name": "Coastline Post",
            "authors": ["Hanne Vik"],
            "summary": "The last keeper's family gave the cottage and his logbooks to the town.",
        },
        # 00:16 at +03:00 is the first of April where it was published (31 March in UTC)
        "content/2025/04/ice-road-to-the-islands-closes-early.md": {
            "title": "Ice road to the islands closes early",
            "date": "2025-04-01T00:16:00+03:00",
            "source": video,
            "source_name": "Northern Herald",
            "authors": ["Oskari Lehto"],
            "summary": "A warm March thinned the ice; ferries take over from Wednesday.",
        },
    }
    assert written_files(root) == sorted(expected)
    for rel, fields in expected.items():
        meta, body = front_matter(root / rel)
        assert f"\ndate: {fields['date']}\n" in (root / rel).read_text(encoding="utf-8")
        assert {**meta, "date": fields["date"]} == fields, rel
        assert len(body.split("\n\n")) >= 3, rel
    assert "dated" not in result.err  # the sources agreed: nothing to explain


def test_the_date_is_the_articles_own_and_a_disagreement_is_explained(site, run, news) -> None:
    root = site()
    pages = {
        # a WebSite/WebPage graph dated 2005 and a related story's NewsArticle first
        "/harbour/new-pilot-boat-named": (
            "content/2020/09/new-pilot-boat-named-after-harbours-first-woman-pilot.md",
            "2020-09-14T06:30:00+02:00",
            "dated 2020-09-14 by the article's JSON-LD; set aside as more than 2 days off: "
            "htmldate 2005-07-26",
        ),
        # meta tags left from an older page; the article's JSON-LD is trusted over them
        "/schools/board-passes-budget": (
            "content/2025/05/school-board-passes-budget-with-two-new-teachers.md",
            "2025-05-14T21:05:00-04:00",
            "dated 2025-05-14 by the article's JSON-LD; set aside as more than 2 days off: "
            "its meta tags 2019-05-02, htmldate 2019-05-02",
        ),
        # the same page at an address dated like its meta tags: the address decides
        "/schools/2019/05/02/board-passes-budget": (
            "content/2019/05/school-board-passes-budget-with-two-new-teachers.md",
            "2019-05-02T09:00:00-04:00",
            "dated 2019-05-02 by its meta tags (its address agrees); set aside as "
            "more than 2 days off: the article's JSON-LD 2025-05-14",
        ),
        # no date but the address's: a date alone
        "/city/2025/06/03/tram-line-extension-approved": (
            "content/2025/06/tram-line-extension-approved.md",
            "2025-06-03",
            None,
        ),
    }
    result = run("import", "--root", root, *(news.url(path) for path in pages))
    assert result.status == 0, result.err
    assert written_files(root) == sorted(rel for rel, _, _ in pages.values())
    notes = [line for line in result.err.splitlines() if ": dated " in line]
    for path, (rel, date, note) in pages.items():
        assert f"\ndate: {date}\n" in (root / rel).read_text(encoding="utf-8"), rel
        if note is not None:
            assert f"{news.url(path)}: {note}" in notes
    assert len(notes) == sum(1 for _, _, note in pages.values() if note)
    assert run("check", "--root", root).status == 0


def test_list_pages_and_undated_or_textless_pages_are_refused(site, run, news) -> None:
    root = site()
    refused = {
        "/": "not an article (its address, /, is a home page)",
        "/world/": "not an article (its address, /world/, is a section front)",
        "/tag/ferries/": "not an article (its address, /tag/ferries/, is a tag or topic page)",
        "/video/seals-breakwater": "not an article (the page says it is a 'video.other' and "
        "has 1 of the 3 paragraphs of text an article has)",
        "/opinion/letters-ferry-fares": "no publication date",
    }
    result = run("import", "--root", root, *(news.url(path) for path in refused))
    assert result.status == 1
    assert written_files(root) == []
    for path, reason in refused.items():
        assert f"{news.url(path)}: {reason}" in result.err.splitlines()
    assert "wrote 0 articles, 0 already in the archive, 5 could not be used" in result.err


def test_dry_run_writes_nothing(site, run, news) -> None:
    root = site()
    result = run("import", "--root", root, "--dry-run", news.url("/opinion/yes-column"))
    assert result.status == 0
    assert f"would write {root / 'content/2025/03/yes.md'}: Yes" in result.out
    assert written_files(root) == []


def test_rss_feed_newest_first_with_limit_and_the_feed_text_as_fallback(site, run, news) -> None:
    root = site()
    result = run("import", "--root", root, "--feed", "--limit", "2", news.url("/feeds/world.rss"))
    assert result.status == 0, result.err
    # newest two: the ferry (its page is gone) and the cycle lanes; not the port strike
    assert written_files(root) == [
        "content/2025/03/council-approves-cycle-lanes-on-the-bridge-road.md",
        "content/2025/03/ferry-timetable-changes-from-april.md",
    ]
    assert (
        f"{news.url('/gone/ferry-timetable')}: page not fetched (HTTP 404 Not Found); "
        "written from the feed's own text" in result.err
    )
    meta, body = front_matter(root / "content/2025/03/ferry-timetable-changes-from-april.md")
    assert {**meta, "date": str(meta["date"])} == {
        "title": "Ferry timetable changes from April",
        "date": "2025-03-10 07:00:00+01:00",
        "source": news.url("/gone/ferry-timetable"),
        "source_name": "The Harbour Gazette",
        "authors": ["Nils Ekholm"],
        "tags": ["ferries", "transport"],
        "summary": "Two early crossings are cut and a late one added.",
    }
    assert "shuttle bus to the bridge" in body
    assert "the last boat on Friday nights" in body
    meta, _ = front_matter(
        root / "content/2025/03/council-approves-cycle-lanes-on-the-bridge-road.md"
    )
    assert meta["source"] == news.url("/city/cycle-lanes-bridge-road")  # canonical, no utm_

    # the next run skips what is in the archive and takes the next entry
    again = run("import", "--root", root, "--feed", news.url("/feeds/world.rss"))
    assert "content/2025/03/port-strike-what-the-dockers-want.md" in again.out
    assert again.out.count("already in the archive") == 2
    # an entry whose page is gone and whose feed item is only a summary cannot be used
    assert again.status == 1
    assert (
        f"{news.url('/gone/harbour-lights')}: HTTP 404 Not Found (the feed's entry cannot "
        "stand in: the feed has only a summary of it)" in again.err
    )
    assert run("build", "--root", root).status == 0


def test_atom_feed_with_relative_links(site, run, news) -> None:
    root = site()
    result = run("import", "--root", root, "--feed", news.url("/feeds/valley.atom"))
    assert result.status == 0, result.err
    assert written_files(root) == [
        "content/2025/03/night-trains-return-to-the-coast-line.md",
        "content/2025/03/yes.md",
        "content/2025/04/orchard-growers-count-frost-damage.md",
    ]
    meta, _ = front_matter(root / "content/2025/03/night-trains-return-to-the-coast-line.md")
    assert meta["source"] == news.url("/coast/night-trains")
    meta, _ = front_matter(root / "content/2025/04/orchard-growers-count-frost-damage.md")
    assert meta["source"] == news.url("/valley/orchard-frost?page=2")
    # newest first
    assert (
        result.out.index("orchard") < result.out.index("yes.md") < result.out.index("night-trains")
    )


def test_a_page_naming_its_feed_is_followed_to_it(site, run, news) -> None:
    root = site()
    result = run(
        "import", "--root", root, "--feed", "--limit", "1", "--dry-run", news.url("/world/")
    )
    assert result.status == 0, result.err
    assert "would write" in result.out and "ferry-timetable-changes-from-april.md" in result.out
    assert written_files(root) == []


def test_feed_entries_with_malformed_links_are_listed_and_the_others_written(
    site, run, news
) -> None:
    root = site()
    feed = news.url("/feeds/malformed.rss")
    result = run("import", "--root", root, "--feed", feed)
    assert result.status == 1
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert (
        f"{feed} (Museum gets a bench): not a usable URL: "
        "http://127.0.0.1:12345x/2025/05/museum-bench"
    ) in lines
    assert (
        f"{feed} (Tide tables misprinted): not a usable URL: https://news.test:99999/2025/05/tides"
    ) in lines
    # feedparser itself drops a link it cannot parse; the entry has no text either
    assert f"{feed} (Lighthouse keeper retires): no link and no text" in lines
    assert written_files(root) == ["content/2025/03/night-trains-return-to-the-coast-line.md"]
    assert "could not be used" in result.err


def test_a_malformed_canonical_link_falls_back_to_the_address_fetched(site, run, news) -> None:
    root = site()
    page = news.url("/harbour/pilots-join-strike")
    result = run("import", "--root", root, page)
    assert result.status == 0, result.err
    (written,) = written_files(root)
    meta, _ = front_matter(root / written)
    assert meta["title"] == "Pilots join the port strike"
    assert meta["source"] == page


def test_a_page_naming_a_malformed_feed_is_listed(site, run, news) -> None:
    root = site()
    result = run("import", "--root", root, "--feed", news.url("/coast/"))
    assert result.status == 1
    assert (
        f"{news.url('/coast/')}: the feed the page names is not a usable URL: "
        "http://127.0.0.1:12345x/feeds/coast.rss"
    ) in result.err.splitlines()
    assert news.requests and all("12345x" not in r["path"] for r in news.requests)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ftp://news.test/story",), "only http(s) URLs can be imported"),
        (("http://127.0.0.1:12345x/story",), "http://127.0.0.1:12345x/story: not a usable URL"),
        (("--feed", "http://[::1/feed.rss"), "http://[::1/feed.rss: not a usable URL"),
        (("--feed", "feeds/world.rss"), "a feed must be an http(s) URL"),
        (("no-such-page.html",), "no such file"),
        (("notes.txt",), "not an HTML file"),
    ],
)
def test_usage_errors_exit_2(site, run, monkeypatch, args, message) -> None:
    root = site({"notes.txt": "Just some notes, not a web page.\n"})
    monkeypatch.chdir(root)
    result = run("import", "--root", root, *args)
    assert result.status == 2
    assert message in result.err
    assert written_files(root) == []


def test_no_argument_is_a_usage_error(site, capsys) -> None:
    root = site()
    with pytest.raises(SystemExit) as exited:
        main(["import", "--root", str(root)])
    assert exited.value.code == 2
    assert "the following arguments are required: URL_OR_FILE" in capsys.readouterr().err


def test_a_folder_that_is_not_a_site_is_refused(tmp_path, run) -> None:
    result = run("import", "--root", tmp_path, FIXTURES / "opengraph-article.html")
    assert result.status == 1
    assert "config.yaml: not found" in result.err
    assert not (tmp_path / "content").exists()


def test_tracking_parameters_are_dropped_and_addresses_compared_alike() -> None:
    assert (
        clean_url("HTTPS://News.Example:443/a/b?utm_source=x&id=7&fbclid=1&gclid=2#top")
        == "https://news.example/a/b?id=7"
    )
    assert clean_url("http://news.example:8080/a?UTM_Medium=m") == "http://news.example:8080/a"
    assert url_key("http://www.news.example/a/?b=2&a=1&utm_term=z") == url_key(
        "https://news.example/a?a=1&b=2"
    )
    assert url_key("https://news.example/a?id=1") != url_key("https://news.example/a?id=2")


@pytest.mark.parametrize(
    ("address", "span"),
    [
        ("https://news.example/world/2025/03/07/ferry-strike", "2025-03-07"),
        ("https://news.example/fortune/2023-11/17/c_1129981476.htm", "2023-11-17"),
        ("http://news.example/20050601/n225789219.shtml", "2005-06-01"),
        ("https://news.example/a/202311/17/WS65571297a310d5.html", "2023-11-17"),
        ("https://news.example/home/2017/7/12/unter-uns-montauk", "2017-07-12"),
        ("https://news.example/sport/1999-2000-season-review", None),
        ("https://news.example/business/2025/03/port-strike-dockers", "2025-03"),
        ("https://news.example/view/AEN20190820002300325", None),  # an id, not a date
        ("https://news.example/2099/01/01/from-the-future", None),
        ("https://news.example/opinion/yes-column", None),
    ],
)
def test_the_date_an_address_carries(address, span) -> None:
    found = address_span(address)
    assert (found.text() if found else None) == span


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("https://news.example/", "a home page"),
        ("https://news.example/index.html", "a home page"),
        ("http://blog.example/?p=959", None),  # a post's address
        ("https://news.example/world/", "a section front"),
        ("https://news.example/us-news", "a section front"),
        ("https://news.example/tag/ferries/page/2", "a tag or topic page"),
        ("https://news.example/topics/climate-change/", "a tag or topic page"),
        ("https://news.example/opinion/yes-column", None),
        ("https://news.example/ferry-fares-rise-by-a-tenth", None),
        ("https://news.example/2025/03/07/ferries", None),
    ],
)
def test_the_list_page_an_address_is(address, kind) -> None:
    assert front_kind(address, declared_article=False) == kind
