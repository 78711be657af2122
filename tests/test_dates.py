"""Dates written in the page's language, with Babel (issue 11); `<time datetime>` as before.

The site's language writes the dates of its lists, archives and analyses; an article in
another language has its byline dates written in that one.
"""

from __future__ import annotations

import re

from conftest import MINIMAL_CONFIG, article


def page(root, url: str) -> str:
    return (root / "site" / url.strip("/") / "index.html").read_text(encoding="utf-8")


def byline(html: str) -> str:
    return re.search(r'<p class="byline">\s*(?:<a [^>]*>)?(<time [^>]*>[^<]*</time>)', html)[1]


def test_english_dates_are_written_as_before(site, run) -> None:
    root = site(
        {
            "content/a.md": article(date="2024-06-20T16:00:00+02:00", updated="2024-06-21"),
            "content/b.md": article(title="Day", date="2024-06-02"),
        }
    )
    assert run("build", "--root", root).status == 0
    html = page(root, "/2024/06/a/")
    assert byline(html) == (
        '<time datetime="2024-06-20T16:00:00+02:00">20 June 2024, 16:00 UTC+02:00</time>'
    )
    assert '<time datetime="2024-06-21T00:00:00+00:00">21 June 2024, 00:00 UTC+00:00</time>' in html
    assert byline(page(root, "/2024/06/b/")) == '<time datetime="2024-06-02">2 June 2024</time>'
    assert '<time datetime="2024-06-02">2 June 2024</time>' in page(root, "/")  # lists: a date
    assert '">June 2024</a>' in page(root, "/archive/")
    assert '<time datetime="2024-06-20">20 Jun</time>' in page(root, "/archive/")


def test_a_site_in_german_writes_its_dates_in_german(site, run) -> None:
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + "language: de\ntimezone: Europe/Berlin\n",
            "content/a.md": article(date="2024-03-05T09:30:00"),
        }
    )
    result = run("build", "--root", root)
    assert result.status == 0 and result.err == "", result.err
    assert byline(page(root, "/2024/03/a/")) == (
        '<time datetime="2024-03-05T09:30:00+01:00">5. März 2024, 09:30 UTC+01:00</time>'
    )
    assert ">5. März 2024</time>" in page(root, "/")
    assert '">März 2024</a>' in page(root, "/archive/")
    assert '<time datetime="2024-03-05">5. März</time>' in page(root, "/archive/")
    assert "<h1>März 2024</h1>" in page(root, "/2024/03/")


def test_an_article_in_another_language_has_its_byline_in_it(site, run) -> None:
    root = site(
        {
            "content/fr.md": article(date="2024-06-20T16:00:00+02:00", language="fr"),
            "content/us.md": article(date="2024-06-20T16:00:00-04:00", language="en-US"),
            "content/ja.md": article(date="2024-06-20", language="ja"),
        }
    )
    assert run("build", "--root", root).status == 0
    bylines = {slug: byline(page(root, f"/2024/06/{slug}/")) for slug in ("fr", "us", "ja")}
    assert bylines == {
        "fr": '<time datetime="2024-06-20T16:00:00+02:00" lang="fr">'
        "20 juin 2024, 16:00 UTC+02:00</time>",
        "us": '<time datetime="2024-06-20T16:00:00-04:00" lang="en-US">'
        "June 20, 2024, 4:00\u202fPM UTC-04:00</time>",
        "ja": '<time datetime="2024-06-20" lang="ja">2024年6月20日</time>',
    }
    # lists are in the site's language
    assert ">20 June 2024</time>" in page(root, "/")
    assert "juin" not in page(root, "/")


def test_a_language_babel_does_not_know_is_a_warning(site, run) -> None:
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + "language: tlh\n",
            "content/a.md": article(language="xx-nowhere"),
        }
    )
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    assert result.err.splitlines() == [
        "config.yaml: warning: language 'tlh' is not one whose dates Babel can write: "
        "they are written in English",
        "content/a.md:4: warning: language 'xx-nowhere' is not one whose dates Babel can "
        "write: they are written in the site's language",
    ]
    assert byline(page(root, "/2024/06/a/")).endswith(">20 June 2024, 16:00 UTC+00:00</time>")


def test_a_japanese_site_names_its_months_as_japanese_does(site, run) -> None:
    root = site({"config.yaml": MINIMAL_CONFIG + "language: ja\n", "content/a.md": article()})
    assert run("build", "--root", root).status == 0
    archive = page(root, "/archive/")
    assert '">2024年6月</a>' in archive and ">6月20日</time>" in archive
    assert "<h1>2024年6月</h1>" in page(root, "/2024/06/")
