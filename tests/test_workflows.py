"""Every GitHub Actions workflow, audited; the analysis request workflow (issue 14), run.

- actionlint (with shellcheck) and zizmor find nothing in the repository's workflows
  nor in those `init` gives a new site; every action is pinned to a full commit SHA,
  the same one wherever it is used; no `${{ }}` expression sits inside a `run:` script.
- request.yml's shell steps run here as GitHub's runner runs them, with the fixtures of
  tests/request_events/ as the API's answers: a stand-in `gh` on PATH answers the API
  calls and records the comments, and tests/fake_openai.py stands in for the model.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON, REPO
from fake_openai import FakeOpenAI, Reply
from test_publish import copy_example, load_workflow, python_first_on_path, run_step, step, tool
from test_request import EVENTS, MISSING, REQUEST_WORKFLOW

from marginalia.request.form import APPROVAL_LABEL
from marginalia.scaffold import init_site

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def audit(paths: list[Path]) -> list[str]:
    """What actionlint (with shellcheck) and zizmor (offline) say of the workflows."""
    said = []
    lint = subprocess.run(
        [tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if lint.returncode or lint.stdout or lint.stderr:
        said.append(f"actionlint ({lint.returncode}): {lint.stdout}{lint.stderr}")
    zizmor = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if zizmor.returncode or "No findings to report" not in zizmor.stdout:
        said.append(f"zizmor ({zizmor.returncode}): {zizmor.stdout}{zizmor.stderr}")
    return said


def test_every_workflow_passes_actionlint_and_zizmor() -> None:
    assert len(WORKFLOWS) >= 3
    assert audit(WORKFLOWS) == []


def test_the_workflows_init_writes_pass_actionlint_and_zizmor(tmp_path: Path) -> None:
    init_site(tmp_path / "new")
    written = sorted((tmp_path / "new" / ".github" / "workflows").glob("*.yml"))
    assert [p.name for p in written] == ["analyze.yml", "pages.yml", "request.yml"]
    assert audit(written) == []


def test_zizmor_does_report_an_injection_and_an_unpinned_action(tmp_path: Path) -> None:
    """The audit above is live: the same call finds what issue 14 forbids."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    text = REQUEST_WORKFLOW.read_text()
    text = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v7", text, count=1)
    text = text.replace(
        'run: gh issue comment "$NUMBER"',
        'run: echo "${{ github.event.issue.title }}" && gh issue comment "$NUMBER"',
    )
    broken.write_text(text)
    said = "\n".join(audit([broken]))
    assert "unpinned-uses" in said and "template-injection" in said


def test_every_action_is_pinned_to_one_full_sha_and_no_run_script_expands_an_expression() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        flow = load_workflow(path)
        assert flow["permissions"] == {}, f"{path.name}: permissions belong to each job"
        text = path.read_text()
        for name, job in flow["jobs"].items():
            assert job.get("permissions"), f"{path.name}: job {name} says what it may do"
            for each in job["steps"]:
                if "uses" in each:
                    assert PINNED.match(each["uses"]), each["uses"]
                    action, sha = each["uses"].split("@")
                    pins.setdefault(action, set()).add(sha)
                    assert re.search(rf"@{sha} # v\d", text), f"{each['uses']}: name its tag"
                assert "${{" not in each.get("run", ""), f"{path.name}: {each.get('name')}"
                assert "${{" not in each.get("with", {}).get("script", "")
    assert all(len(shas) == 1 for shas in pins.values()), pins


# -- request.yml --------------------------------------------------------------------------


def test_the_request_workflow_runs_on_approval_with_least_privilege() -> None:
    flow = load_workflow(REQUEST_WORKFLOW)
    assert flow["on"] == {"issues": {"types": ["labeled"]}}
    assert flow["concurrency"]["group"] == "analysis-request-${{ github.event.issue.number }}"
    check, analyze = flow["jobs"]["check"], flow["jobs"]["analyze"]
    assert check["if"] == f"github.event.label.name == '{APPROVAL_LABEL}'"
    assert check["permissions"] == {"contents": "read", "issues": "write"}
    assert analyze["needs"] == "check"
    assert analyze["if"] == "needs.check.outputs.action == 'run'"
    assert analyze["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "issues": "write",
    }
    for job in (check, analyze):
        for each in job["steps"]:
            if each.get("uses", "").startswith("actions/checkout@"):
                assert each["with"]["persist-credentials"] is False
    # the key: in the analyze step's environment and nowhere else
    text = REQUEST_WORKFLOW.read_text()
    assert text.count("secrets.") == 1
    assert step(flow, "analyze", "Analyze")["env"]["OPENAI_API_KEY"] == (
        "${{ secrets.OPENAI_API_KEY }}"
    )
    pr = step(flow, "analyze", "Open a pull request")["with"]
    assert pr["branch"] == "analysis-request/${{ github.event.issue.number }}"
    assert pr["body"].startswith("Closes #${{ github.event.issue.number }}.")
    assert pr["add-paths"] == "analyses/**"
    # the permission comes from the API, never from the payload's author_association
    assert (
        "collaborators/$SENDER/permission"
        in step(flow, "check", "Read the request as it is now")["run"]
    )
    assert "author_association" not in text


