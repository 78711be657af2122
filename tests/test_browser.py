"""The default theme in a real browser (issue 5): Debian's Chromium, driven by Playwright.

The example site is built for, and served on, 127.0.0.1 under a sub-path (see
test_validators.serve_example). Playwright's Python package drives /usr/bin/chromium (it
downloads no browser of its own); each launch gets a fresh profile.

- The analysis opens on click and on Enter or Space from the keyboard, with and without
  JavaScript, and Chromium's accessibility tree (what a screen reader is given) reports
  it collapsed, then expanded.
- The link down to the original lands on #original.
- Every page of the site loads with no console error, no failed request and no request
  outside the page's origin; one stylesheet, versioned by its content's hash; one icon,
  declared (so that no browser asks for a /favicon.ico there is none of) and served.
- Nothing scrolls sideways from 360 px up; light and dark follow prefers-color-scheme;
  print shows the article without the site's chrome.
- axe-core finds no serious or critical violation on the index, an article, a tag page and
  the archive, in light and in dark.
- Screenshots at 375 and 1280 px, light and dark, go to test-artifacts/screenshots/ for a
  person to look at.

Without Chromium or Playwright these tests skip, saying why; with CI set they fail.
MARGINALIA_CHROMIUM names another Chromium binary than /usr/bin/chromium.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import REPO, article, write_files
from test_validators import NODE_MODULES, Served, serve_example, unavailable

CHROMIUM = Path(os.environ.get("MARGINALIA_CHROMIUM", "/usr/bin/chromium"))
# As this machine's Chromium must be started; Playwright adds a fresh --user-data-dir.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
WIDTHS = (375, 1280)
SCHEMES = ("light", "dark")
SUMMARY = "details.analysis > summary"


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_example(tmp_path_factory.mktemp("browser")) as site:
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What one browser context did: every request, and everything that went wrong."""

    origin: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def foreign(self) -> list[str]:
        return [url for url in self.requests if _origin(url) != self.origin]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def open_page(
    browser: Any,
    served: Served,
    *,
    javascript: bool = True,
    width: int = 1280,
    height: int = 800,
    scheme: str = "light",
) -> Iterator[tuple[Any, Watch]]:
    """A page in a fresh context that records every request and every error, and lets
    no request leave 127.0.0.1's server (a foreign one is aborted, and recorded)."""
    context = browser.new_context(
        java_script_enabled=javascript,
        viewport={"width": width, "height": height},
        color_scheme=scheme,
    )
    watch = Watch(served.origin)

    def route(route: Any) -> None:
        if _origin(route.request.url) == served.origin:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: watch.requests.append(request.url))
    page.on(
        "console",
        lambda msg: msg.type == "error" and watch.problems.append(f"console: {msg.text}"),
    )
    page.on("pageerror", lambda error: watch.problems.append(f"script error: {error}"))
    page.on(
        "requestfailed",
        lambda request: watch.problems.append(f"failed: {request.url} {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and watch.problems.append(f"HTTP {response.status}: {response.url}")
        ),
    )
    try:
        yield page, watch
    finally:
        context.close()


# --- which pages --------------------------------------------------------------------------


def analysed_article(served: Served) -> str:
    return served.first_page_with('<details class="analysis"')


def busiest_tag(served: Served) -> str:
    tags = [
        rel
        for rel in served.html_pages()
        if re.fullmatch(r"tags/[^/]+/", rel) and 'class="article-list"' in served.page_text(rel)
    ]
    assert tags, "the example site has no tag pages"
    return max(tags, key=lambda rel: (served.page_text(rel).count('class="item"'), rel))


def page_set(served: Served) -> dict[str, str]:
    """The pages issue 5 names: the index, an article, a tag page and the archive; and
    the article's month and an article that offers an analysis request (issues 12, 14)."""
    article = analysed_article(served)
    return {
        "index": "",
        "article": article,
        "tag": busiest_tag(served),
        "archive": "archive/",
        "month": "/".join(article.split("/")[:2]) + "/",
        "request": served.first_page_with('class="analysis-request"'),
    }


# --- the analysis button ------------------------------------------------------------------


def is_open(page: Any) -> bool:
    return page.eval_on_selector("details.analysis", "d => d.open")


