"""serve, as an editor uses it: a real `python -m marginalia serve` on a free port of
127.0.0.1 against a temporary site, driven over HTTP and its Server-Sent Events stream.

One server (module-scoped) answers the tests that read and make small, undone edits;
the partial-rebuild and Ctrl-C tests each start their own. Nothing sleeps longer than a
poll interval; every wait has a generous deadline.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, article, tree_digest, write_files
from fake_openai import FakeOpenAI
from test_browser import browser as browser  # Chromium, launched once for this module

from marginalia.build import CACHE_DIR, build
from marginalia.content import article_sha256
from marginalia.search import CACHE_FOLDER

EVENTS = "/__marginalia/events"
STATUS = "/__marginalia/status"
DEADLINE = 60.0  # seconds: a loaded 2-core machine can be slow; a pass is fast

CONFIG = """\
title: Serve Test Archive
base_url: https://example.org/news/
paginate: 3
"""
LAYOUT_OVERRIDE = """\
{% extends "default/article.html" %}
{% block content %}<p class="override-mark">Overridden by the site.</p>{{ super() }}{% endblock %}
"""


def sidecar(rel: str, title: str, body: str, text: str) -> str:
    return (
        "---\n"
        f"article: {rel}\n"
        "model: hand-written-model\n"
        "prompt: analysis\n"
        f"prompt_sha256: {'0' * 64}\n"
        f"article_sha256: {article_sha256(title, body)}\n"
        "created: 2024-07-01T10:00:00+00:00\n"
        "usage: {input_tokens: 10, output_tokens: 20}\n"
        "locked: false\n"
        "---\n"
        f"{text}\n"
    )


def small_site(root: Path, statics: int = 0) -> Path:
    """Eight articles over three months, tags, a page, an analysis; statics files."""
    files: dict[str, str | bytes] = {"config.yaml": CONFIG}
    for number in range(8):
        month = 4 + number % 3
        files[f"content/2024/{month:02}/story-{number}.md"] = article(
            title=f"Story number {number}",
            date=f"2024-{month:02}-{10 + number}T09:00:00+00:00",
            body=f"The body of story {number}.",
            tags=f"[topic-{number % 3}, common]",
            source=f"https://outlet{number % 2}.example.com/story-{number}",
            summary=f"Summary {number}.",
        )
    files["analyses/2024/04/story-0.md"] = sidecar(
        "2024/04/story-0.md", "Story number 0", "The body of story 0.", "An analysis of story 0."
    )
    files["content/pages/about.md"] = "---\ntitle: About\n---\nAbout this archive.\n"
    for number in range(statics):
        files[f"static/files/f{number:03}.txt"] = f"file {number}\n"
    write_files(root, files)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")


class Served:
    """`python -m marginalia serve` in a subprocess, and an HTTP client for it."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.log_path = root.parent / f"serve-{self.port}.log"
        self.log = self.log_path.open("wb")
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("OPENAI_") and not k.lower().endswith("_proxy")
        }
        environ.update(
            PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            MARGINALIA_TOKENIZER="approx",
            **(env or {}),
        )
        command = [sys.executable, "-m", "marginalia", "serve", "--root", str(root)]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
            cwd=root,
        )
        try:
            wait_for(self._first_build_done, "serve's first build")
        except BaseException:
            self.stop()
            raise

    def _first_build_done(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.output()}")
        try:
            status = self.status()
        except OSError:
            return False
        return status["builds"] >= 1 and not status["indexing"]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, path: str, method: str = "GET") -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)
        try:
            connection.request(method, path)
            answer = connection.getresponse()
            body = answer.read()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
        finally:
            connection.close()

    def status(self) -> dict:
        return json.loads(self.request(STATUS).body)

    def wait_builds(self, count: int) -> dict:
        """The status once `count` builds have finished (and none is running), and the
        search index is made."""
        return wait_for(
            lambda: (
                (s := self.status())["builds"] >= count
                and not s["building"]
                and not s["indexing"]
                and s
            ),
            f"build {count}",
        )  # type: ignore[return-value]

    def events(self) -> Events:
        return Events(self.port)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode


