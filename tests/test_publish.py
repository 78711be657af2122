"""Publishing on GitHub Pages (issue 4): the two workflows, the size line, and `init`.

- Both workflows parse, and actionlint (with shellcheck on their run: scripts) finds
  nothing; their shell steps are run here as GitHub would run them.
- The example site, built by pages.yml's own build step for https://user.github.io/repo/,
  is served under /repo/ by a local server and crawled: every link and asset of every
  page, every feed entry and every sitemap URL answers 200.
- `build` ends with its summary line and warns near and over the Pages size limit.
- `init` makes a site that builds as it is, carrying both workflows byte for byte, from
  a source checkout and from a wheel.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import unquote, urldefrag, urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, ProxyHandler, build_opener

import feedparser
import pytest
import yaml
from conftest import PYTHON, REPO, article, console_script
from fake_openai import FakeOpenAI, Reply

from marginalia.paths import SITE_ISSUE_TEMPLATES, SITE_WORKFLOWS, builtin_dir
from marginalia.scaffold import (
    _git_origin,
    init_site,
    requirement_from_direct_url,
    requirements_txt,
)

WORKFLOWS = REPO / ".github" / "workflows"
PAGES = WORKFLOWS / "pages.yml"
ANALYZE = WORKFLOWS / "analyze.yml"
PAGES_HOST = "user.github.io"
PREFIX = "/repo/"
SUMMARY_LINE = re.compile(
    r"^Built \d+ files? \(\d+ written, \d+ unchanged, \d+ removed\), "
    r"(?P<size>[\d.]+ (?:bytes|KB|MB|GB)), in [\d.]+ s -> .+$"
)


# -- helpers ---------------------------------------------------------------------------


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def step(workflow: dict, job: str, name: str) -> dict:
    matches = [s for s in workflow["jobs"][job]["steps"] if s.get("name") == name]
    assert len(matches) == 1, f"one step named {name!r} in job {job!r}"
    return matches[0]


def actions(workflow: dict) -> list[str]:
    """The actions a workflow uses, without the commit they are pinned to."""
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    return [s["uses"].partition("@")[0] for s in steps if "uses" in s]


def python_first_on_path(tmp_path: Path) -> str:
    """A PATH on which `python` is this interpreter (the workflows call `python`).

    A script that execs it by its own path, not a symlink: started through a link in
    another folder, a venv's python finds no pyvenv.cfg and runs as the base interpreter,
    without the venv's packages."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "python"
    if not wrapper.exists():
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(PYTHON)} "$@"\n')
        wrapper.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def run_step(
    script: str, cwd: Path, tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run a workflow step's `run:` script as GitHub's runner does (bash -e), with
    GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files; returns (process, outputs, summary)."""
    files = tmp_path / "runner"
    files.mkdir(exist_ok=True)
    output, summary = files / "output", files / "summary"
    output.write_text("")
    summary.write_text("")
    script_file = files / "step.sh"
    script_file.write_text(script)
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
        "PATH": python_first_on_path(tmp_path),
        "PYTHONPATH": str(REPO),  # this checkout's marginalia, whatever else is installed
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(files),
        "NO_PROXY": "127.0.0.1,localhost",
        "MARGINALIA_TOKENIZER": "approx",
        **env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script_file)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, outputs, summary.read_text()


def tool(name: str) -> str:
    """A command-line tool from the test extra, beside this interpreter or on PATH."""
    found = console_script(name) or shutil.which(name)
    assert found, f"{name} is missing: pip install -e '.[test]'"
    return found


def test_the_python_a_step_finds_is_this_one_with_its_packages(tmp_path: Path) -> None:
    """In a venv too: its prefix, not the base interpreter's, so its packages import."""
    done, _, _ = run_step('python -c "import sys, yaml; print(sys.prefix)"', tmp_path, tmp_path, {})
    assert (done.returncode, done.stdout.strip()) == (0, sys.prefix), done.stderr


def copy_example(dest: Path) -> Path:
    """The repository's example site, as a fork has it (build.py included)."""
    dest.mkdir(parents=True)
    for name in ("config.yaml", "build.py", "content", "analyses", "prompts", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    return dest


# -- the workflow files ------------------------------------------------------------------


def test_pages_workflow_builds_with_the_pages_url_and_deploys_one_at_a_time() -> None:
    flow = load_workflow(PAGES)
    assert flow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in flow["on"]
    assert flow["jobs"]["build"]["permissions"] == {"contents": "read", "pages": "read"}
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert flow["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert actions(flow) == [  # pinned to full SHAs: tests/test_workflows.py
        "actions/checkout",
        "actions/setup-python",
        "actions/cache",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ]
    assert step(flow, "build", "Set up Python")["with"]["cache"] == "pip"
    cache = step(flow, "build", "Restore the build cache")["with"]
    assert cache["path"] == ".cache/"
    for part in ("config.yaml", "content/**", "analyses/**", "layouts/**"):
        assert part in cache["key"]
    assert step(flow, "build", "Look up the Pages address")["id"] == "pages"
    build = step(flow, "build", "Build the site")
    # configure-pages' base_url has no trailing slash ("https://octocat.github.io/my-repo")
    assert build["env"] == {"PAGES_BASE_URL": "${{ steps.pages.outputs.base_url }}"}
    assert build["run"].strip() == (
        'python build.py --base-url "${PAGES_BASE_URL}/" --repository "${GITHUB_REPOSITORY}"'
    )
    assert step(flow, "build", "Upload the site")["with"] == {"path": "site/"}
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"


def test_analyze_workflow_opens_a_pull_request_and_never_shows_the_key() -> None:
    flow = load_workflow(ANALYZE)
    inputs = flow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"limit", "force", "batch"}
    assert inputs["force"]["type"] == inputs["batch"]["type"] == "boolean"
    assert flow["on"]["schedule"][0]["cron"].count(" ") == 4
    permissions = flow["jobs"]["analyze"]["permissions"]
    assert permissions == {"contents": "write", "pull-requests": "write"}
    assert actions(flow) == [
        "actions/checkout",
        "actions/setup-python",
        "peter-evans/create-pull-request",
    ]
    pr = step(flow, "analyze", "Open a pull request")["with"]
    assert pr["branch"] == "analyses/update"
    assert pr["add-paths"] == "analyses/**"  # nothing else the run leaves behind
    assert "language model" in pr["body"] and "before merging" in pr["body"]
    text = ANALYZE.read_text()
    # The secret is read in exactly two places: as a yes/no, and by the analyze step.
    assert text.count("secrets.OPENAI_API_KEY") == 2
    assert step(flow, "analyze", "Analyze")["env"]["OPENAI_API_KEY"] == (
        "${{ secrets.OPENAI_API_KEY }}"
    )
    for job in flow["jobs"].values():
        for each in job["steps"]:
            # no run: script expands the key (it reaches analyze through the environment)
            assert not re.search(r"\$\{?OPENAI_API_KEY", each.get("run", "")), each["name"]


def test_actionlint_and_shellcheck_find_nothing() -> None:
    done = subprocess.run(
        [
            tool("actionlint"),
            "-no-color",
            "-shellcheck",
            tool("shellcheck"),
            *map(str, sorted(WORKFLOWS.glob("*.yml"))),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path) -> None:
    """The check above is live: the same call finds a typo and a shell mistake."""
    broken = tmp_path / "broken.yml"
    text = PAGES.read_text()
    # (an action's inputs are known to actionlint by tag, not by commit: a key typo it is)
    text = text.replace("timeout-minutes: 30", "timeout-minute: 30").replace(
        '"${PAGES_BASE_URL}/"', "${PAGES_BASE_URL}/"
    )
    broken.write_text(text)
    done = subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert 'unexpected key "timeout-minute"' in done.stdout
    assert "SC2086" in done.stdout  # the unquoted variable


# -- analyze.yml's steps, run -----------------------------------------------------------


def test_without_a_key_or_base_url_the_analyze_workflow_says_so_and_succeeds(
    tmp_path: Path,
) -> None:
    script = step(load_workflow(ANALYZE), "analyze", "Look for a model service")["run"]
    done, outputs, summary = run_step(
        script, tmp_path, tmp_path, {"HAS_KEY": "false", "BASE_URL": ""}
    )
    assert done.returncode == 0, done.stderr
    assert outputs == {"ready": "false"}
    assert "::notice" in done.stdout and "OPENAI_API_KEY" in done.stdout
    assert "no analyses were requested" in summary
    for env in ({"HAS_KEY": "true", "BASE_URL": ""}, {"HAS_KEY": "false", "BASE_URL": "x"}):
        done, outputs, _ = run_step(script, tmp_path, tmp_path, env)
        assert done.returncode == 0 and outputs == {"ready": "true"}
    # every later step waits on that answer
    later = load_workflow(ANALYZE)["jobs"]["analyze"]["steps"][1:]
    assert all(s["if"] == "steps.service.outputs.ready == 'true'" for s in later)


def test_analyze_step_in_batch_mode_sends_then_a_later_run_collects(
    fresh_site: Path, tmp_path: Path
) -> None:
    script = step(load_workflow(ANALYZE), "analyze", "Analyze")["run"]
    with FakeOpenAI() as fake:
        env = {"OPENAI_BASE_URL": fake.base_url, "LIMIT": "", "FORCE": "", "BATCH": "true"}
        done, outputs, summary = run_step(script, fresh_site, tmp_path, env)
        assert done.returncode == 0 and outputs == {"status": "0"}, done.stdout
        assert len(fake.batches) == 1 and "Pending: 1 batch;" in summary
        assert not list(fresh_site.glob("analyses/**/*.md"))
        fake.finish_batches()
        done, outputs, summary = run_step(script, fresh_site, tmp_path, env)
        assert done.returncode == 0 and outputs == {"status": "0"}, done.stdout
    assert "Written 1" in summary and "Pending: none." in summary
    assert [p.name for p in (fresh_site / "analyses").rglob("*.md")] == ["welcome.md"]


@pytest.fixture
def fresh_site(tmp_path: Path) -> Path:
    root = tmp_path / "fresh"
    init_site(root)
    return root


def test_analyze_step_writes_sidecars_and_keeps_the_key_out_of_logs(
    fresh_site: Path, tmp_path: Path
) -> None:
    secret = "sk-test-never-shown-0123456789"
    flow = load_workflow(ANALYZE)
    with FakeOpenAI(api_key=secret) as fake:
        done, outputs, summary = run_step(
            step(flow, "analyze", "Analyze")["run"],
            fresh_site,
            tmp_path,
            {
                "OPENAI_API_KEY": secret,
                "OPENAI_BASE_URL": fake.base_url,
                "ANALYSIS_MODEL": "model-from-a-variable",
                "LIMIT": "5",
                "FORCE": "false",
            },
        )
        assert fake.calls == 1
        assert fake.requests[0].json["model"] == "model-from-a-variable"
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs == {"status": "0"}
    assert "## Analyses written" in summary
    sidecars = list((fresh_site / "analyses").rglob("*.md"))
    assert [p.name for p in sidecars] == ["welcome.md"]
    for text in (done.stdout, done.stderr, summary, sidecars[0].read_text()):
        assert secret not in text


def test_analyze_step_with_failures_still_lets_the_pull_request_open(
    fresh_site: Path, tmp_path: Path
) -> None:
    """analyze exits 1; the step records it and succeeds; the last step fails the run."""
    flow = load_workflow(ANALYZE)
    (fresh_site / "content" / "second.md").write_text(
        article("A second article", date="2024-01-01T00:00:00+00:00")
    )
    with FakeOpenAI() as fake:
        fake.responder = lambda body: (
            Reply(content="") if "A second article" in json.dumps(body) else None
        )
        done, outputs, summary = run_step(
            step(flow, "analyze", "Analyze")["run"],
            fresh_site,
            tmp_path,
            {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": fake.base_url, "LIMIT": "", "FORCE": ""},
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs == {"status": "1"}
    assert "analyze failed (exit status 1)" in summary and "second.md" in summary
    assert len(list((fresh_site / "analyses").rglob("*.md"))) == 1  # the one that worked
    final = step(flow, "analyze", "Summarize")["run"]
    for status, code in (("1", 1), ("0", 0)):
        env = {"OPERATION": "created", "PR_URL": "https://x/pull/1", "STATUS": status}
        done, _, summary = run_step(final, fresh_site, tmp_path, env)
        assert done.returncode == code
        assert "Pull request (created): https://x/pull/1" in summary
    assert "::error" in run_step(final, fresh_site, tmp_path, {**env, "STATUS": "1"})[0].stdout


# -- a project site under /repo/, served and crawled --------------------------------------


class _Pages(BaseHTTPRequestHandler):
    """GitHub Pages for a project site: /repo/<path> is site/<path>; nothing else."""

    site: Path

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if not path.startswith(PREFIX) and path != PREFIX.rstrip("/"):
            return self._send(404, b"not under /repo/", "text/plain")
        target = self.site / path[len(PREFIX) :]
        try:
            target.resolve().relative_to(self.site.resolve())
        except ValueError:
            return self._send(404, b"outside the site", "text/plain")
        if target.is_dir():
            if not path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", path + "/")
                self.end_headers()
                return None
            target = target / "index.html"
        if not target.is_file():
            return self._send(404, (self.site / "404.html").read_bytes(), "text/html")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return self._send(200, target.read_bytes(), kind)

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer, not a hop
        return None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name] or "")
        if tag == "form" and (values.get("method") or "get").lower() == "get":
            self.links.append(values.get("action") or "")  # the header's search box
        if values.get("srcset"):
            self.links += [part.split()[0] for part in (values["srcset"] or "").split(",")]
        if tag == "meta" and (values.get("property") or "") in ("og:url", "og:image"):
            self.links.append(values.get("content") or "")

    handle_startendtag = handle_starttag


def links_in_html(text: str) -> list[str]:
    parser = _Links()
    parser.feed(text)
    parser.close()
    return parser.links


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The example site built by pages.yml's build step as configure-pages would set it
    for https://user.github.io/repo, served at http://127.0.0.1:PORT/repo/."""
    tmp = tmp_path_factory.mktemp("pages")
    root = copy_example(tmp / "fork")
    build = step(load_workflow(PAGES), "build", "Build the site")
    done, _, _ = run_step(build["run"], root, tmp, {"PAGES_BASE_URL": f"https://{PAGES_HOST}/repo"})
    assert done.returncode == 0, done.stderr
    assert SUMMARY_LINE.match(done.stdout.strip().splitlines()[-1]), done.stdout
    handler = type("Pages", (_Pages,), {"site": root / "site"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root / "site", f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_every_link_feed_entry_and_sitemap_url_answers_200_under_the_repo_path(
    served_site: tuple[Path, str],
) -> None:
    site, origin = served_site
    opener = build_opener(ProxyHandler({}), _NoRedirect())

    def fetch(url: str) -> tuple[int, str, bytes]:
        try:
            with opener.open(url, timeout=10) as answer:
                return answer.status, answer.headers.get_content_type(), answer.read()
        except HTTPError as error:
            return error.code, "", b""

    def local(url: str, base: str) -> str | None:
        """The URL to ask the local server, or None for another site's page."""
        absolute = urldefrag(urljoin(base, url.strip())).url
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc == PAGES_HOST:
            query = f"?{parts.query}" if parts.query else ""
            return f"{origin}{parts.path}{query}"
        if absolute.startswith(origin + "/"):
            return absolute
        return None  # an outlet's original article, mailto:, ...

    queue: list[tuple[str, str]] = [(f"{origin}{PREFIX}", "the start")]
    # The sitemap (and any sitemap index) and robots.txt: every <loc> must answer 200.
    locs: list[str] = []
    sitemaps = [f"{origin}{PREFIX}sitemap.xml"]
    status, _, robots = fetch(f"{origin}{PREFIX}robots.txt")
    assert status == 200
    for line in robots.decode().splitlines():
        if line.lower().startswith("sitemap:"):
            sitemaps.append(local(line.split(":", 1)[1], origin) or "robots.txt: foreign sitemap")
    while sitemaps:
        url = sitemaps.pop()
        status, _, body = fetch(url)
        assert status == 200, url
        tree = ET.fromstring(body)
        for loc in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc"):
            target = local(loc.text or "", url)
            assert target is not None, f"sitemap <loc> on another host: {loc.text}"
            if tree.tag.endswith("sitemapindex"):
                sitemaps.append(target)
            else:
                locs.append(target)
                queue.append((target, f"sitemap {url}"))

    seen: dict[str, int] = {}
    broken: list[str] = []
    html_pages = feeds = entries = 0
    while queue:
        url, referrer = queue.pop()
        if url in seen:
            if seen[url] != 200:
                broken.append(f"{referrer} -> {url}: {seen[url]}")
            continue
        status, kind, body = fetch(url)
        seen[url] = status
        if status != 200:
            broken.append(f"{referrer} -> {url}: {status}")
            continue
        found: list[str] = []
        if kind == "text/html":
            html_pages += 1
            found = links_in_html(body.decode("utf-8"))
        elif kind == "text/css":
            found = re.findall(r"url\(\s*['\"]?([^'\")]+)", body.decode("utf-8"))
        elif url.endswith(".xml") and b"http://www.w3.org/2005/Atom" in body:
            feeds += 1
            feed = feedparser.parse(body)
            assert not feed.bozo, f"{url}: {feed.bozo_exception}"
            found = [link.href for link in feed.feed.get("links", [])]
            for entry in feed.entries:
                entries += 1
                assert entry.get("link"), f"{url}: an entry without a link"
                found.append(entry.link)
                found += [link.href for link in entry.get("links", [])]
                for content in entry.get("content", []):
                    found += [urljoin(entry.link, x) for x in links_in_html(content.value)]
        for link in found:
            target = local(link, url)
            if target is not None:
                queue.append((target, url))

    assert not broken, "\n".join(sorted(set(broken)))
    assert html_pages > 20 and feeds >= 2 and entries > 0 and locs
    # Nothing written is unreachable (404.html is what a missing page gets).
    served = {unquote(urlsplit(u).path) for u, s in seen.items() if s == 200}
    for page in site.rglob("*.html"):
        rel = page.relative_to(site).as_posix()
        path = PREFIX + (rel.removesuffix("index.html") if rel.endswith("index.html") else rel)
        assert path in served or rel == "404.html", f"no link leads to {path}"


def test_a_page_outside_the_repo_path_is_not_found(served_site: tuple[Path, str]) -> None:
    """The server stands in for Pages faithfully: a link missing /repo/ would fail."""
    _, origin = served_site
    opener = build_opener(ProxyHandler({}), _NoRedirect())
    for url, code in ((f"{origin}/feed.xml", 404), (f"{origin}{PREFIX}tags", 301)):
        with pytest.raises(HTTPError) as error:
            opener.open(url, timeout=10)
        assert error.value.code == code


# -- the build's last line and the size limit ------------------------------------------------


def site_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())


def test_build_ends_with_the_summary_line_and_warns_near_the_pages_limit(
    site, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marginalia.words import human_size

    root = site({"content/a.md": article("A"), "content/b.md": article("B")})
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    first = run("build", "--root", root)
    assert first.status == 0 and first.err == ""
    last = first.out.strip().splitlines()[-1]
    match = SUMMARY_LINE.match(last)
    assert match, last
    size = site_bytes(root)
    assert match["size"] == human_size(size)

    def build_with_limit(limit: int | str):
        monkeypatch.setenv("MARGINALIA_PAGES_SIZE_LIMIT", str(limit))
        result = run("build", "--root", root)
        assert result.status == 0, result.err
        assert SUMMARY_LINE.match(result.out.strip().splitlines()[-1]), result.out
        return result

    assert build_with_limit(size * 2).err == ""  # 50%: quiet
    near = build_with_limit(size * 10 // 9).err  # 90%
    assert re.fullmatch(
        r"site/: warning: site/ is [\d.]+ \w+, (89|90)% of GitHub Pages' [\d.]+ \w+ limit "
        r"on a published site: .*\n",
        near,
    ), near
    assert "OVER" not in near
    just_under = build_with_limit(int(size / 0.8)).err  # exactly 80% warns too
    assert "% of GitHub Pages'" in just_under
    over = build_with_limit(size - 1).err
    assert over.startswith("site/: warning: OVER THE LIMIT: site/ is ")
    assert f"over GitHub Pages' {human_size(size - 1)} limit" in over
    assert "may refuse to publish it" in over

    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # annotations on the run's page
    assert build_with_limit(size - 1).err.startswith("::error title=Site size::site/ is ")
    assert build_with_limit(size * 10 // 9).err.startswith("::warning title=Site size::")


def test_a_size_limit_that_is_not_a_number_is_a_usage_error(
    site, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site({"content/a.md": article("A")})
    for bad in ("1GB", "-5", "0", "1e9"):
        monkeypatch.setenv("MARGINALIA_PAGES_SIZE_LIMIT", bad)
        result = run("build", "--root", root)
        assert result.status == 2
        assert "MARGINALIA_PAGES_SIZE_LIMIT must be a whole number of bytes" in result.err
        assert not (root / "site").exists()


def test_the_default_limit_is_github_pages_1_gb(
    run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the variable the limit is 1 GB (a build of that size is faked here)."""
    from types import SimpleNamespace

    import marginalia.build

    monkeypatch.delenv("MARGINALIA_PAGES_SIZE_LIMIT", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for size, expected in (
        (799_000_000, ""),
        (850_000_000, "site/: warning: site/ is 850.0 MB, 85% of GitHub Pages' 1.0 GB limit"),
        (
            1_200_000_000,
            "site/: warning: OVER THE LIMIT: site/ is 1.2 GB, over GitHub Pages' 1.0 GB",
        ),
    ):
        published = SimpleNamespace(written=1, unchanged=0, removed=0, total_bytes=size)
        report = SimpleNamespace(pages=1, published=published, seconds=0.5, warnings=[])
        monkeypatch.setattr(marginalia.build, "build", lambda *a, report=report, **k: report)
        result = run("build", "--root", tmp_path)
        assert result.status == 0
        assert result.err.startswith(expected) and bool(result.err) == bool(expected)
        assert SUMMARY_LINE.match(result.out.strip())


# -- init ------------------------------------------------------------------------------


def test_init_makes_a_ready_to_push_site_that_builds_as_it_is(tmp_path: Path, run) -> None:
    target = tmp_path / "my-archive"
    assert run("init", target).status == 0
    for name in SITE_WORKFLOWS:
        copied = target / ".github" / "workflows" / name
        assert copied.read_bytes() == (WORKFLOWS / name).read_bytes(), name
    readme = (target / "README.md").read_text()
    assert readme.startswith("# my-archive\n")
    assert "Source: **GitHub Actions**" in readme and "OPENAI_API_KEY" in readme
    assert (target / "config.yaml").is_file() and (target / "prompts" / "analysis.md").is_file()
    assert list((target / "content").rglob("*.md"))
    # it builds as it is: in-process with one warning (base_url is init's placeholder),
    # and as pages.yml runs it, with the Pages address and no warning
    built = run("build", "--root", target)
    assert built.status == 0, built.err
    assert built.err.startswith("config.yaml: warning: base_url is still the placeholder")
    assert len(built.err.splitlines()) == 1, built.err
    script = step(load_workflow(PAGES), "build", "Build the site")["run"]
    done, _, _ = run_step(
        script, target, tmp_path, {"PAGES_BASE_URL": "https://user.github.io/my-archive"}
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    assert SUMMARY_LINE.match(done.stdout.strip().splitlines()[-1])
    index = (target / "site" / "index.html").read_text()
    assert 'href="/my-archive/' in index


def test_init_never_overwrites_an_existing_file(tmp_path: Path, run) -> None:
    target = tmp_path / "existing"
    mine = {
        "README.md": "# My own README\n",
        ".github/workflows/pages.yml": "# my own workflow\n",
        ".gitignore": "node_modules/\n",
        "build.py": "print('mine')\n",
    }
    for rel, text in mine.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_text(text)
    written = init_site(target)
    for rel, text in mine.items():
        assert (target / rel).read_text() == text, rel
        assert Path(rel) not in written
    assert (target / ".github/workflows/analyze.yml").read_bytes() == ANALYZE.read_bytes()
    assert Path(".github/workflows/analyze.yml") in written
    assert run("init", target).status == 1  # now a site: refused as before


def test_requirements_name_where_ci_gets_marginalia_never_the_pypi_name() -> None:
    """`marginalia` on PyPI is another project: requirements.txt names a git URL."""
    commit = "a" * 40
    vcs = json.dumps(
        {
            "url": "https://github.com/someone/marginalia",
            "vcs_info": {"vcs": "git", "commit_id": commit, "requested_revision": "main"},
        }
    )
    assert requirement_from_direct_url(vcs, lambda _: None) == (
        f"marginalia @ git+https://github.com/someone/marginalia@{commit}"
    )
    local = json.dumps({"url": "file:///home/me/marginalia", "dir_info": {"editable": True}})
    asked: list[Path] = []

    def origin(path: Path):
        asked.append(path)
        return ("https://github.com/me/marginalia.git", commit)

    assert requirement_from_direct_url(local, origin) == (
        f"marginalia @ git+https://github.com/me/marginalia.git@{commit}"
    )
    assert asked == [Path("/home/me/marginalia")]
    assert requirement_from_direct_url(local, lambda _: None) is None
    assert requirement_from_direct_url(None, origin) is None
    assert requirement_from_direct_url("not json", origin) is None
    # Unknown: a commented example, so pip installs nothing and the workflow says why.
    text = requirements_txt(None)
    assert all(line.startswith("#") for line in text.splitlines() if line.strip())
    assert requirements_txt("marginalia @ git+https://x/y@z").splitlines()[-1] == (
        "marginalia @ git+https://x/y@z"
    )
    install = step(load_workflow(PAGES), "build", "Install Marginalia")["run"]
    assert 'python -c "import marginalia.cli"' in install and "::error" in install


def test_a_git_checkout_gives_its_origin_as_https_and_its_commit(tmp_path: Path) -> None:
    repo = tmp_path / "checkout"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    assert _git_origin(repo) is None  # no commit, no remote
    (repo / "f").write_text("x")
    git("add", "f")
    git("commit", "-q", "-m", "x")
    git("remote", "add", "origin", "git@github.com:someone/marginalia.git")
    remote, commit = _git_origin(repo) or ("", "")
    assert remote == "https://github.com/someone/marginalia.git"
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert _git_origin(tmp_path) is None  # not a checkout


def test_the_workflows_are_found_in_a_source_checkout() -> None:
    if (REPO / "marginalia" / "builtin").exists():
        pytest.skip("a built wheel's files are in the package folder")
    assert builtin_dir("workflows") == WORKFLOWS
    assert builtin_dir("layouts") == REPO / "layouts"


def test_a_wheel_carries_both_workflows_and_init_copies_them(tmp_path: Path) -> None:
    """Build the wheel offline (hatchling from the test extra), install it by unpacking,
    and run init from it: the workflows come from inside the package."""
    pytest.importorskip("hatchling", reason="pip install -e '.[test]'")
    dist = tmp_path / "dist"
    done = subprocess.run(
        [PYTHON, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = dist.glob("marginalia-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in SITE_WORKFLOWS:
            assert f"marginalia/builtin/workflows/{name}" in names
        for name in SITE_ISSUE_TEMPLATES:
            assert f"marginalia/builtin/issue_templates/{name}" in names
        archive.extractall(unpacked)
    code = (
        "import sys, marginalia.paths as p, marginalia.scaffold as s\n"
        "print(p.__file__); print(p.builtin_dir('workflows'))\n"
        "s.init_site(__import__('pathlib').Path(sys.argv[1]))\n"
    )
    site = tmp_path / "from-wheel"
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    done = subprocess.run(
        [PYTHON, "-c", code, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    module, workflows = done.stdout.splitlines()
    assert Path(module).is_relative_to(unpacked)
    assert Path(workflows) == unpacked / "marginalia" / "builtin" / "workflows"
    for name in SITE_WORKFLOWS:
        assert (site / ".github" / "workflows" / name).read_bytes() == (
            WORKFLOWS / name
        ).read_bytes()
    for name in SITE_ISSUE_TEMPLATES:
        form = REPO / ".github" / "ISSUE_TEMPLATE" / name
        assert (site / ".github" / "ISSUE_TEMPLATE" / name).read_bytes() == form.read_bytes()


def readme_section(heading: str) -> str:
    """A `## heading` section of README.md, its white space folded to single spaces."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(f"## {heading}\n") :]
    return " ".join(section[: section.index("\n## ", 1)].split())


def test_readme_takes_a_new_user_from_fork_to_live_site() -> None:
    section = readme_section("Publishing on GitHub Pages")
    for needed in (
        "init",
        "Source: **GitHub Actions**",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANALYSIS_MODEL",
        "Allow GitHub Actions to create and approve pull requests",
        "analyses/update",
        "1 GB",
        "MARGINALIA_PAGES_SIZE_LIMIT",
    ):
        assert needed in section, needed