def accessible_button(page: Any) -> tuple[str, str, bool | None]:
    """(role, name, expanded) of the analysis button in Chromium's accessibility tree,
    read over the DevTools protocol: what the platform API gives a screen reader."""
    cdp = page.context.new_cdp_session(page)
    try:
        document = cdp.send("DOM.getDocument", {"depth": 0})
        node = cdp.send(
            "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": SUMMARY}
        )
        tree = cdp.send(
            "Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False}
        )
    finally:
        cdp.detach()
    ax = tree["nodes"][0]
    properties = {p["name"]: p["value"].get("value") for p in ax.get("properties", [])}
    return ax["role"]["value"], ax.get("name", {}).get("value", ""), properties.get("expanded")


def assert_closed(page: Any) -> None:
    assert not is_open(page)
    assert not page.locator(".analysis-text").is_visible()
    role, name, expanded = accessible_button(page)
    assert expanded is False, (role, name, expanded)
    assert name.startswith("Show the machine-written analysis"), name


def assert_open(page: Any) -> None:
    assert is_open(page)
    assert page.locator(".analysis-text").is_visible()
    assert page.locator(".analysis-label").is_visible()
    role, name, expanded = accessible_button(page)
    assert expanded is True, (role, name, expanded)
    assert name.startswith("Hide the machine-written analysis"), name


JS_MODES = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


@JS_MODES
def test_analysis_opens_and_closes_on_click(browser: Any, served: Served, javascript: bool):
    with open_page(browser, served, javascript=javascript) as (page, watch):
        page.goto(served.url(analysed_article(served)))
        button = page.locator(SUMMARY)
        role, name, _ = accessible_button(page)
        # Chromium's role for <summary>: a button that discloses (DisclosureTriangle).
        assert role in ("DisclosureTriangle", "button"), role
        assert re.search(r"\b\d{1,2} \w+ \d{4}\b", name), f"no analysis date in {name!r}"
        assert_closed(page)
        button.click()
        assert_open(page)
        button.click()
        assert_closed(page)
        assert not watch.problems, watch.problems


@JS_MODES
def test_analysis_opens_from_the_keyboard(browser: Any, served: Served, javascript: bool):
    with open_page(browser, served, javascript=javascript) as (page, watch):
        page.goto(served.url(analysed_article(served)))
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({SUMMARY!r})"):
                break
        else:
            pytest.fail("Tab never reached the analysis button")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), "keyboard focus on the button is not visible"
        assert_closed(page)
        page.keyboard.press("Enter")
        assert_open(page)
        page.keyboard.press("Enter")
        assert_closed(page)
        page.keyboard.press(" ")
        assert_open(page)
        assert not watch.problems, watch.problems


@JS_MODES
def test_the_request_link_is_a_plain_link_to_the_prefilled_form(
    browser: Any, served: Served, javascript: bool
) -> None:
    """Reached by Tab with a visible focus, it leaves for GitHub's issue form (the test
    lets no request leave 127.0.0.1: the attempt is recorded, and aborted)."""
    with open_page(browser, served, javascript=javascript) as (page, watch):
        page.goto(served.url(page_set(served)["request"]))
        link = page.get_by_role("link", name=re.compile(r"^Request (an|a fresh) analysis$"))
        assert link.count() == 1 and link.is_visible()
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.analysis-request') !== null"):
                break
        else:
            pytest.fail("Tab never reached the request link")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), "keyboard focus on the link is not visible"
        form = "https://github.com/placeholder-owner/placeholder-news/issues/new?template="
        with page.expect_request(lambda request: request.url.startswith(form)):
            page.keyboard.press("Enter")
        assert [url for url in watch.foreign if url.startswith(form)], watch.foreign


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_open_analysis_stays_labelled_all_the_way_down(
    browser: Any, served: Served, scheme: str
) -> None:
    """On a phone, read halfway down a long analysis: its label is still in view, held at
    the top of the window, and a rule of its own colour runs down its side."""
    with open_page(browser, served, width=375, height=600, scheme=scheme) as (page, watch):
        page.goto(served.url(analysed_article(served)))
        page.locator(SUMMARY).click()
        text = page.locator(".analysis-text").bounding_box()
        assert text is not None and text["height"] > 1200, "the example analysis is short"
        page.evaluate("y => window.scrollTo(0, y)", text["y"] + text["height"] / 2)
        label = page.locator(".analysis-heading")
        box = label.bounding_box()
        assert box is not None and abs(box["y"]) <= 1, box
        assert label.inner_text().lower() == "machine-written analysis"
        rule = page.eval_on_selector(
            "details.analysis",
            "d => [getComputedStyle(d).borderLeftWidth, getComputedStyle(d).borderLeftColor,"
            " getComputedStyle(d).borderTopColor]",
        )
        assert float(rule[0].removesuffix("px")) >= 3 and rule[1] != rule[2], rule
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"analysis-scrolled-375-{scheme}.png"))
        page.evaluate("document.getElementById('original').scrollIntoView()")
        box = label.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 0, (
            "it follows the reader past the end"
        )
        assert not watch.problems, watch.problems


