"""Where notes go (marginalia/notes/place.py): beside the block whose text holds their
quote, the quoted words marked in the article's rendered HTML, the markup whole."""

from __future__ import annotations

import html
import re

import lxml.html
import pytest
from conftest import MINIMAL_CONFIG, article, write_files
from hypothesis import given
from hypothesis import strategies as st

from marginalia.build import build
from marginalia.markdown import article_renderer
from marginalia.notes.match import normalise, normalise_mapped
from marginalia.notes.place import place

render = article_renderer(unsafe_html=False)

BODY = """\
The minister said the plan was "fully funded" and would start in *early* spring.

Critics said the plan was "fully funded" only on paper.

- Seoul's mayor spoke of 한국 경제의  회복 at the launch.
- A second item.

> Costs rose — sharply — last year.

The end.
"""


def marks(block: str) -> list[str]:
    """The text of each note's marked words in a block, by note number."""
    found: dict[str, str] = {}
    for mark in lxml.html.fragment_fromstring(block, create_parent="div").iter("mark"):
        found[mark.get("data-note")] = found.get(mark.get("data-note"), "") + mark.text_content()
    return [found[key] for key in sorted(found)]


def placed(quotes: tuple[str, ...], body: str = BODY):
    return place(render(body), quotes)


def test_an_exact_quote_goes_beside_its_paragraph_and_is_marked() -> None:
    result = placed(("Critics said",))
    assert result.block == (1,)
    assert marks(result.blocks[1]) == ["Critics said"]
    assert 'id="quote_1"' in result.blocks[1]
    assert "<mark" not in "".join(result.blocks[:1] + result.blocks[2:])


def test_curly_quotes_dashes_and_white_space_match_the_articles() -> None:
    result = placed(
        ("Critics said the plan was “fully funded”", "Costs rose \u2013 sharply \u2013\n last")
    )
    assert result.block == (1, 3)
    assert marks(result.blocks[1]) == ['Critics said the plan was "fully funded"']
    assert marks(result.blocks[3]) == ["Costs rose — sharply — last"]


def test_korean_and_white_space_inside_a_list_item() -> None:
    result = placed(("한국 경제의 회복",))
    assert result.block == (2,)  # beside the list, the block that holds the item
    assert marks(result.blocks[2]) == ["한국 경제의  회복"]


def test_unicode_forms_are_compared_composed() -> None:
    body = "The caf\u0065\u0301 on the corner closed.\n"
    result = placed(("café on the corner",), body)
    assert result.block == (0,)
    assert marks(result.blocks[0]) == ["cafe\u0301 on the corner"]


def test_a_quote_twice_goes_to_the_first_place_not_already_marked() -> None:
    result = placed(('the plan was "fully funded"', "the plan was “fully funded”"))
    assert result.block == (0, 1)
    assert result.anchor == ("quote_1", "quote_2")
    # when every place is taken, the note goes beside the first, its words marked once
    again = placed(("Critics said", "Critics said"))
    assert again.block == (1, 1)
    assert again.anchor == ("quote_1", "quote_1")
    assert marks(again.blocks[1]) == ["Critics said"]


def test_inline_markup_inside_the_quote_stays_whole() -> None:
    result = placed(("would start in early spring",))
    block = result.blocks[0]
    assert "<em><mark" in block and "</mark></em>" in block
    assert marks(block) == ["would start in early spring"]
    assert block.count('id="quote_1"') == 1 and block.count("note-quote-end") == 1
    first = lxml.html.fragment_fromstring(render(BODY.split("\n\n")[0]))
    assert lxml.html.fragment_fromstring(block).text_content() == first.text_content()


@pytest.mark.parametrize(
    "quote",
    [
        "",
        "   ",
        "words the article does not hold",
        "only on paper. Seoul's mayor",  # across two blocks
        'start in early spring. Critics said the plan was "fully funded"',  # two paragraphs
    ],
)
def test_empty_missing_and_spanning_quotes_are_not_placed(quote: str) -> None:
    result = placed((quote, "The end."))
    assert result.block == (None, 4)
    assert result.anchor == ("", "quote_1")
    assert result.order == (1, 0)  # the placed first, then the others as given


def test_reading_order_numbers_the_notes() -> None:
    result = placed(("The end.", "missing words", "Critics said", "minister"))
    assert result.order == (3, 2, 0, 1)
    assert result.anchor == ("quote_3", "", "quote_2", "quote_1")


def test_the_rest_of_the_html_is_the_articles() -> None:
    result = placed(("Critics said", "Costs rose"))
    unmarked = re.sub(r"<mark[^>]*>|</mark>", "", "".join(result.blocks))
    assert html.unescape(unmarked) == html.unescape(render(BODY))


def test_footnote_marks_are_no_part_of_the_text() -> None:
    body = "Prices rose[^1] sharply.\n\n[^1]: Statistics office.\n"
    result = placed(("Prices rose sharply",), body)
    assert result.block == (0,)
    assert "[1]" in result.blocks[0]


@given(
    st.text(alphabet=st.sampled_from("ab \t\n\u00a0“”—-e\u0301\u1100\u1161\u11a8한"), max_size=40)
)
def test_mapped_normalising_is_normalising(text: str) -> None:
    normalised, starts = normalise_mapped(text)
    assert normalised == normalise(text)
    assert len(starts) == len(normalised) + 1
    assert starts == sorted(starts) and starts[-1] <= len(text)


def test_note_text_is_rendered_inert_on_the_page(tmp_path) -> None:
    """A note's text is model output: raw HTML shown as text, javascript: links dropped."""
    write_files(
        tmp_path,
        {
            "config.yaml": MINIMAL_CONFIG,
            "content/2024/a.md": article("Alpha", "2024-01-05", "Alpha said the sky fell.\n"),
            "analyses/2024/a.md": (
                "---\nmodel: m\n---\nThe analysis.\n\n## Notes\n\n### check\n> the sky fell\n\n"
                "<script>alert(1)</script>\n\nA [link](javascript:alert(2)) and"
                " <img src=x onerror=alert(3)>.\n"
            ),
        },
    )
    build(tmp_path)
    page = (tmp_path / "site/2024/01/a/index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "javascript:" not in page and page.count("<p>A link and &lt;img") == 3
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # margin, marker, list
    assert (
        '<mark class="note-quote note-quote-end" id="quote_1" data-note="1">the sky fell</mark>'
        in page
    )


@pytest.mark.parametrize("body", ["", "\n", "<!-- a comment -->\n"])
def test_a_body_with_no_text_places_nothing_and_keeps_every_note(body: str) -> None:
    result = place(render(body), ("words", ""))
    assert result.block == (None, None) and result.order == (0, 1)


def test_a_quote_copied_with_the_sources_markdown_marks_is_placed() -> None:
    result = placed(("start in *early* spring", "start in **early** spring"))
    assert result.block == (0, 0)
    assert marks(result.blocks[0]) == ["start in early spring"]


def test_a_literal_asterisk_in_the_article_is_matched_as_written() -> None:
    result = placed(("costs 5 * 3",), "It costs 5 * 3 crowns.\n")
    assert result.block == (0,)
