"""Front matter rules of design §3 (articles), one rule per test.

Unit tests call marginalia.content directly; mini-site tests build a site written in the
test body and look at the pages a reader gets.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from conftest import MINIMAL_CONFIG, article
from hypothesis import given
from hypothesis import strategies as st

from marginalia import frontmatter, yamltext
from marginalia.content import Article, load_content, parse_article, read_document
from marginalia.errors import Problems

SEOUL = ZoneInfo("Asia/Seoul")


def load_one(tmp_path: Path, data: str | bytes, zone: ZoneInfo = SEOUL, name: str = "a.md"):
    """(Article or None, Problems) for one file written as content/<name>."""
    path = tmp_path / "content" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    problems = Problems()
    doc = read_document(path, f"content/{name}", problems)
    found = parse_article(doc, name, zone, problems) if doc is not None else None
    return found, problems


def good(tmp_path: Path, data: str | bytes, zone: ZoneInfo = SEOUL) -> Article:
    found, problems = load_one(tmp_path, data, zone)
    assert found is not None, [str(e) for e in problems.errors]
    assert not problems.errors
    return found


def page(root: Path, url: str) -> str:
    return (root / "site" / url.strip("/") / "index.html").read_text(encoding="utf-8")


def h1(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, "page has no <h1>"
    return match.group(1).strip()


def time_attr(html: str) -> str:
    match = re.search(r'<time datetime="([^"]+)"', html)
    assert match, "page has no <time datetime=...>"
    return match.group(1)


# --- titles YAML would type --------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["Yes", "No", "off", "2024", "2024-01-01", "1.50", "0o17", "~x"]
)
def test_title_comes_out_as_written(tmp_path: Path, written: str) -> None:
    assert good(tmp_path, article(title=written)).title == written


def test_title_yes_on_the_rendered_page(site, run) -> None:
    root = site({"content/a.md": article(title="Yes"), "content/b.md": article(title="2024")})
    assert run("build", "--root", root).status == 0
    assert h1(page(root, "/2024/06/a/")) == "Yes"
    assert h1(page(root, "/2024/06/b/")) == "2024"


def test_null_title_is_missing_not_none(tmp_path: Path) -> None:
    found, problems = load_one(tmp_path, article(title="null"))
    assert found is None
    assert [(e.path, e.line) for e in problems.errors] == [("content/a.md", 2)]
    assert "title" in problems.errors[0].message


# --- dates -------------------------------------------------------------------------------


def test_naive_date_takes_the_config_timezone(tmp_path: Path) -> None:
    found = good(tmp_path, article(date="2024-06-20 16:30:00"))
    assert found.date == datetime(2024, 6, 20, 16, 30, tzinfo=SEOUL)
    assert found.date.utcoffset() == timedelta(hours=9)


def test_naive_date_on_the_rendered_page(site, run) -> None:
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + "timezone: America/New_York\n",
            "content/a.md": article(date="2024-06-20T16:30:00"),
        }
    )
    assert run("build", "--root", root).status == 0
    assert time_attr(page(root, "/2024/06/a/")) == "2024-06-20T16:30:00-04:00"


def test_date_only_is_midnight_in_the_config_timezone(tmp_path: Path) -> None:
    found = good(tmp_path, article(date="2024-06-20"))
    assert found.date == datetime(2024, 6, 20, 0, 0, tzinfo=SEOUL)


def test_date_only_on_the_rendered_page(site, run) -> None:
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + "timezone: Asia/Seoul\n",
            "content/a.md": article(date="2024-06-20"),
        }
    )
    assert run("build", "--root", root).status == 0
    html = page(root, "/2024/06/a/")
    assert time_attr(html) == "2024-06-20"  # a day, not a made-up midnight
    assert "20 June 2024</time>" in html
    assert "00:00" not in html.split("<time", 1)[1].split("</time>", 1)[0]


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("2024-06-20T16:00:00+02:00", timedelta(hours=2)),
        ('"2024-06-20T16:00:00-05:30"', timedelta(hours=-5, minutes=-30)),
        ("2024-06-20T16:00:00Z", timedelta(0)),
        ("2024-06-20 16:00:00 +01:00", timedelta(hours=1)),
    ],
)
def test_a_written_offset_is_kept(tmp_path: Path, written: str, offset: timedelta) -> None:
    found = good(tmp_path, article(date=written))
    assert (found.date.hour, found.date.utcoffset()) == (16, offset)


def test_a_written_offset_is_kept_on_the_page(site, run) -> None:
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + "timezone: Asia/Seoul\n",
            "content/a.md": article(date="2024-06-20T16:00:00+02:00"),
        }
    )
    assert run("build", "--root", root).status == 0
    assert time_attr(page(root, "/2024/06/a/")) == "2024-06-20T16:00:00+02:00"


@pytest.mark.parametrize(
    "written", ["2024-02-30", "2024-13-01", "2024-06-20T25:00:00", "yesterday", "2024"]
)
def test_impossible_date_is_a_located_error(tmp_path: Path, written: str) -> None:
    found, problems = load_one(tmp_path, article(date=written))
    assert found is None
    assert [(e.path, e.line) for e in problems.errors] == [("content/a.md", 3)]
    assert "date" in problems.errors[0].message


# --- tags, authors, sources --------------------------------------------------------------


def test_tags_as_a_comma_separated_string(tmp_path: Path) -> None:
    found = good(tmp_path, article(tags="north korea, russia ,  diplomacy"))
    assert found.tag_names == ["north korea", "russia", "diplomacy"]


def test_tags_as_a_list(tmp_path: Path) -> None:
    found = good(tmp_path, article(tags="[north korea, russia, 2024]"))
    assert found.tag_names == ["north korea", "russia", "2024"]


def test_authors_as_a_string_is_one_author(tmp_path: Path) -> None:
    assert good(tmp_path, article(authors="Jane Doe")).author_names == ["Jane Doe"]


def test_authors_as_a_list(tmp_path: Path) -> None:
    assert good(tmp_path, article(authors="[Jane Doe, John Roe]")).author_names == [
        "Jane Doe",
        "John Roe",
    ]


def test_authors_get_their_pages(site, run) -> None:
    root = site(
        {
            "content/a.md": article(authors="[Jane Doe, John Roe]"),
            "content/b.md": article(authors="Jane Doe"),
        }
    )
    assert run("build", "--root", root).status == 0
    assert h1(page(root, "/authors/jane-doe/")) == "Jane Doe"
    assert h1(page(root, "/authors/john-roe/")) == "John Roe"


def test_tag_case_is_one_term_named_as_first_written(site, run) -> None:
    # The oldest article writes "Korea"; its file sorts last, so file order cannot explain it.
    root = site(
        {
            "content/a.md": article(title="Newer", date="2024-06-21", tags="korea"),
            "content/m.md": article(title="Newest", date="2024-06-22", tags="KOREA"),
            "content/z.md": article(title="Oldest", date="2024-06-20", tags="Korea"),
        }
    )
    assert run("build", "--root", root).status == 0
    tags = sorted(p.name for p in (root / "site" / "tags").iterdir() if p.is_dir())
    assert tags == ["korea"]
    tag_page = page(root, "/tags/korea/")
    assert h1(tag_page) == "Korea"
    for title in ("Newer", "Newest", "Oldest"):
        assert title in tag_page
    assert ">Korea</a>" in page(root, "/2024/06/a/")  # the newer article links the one term
    assert "warning" not in run("build", "--full", "--root", root).err  # case is by design


def test_signs_that_tell_names_apart_keep_their_tags_apart(site, run) -> None:
    tags = '["C#", "C++", C, "AT&T", ATT, "#MeToo", "Disney+"]'
    root = site({"content/a.md": article(tags=tags, authors='["Smith & Wesson"]')})
    result = run("build", "--root", root)
    assert result.status == 0 and result.err == "", result.err
    found = {
        ("c-sharp", "C#"),
        ("c-plus-plus", "C++"),
        ("c", "C"),
        ("at-and-t", "AT&amp;T"),
        ("att", "ATT"),
        ("metoo", "#MeToo"),
        ("disney-plus", "Disney+"),
    }
    for slug, name in found:
        assert h1(page(root, f"/tags/{slug}/")) == name
    assert h1(page(root, "/authors/smith-and-wesson/")) == "Smith &amp; Wesson"


def test_spellings_that_share_a_url_are_one_term_with_a_warning(site, run) -> None:
    # oldest first: a.md names the term; b.md's spelling differs by more than case
    tags = {"a": '["U.S.", korea]', "b": '["U.S", Korea]', "c": '["u.s"]'}
    dated = enumerate(tags.items())
    root = site({f"content/{n}.md": article(date=f"2024-06-2{i}", tags=t) for i, (n, t) in dated})
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    assert result.err.splitlines() == [
        "content/b.md: warning: tag 'U.S' shares the URL /tags/u-s/ with 'U.S.' (content/a.md): "
        "both are shown as 'U.S.'; spell them alike, or apart"
    ]
    assert h1(page(root, "/tags/u-s/")) == "U.S."


def test_a_non_latin_tag_keeps_its_letters(site, run) -> None:
    root = site({"content/a.md": article(tags="[북한, Россия, North Korea]")})
    assert run("build", "--root", root).status == 0
    for slug, name in (("북한", "북한"), ("россия", "Россия"), ("north-korea", "North Korea")):
        assert h1(page(root, f"/tags/{slug}/")) == name


def test_source_name_is_derived_from_the_host_without_www(site, run) -> None:
    root = site({"content/a.md": article(source="https://www.Example.com/news/world/kim-putin")})
    assert run("build", "--root", root).status == 0
    assert h1(page(root, "/sources/example-com/")) == "example.com"
    assert 'href="/sources/example-com/"' in page(root, "/2024/06/a/")


def test_a_given_source_name_wins(site, run) -> None:
    root = site(
        {"content/a.md": article(source="https://www.example.com/x", source_name="Example News")}
    )
    assert run("build", "--root", root).status == 0
    assert h1(page(root, "/sources/example-news/")) == "Example News"


@pytest.mark.parametrize(
    "source",
    [
        "ftp://example.com/x",
        "javascript:alert(1)",
        "www.example.com/x",
        "https://:80/x",
        "'http://[::1/x'",
    ],
)
def test_source_must_be_an_http_url(tmp_path: Path, source: str) -> None:
    found, problems = load_one(tmp_path, article(source=source))
    assert found is None
    assert [(e.path, e.line) for e in problems.errors] == [("content/a.md", 4)]
    assert "source" in problems.errors[0].message


# --- unknown keys, drafts, pages ---------------------------------------------------------


def test_unknown_keys_are_kept_in_extra(tmp_path: Path) -> None:
    found, problems = load_one(tmp_path, article(photo_credit="AP", rating="4"))
    assert found is not None
    assert found.extra == {"photo_credit": "AP", "rating": 4}
    assert not problems.warnings


def test_a_near_miss_of_a_known_key_is_a_warning_with_file_and_line(tmp_path: Path) -> None:
    found, problems = load_one(tmp_path, article(summary="s", titel="Typo"))
    assert found is not None
    assert found.extra == {"titel": "Typo"}
    assert [(w.path, w.line) for w in problems.warnings] == [("content/a.md", 5)]
    assert "titel" in problems.warnings[0].message
    assert "title" in problems.warnings[0].message.replace("titel", "")


def test_a_near_miss_warning_is_printed_and_the_build_succeeds(site, run) -> None:
    root = site({"content/a.md": article(tgas="[x]")})
    result = run("build", "--root", root)
    assert result.status == 0
    assert re.search(r"^content/a\.md:4: .*tgas.*tags", result.err, re.M), result.err
    assert (root / "site" / "2024" / "06" / "a" / "index.html").is_file()


def test_drafts_are_left_out_unless_asked_for(site, run) -> None:
    root = site(
        {
            "content/a.md": article(title="Public"),
            "content/d.md": article(title="Secret draft", draft="true"),
        }
    )
    assert run("build", "--root", root).status == 0
    assert not (root / "site" / "2024" / "06" / "d").exists()
    everything = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (root / "site").rglob("*")
        if p.is_file()
    )
    assert "Secret draft" not in everything
    assert run("build", "--drafts", "--root", root).status == 0
    assert h1(page(root, "/2024/06/d/")) == "Secret draft"
    assert run("build", "--root", root).status == 0
    assert not (root / "site" / "2024" / "06" / "d").exists()  # and gone again


def test_draft_must_be_a_boolean(tmp_path: Path) -> None:
    found, problems = load_one(tmp_path, article(draft='"no"'))
    assert found is None
    assert [(e.path, e.line) for e in problems.errors] == [("content/a.md", 4)]


def test_pages_are_standalone_pages_not_articles(site, run) -> None:
    root = site(
        {
            "content/a.md": article(title="An article"),
            "content/pages/about.md": "---\ntitle: About this archive\n---\nWho we are.\n",
            "content/pages/method.md": "---\ntitle: Methodology\nslug: how-we-work\n---\nHow.\n",
        }
    )
    assert run("build", "--root", root).status == 0
    about = page(root, "/about/")
    assert h1(about) == "About this archive"
    assert "Who we are." in about
    assert "No analysis yet" not in about
    assert h1(page(root, "/how-we-work/")) == "Methodology"
    home = page(root, "/")
    assert "An article" in home
    assert "Who we are." not in home
    assert "About this archive" not in (root / "site" / "feed.xml").read_text(encoding="utf-8")


def test_load_content_separates_pages_and_drafts(tmp_path: Path) -> None:
    files = {
        "a.md": article(title="A"),
        "deep/er/b.md": article(title="B", draft="true"),
        "pages/about.md": "---\ntitle: About\n---\nx\n",
    }
    for rel, text in files.items():
        (tmp_path / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "content" / rel).write_text(text, encoding="utf-8")
    loaded = load_content(tmp_path, SEOUL, Problems())
    assert [a.path for a in loaded.articles] == ["a.md"]
    assert [p.path for p in loaded.pages] == ["pages/about.md"]
    with_drafts = load_content(tmp_path, SEOUL, Problems(), drafts=True)
    assert sorted(a.path for a in with_drafts.articles) == ["a.md", "deep/er/b.md"]


# --- slugs -------------------------------------------------------------------------------


def test_slug_defaults_to_the_file_name(tmp_path: Path) -> None:
    assert good(tmp_path, article()).slug == "a"


def test_a_given_slug_is_used(tmp_path: Path) -> None:
    assert good(tmp_path, article(slug="kim-putin")).slug == "kim-putin"


@pytest.mark.parametrize("slug", ["../../x", "a/b", "/etc", ".", "Kim Putin"])
def test_an_unsafe_slug_is_a_located_error(tmp_path: Path, slug: str) -> None:
    found, problems = load_one(tmp_path, article(slug=f"'{slug}'"))
    assert found is None
    assert [(e.path, e.line) for e in problems.errors] == [("content/a.md", 4)]


# --- the article hash, line endings, BOM -------------------------------------------------


def expected_sha256(title: str, body: str) -> str:
    """design §3, computed independently: title, newline, LF body stripped of white space."""
    normalised = body.replace("\r\n", "\n").strip()
    return hashlib.sha256(f"{title}\n{normalised}".encode()).hexdigest()


def test_article_sha256_follows_the_contract(tmp_path: Path) -> None:
    body = "\n\n  First paragraph — with “quotes”.\n\nSecond, 북한.\n\n\n"
    found = good(tmp_path, "---\ntitle: Kim meets Putin\ndate: 2024-06-20\n---\n" + body)
    assert found.sha256 == expected_sha256("Kim meets Putin", body)
    assert (
        found.sha256
        == hashlib.sha256(
            "Kim meets Putin\nFirst paragraph — with “quotes”.\n\nSecond, 북한.".encode()
        ).hexdigest()
    )


def test_article_sha256_uses_the_title_as_written(tmp_path: Path) -> None:
    found = good(tmp_path, article(title="Yes", body="b"))
    assert found.sha256 == hashlib.sha256(b"Yes\nb").hexdigest()


def test_metadata_does_not_change_the_hash(tmp_path: Path) -> None:
    plain = good(tmp_path, article(body="Same body."))
    tagged = good(
        tmp_path,
        article(body="Same body.", tags="[x, y]", summary="changed", source="https://e.org/"),
    )
    assert plain.sha256 == tagged.sha256


def test_crlf_file_parses_like_lf_and_hashes_the_same(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Line endings\ndate: 2024-06-20T16:00:00+00:00\ntags: [a, b]\n---\n"
        "Para one.\n\nPara two.\n"
    )
    lf = good(tmp_path, text.encode())
    crlf = good(tmp_path, text.replace("\n", "\r\n").encode())
    assert "\r" not in crlf.body
    assert (crlf.title, crlf.date, crlf.tag_names, crlf.body) == (
        lf.title,
        lf.date,
        lf.tag_names,
        lf.body,
    )
    assert crlf.sha256 == lf.sha256 == expected_sha256("Line endings", "Para one.\n\nPara two.\n")


def test_crlf_errors_point_at_the_same_lines(tmp_path: Path) -> None:
    text = "---\ntitle: t\ndate: 2024-06-20\nsource: ftp://x.org/\n---\nb\n"
    _, lf = load_one(tmp_path, text.encode())
    _, crlf = load_one(tmp_path, text.replace("\n", "\r\n").encode())
    assert [e.line for e in crlf.errors] == [e.line for e in lf.errors] == [4]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    text = article(title="With BOM", body="Body.")
    found = good(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert found.title == "With BOM"
    assert found.sha256 == expected_sha256("With BOM", "Body.")


def test_a_bom_and_crlf_site_builds(site, run) -> None:
    root = site(
        {
            "content/a.md": b"\xef\xbb\xbf"
            + article(title="Windows file").replace("\n", "\r\n").encode()
        }
    )
    assert run("build", "--root", root).status == 0
    assert h1(page(root, "/2024/06/a/")) == "Windows file"


def test_front_matter_split_keeps_body_and_yaml_apart() -> None:
    doc = frontmatter.parse("---\ntitle: t\n---\nbody with --- inside\n---\nmore\n")
    assert doc.meta == {"title": "t"}
    assert doc.body == "body with --- inside\n---\nmore\n"


@pytest.mark.parametrize("trailing", [" ", "   ", "\t", " \t "])
def test_a_fence_followed_by_spaces_or_a_tab_is_a_fence(tmp_path: Path, trailing: str) -> None:
    found = good(tmp_path, f"---{trailing}\ntitle: T\ndate: 2024-06-20\n---{trailing}\nBody.\n")
    assert (found.title, found.body) == ("T", "Body.\n")


def test_a_longer_line_of_hyphens_is_no_fence() -> None:
    with pytest.raises(frontmatter.FrontMatterError, match="never closed"):
        frontmatter.parse("---\ntitle: t\n----\nbody\n")


# --- The text an author wrote, found without composing the YAML again ----------------

_WORDS = st.text(alphabet="0123456789abcXYZ.:+-_", min_size=1, max_size=12)
_LINES = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["title", "other", "a"]), _WORDS).map(": ".join),
        st.sampled_from(["  continued", "title: 'quoted'", "title: x # note", "- item", ""]),
    ),
    max_size=6,
)


@given(_LINES)
def test_a_top_level_word_is_what_composing_would_find(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    word = yamltext._top_level_word(text, "title")
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # not YAML: the caller never asks
    if word is None:
        return  # it composes the text instead
    assert isinstance(document, yaml.MappingNode)
    values = [value for key, value in document.value if key.value == "title"]
    assert isinstance(values[-1], yaml.ScalarNode) and values[-1].value == word