@pytest.mark.parametrize("width", WIDTHS)
def test_link_to_the_original_lands_on_it(browser: Any, served: Served, width: int) -> None:
    with open_page(browser, served, width=width) as (page, watch):
        page.goto(served.url(analysed_article(served)))
        assert page.evaluate("window.scrollY") == 0
        page.get_by_role("link", name="Scroll down for original article").click()
        page.wait_for_function("location.hash === '#original'")
        assert page.evaluate("document.querySelector(':target')?.id") == "original"
        top = page.evaluate("document.getElementById('original').getBoundingClientRect().top")
        assert abs(top) <= 2, f"#original is {top}px from the top of the window"
        assert page.evaluate("window.scrollY") > 0
        heading = page.locator("#original > h2")
        assert heading.is_visible() and heading.inner_text().lower() == "original article"
        assert not watch.problems, watch.problems


# --- every page ---------------------------------------------------------------------------


def test_every_page_loads_cleanly_and_nothing_leaves_the_site(browser: Any, served: Served) -> None:
    css_file = served.site / "static" / "style.css"
    version = hashlib.sha256(css_file.read_bytes()).hexdigest()[:12]
    assert css_file.stat().st_size < 20_000, "the one stylesheet should stay small"
    icon_file = served.site / "static" / "favicon.svg"
    icon_version = hashlib.sha256(icon_file.read_bytes()).hexdigest()[:12]
    icons: set[str] = set()
    pages = served.html_pages()
    assert len(pages) > 50
    with open_page(browser, served) as (page, watch):
        for rel in pages:
            if rel == "search/":  # Pagefind's UI and its stylesheet: tests/test_search.py
                continue
            page.goto(served.url(rel), wait_until="load")
            assets = page.evaluate(
                """() => ({
                  sheets: [...document.styleSheets].map(s => s.href),
                  scripts: [...document.scripts].map(s => [s.type, s.src]),
                  inlineStyles: document.querySelectorAll('style, [style]').length,
                })"""
            )
            assert assets["sheets"] == [served.url(f"static/style.css?v={version}")], rel
            # declared, so that no browser asks for a /favicon.ico that is not there
            icons.update(page.eval_on_selector_all("link[rel~=icon]", "ls => ls.map(l => l.href)"))
            assert page.locator("link[rel~=icon]").count() == 1, rel
            assert all(t == "application/ld+json" and not src for t, src in assets["scripts"])
            assert assets["inlineStyles"] == 0, rel
        assert icons == {served.url(f"static/favicon.svg?v={icon_version}")}
        icon = page.request.get(icons.pop())
        assert icon.ok and icon.headers["content-type"] == "image/svg+xml", icon.status
        # A browser loads the icon after the page; going on to the next page at once
        # aborts that load (net::ERR_ABORTED), which is no fault of the page's.
        aborted_icon = f"failed: {served.url('static/favicon.svg')}"
        problems = [
            p for p in watch.problems if not (p.startswith(aborted_icon) and "ERR_ABORTED" in p)
        ]
        assert not problems, "\n".join(problems)
        assert not watch.foreign, f"requests outside {served.origin}: {watch.foreign}"
        assert len(watch.requests) >= len(pages)


def _stylesheet_href(root: Path) -> str:
    html = (root / "site/index.html").read_text(encoding="utf-8")
    found = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert len(found) == 1, found
    return found[0]


def test_stylesheet_url_carries_its_content_hash(site: Any, run: Any) -> None:
    """So that it can be cached for ever: a changed file gets a new URL (no browser)."""
    root = site({"content/a.md": article()})
    assert run("build", "--root", root).status == 0
    builtin = (REPO / "layouts/static/style.css").read_bytes()
    version = hashlib.sha256(builtin).hexdigest()[:12]
    assert _stylesheet_href(root) == f"/static/style.css?v={version}"
    write_files(root, {"layouts/static/style.css": "body { color: teal; }\n"})
    assert run("build", "--root", root).status == 0
    mine = hashlib.sha256(b"body { color: teal; }\n").hexdigest()[:12]
    assert _stylesheet_href(root) == f"/static/style.css?v={mine}"


