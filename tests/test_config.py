"""marginalia.config: config.yaml into validated settings (design §3 "config.yaml")."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from marginalia.config import load_settings, parse_settings
from marginalia.errors import InputError, Problem

BASE = "title: Test Archive\nbase_url: https://example.org/\n"


def settings_of(text: str):
    return parse_settings(textwrap.dedent(text), "config.yaml")


def errors_of(text: str) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        settings_of(text)
    assert caught.value.errors, "an InputError must carry at least one problem"
    return caught.value.errors


def only_error(text: str) -> Problem:
    errors = errors_of(text)
    assert len(errors) == 1, errors
    return errors[0]


def test_defaults_for_everything_but_title_and_base_url() -> None:
    s = settings_of(BASE)
    assert s.title == "Test Archive"
    assert s.base_url == "https://example.org/"
    assert s.base_path == "/"
    assert s.description == ""
    assert s.language == "en"
    assert s.timezone == "UTC"
    assert s.zone.key == "UTC"
    assert s.paginate == 20
    assert s.permalink == "/{year}/{month}/{slug}/"
    assert s.cname is None
    assert s.markdown.unsafe_html is False
    assert s.feed.limit == 20
    assert s.analysis.model == "gpt-4o-mini"
    assert s.analysis.base_url is None
    assert s.analysis.concurrency >= 1
    assert s.analysis.max_retries >= 0
    assert s.analysis.timeout > 0
    assert s.analysis.price_per_million_tokens.input == 0
    assert s.analysis.price_per_million_tokens.output == 0


def test_every_documented_key_is_accepted() -> None:
    s = settings_of(
        """\
        title: The Korea Desk
        description: News about the peninsula, annotated.
        base_url: https://user.github.io/archive/
        language: ko
        timezone: Asia/Seoul
        paginate: 5
        permalink: /news/{year}/{month}/{day}/{slug}/
        cname: news.example.org
        markdown:
          unsafe_html: true
        feed:
          limit: 7
        analysis:
          model: llama3.1
          base_url: http://127.0.0.1:11434/v1
          concurrency: 2
          max_retries: 3
          timeout: 30
          price_per_million_tokens: {input: 0.15, output: 0.6}
        """
    )
    assert s.title == "The Korea Desk"
    assert s.description == "News about the peninsula, annotated."
    assert s.language == "ko"
    assert s.zone.key == "Asia/Seoul"
    assert s.paginate == 5
    assert s.permalink == "/news/{year}/{month}/{day}/{slug}/"
    assert s.cname == "news.example.org"
    assert s.markdown.unsafe_html is True
    assert s.feed.limit == 7
    assert s.analysis.model == "llama3.1"
    assert s.analysis.base_url == "http://127.0.0.1:11434/v1"
    assert s.analysis.concurrency == 2
    assert s.analysis.max_retries == 3
    assert s.analysis.timeout == 30
    assert s.analysis.price_per_million_tokens.input == 0.15
    assert s.analysis.price_per_million_tokens.output == 0.6


def test_an_empty_config_names_both_required_settings() -> None:
    messages = " ".join(e.message for e in errors_of(""))
    assert "title" in messages
    assert "base_url" in messages


def test_unknown_top_level_key_is_an_error_with_its_line() -> None:
    error = only_error(BASE + "paginat: 5\n")
    assert error.path == "config.yaml"
    assert error.line == 3
    assert "paginat" in error.message
    assert "unknown" in error.message


def test_unknown_nested_key_names_its_whole_path_and_line() -> None:
    error = only_error(BASE + "paginate: 3\nfeed:\n  limt: 5\n")
    assert error.line == 5
    assert "feed.limt" in error.message


def test_unknown_deeply_nested_key() -> None:
    error = only_error(BASE + "analysis:\n  price_per_million_tokens:\n    inptu: 1\n")
    assert error.line == 5
    assert "analysis.price_per_million_tokens.inptu" in error.message


def test_an_unknown_key_near_a_known_one_gets_did_you_mean_at_every_depth(site, run) -> None:
    root = site({"config.yaml": BASE + "timezon: UTC\nfeeds: {}\nanalysis:\n  timout: 3\n"})
    result = run("check", "--root", root)
    assert result.status == 1
    assert "config.yaml:3: timezon: unknown setting: did you mean 'timezone'?" in result.err
    assert "config.yaml:4: feeds: unknown setting: did you mean 'feed'?" in result.err
    assert "config.yaml:6: analysis.timout: unknown setting: did you mean 'timeout'?" in result.err
    far = only_error(BASE + "colour_scheme: dark\n")
    assert far.message == "colour_scheme: unknown setting"  # nothing near: no guess


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('paginate: "3"', "paginate"),
        ("paginate: 2.5", "paginate"),
        ("paginate: 0", "paginate"),
        ('markdown: {unsafe_html: "yes"}', "markdown.unsafe_html"),
        ("markdown: {unsafe_html: 1}", "markdown.unsafe_html"),
        ("feed: {limit: many}", "feed.limit"),
        ("feed: 20", "feed"),
        ("analysis: {concurrency: 0}", "analysis.concurrency"),
        ("analysis: {timeout: -1}", "analysis.timeout"),
        ("description: [a, b]", "description"),
    ],
)
def test_wrongly_typed_setting_is_an_error_naming_it(setting: str, key: str) -> None:
    error = only_error(BASE + setting + "\n")
    assert error.line == 3
    assert error.message.startswith(f"{key}:"), error.message


def test_a_yaml_boolean_is_not_coerced_into_a_text_setting() -> None:
    # `title: Yes` would silently become "True"; it must be an error instead.
    error = only_error("title: Yes\nbase_url: https://example.org/\n")
    assert error.line == 1
    assert error.message.startswith("title:")


def test_bad_timezone() -> None:
    error = only_error(BASE + "timezone: Mars/Olympus_Mons\n")
    assert error.line == 3
    assert "timezone" in error.message
    assert "Mars/Olympus_Mons" in error.message


def test_a_timezone_cannot_be_a_path() -> None:
    error = only_error(BASE + "timezone: ../../../etc/passwd\n")
    assert "timezone" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "/archive/",
        "example.org/archive/",
        "ftp://example.org/",
        "https://",
        "mailto:a@b.c",
        "'http://[::1/'",
        "https://example.org:80x/",
        '"https://example.org/a\\tb/"',  # a tab (YAML values lose other controls as read)
    ],
)
def test_base_url_must_be_absolute_http(url: str) -> None:
    error = only_error(f"title: T\nbase_url: {url}\n")
    assert error.line == 2
    assert "base_url" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/v1",
        "http://127.0.0.1:11434x/v1",  # a port that is no number
        "'http://[::1/v1'",  # an IPv6 address never closed
        "http://[::1]x/v1",
        "http://256.1.1.1/v1",
        "http://☃.example/v1",  # an IDN: the client takes its xn-- form only
        '"http://h\\t/v1"',  # a tab (YAML values lose other controls as read)
    ],
)
def test_the_model_service_must_be_an_address_a_client_takes(url: str) -> None:
    """The openai client raises at once, with a traceback, on what it cannot parse."""
    error = only_error(BASE + f"analysis:\n  base_url: {url}\n")
    assert error.line == 4
    assert error.message.startswith("analysis.base_url: must be an http(s) URL"), error


@pytest.mark.parametrize(
    ("url", "base_path", "normalised"),
    [
        ("https://u.github.io/archive", "/archive/", "https://u.github.io/archive/"),
        ("https://u.github.io/archive/", "/archive/", "https://u.github.io/archive/"),
        ("https://news.example.org", "/", "https://news.example.org/"),
        ("http://127.0.0.1:8000/a/b/", "/a/b/", "http://127.0.0.1:8000/a/b/"),
    ],
)
def test_base_url_path_is_the_site_prefix(url: str, base_path: str, normalised: str) -> None:
    s = settings_of(f"title: T\nbase_url: {url}\n")
    assert s.base_path == base_path
    assert s.base_url == normalised


def test_command_line_base_url_replaces_the_files(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(BASE, encoding="utf-8")
    s = load_settings(tmp_path, "https://u.github.io/archive")
    assert s.base_path == "/archive/"
    assert load_settings(tmp_path).base_path == "/"


@pytest.mark.parametrize(
    ("permalink", "words"),
    [
        ("/{year}/{month}/", "{slug}"),
        ("/{year}/{title}/{slug}/", "{title}"),
        ("/{year}/../{slug}/", ".."),
        ("/../../{slug}/", ".."),
        ("/{slug}/{year.__class__}/", "unknown field"),
        ("/{slug[0]}/{slug}/", "unknown field"),
        ("/{slug}/}/", "{"),
        ("/{slug}/./", "segment"),
        ("//{slug}/", "segment"),
        ("{slug}", "start and end"),
        ("/{year}\\{slug}/", "\\"),
    ],
)
def test_unsafe_or_malformed_permalink_is_an_error(permalink: str, words: str) -> None:
    error = only_error(BASE + f"permalink: '{permalink}'\n")
    assert error.line == 3
    assert error.message.startswith("permalink:")
    assert words in error.message


def test_every_error_of_a_config_is_reported_at_once() -> None:
    errors = errors_of(
        """\
        title: T
        base_url: /relative/
        paginate: "3"
        timezone: Nowhere/City
        feed:
          limt: 5
        permalink: /{year}/
        """
    )
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [2, 3, 4, 6, 7], errors
    assert by_line[2].startswith("base_url:")
    assert by_line[3].startswith("paginate:")
    assert by_line[4].startswith("timezone:")
    assert by_line[6].startswith("feed.limt:")
    assert by_line[7].startswith("permalink:")
    assert all(e.path == "config.yaml" for e in errors)


def test_yaml_syntax_error_has_its_line() -> None:
    error = only_error(BASE + "feed:\n  limit: [5\n")
    assert error.line is not None and error.line >= 4
    assert "YAML" in error.message


def test_config_that_is_not_a_mapping() -> None:
    error = only_error("- title\n- base_url\n")
    assert error.line == 1
    assert "mapping" in error.message


def test_missing_config_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(tmp_path)
    assert caught.value.errors[0].path == "config.yaml"


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_bytes(b"title: Caf\xe9\nbase_url: https://example.org/\n")
    with pytest.raises(InputError) as caught:
        load_settings(tmp_path)
    assert caught.value.errors[0].path == "config.yaml"
    assert "UTF-8" in caught.value.errors[0].message


def test_config_with_crlf_and_bom_loads(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_bytes(
        b"\xef\xbb\xbftitle: T\r\nbase_url: https://example.org/x\r\npaginate: 4\r\n"
    )
    s = load_settings(tmp_path)
    assert (s.title, s.base_path, s.paginate) == ("T", "/x/", 4)