class Events:
    """The SSE stream, read by a thread into a queue of (event name, data)."""

    def __init__(self, port: int) -> None:
        self.queue: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
        self.connection.request("GET", EVENTS)
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = "message"
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    self.queue.put((name, json.loads(line[len("data: ") :])))
                elif not line:
                    name = "message"
        except (OSError, ValueError):
            pass

    def next(self, timeout: float = DEADLINE) -> tuple[str, dict]:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no server-sent event came") from None

    def pending(self) -> list[tuple[str, dict]]:
        found = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found

    def close(self) -> None:
        self.connection.close()


def assert_no_injection(site_dir: Path) -> None:
    for path in site_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"__marginalia" not in data and b"marginalia serve" not in data, path


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fake_model: FakeOpenAI) -> Iterator[Served]:
    root = small_site(tmp_path_factory.mktemp("serve") / "site-root", statics=200)
    # a model service that would answer: serve must never ask it
    server = Served(root, {"OPENAI_BASE_URL": fake_model.base_url, "OPENAI_API_KEY": "sk-test"})
    yield server
    code = server.stop()
    assert fake_model.calls == 0
    assert code in (0, 130), server.output()


@pytest.fixture
def events(served: Served) -> Iterator[Events]:
    stream = served.events()
    name, data = stream.next()
    assert name == "hello" and data["token"] == served.status()["token"]
    yield stream
    stream.close()