def test_stylesheet_url_of_a_missing_file_is_a_located_error(site: Any, run: Any) -> None:
    root = site(
        {
            "content/a.md": article(),
            "layouts/page.html": "x\n{{ static_url('/static/nope.css') }}\n",
            "content/pages/about.md": "---\ntitle: About\n---\nAbout.\n",
        }
    )
    result = run("build", "--root", root)
    assert result.status == 1
    assert re.search(r"layouts/page\.html:2: template error: .*nope\.css", result.err), result.err


def test_nothing_scrolls_sideways_from_360px(browser: Any, served: Served) -> None:
    rels = [*page_set(served).values(), "tags/", "sources/", "about/", "404.html", "search/"]
    rels += [rel for rel in served.html_pages() if rel.startswith("page/")][:1]
    too_wide = []
    for width in (360, 375, 768, 1280):
        with open_page(browser, served, width=width) as (page, _watch):
            for rel in rels:
                page.goto(served.url(rel))
                if page.locator(SUMMARY).count():
                    page.locator(SUMMARY).click()
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    too_wide.append(f"{rel or 'index'} at {width}px: {scroll}px wide")
    assert not too_wide, too_wide


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_screenshots_light_and_dark(browser: Any, served: Served) -> None:
    """Full-page screenshots for a person to look at; the colours follow the scheme."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for scheme in SCHEMES:
        for width in WIDTHS:
            with open_page(browser, served, width=width, scheme=scheme) as (page, watch):
                for name, rel in page_set(served).items():
                    page.goto(served.url(rel))
                    if name == "article":
                        page.locator(SUMMARY).click()
                        page.mouse.move(0, 0)  # no hover effect in the picture
                    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    text = page.evaluate("getComputedStyle(document.body).color")
                    if scheme == "dark":
                        assert _luminance(background) < 0.2 < _luminance(text), background
                    else:
                        assert _luminance(background) > 0.8 > _luminance(text), background
                    path = SCREENSHOTS / f"{name}-{width}-{scheme}.png"
                    page.screenshot(path=str(path), full_page=True)
                    written.append(path)
                assert not watch.problems, watch.problems
    assert all(p.stat().st_size > 5_000 for p in written)


def test_print_shows_the_article_without_the_chrome(browser: Any, served: Served) -> None:
    with open_page(browser, served, width=800) as (page, _watch):
        page.goto(served.url(analysed_article(served)))
        page.locator(SUMMARY).click()
        page.emulate_media(media="print")
        hidden = [".site-nav", ".site-footer", ".jump", ".pager", ".analysis-action", ".more-on"]
        for selector in hidden:
            assert not page.locator(selector).first.is_visible(), f"{selector} prints"
        for selector in [
            "h1",
            ".standfirst",
            ".byline",
            ".analysis-meta",
            ".analysis-heading",
            ".analysis-text",
            ".analysis-end",
            "#original",
        ]:
            assert page.locator(selector).first.is_visible(), f"{selector} does not print"
        rule = page.eval_on_selector("details.analysis", "d => getComputedStyle(d).borderLeftStyle")
        assert rule == "double", "the printed analysis is ruled apart from the article"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "article-print.png"), full_page=True)
        # A closed analysis is left out of the printout rather than shown as a button.
        page.locator("details.analysis").evaluate("d => d.open = false")
        assert not page.locator("details.analysis").is_visible()


# --- accessibility ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", ["index", "article", "tag", "archive", "month", "request"])
def test_axe_finds_no_serious_violations(
    browser: Any, served: Served, name: str, scheme: str
) -> None:
    if not AXE.is_file():
        unavailable(f"no {AXE.relative_to(REPO)} (npm ci installs axe-core)")
    with open_page(browser, served, scheme=scheme) as (page, watch):
        page.goto(served.url(page_set(served)[name]))
        if name == "article":
            page.locator(SUMMARY).click()  # so that the analysis is checked too
        assert_no_serious_axe_violations(page)
        assert not watch.problems, watch.problems


def assert_no_serious_axe_violations(page: Any) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']}))
            .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in serious
    )