@pytest.fixture
def runner(tmp_path: Path):
    """A site, a stand-in `gh` and this `python` first on PATH, and the runner's variables: run(job, step,
    env) -> (process, outputs); `runner.comments` lists the comments `gh` was asked to
    post; `runner.answers` maps API paths to what `gh api` prints (None: it fails)."""
    site = copy_example(tmp_path / "site")
    python_first_on_path(tmp_path)  # `python` in tmp_path/bin: the one run_step puts first
    bin_dir = tmp_path / "bin"
    record = tmp_path / "gh-calls.jsonl"
    answers_file = tmp_path / "gh-answers.json"
    (bin_dir / "gh").write_text(
        f"#!{PYTHON}\n"
        "import json, os, sys\n"
        "args = sys.argv[1:]\n"
        "body = None\n"
        "if '--body-file' in args:\n"
        "    body = open(args[args.index('--body-file') + 1], encoding='utf-8').read()\n"
        "elif '--body' in args:\n"
        "    body = args[args.index('--body') + 1]\n"
        f"with open({str(record)!r}, 'a', encoding='utf-8') as log:\n"
        "    log.write(json.dumps({'args': args, 'body': body}) + '\\n')\n"
        "if args[0] == 'api':\n"
        f"    answers = json.load(open({str(answers_file)!r}, encoding='utf-8'))\n"
        "    path = next(a for a in args[1:] if not a.startswith('-'))\n"
        "    answer = next((v for k, v in answers.items() if path.startswith(k)), None)\n"
        "    if answer is None:\n"
        "        sys.exit('gh: Not Found (HTTP 404)')\n"
        "    print(json.dumps(answer))\n"
    )
    (bin_dir / "gh").chmod(0o755)
    flow = load_workflow(REQUEST_WORKFLOW)
    event = json.loads((EVENTS / "issues-labeled.json").read_text())

    class Runner:
        def __init__(self) -> None:
            self.site = site
            self.event = event
            self.answers = {
                "repos/octo-org/news/issues/7": event["issue"],
                "repos/octo-org/news/collaborators/a-maintainer/permission": json.loads(
                    (EVENTS / "permission-write.json").read_text()
                ),
                "repos/octo-org/news/issues?": json.loads((EVENTS / "requests.json").read_text()),
            }

        def run(self, job: str, name: str, env: dict[str, str] | None = None):
            answers_file.write_text(json.dumps(self.answers))
            event_file = tmp_path / "event.json"
            event_file.write_text(json.dumps(self.event))
            full_env = {
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "GITHUB_REPOSITORY": "octo-org/news",
                "GITHUB_EVENT_PATH": str(event_file),
                "GH_TOKEN": "ghs_fake",
                "NUMBER": str(self.event["issue"]["number"]),
                "SENDER": self.event["sender"]["login"],
                **(env or {}),
            }
            done, outputs, _ = run_step(step(flow, job, name)["run"], site, tmp_path, full_env)
            return done, outputs

        @property
        def comments(self) -> list[dict]:
            if not record.exists():
                return []
            calls = [json.loads(line) for line in record.read_text().splitlines()]
            return [c for c in calls if c["args"][:2] == ["issue", "comment"]]

    return Runner()


def run_check_job(runner) -> dict[str, str]:
    """The check job's steps after the install, as the runner runs them; its outputs."""
    done, _ = runner.run("check", "Read the request as it is now")
    assert done.returncode == 0, done.stderr
    done, outputs = runner.run("check", "Decide")
    assert done.returncode == 0, done.stderr
    if outputs["action"] != "ignore":
        done, _ = runner.run("check", "Answer on the issue")
        assert done.returncode == 0, done.stderr
    return outputs