def test_serves_site_under_base_path_as_github_pages_would(served: Served) -> None:
    site_dir = served.root / "site"
    root = served.request("/")
    assert root.status in (301, 302) and root.headers["location"] == "/news/"
    assert served.request("/news").headers["location"] == "/news/"

    home = served.request("/news/")
    assert home.status == 200
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert "Story number 7" in home.text and EVENTS in home.text
    assert home.body.startswith((site_dir / "index.html").read_bytes().split(b"</body>")[0])

    story = served.request("/news/2024/05/story-0/")  # story 0 is in April: 404 here
    assert story.status == 404
    assert story.headers["content-type"] == "text/html; charset=utf-8"
    not_found = (site_dir / "404.html").read_bytes()
    assert story.body.startswith(not_found.split(b"</body>")[0]) and EVENTS in story.text
    assert served.request("/elsewhere/").status == 404
    assert served.request("/news/../config.yaml").status == 404
    assert served.request("/news/%2e%2e/config.yaml").status == 404

    page = served.request("/news/2024/04/story-0")
    assert page.status == 301 and page.headers["location"] == "/news/2024/04/story-0/"
    page = served.request("/news/2024/04/story-0/")
    assert page.status == 200 and "An analysis of story 0." in page.text

    feed = served.request("/news/feed.xml")
    assert feed.status == 200
    assert feed.headers["content-type"].split(";")[0] in ("application/atom+xml", "application/xml")
    assert feed.body == (site_dir / "feed.xml").read_bytes()  # only HTML gets the script

    stylesheets = sorted((site_dir / "static").rglob("*.css"))
    assert stylesheets
    css = served.request("/news/" + stylesheets[0].relative_to(site_dir).as_posix())
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    assert css.body == stylesheets[0].read_bytes()

    text = served.request("/news/files/f000.txt")
    assert text.headers["content-type"].startswith("text/plain") and text.text == "file 0\n"
    head = served.request("/news/", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert_no_injection(site_dir)


def raw_request(port: int, target: str) -> bytes:
    """The whole answer to a GET of target, sent as written (http.client parses an
    absolute target itself, and refuses what serve must)."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as connection:
        connection.sendall(
            f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        return b"".join(iter(lambda: connection.recv(65536), b""))


def test_a_malformed_request_path_is_a_400(served: Served) -> None:
    """A request target no parser reads as a URL (an IPv6 host never closed) is a 400,
    not a traceback and a dropped connection. (http.server makes `//[x` the path `/[x`,
    which is no page.)"""
    before = len(served.output())
    for target, status in (("http://[x/news/", 400), ("http://[::1/", 400), ("//[x", 404)):
        answer = raw_request(served.port, target)
        assert answer.startswith(f"HTTP/1.0 {status} ".encode()), (target, answer[:200])
        assert (b"not a usable request path" in answer) == (status == 400), answer
    assert served.request("/news/").status == 200
    assert "Traceback" not in served.output()[before:]


def test_an_edit_rebuilds_the_page_and_reloads(served: Served, events: Events) -> None:
    path = served.root / "content/2024/05/story-1.md"
    before = served.status()
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("The body of story 1.", "A freshly edited body."))
        name, data = events.next()
        assert name == "reload" and data["epoch"] == before["epoch"] + 1
        page = served.request("/news/2024/05/story-1/")
        assert "A freshly edited body." in page.text
        assert "The body of story 1." not in page.text
        assert served.status()["token"] == data["token"]
    finally:
        path.write_text(original, encoding="utf-8")
        assert events.next()[0] == "reload"
    assert "The body of story 1." in served.request("/news/2024/05/story-1/").text
    assert_no_injection(served.root / "site")


def test_a_burst_of_changes_is_one_rebuild(served: Served, events: Events) -> None:
    before = served.wait_builds(served.status()["builds"])
    files = sorted((served.root / "static/files").iterdir())
    assert len(files) == 200
    stamp = time.time() + 5
    for file in files:  # what a git checkout touching 200 files looks like to the watcher
        os.utime(file, (stamp, stamp))
    name, _ = events.next()
    assert name == "reload"
    after = served.wait_builds(before["builds"] + 1)
    time.sleep(0.6)  # several settle intervals: a second build would have started by now
    assert served.status()["builds"] == after["builds"] == before["builds"] + 1
    assert events.pending() == []


def test_a_bad_edit_keeps_the_old_site_and_shows_every_error(
    served: Served, events: Events
) -> None:
    site_dir = served.root / "site"
    before = tree_digest(site_dir)
    status = served.status()
    first = served.root / "content/2024/06/story-2.md"
    second = served.root / "content/2024/04/story-3.md"
    first_text, second_text = first.read_text(), second.read_text()
    try:
        first.write_text("---\ntitle: [unclosed\n---\nBroken <b>body</b>.\n", encoding="utf-8")
        second.write_text(
            article(title="Story number 3", source="'javascript:<b>alert(1)</b>'"),
            encoding="utf-8",
        )
        name, data = events.next()
        while name != "failed":  # the two saves may come as two builds
            name, data = events.next()
        wait_for(lambda: len(served.status()["errors"]) == 2, "both errors")
        errors = served.status()["errors"]
        assert errors[0].startswith("content/2024/04/story-3.md:")
        assert "javascript:<b>alert(1)</b>" in errors[0]
        assert errors[1].startswith("content/2024/06/story-2.md:2: ")
        assert served.status()["epoch"] == status["epoch"]  # no reload for a failed build

        page = served.request("/news/2024/06/story-2/")
        assert page.status == 200
        assert "The body of story 2." in page.text  # the last good page
        assert "javascript:&lt;b&gt;alert(1)&lt;/b&gt;" in page.text  # the errors, escaped
        assert "<b>alert(1)</b>" not in page.text
        assert "content/2024/06/story-2.md:2: " in page.text
        assert '<div id="marginalia-serve-errors"' in page.text
        assert tree_digest(site_dir) == before
        hello = Events(served.port)
        assert hello.next() == ("hello", {**hello_of(served), "errors": errors})
        hello.close()
    finally:
        first.write_text(first_text, encoding="utf-8")
        second.write_text(second_text, encoding="utf-8")
    name, data = events.next()
    while name != "reload":
        name, data = events.next()
    assert data["epoch"] == status["epoch"] + 1
    assert served.status()["errors"] == []
    page = served.request("/news/2024/06/story-2/")
    assert (
        "The body of story 2." in page.text and '<div id="marginalia-serve-errors"' not in page.text
    )
    assert tree_digest(site_dir) == before
    assert_no_injection(site_dir)


def test_the_browser_reloads_and_shows_errors(served: Served, browser: Any) -> None:
    """The injected script in Chromium: a save reloads the page; a bad save shows the
    errors over the last good page; the fix removes them by reloading."""
    path = served.root / "content/2024/05/story-4.md"
    original = path.read_text(encoding="utf-8")
    url = f"http://127.0.0.1:{served.port}/news/2024/05/story-4/"
    wait_ms = DEADLINE * 1000
    with contextlib.closing(browser.new_page()) as page:
        try:
            listeners = served.status()["listeners"]
            page.goto(url)
            wait_for(lambda: served.status()["listeners"] > listeners, "the page's event stream")
            with page.expect_navigation(timeout=wait_ms):
                path.write_text(original.replace("story 4.", "story 4, edited."))
            assert "The body of story 4, edited." in page.inner_text("body")

            path.write_text("---\ntitle: Story <i>4</i>\n---\nNo date.\n", encoding="utf-8")
            box = page.wait_for_selector("#marginalia-serve-errors", timeout=wait_ms)
            assert box is not None
            assert "content/2024/05/story-4.md:" in box.inner_text()
            assert "The body of story 4, edited." in page.inner_text("body")  # still there

            page.reload()  # a page fetched while broken carries the errors too
            assert "content/2024/05/story-4.md:" in page.inner_text("#marginalia-serve-errors")

            with page.expect_navigation(timeout=wait_ms):
                path.write_text(original, encoding="utf-8")
            page.wait_for_load_state()
            assert page.query_selector("#marginalia-serve-errors") is None
            assert "The body of story 4." in page.inner_text("body")
        finally:
            path.write_text(original, encoding="utf-8")
    served.wait_builds(served.status()["builds"])
    assert served.status()["errors"] == []


def hello_of(served: Served) -> dict:
    status = served.status()
    return {"token": status["token"], "epoch": status["epoch"], "indexed": status["indexed"]}


def test_partial_rebuilds_equal_a_clean_build(tmp_path: Path) -> None:
    root = small_site(tmp_path / "site-root")
    served = Served(root)
    content = root / "content"

    def step(change: Callable[[], None]) -> None:
        builds = served.status()["builds"]
        change()
        status = served.wait_builds(builds + 1)
        assert status["errors"] == [], served.output()
        compare()

    def compare() -> None:
        clean = tmp_path / f"clean-{served.status()['builds']}"
        shutil.copytree(root, clean, ignore=shutil.ignore_patterns("site", ".cache"))
        result = subprocess.run(
            [sys.executable, "-m", "marginalia", "build", "--root", str(clean)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=DEADLINE,
        )
        assert result.returncode == 0, result.stderr
        assert tree_digest(root / "site") == tree_digest(clean / "site")
        shutil.rmtree(clean)

    def edit(rel: str, old: str, new: str) -> Callable[[], None]:
        path = content / rel
        return lambda: path.write_text(path.read_text().replace(old, new), encoding="utf-8")

    try:
        step(edit("2024/05/story-1.md", "The body of story 1.", "An edited body."))
        step(edit("2024/04/story-3.md", "title: Story number 3", "title: A retitled story"))
        step(
            lambda: write_files(
                root,
                {"content/2024/06/brand-new.md": article(title="Brand new", tags="[fresh]")},
            )
        )
        step(lambda: (content / "2024/06/story-5.md").unlink())
        step(lambda: (content / "2024/04/story-6.md").rename(content / "2024/04/renamed.md"))
        step(edit("2024/05/story-4.md", "date: 2024-05-14", "date: 2023-12-14"))
        step(edit("2024/06/story-2.md", "tags: [topic-2, common]", "tags: [Fresh, new-one]"))
        step(lambda: write_files(root, {"layouts/article.html": LAYOUT_OVERRIDE}))
        page = served.request("/news/2024/04/story-0/")
        assert "Overridden by the site." in page.text
        step(
            lambda: (root / "analyses/2024/04/story-0.md").write_text(
                sidecar("2024/04/story-0.md", "Story number 0", "The body of story 0.", "New.")
            )
        )
        assert_no_injection(root / "site")
    finally:
        code = served.stop()
    assert code in (0, 130), served.output()


def test_builds_in_worker_processes_finish(tmp_path: Path) -> None:
    """Enough pages that the build renders them in forked workers (render.PARALLEL_FROM):
    workers inherit serve's signal handler, and the pool must still end them."""
    root = tmp_path / "site-root"
    write_files(
        root,
        {
            "config.yaml": CONFIG,
            **{
                f"content/2024/05/many-{n}.md": article(title=f"Many {n}", tags=f"[tag-{n}]")
                for n in range(120)
            },
        },
    )
    served = Served(root)  # the first build renders every page
    try:
        assert len(list((root / "site").rglob("*.html"))) >= 250
        builds = served.status()["builds"]
        write_files(root, {"layouts/article.html": LAYOUT_OVERRIDE})
        assert served.wait_builds(builds + 1)["errors"] == []
        assert "Overridden by the site." in served.request("/news/2024/06/many-7/").text
    finally:
        code = served.stop()
    assert code in (0, 130), served.output()


def test_ctrl_c_stops_cleanly_and_leaves_site_whole(tmp_path: Path) -> None:
    root = small_site(tmp_path / "site-root")
    served = Served(root)
    before = tree_digest(root / "site")
    stream = served.events()
    assert stream.next()[0] == "hello"
    started = time.monotonic()
    served.proc.send_signal(signal.SIGINT)
    code = served.proc.wait(15)
    assert time.monotonic() - started < 10
    assert code in (0, 130), served.output()
    assert "Stopped" in served.output() and "Traceback" not in served.output()
    assert tree_digest(root / "site") == before
    assert_no_injection(root / "site")
    stream.close()
    served.stop()


def served_fragments(root: Path) -> dict[str, str]:
    """{URL: indexed text} of every page the search bundles in site/ offer (the fragments
    of each shard: gzip of "pagefind_dcd" and a JSON document)."""
    found = {}
    for path in (root / "site/pagefind").glob("*/fragment/*.pf_fragment"):
        data = gzip.decompress(path.read_bytes()).removeprefix(b"pagefind_dcd")
        fragment = json.loads(data)
        found[fragment["url"]] = fragment["content"]
    return found


def next_event(stream: Events, name: str) -> tuple[list[str], dict]:
    """The names of the events up to the next `name`, and its data."""
    names: list[str] = []
    while True:
        event, data = stream.next()
        names.append(event)
        if event == name:
            return names, data


def test_the_index_is_made_after_the_reload_and_never_offers_a_removed_page(
    tmp_path: Path,
) -> None:
    root = small_site(tmp_path / "site-root")
    served = Served(root)  # its first build and index are done
    content = root / "content/2024"
    stream = served.events()
    try:
        assert stream.next()[0] == "hello"
        assert "/2024/06/story-5/" in served_fragments(root)
        story = content / "05/story-1.md"
        story.write_text(story.read_text().replace("The body of story 1.", "A zeppelin lands."))
        names, _ = next_event(stream, "reload")
        assert names == ["reload"]  # the page first
        assert "A zeppelin lands." in served.request("/news/2024/05/story-1/").text
        names, _ = next_event(stream, "indexed")  # then the index
        assert names == ["indexed"]
        assert "zeppelin" in served_fragments(root)["/2024/05/story-1/"]
        log = served.output()
        assert log.rindex("Rebuilt in") < log.rindex("Search index published")

        (content / "06/story-5.md").unlink()
        next_event(stream, "reload")
        assert served.request("/news/2024/06/story-5/").status == 404
        assert "/2024/06/story-5/" not in served_fragments(root)
        next_event(stream, "indexed")
        offered = served_fragments(root)
        assert "/2024/06/story-5/" not in offered and "/2024/05/story-1/" in offered
        assert "The search index is being made again" not in served.request("/news/search/").text
        served.wait_builds(served.status()["builds"])
    finally:
        stream.close()
        code = served.stop()
    assert code in (0, 130), served.output()
    after = build(root)  # serve's quiet state is what `build` writes
    assert after.published.written == after.published.removed == 0


class Pagefind:
    """A wrapper of the Pagefind binary that does what mode/ says: run it (no mode),
    fail, or wait until released/ exists and then run it."""

    def __init__(self, folder: Path) -> None:
        from pagefind.service import get_executable

        self.mode = folder / "mode"
        self.released = folder / "released"
        self.path = folder / "pagefind-wrapper"
        self.path.write_text(
            "#!/bin/sh\n"
            f'case "$(cat {self.mode} 2>/dev/null)" in\n'
            "  fail) echo 'cannot read the documents' >&2; exit 3 ;;\n"
            f"  gate) while [ ! -e {self.released} ]; do sleep 0.05; done ;;\n"
            "esac\n"
            f'exec "{get_executable()}" "$@"\n'
        )
        self.path.chmod(0o755)

    def serve(self, root: Path) -> Served:
        return Served(root, {"PAGEFIND_BINARY_PATH": str(self.path)})


def test_an_indexer_error_shows_and_ctrl_c_while_indexing_stops_cleanly(
    tmp_path: Path,
) -> None:
    root = small_site(tmp_path / "site-root")
    pagefind = Pagefind(tmp_path)
    served = pagefind.serve(root)
    story = root / "content/2024/05/story-1.md"
    try:
        pagefind.mode.write_text("fail")
        story.write_text(story.read_text().replace("story 1.", "story one."))
        status = wait_for(lambda: (s := served.status())["errors"] and s, "the indexer's error")
        assert "pagefind: indexing failed (3): cannot read the documents" in status["errors"][0]
        assert "cannot read the documents" in served.request("/news/2024/05/story-1/").text

        pagefind.mode.write_text("gate")  # the next run waits: serve is indexing
        before = served.status()
        (root / "content/2024/06/story-5.md").unlink()
        wait_for(lambda: served.status()["epoch"] > before["epoch"], "the rebuild")
        assert served.status()["indexing"] and served.status()["errors"] == []
        # the last bundle of June offered story-5: it is taken away until the new one is
        # made; the other months' stay
        offered = served_fragments(root)
        assert not (root / "site/pagefind/2024-06").exists()
        assert "/2024/04/story-0/" in offered and "/2024/06/story-2/" not in offered
        assert "The search index is being made again" in served.request("/news/search/").text
        assert "being made again" not in served.request("/news/2024/05/story-1/").text
        site = tree_digest(root / "site")
    finally:
        code = served.stop()
    log = served.log_path.read_text(encoding="utf-8")
    assert code in (0, 130), log
    assert "Stopped" in log and "Traceback" not in log
    assert tree_digest(root / "site") == site
    leftovers = [path.name for path in (root / CACHE_DIR / CACHE_FOLDER).iterdir()]
    assert not [name for name in leftovers if name.startswith("work-")], leftovers


def test_the_search_page_reloads_when_the_index_is_made(tmp_path: Path, browser: Any) -> None:
    root = small_site(tmp_path / "site-root")
    pagefind = Pagefind(tmp_path)
    served = pagefind.serve(root)
    try:
        pagefind.mode.write_text("gate")
        before = served.status()
        (root / "content/2024/06/story-5.md").unlink()
        wait_for(lambda: served.status()["epoch"] > before["epoch"], "the rebuild")
        with contextlib.closing(browser.new_page()) as page:
            listeners = served.status()["listeners"]
            page.goto(f"http://127.0.0.1:{served.port}/news/search/?q=story")
            assert page.is_visible("#marginalia-serve-indexing")
            wait_for(lambda: served.status()["listeners"] > listeners, "the event stream")
            with page.expect_navigation(timeout=DEADLINE * 1000):
                pagefind.released.touch()
            page.wait_for_selector(".pagefind-ui__result", timeout=DEADLINE * 1000)
            assert page.query_selector("#marginalia-serve-indexing") is None
            links = page.eval_on_selector_all(
                ".pagefind-ui__result-title a", "links => links.map(a => a.pathname)"
            )
            assert links and "/news/2024/06/story-5/" not in links, links
    finally:
        code = served.stop()
    assert code in (0, 130)
