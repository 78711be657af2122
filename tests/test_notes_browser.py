"""Notes in the margin in a real browser (issue 20): the example site's article with notes,
in Chromium at 375 and 1280 px (see test_browser.py for how the site is built and served).

- Wide: each block's notes sit in the margin, level with it, beside the text and not over
  it; narrow: a numbered marker right after the block opens the note in place.
- The quoted words are marked, and only while the analysis is shown: its button shows
  and hides the notes too.
- The keyboard reaches every note; axe-core finds no serious violation.
- Screenshots go to test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import SCREENSHOTS, SUMMARY, assert_no_serious_axe_violations, open_page

# test_browser's fixtures, imported so that tests here take them as parameters
from test_browser import browser as browser
from test_browser import served as served
from test_validators import Served

WIDE, NARROW = 1280, 375


def noted_article(served: Served) -> str:
    return served.first_page_with('class="noted"')


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - 1
        and b["x"] < a["x"] + a["width"] - 1
        and a["y"] < b["y"] + b["height"] - 1
        and b["y"] < a["y"] + a["height"] - 1
    )


def text_blocks(page: Any) -> list[dict[str, float]]:
    """The boxes of the article's own blocks, noted or not."""
    blocks = page.locator(
        ".article-body > :not(.noted), .noted > :not(.margin-notes, .inline-notes)"
    )
    return [box(blocks.nth(i)) for i in range(blocks.count())]


def open_analysis(page: Any, served: Served) -> None:
    page.goto(served.url(noted_article(served)))
    page.locator(SUMMARY).click()
    page.mouse.move(0, 0)


def test_wide_notes_sit_in_the_margin_level_with_their_blocks(browser: Any, served: Served) -> None:
    with open_page(browser, served, width=WIDE) as (page, watch):
        open_analysis(page, served)
        noted = page.locator(".noted")
        assert noted.count() >= 2
        notes = []
        for i in range(noted.count()):
            block = box(noted.nth(i).locator("> :first-child"))
            aside = noted.nth(i).locator("> .margin-notes")
            side = box(aside)
            assert abs(side["y"] - block["y"]) <= 2, f"note block {i} is not level with its block"
            assert side["x"] >= block["x"] + block["width"], f"note block {i} is not beside it"
            assert side["x"] + side["width"] <= WIDE
            assert not noted.nth(i).locator("> .inline-notes").is_visible()
            for mark in noted.nth(i).locator("mark.note-quote").all():
                assert overlap(box(mark), block), "a mark outside its block"
            notes += [box(note) for note in aside.locator(".margin-note").all()]
        blocks = text_blocks(page)
        for n, note in enumerate(notes):
            assert not any(overlap(note, block) for block in blocks), f"note {n + 1} covers text"
            assert not any(overlap(note, other) for other in notes[n + 1 :]), f"note {n + 1}"
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDE
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#original").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"notes-{WIDE}.png"), full_page=True)
        assert not watch.problems, watch.problems


def test_narrow_notes_open_in_place_right_after_their_blocks(browser: Any, served: Served) -> None:
    with open_page(browser, served, width=NARROW) as (page, watch):
        open_analysis(page, served)
        noted = page.locator(".noted")
        for i in range(noted.count()):
            block = box(noted.nth(i).locator("> :first-child"))
            markers = noted.nth(i).locator("> .inline-notes")
            below = box(markers)
            assert not noted.nth(i).locator("> .margin-notes").is_visible()
            assert block["y"] + block["height"] <= below["y"] <= block["y"] + block["height"] + 40
        marker = page.locator(".inline-note > summary").first
        body = page.locator(".inline-note-body").first
        assert not body.is_visible()
        marker.click()
        assert body.is_visible()
        opened = box(body)
        assert not any(overlap(opened, block) for block in text_blocks(page))
        assert page.evaluate("document.documentElement.scrollWidth") <= NARROW
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"notes-{NARROW}.png"), full_page=True)
        assert not watch.problems, watch.problems


@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_the_analysis_button_shows_and_hides_the_notes(
    browser: Any, served: Served, width: int
) -> None:
    shown = ".margin-notes" if width == WIDE else ".inline-notes"
    with open_page(browser, served, width=width, javascript=False) as (page, _watch):
        page.goto(served.url(noted_article(served)))
        mark = page.locator("mark.note-quote").first
        background = "getComputedStyle(document.querySelector('mark.note-quote')).backgroundColor"
        assert not page.locator(shown).first.is_visible()
        assert page.evaluate(background) == "rgba(0, 0, 0, 0)"
        page.locator(SUMMARY).click()
        assert page.locator(shown).first.is_visible() and mark.is_visible()
        assert page.evaluate(background) != "rgba(0, 0, 0, 0)"
        page.locator(SUMMARY).click()
        assert not page.locator(shown).first.is_visible()


@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_the_keyboard_reaches_every_note(browser: Any, served: Served, width: int) -> None:
    target = "a.note-number" if width == WIDE else ".inline-note > summary"
    with open_page(browser, served, width=width) as (page, _watch):
        open_analysis(page, served)
        wanted = page.locator(target).count()
        assert wanted == page.locator(".margin-note").count() >= 3
        page.locator(SUMMARY).focus()
        reached = set()
        for _ in range(200):
            page.keyboard.press("Tab")
            found = page.evaluate(
                f"document.activeElement.matches({target!r}) && document.activeElement.textContent"
            )
            if found and found not in reached:
                reached.add(found)
                if width == NARROW:  # a marker opens its note from the keyboard
                    page.keyboard.press("Enter")
                    assert page.evaluate("document.activeElement.parentElement.open")
            if len(reached) == wanted:
                break
        assert len(reached) == wanted, reached


@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_axe_finds_no_serious_violations_with_notes_shown(
    browser: Any, served: Served, width: int
) -> None:
    with open_page(browser, served, width=width) as (page, watch):
        open_analysis(page, served)
        if width == NARROW:
            page.locator(".inline-note > summary").first.click()
        assert_no_serious_axe_violations(page)
        assert not watch.problems, watch.problems


def test_notes_print_after_their_blocks(browser: Any, served: Served) -> None:
    with open_page(browser, served, width=800) as (page, _watch):
        open_analysis(page, served)
        page.emulate_media(media="print")
        aside = page.locator(".margin-notes").first
        assert aside.is_visible() and not page.locator(".inline-notes").first.is_visible()
        block = box(page.locator(".noted > :first-child").first)
        assert box(aside)["y"] >= block["y"] + block["height"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "notes-print.png"), full_page=True)