def test_the_check_job_approves_a_good_request_and_says_so(runner) -> None:
    outputs = run_check_job(runner)
    assert outputs == {"action": "run", "article": f"content/{MISSING}"}
    (comment,) = runner.comments
    assert comment["args"][:3] == ["issue", "comment", "7"]
    assert comment["args"][3:5] == ["--repo", "octo-org/news"]
    assert comment["body"].startswith(f"Approved: analyzing `content/{MISSING}`")


def test_the_check_job_reads_the_issue_again_and_refuses_an_edited_request(runner) -> None:
    now = json.loads(json.dumps(runner.event["issue"]))
    now["body"] = now["body"].replace(MISSING, "../config.yaml")
    runner.answers["repos/octo-org/news/issues/7"] = now
    assert run_check_job(runner)["action"] == "refuse"
    (comment,) = runner.comments
    assert "changed after the request was approved" in comment["body"]


def test_an_account_the_permission_api_does_not_know_cannot_approve(runner) -> None:
    del runner.answers["repos/octo-org/news/collaborators/a-maintainer/permission"]
    assert run_check_job(runner)["action"] == "refuse"
    (comment,) = runner.comments
    assert "write, maintain or admin permission" in comment["body"]


def test_hostile_issue_text_never_reaches_a_shell(runner, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    hostile = f'`touch {pwned}` $(touch {pwned}) ${{{{ github.token }}}} "; touch {pwned}; "\n'
    runner.event["issue"]["title"] = hostile
    runner.event["issue"]["body"] = runner.event["issue"]["body"].replace(
        "_No response_", hostile + "\n### Article page\n\n$(touch " + str(pwned) + ")"
    )
    runner.answers["repos/octo-org/news/issues/7"] = runner.event["issue"]
    runner.event["sender"]["login"] = "a-maintainer"
    assert run_check_job(runner) == {"action": "run", "article": f"content/{MISSING}"}
    assert not pwned.exists()
    assert "touch" not in runner.comments[0]["body"]


def test_the_analyze_step_writes_only_the_requested_article_and_keeps_the_key(
    runner,
) -> None:
    secret = "sk-test-never-shown-0123456789"
    with FakeOpenAI(api_key=secret) as fake:
        done, _ = runner.run(
            "analyze",
            "Analyze",
            {
                "OPENAI_API_KEY": secret,
                "OPENAI_BASE_URL": fake.base_url,
                "ANALYSIS_MODEL": "",
                "ARTICLE": f"content/{MISSING}",
            },
        )
        assert fake.calls == 1
    assert done.returncode == 0, done.stdout + done.stderr
    assert secret not in done.stdout + done.stderr
    sidecar = runner.site / "analyses" / MISSING
    assert sidecar.is_file() and secret not in sidecar.read_text()
    # the other missing and stale articles were left alone: every other sidecar as it was
    analyses = runner.site / "analyses"
    others = {p.relative_to(analyses): p.read_bytes() for p in analyses.rglob("*.md")}
    del others[Path(MISSING)]
    assert others == {
        p.relative_to(REPO / "analyses"): p.read_bytes() for p in (REPO / "analyses").rglob("*.md")
    }


def test_a_failed_analysis_comments_the_reason(runner, tmp_path: Path) -> None:
    with FakeOpenAI(replies=[Reply(status=400, error_message="model not found")]) as fake:
        done, _ = runner.run(
            "analyze",
            "Analyze",
            {
                "OPENAI_API_KEY": "",
                "OPENAI_BASE_URL": fake.base_url,
                "ANALYSIS_MODEL": "",
                "ARTICLE": f"content/{MISSING}",
            },
        )
    assert done.returncode == 1
    run_url = "https://github.com/octo-org/news/actions/runs/1"
    done, _ = runner.run("analyze", "Say what went wrong", {"RUN_URL": run_url})
    assert done.returncode == 0, done.stderr
    (comment,) = runner.comments
    body = comment["body"]
    assert body.startswith("The analysis failed (`python build.py analyze` exited with status 1)")
    assert "model not found" in body and body.rstrip().endswith(run_url)


def test_the_pull_request_link_is_commented_and_no_pull_request_is_a_failure(runner) -> None:
    pr = "https://github.com/octo-org/news/pull/8"
    done, _ = runner.run("analyze", "Answer on the issue", {"PR_URL": pr})
    assert done.returncode == 0, done.stderr
    assert pr in runner.comments[0]["body"]
    done, _ = runner.run("analyze", "Answer on the issue", {"PR_URL": ""})
    assert done.returncode == 1
    done, _ = runner.run("analyze", "Say what went wrong", {"RUN_URL": "https://x/runs/2"})
    assert "wrote no new analysis" in runner.comments[-1]["body"]
