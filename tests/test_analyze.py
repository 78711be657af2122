# Tests take the imported `fake_openai` fixture as an argument of the same name:
# ruff: noqa: F811
"""The analysis pass (issue 3): `analyze` and `check` on real sites in tmp_path, the real
openai client talking to the fake Chat Completions server on 127.0.0.1.

One rule per test. The CLI runs in-process, except where a process must die (kill -9).
"""

from __future__ import annotations

import hashlib
import html.parser
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import PYTHON, REPO, article, write_files
from fake_openai import (  # noqa: F401 (the fixture, by name)
    FakeOpenAI,
    Reply,
    fake_openai,
    structured_content,
)

import marginalia.analysis.run  # noqa: F401 - imported up front: openai's import time is not a test's
from marginalia import frontmatter
from marginalia.analysis.answer import SCHEMA, system_message
from marginalia.analysis.sidecar import read_sidecar
from marginalia.content import article_sha256
from marginalia.errors import Problems

SYSTEM = "You read news critically."
PROMPT = f"""\
---
system: {SYSTEM}
---
Title: {{{{ article.title }}}}

{{{{ article.body }}}}
"""

CONFIG = """\
title: Test Archive
base_url: https://example.org/
analysis:
  model: config-model
  max_retries: 2
  timeout: 10
"""


# -- helpers -------------------------------------------------------------------------


@pytest.fixture
def service(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake server, with OPENAI_BASE_URL and a test key pointing the client at it."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    return fake_openai


def make_site(site, articles: dict[str, str], config: str = CONFIG, **files: str) -> Path:
    """A site with our own prompt; articles keyed by path below content/."""
    return site(
        {
            "config.yaml": config,
            "prompts/analysis.md": PROMPT,
            **{f"content/{rel}": text for rel, text in articles.items()},
            **files,
        }
    )


def prompt_sha(root: Path) -> str:
    return hashlib.sha256((root / "prompts/analysis.md").read_bytes()).hexdigest()


def sidecar_text(
    root: Path,
    rel: str,
    *,
    title: str,
    body: str,
    locked: bool = False,
    article_hash: str | None = None,
    prompt_hash: str | None = None,
) -> str:
    """A contract-format sidecar; by default fresh for an article of that title and body."""
    return (
        "---\n"
        f"article: {rel}\n"
        "model: hand-written-model\n"
        "prompt: analysis\n"
        f"prompt_sha256: {prompt_hash or prompt_sha(root)}\n"
        f"article_sha256: {article_hash or article_sha256(title, body)}\n"
        "created: 2024-07-01T10:00:00+00:00\n"
        "usage: {input_tokens: 10, output_tokens: 20}\n"
        f"locked: {'true' if locked else 'false'}\n"
        "---\n"
        f"### Hand-written analysis of {title}\n"
    )


def requested_titles(fake: FakeOpenAI, since: int = 0) -> list[str]:
    """The article titles the requests asked about (from our prompt's 'Title:' line)."""
    titles = []
    for request in fake.requests[since:]:
        match = re.search(r"^Title: (.*)$", request.last_user_message, re.MULTILINE)
        titles.append(match.group(1) if match else "?")
    return titles


def for_titles(replies: dict[str, Reply]):
    """A responder: each reply for the article with its title, the default for the rest."""

    def respond(body) -> Reply | None:
        asked = body["messages"][-1]["content"]
        return next((r for title, r in replies.items() if f"Title: {title}\n" in asked), None)

    return respond


def for_title(title: str, reply: Reply):
    """A responder: `reply` for the article with that title, the default for the rest."""
    return for_titles({title: reply})


def sidecar_of(root: Path, rel: str):
    """The sidecar as marginalia reads it; it must parse without a single problem."""
    problems = Problems()
    sidecar = read_sidecar(root, rel, problems)
    assert not problems.errors, problems.errors
    return sidecar


def sidecars(root: Path) -> list[str]:
    base = root / "analyses"
    return (
        sorted(p.relative_to(base).as_posix() for p in base.rglob("*.md")) if base.is_dir() else []
    )


def five_states(site) -> tuple[Path, dict[str, str]]:
    """One article in each state, plus a prompt-stale one: {state: path below content/}."""
    paths = {
        "fresh": "2024/01/fresh.md",
        "missing": "2024/02/missing.md",
        "stale": "2024/03/stale.md",
        "prompt-stale": "2024/04/prompt-stale.md",
        "locked": "2024/05/locked.md",
        "opted out": "2024/06/opted-out.md",
    }
    root = make_site(
        site,
        {
            paths["fresh"]: article("Fresh", "2024-01-01", "Fresh body."),
            paths["missing"]: article("Missing", "2024-02-01", "Missing body."),
            paths["stale"]: article("Stale", "2024-03-01", "Stale body, edited since."),
            paths["prompt-stale"]: article("PromptStale", "2024-04-01", "Prompt-stale body."),
            paths["locked"]: article("Locked", "2024-05-01", "Locked body, edited since."),
            paths["opted out"]: article(
                "OptedOut", "2024-06-01", "Opted-out body.", analysis="false"
            ),
        },
    )
    write_files(
        root,
        {
            f"analyses/{paths['fresh']}": sidecar_text(
                root, paths["fresh"], title="Fresh", body="Fresh body."
            ),
            f"analyses/{paths['stale']}": sidecar_text(
                root, paths["stale"], title="Stale", body="Stale body."
            ),
            f"analyses/{paths['prompt-stale']}": sidecar_text(
                root,
                paths["prompt-stale"],
                title="PromptStale",
                body="Prompt-stale body.",
                prompt_hash="0" * 64,
            ),
            f"analyses/{paths['locked']}": sidecar_text(
                root, paths["locked"], title="Locked", body="Locked body.", locked=True
            ),
        },
    )
    return root, paths


def read_bytes(root: Path, rel: str) -> bytes:
    return (root / "analyses" / rel).read_bytes()


# -- the plan ------------------------------------------------------------------------


def test_check_counts_every_state(site, run, service):
    root, _ = five_states(site)
    result = run("check", "--root", root)
    assert result.status == 0, result.err
    assert "Analyses: 1 fresh, 1 missing, 2 stale, 1 locked, 1 opted out" in result.out
    assert "(1 of the stale ones only because the prompt changed)" in result.out
    assert service.calls == 0


def test_analyze_does_missing_and_stale_only(site, run, service):
    root, paths = five_states(site)
    fresh, locked = read_bytes(root, paths["fresh"]), read_bytes(root, paths["locked"])
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err
    assert sorted(requested_titles(service)) == ["Missing", "PromptStale", "Stale"]
    assert read_bytes(root, paths["fresh"]) == fresh
    assert read_bytes(root, paths["locked"]) == locked
    assert not (root / "analyses" / paths["opted out"]).exists()
    assert "Analyzed 3 articles, 0 failed, skipped 1 fresh, 1 locked, 1 opted out" in result.out
    assert "Analyses: 2 fresh" not in run("check", "--root", root).out  # locked stays locked
    assert "4 fresh, 0 missing, 0 stale, 1 locked, 1 opted out" in run("check", "--root", root).out


def test_force_redoes_all_but_locked_and_opted_out(site, run, service):
    root, paths = five_states(site)
    locked = read_bytes(root, paths["locked"])
    result = run("analyze", "--root", root, "--force")
    assert result.status == 0, result.out + result.err
    assert sorted(requested_titles(service)) == ["Fresh", "Missing", "PromptStale", "Stale"]
    assert read_bytes(root, paths["locked"]) == locked
    assert not (root / "analyses" / paths["opted out"]).exists()
    assert sidecar_of(root, paths["fresh"]).model != "hand-written-model"  # rewritten


PATH_ARGS = {
    "file relative to the working directory": ("site-root/content/2024/06/a.md", ["A"]),
    "file relative to the site root": ("content/2024/06/b.md", ["B"]),
    "absolute folder": ("{root}/content/2024/06", ["A", "B"]),
    "folder relative to content": ("2023", ["C"]),
}


@pytest.mark.parametrize("how", list(PATH_ARGS))
def test_path_arguments_limit_the_run(site, run, service, monkeypatch, tmp_path, how):
    root = make_site(
        site,
        {
            "2024/06/a.md": article("A", "2024-06-01"),
            "2024/06/b.md": article("B", "2024-06-02"),
            "2023/01/c.md": article("C", "2023-01-01"),
        },
    )
    monkeypatch.chdir(tmp_path)  # the site root's parent
    arg, expected = PATH_ARGS[how]
    result = run("analyze", "--root", root, arg.format(root=root))
    assert result.status == 0, result.out + result.err
    assert sorted(requested_titles(service)) == expected
    assert len(sidecars(root)) == len(expected)


def test_path_outside_content_is_a_usage_error(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A")})
    result = run("analyze", "--root", root, root / "config.yaml")
    assert result.status == 2
    assert "content/" in result.err
    assert service.calls == 0


def test_limit_takes_the_newest_first(site, run, service):
    root = make_site(
        site,
        {
            "2024/01/old.md": article("Old", "2024-01-01"),
            "2024/03/newest.md": article("Newest", "2024-03-01"),
            "2024/02/middle.md": article("Middle", "2024-02-01"),
        },
    )
    result = run("analyze", "--root", root, "--limit", "2")
    assert result.status == 0, result.out + result.err
    assert sorted(requested_titles(service)) == ["Middle", "Newest"]
    assert sidecars(root) == ["2024/02/middle.md", "2024/03/newest.md"]
    assert "1 over --limit" in result.out


# -- the request ---------------------------------------------------------------------


def test_model_comes_from_config_then_prompt_then_command_line(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A")})
    assert run("analyze", "--root", root).status == 0
    assert service.requests[-1].json["model"] == "config-model"
    assert run("analyze", "--root", root, "--force", "--model", "cli-model").status == 0
    assert service.requests[-1].json["model"] == "cli-model"
    assert sidecar_of(root, "2024/06/a.md").model == "cli-model"  # echoed by the fake


def test_prompt_front_matter_reaches_the_request(site, run, service):
    prompt = PROMPT.replace(
        "---\n", "---\nmodel: prompt-model\ntemperature: 0.7\nmax_output_tokens: 321\n", 1
    )
    root = make_site(
        site, {"2024/06/a.md": article("A", body="The body.")}, **{"prompts/analysis.md": prompt}
    )
    assert run("analyze", "--root", root).status == 0
    body = service.requests[0].json
    assert body["model"] == "prompt-model"
    assert body["temperature"] == 0.7
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 321
    assert body["messages"] == [
        {"role": "system", "content": system_message(SYSTEM)},  # the prompt's, then the shape
        {"role": "user", "content": "Title: A\n\nThe body."},
    ]
    assert "JSON object" in system_message(SYSTEM)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "analysis_with_notes", "strict": True, "schema": SCHEMA},
    }
    assert run("analyze", "--root", root, "--force", "--model", "cli-model").status == 0
    assert service.requests[-1].json["model"] == "cli-model"  # --model beats the prompt


@pytest.mark.parametrize(
    "template", ["Title: {{ article.no_such_field }}", "Title: {% if article.title %}unclosed"]
)
def test_prompt_template_error_names_the_prompt_file(site, run, service, template):
    prompt = f"---\nsystem: {SYSTEM}\n---\n{template}\n"
    root = make_site(site, {"2024/06/a.md": article("A")}, **{"prompts/analysis.md": prompt})
    result = run("analyze", "--root", root)
    assert result.status == 1
    assert "prompts/analysis.md" in result.err
    assert "Traceback" not in result.err
    assert service.calls == 0
    assert sidecars(root) == []


# -- the sidecar ---------------------------------------------------------------------

MODEL_TEXT = "### What is reported\nThe council voted.\n\n### Claims to check\n- The vote count."


def test_sidecar_records_model_usage_hashes_and_time(site, run, service):
    title, body = (
        "Council votes",
        "Seoul, 20 June 2024 — The city council voted today.\n\nMore text.\n",
    )
    config = CONFIG + "  price_per_million_tokens: {input: 1.0, output: 2.0}\n"
    root = make_site(
        site, {"2024/06/council.md": article(title, body=body, tags="[politics]")}, config=config
    )
    service.enqueue(
        Reply(
            content=structured_content(MODEL_TEXT, []),
            model="gpt-4o-mini-2024-07-18",
            usage={"prompt_tokens": 812, "completion_tokens": 402, "total_tokens": 1214},
        )
    )
    result = run("analyze", "--root", root, "--model", "gpt-4o-mini")
    assert result.status == 0, result.out + result.err

    text = (root / "analyses/2024/06/council.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["article"] == "2024/06/council.md"
    assert meta["model"] == "gpt-4o-mini-2024-07-18"  # as reported, not as requested
    assert meta["prompt"] == "analysis"
    assert meta["usage"] == {"input_tokens": 812, "output_tokens": 402}
    assert meta["article_sha256"] == article_sha256(title, body)
    assert meta["prompt_sha256"] == prompt_sha(root)
    assert meta["locked"] is False
    assert re.search(r"^created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)$", text, re.MULTILINE)

    sidecar = sidecar_of(root, "2024/06/council.md")
    assert sidecar.created.tzinfo is not None
    assert abs(time.time() - sidecar.created.timestamp()) < 120
    assert sidecar.body.strip() == MODEL_TEXT
    assert frontmatter.parse(text).body.strip() == MODEL_TEXT
    assert "Tokens: 812 in, 402 out; estimated cost $0.0016." in result.out  # 812*1 + 402*2


def test_tags_only_edit_makes_nothing_stale(site, run, service):
    root = make_site(
        site, {"2024/06/a.md": article("A", tags="[one]"), "2024/06/b.md": article("B")}
    )
    assert run("analyze", "--root", root).status == 0
    assert service.calls == 2
    path = root / "content/2024/06/a.md"
    path.write_text(
        article("A", tags="[one, two, three]", summary="A new summary."), encoding="utf-8"
    )
    result = run("analyze", "--root", root)
    assert result.status == 0
    assert service.calls == 2
    assert "Analyzed 0 articles" in result.out
    assert "2 fresh, 0 missing, 0 stale" in run("check", "--root", root).out


def test_body_edit_makes_exactly_one_call(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A"), "2024/06/b.md": article("B")})
    assert run("analyze", "--root", root).status == 0
    untouched = read_bytes(root, "2024/06/b.md")
    (root / "content/2024/06/a.md").write_text(
        article("A", body="A corrected body."), encoding="utf-8"
    )
    assert "1 fresh, 0 missing, 1 stale" in run("check", "--root", root).out
    assert run("analyze", "--root", root).status == 0
    assert requested_titles(service, since=2) == ["A"]
    assert sidecar_of(root, "2024/06/a.md").article_sha256 == article_sha256(
        "A", "A corrected body."
    )
    assert read_bytes(root, "2024/06/b.md") == untouched


def test_prompt_edit_makes_every_analysis_stale(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A"), "2024/06/b.md": article("B")})
    assert run("analyze", "--root", root).status == 0
    (root / "prompts/analysis.md").write_text(PROMPT + "\nBe brief.\n", encoding="utf-8")
    result = run("check", "--root", root)
    assert "0 fresh, 0 missing, 2 stale" in result.out
    assert "(2 of the stale ones only because the prompt changed)" in result.out
    assert run("analyze", "--root", root).status == 0
    assert sorted(requested_titles(service, since=2)) == ["A", "B"]
    assert {sidecar_of(root, rel).prompt_sha256 for rel in sidecars(root)} == {prompt_sha(root)}


# -- faults the client retries ---------------------------------------------------------


def test_429_with_retry_after_is_retried_after_the_wait(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A")})
    service.enqueue(Reply(status=429, retry_after=1.5))
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err
    assert service.calls == 2
    first, second = service.requests
    assert second.received_at - first.received_at >= 1.4  # the client's own backoff is <= 0.5 s
    assert "1 retry," in result.out
    assert sidecars(root) == ["2024/06/a.md"]


@pytest.mark.parametrize(
    "fault", [Reply(status=500), Reply(status=503), Reply(drop=True)], ids=["500", "503", "drop"]
)
def test_server_error_or_dropped_connection_is_retried(site, run, service, fault):
    root = make_site(site, {"2024/06/a.md": article("A")})
    service.enqueue(fault)
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err
    assert service.calls == 2
    assert "Analyzed 1 article, 0 failed" in result.out
    assert sidecar_of(root, "2024/06/a.md").body.startswith("### What is reported")


def test_hang_past_timeout_fails_that_article_only(site, run, service):
    config = CONFIG.replace("max_retries: 2", "max_retries: 1").replace(
        "timeout: 10", "timeout: 0.5"
    )
    root = make_site(
        site,
        {
            "2024/06/hangs.md": article("Hangs"),
            "2024/06/b.md": article("B"),
            "2024/06/c.md": article("C"),
        },
        config=config,
    )
    service.responder = for_title("Hangs", Reply(hang=5))
    started = time.monotonic()
    result = run("analyze", "--root", root)
    assert time.monotonic() - started < 4.5
    assert result.status == 1
    line = next(ln for ln in result.out.splitlines() if "failed: content/2024/06/hangs.md:" in ln)
    assert re.search(r"time[sd]? ?out", line), line
    assert requested_titles(service).count("Hangs") == 2  # the timeout was retried once
    assert sidecars(root) == ["2024/06/b.md", "2024/06/c.md"]
    assert "Analyzed 2 articles, 1 failed" in result.out


# -- answers that are failures for their article ---------------------------------------

BAD_ANSWERS = {
    "not JSON": (Reply(raw_body="<html>upstream hiccup</html>"), "json"),
    "not JSON, HTML content type": (
        Reply(raw_body="<html>upstream hiccup</html>", content_type="text/html"),
        "not a chat completion",
    ),
    "empty content": (Reply(content=""), "empty"),
    "blank content": (Reply(content="  \n\n "), "empty"),
    "refusal": (Reply(content=None, refusal="I can't help with that."), "refus"),
    "cut off": (Reply(finish_reason="length"), "length"),
    "no choices": (
        Reply(raw_body='{"id": "x", "object": "chat.completion", "model": "m", "choices": []}'),
        "choices",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_ANSWERS))
def test_bad_answer_fails_that_article_only(site, run, service, kind):
    reply, word = BAD_ANSWERS[kind]
    root = make_site(
        site, {"2024/06/bad.md": article("Bad", "2024-06-02"), "2024/06/good.md": article("Good")}
    )
    service.responder = for_title("Bad", reply)
    result = run("analyze", "--root", root)
    assert result.status == 1, result.out + result.err
    assert "Traceback" not in result.err
    line = next(ln for ln in result.out.splitlines() if "failed: content/2024/06/bad.md: " in ln)
    assert word in line.lower(), line
    assert "Analyzed 1 article, 1 failed" in result.out
    assert sidecars(root) == ["2024/06/good.md"]
    assert "missing" in run("check", "--root", root).out


# -- the key -------------------------------------------------------------------------


def test_no_key_and_no_base_url_is_a_clear_error(site, run, fake_openai):
    root = make_site(site, {"2024/06/a.md": article("A")})
    result = run("analyze", "--root", root)
    assert result.status == 1
    assert "OPENAI_API_KEY" in result.err
    assert "Traceback" not in result.err
    assert sidecars(root) == []
    assert fake_openai.calls == 0


def test_a_local_base_url_needs_no_key(site, run, fake_openai):
    config = CONFIG + f"  base_url: {fake_openai.base_url}\n"
    root = make_site(site, {"2024/06/a.md": article("A")}, config=config)
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err
    assert fake_openai.calls == 1
    assert sidecars(root) == ["2024/06/a.md"]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


NO_RETRIES = CONFIG.replace("max_retries: 2", "max_retries: 0")


def test_openai_base_url_wins_over_config_and_analyze_says_where_it_asks(
    site, run, service, monkeypatch
):
    configured = f"http://127.0.0.1:{closed_port()}/v1"
    config = NO_RETRIES + f"  base_url: {configured}\n"
    root = make_site(site, {"2024/06/a.md": article("A")}, config=config)
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err
    assert service.calls == 1
    assert f"Analyzing 1 article with config-model at {service.base_url}/\n" in result.err
    assert "test-key" not in result.out + result.err
    monkeypatch.delenv("OPENAI_BASE_URL")  # now config's, where nothing answers
    result = run("analyze", "--root", root, "--force")
    assert result.status == 1
    assert f"Analyzing 1 article with config-model at {configured}/\n" in result.err


def test_a_404_names_the_url_and_a_base_url_without_v1(site, run, service, monkeypatch):
    root_url = service.base_url.removesuffix("/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", root_url)  # the usual mistake
    root = make_site(site, {"2024/06/a.md": article("A")}, config=NO_RETRIES)
    result = run("analyze", "--root", root)
    assert result.status == 1
    assert (
        "content/2024/06/a.md: the service answered 404: Unknown request URL: "
        f"POST /chat/completions. (at {root_url}/chat/completions); the base URL {root_url} "
        "has no /v1, where OpenAI-compatible servers answer "
        "(set OPENAI_BASE_URL or analysis.base_url to end in /v1)"
    ) in result.out
    assert sidecars(root) == []


@pytest.mark.parametrize("path", ["/v1", ""])
def test_a_service_that_cannot_be_reached_is_named_with_its_url(site, run, monkeypatch, path):
    base = f"http://127.0.0.1:{closed_port()}{path}"
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root = make_site(site, {"2024/06/a.md": article("A")}, config=NO_RETRIES)
    result = run("analyze", "--root", root)
    assert result.status == 1
    failed = next(line for line in result.out.splitlines() if "failed: content/" in line)
    assert f"could not connect to the model service at {base}/chat/completions" in failed
    assert "is the server running?" in failed
    assert ("has no /v1" in failed) == (path == "")
    assert "Traceback" not in result.out + result.err


@pytest.mark.parametrize("batch", [False, True], ids=["analyze", "batch"])
@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:12345x/v1", "http://[::1/v1", "http://256.1.1.1/v1", "http://h\x01/v1"],
)
def test_a_malformed_openai_base_url_is_one_line(site, run, monkeypatch, base, batch):
    """A port that is no number, an IPv6 address never closed: no parser reads them; no
    HTTP client takes an IPv4 address out of range or a control character."""
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root = make_site(site, {"2024/06/a.md": article("A")})
    result = run("analyze", *(["--batch"] if batch else []), "--root", root)
    assert result.status == 1
    assert result.err == f"marginalia: OPENAI_BASE_URL is not a usable http(s) URL: {base}\n"
    assert result.out == ""
    assert sidecars(root) == []


KEY = "sk-proj-LEAKCANARY-4f9c2e7a1b8d"


def test_the_key_appears_in_no_output_sidecar_or_page(site, run, monkeypatch):
    with FakeOpenAI(api_key=KEY) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        config = (
            CONFIG.replace("max_retries: 2", "max_retries: 0") + f"  base_url: {fake.base_url}\n"
        )
        root = make_site(
            site,
            {
                "2024/06/a.md": article("A", "2024-06-03"),
                "2024/06/rejected.md": article("Rejected", "2024-06-02"),
                "2024/06/broken.md": article("Broken", "2024-06-01"),
            },
            config=config,
        )

        def responder(body):
            text = body["messages"][-1]["content"]
            if "Title: Rejected" in text:  # a service that echoes the key it refused
                return Reply(status=401, error_message=f"Incorrect API key provided: {KEY}.")
            if "Title: Broken" in text:
                return Reply(status=500, error_message=f"upstream failed for {KEY}")
            return None

        fake.responder = responder
        results = [
            run("analyze", "--root", root, "--dry-run"),
            run("analyze", "--root", root),
            run("check", "--root", root),
            run("build", "--root", root),
        ]
        assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was used
    assert results[1].status == 1
    assert results[3].status == 0, results[3].err
    for result in results:
        assert KEY not in result.out + result.err
        assert "LEAKCANARY" not in result.out + result.err
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    for path in files:
        assert b"LEAKCANARY" not in path.read_bytes(), path


# -- dry run, progress ---------------------------------------------------------------


def test_dry_run_prints_plan_tokens_and_cost_and_makes_no_calls(site, run, service):
    config = CONFIG + "  price_per_million_tokens: {input: 10, output: 30}\n"
    prompt = PROMPT.replace("---\n", "---\nmax_output_tokens: 100\n", 1)
    root = make_site(
        site,
        {
            "2024/06/a.md": article("Alpha", body="Alpha body."),
            "2024/05/b.md": article("Beta", "2024-05-01", "Beta."),
        },
        config=config,
        **{"prompts/analysis.md": prompt},
    )
    result = run("analyze", "--root", root, "--dry-run")
    assert result.status == 0, result.err
    assert service.calls == 0
    assert not (root / "analyses").exists()

    def approx(text: str) -> int:
        return max(1, (len(text) + 3) // 4)

    tokens = sum(
        approx(system_message(SYSTEM)) + approx(f"Title: {t}\n\n{b}")
        for t, b in [("Alpha", "Alpha body."), ("Beta", "Beta.")]
    )
    cost = (tokens * 10 + 2 * 100 * 30) / 1e6
    assert "content/2024/06/a.md  [missing]" in result.out
    assert "content/2024/05/b.md  [missing]" in result.out
    assert f"Estimated input: {tokens:,} tokens (approximation" in result.out
    assert f"${cost:.4f}" in result.out
    assert "No calls were made" in result.out


def test_progress_is_plain_lines_when_not_a_terminal(site, run, service):
    root = make_site(
        site,
        {"2024/06/a.md": article("A", "2024-06-02"), "2024/06/b.md": article("B", "2024-06-01")},
    )
    service.responder = for_title("B", Reply(content=""))
    result = run("analyze", "--root", root, "--concurrency", "1")
    lines = [ln for ln in result.err.splitlines() if ln.startswith("[")]
    assert lines == [
        "[1/2] content/2024/06/a.md: ok",
        "[2/2] content/2024/06/b.md: FAILED: the model's answer was empty",
    ]
    assert "\r" not in result.err


# -- concurrency and interruption -------------------------------------------------------


def test_concurrency_runs_requests_in_parallel(site, run, service):
    service.latency = 1.0
    root = make_site(
        site, {f"2024/06/a{i:02d}.md": article(f"A{i}", f"2024-06-{i + 1:02d}") for i in range(16)}
    )
    started = time.monotonic()
    result = run("analyze", "--root", root, "--concurrency", "8")
    elapsed = time.monotonic() - started
    assert result.status == 0, result.out + result.err
    assert service.calls == 16
    assert service.max_in_flight == 8
    assert elapsed < 8, elapsed
    assert len(sidecars(root)) == 16


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
def test_interrupted_run_keeps_whole_sidecars_and_the_next_run_does_the_rest(
    site, run, tmp_path, monkeypatch, sig
):
    total = 30
    root = make_site(
        site,
        {
            f"2024/{i % 12 + 1:02d}/n{i:02d}.md": article(
                f"N{i}", f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
            )
            for i in range(total)
        },
    )
    with FakeOpenAI(latency=0.3) as fake:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "test-key",
            "PYTHONPATH": str(REPO),
        }
        log_path = tmp_path / "analyze.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [PYTHON, "-m", "marginalia", "analyze", "--root", str(root), "--concurrency", "2"],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 60
            while (
                len(sidecars(root)) < 5 and time.monotonic() < deadline and process.poll() is None
            ):
                time.sleep(0.02)
            process.send_signal(sig)
            process.wait(timeout=10)
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if sig == signal.SIGKILL:
            assert process.returncode == -signal.SIGKILL, "analyze ended before it could be killed"
        else:
            assert process.returncode == 130, output
            assert "Interrupted" in output and "Traceback" not in output, output

        done = sidecars(root)
        assert 5 <= len(done) < total
        for rel in done:
            sidecar = sidecar_of(root, rel)
            assert sidecar is not None, rel
            assert sidecar.model and sidecar.body.strip()
            assert sidecar.article_sha256 and sidecar.prompt_sha256 and sidecar.created
            assert set(sidecar.usage) == {"input_tokens", "output_tokens"}
            assert sidecar.locked is False
        for path in (root / "analyses").rglob("*"):
            if path.is_file() and path.suffix == ".md":
                assert not path.name.startswith("."), path
            elif path.is_file():
                assert re.fullmatch(r"\.[^/]+\.md\..+\.tmp", path.name), path

        check = run("check", "--root", root)
        assert check.status == 0, check.err
        assert f"{len(done)} fresh, {total - len(done)} missing" in check.out

        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        fake.latency = 0.0
        before = fake.calls
        result = run("analyze", "--root", root)
        assert result.status == 0, result.out + result.err
        assert fake.calls - before == total - len(done)
        assert len(sidecars(root)) == total


# -- hostile model text ----------------------------------------------------------------

HOSTILE = """\
### Findings
<script>alert('xss-script')</script>
<iframe src="https://evil.example/frame"></iframe>
<img src=x onerror="alert('xss-img')">
<a href="javascript:alert('xss-a')">raw link</a>
<div onmouseover="alert('xss-div')">hover me</div>
<svg onload="alert('xss-svg')"></svg>

[markdown link](javascript:alert('xss-md'))
[upper case](JAVASCRIPT:alert(1))
[entity](&#106;avascript:alert(1))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
<javascript:alert('autolink')>
![tracker](https://evil.example/pixel.png)
![x](javascript:alert(1) "t")

</details></div></main><script>alert('escape')</script>

[a fine link](https://example.org/fine) HOSTILE-END
"""


HOSTILE_NOTE = (
    "<img src=x onerror=\"alert('xss-note')\"> [who says](javascript:alert('xss-note-link'))"
)


class _Collector(html.parser.HTMLParser):
    """Every element as (tag, attrs, inside the analysis section?)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], bool]] = []
        self.depth = 0  # open <details class="analysis"> depth
        self.section_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.depth:
            self.depth += tag not in ("br", "hr", "img", "input", "meta", "link")
        if tag == "details" and "analysis" in (attributes.get("class") or "").split():
            self.depth = 1
        self.elements.append((tag, attributes, bool(self.depth)))

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.section_text.append(data)


def test_hostile_model_text_is_inert_on_the_built_page(site, run, service):
    root = make_site(site, {"2024/06/hostile.md": article("Hostile", slug="hostile")})
    note = {"quote": "Body text.", "kind": "check", "text": HOSTILE_NOTE}
    service.enqueue(Reply(content=structured_content(HOSTILE, [note])))
    assert run("analyze", "--root", root).status == 0
    assert "<script>" in (root / "analyses/2024/06/hostile.md").read_text(encoding="utf-8")
    assert sidecar_of(root, "2024/06/hostile.md").notes[0].text == HOSTILE_NOTE  # kept as written
    build = run("build", "--root", root)
    assert build.status == 0, build.err

    page = (root / "site/2024/06/hostile/index.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    inside = [(tag, attrs) for tag, attrs, within in parser.elements if within]
    assert inside, "no analysis section on the page"
    assert "HOSTILE-END" in "".join(parser.section_text)  # the whole text stayed in its section
    assert ("a", {"href": "https://example.org/fine", "rel": "nofollow noopener"}) in inside
    for tag, attrs, within in parser.elements:
        # the one form: the theme's search box in the header, a GET form to /search/
        theme_search = tag == "form" and not within and attrs.get("class") == "site-search"
        assert tag not in ("iframe", "img", "svg", "object", "embed", "form") or theme_search, (
            tag,
            attrs,
        )
        if tag == "script":
            assert not within and attrs.get("type") == "application/ld+json", attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, attrs)
            if name in ("href", "src", "action", "formaction"):
                assert re.match(
                    r"(https?:|/|#|\.|[\w./-]*$)", (value or "").strip(), re.IGNORECASE
                ), (tag, attrs)
                assert "javascript" not in (value or "").lower() and not (value or "").startswith(
                    "data:"
                )
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert all("alert" not in script for script in scripts)


# -- notes in the margin (issue 20) ----------------------------------------------------

BRIDGE = """\
Officials said the "new bridge" will open in 2026, after years of delay.

The mayor said the plan   costs
  $40 million — a figure the council disputes.

서울시는 다리 건설을 승인했다.

The council met twice. The council met again in May.
"""
BRIDGE_ANALYSIS = "### What is reported\nA bridge, its cost and its date."
BRIDGE_NOTES = [
    ("check", "will open in 2026", "An exact quote."),
    (
        "context",
        "the \u201cnew bridge\u201d will open",
        "Curly marks where the article has straight.",
    ),
    ("check", "the plan costs $40 million", "Other white space than the article's."),
    ("context", "서울시는 다리 건설을 승인했다", "In Korean."),
    ("source", "The council met", "Twice in the article: the page takes the first place."),
    ("missing", "the bridge will close in 2030", "Words the article does not contain."),
    ("language", "", "No quote at all."),
    ("check", "a figure the council disputes. 서울시는", "Across two paragraphs."),
    ("source", "Officials said", HOSTILE_NOTE),
]
UNMATCHED = [6, 7, 8]  # 1-based: not in the article, empty, across paragraphs


def bridge_site(site) -> Path:
    return make_site(site, {"2024/06/bridge.md": article("Bridge", body=BRIDGE)})


def bridge_reply() -> Reply:
    notes = [{"quote": q, "kind": k, "text": t} for k, q, t in BRIDGE_NOTES]
    return Reply(content=structured_content(BRIDGE_ANALYSIS, notes))


def test_notes_are_written_and_each_quote_is_checked_against_the_article(site, run, service):
    root = bridge_site(site)
    service.enqueue(bridge_reply())
    result = run("analyze", "--root", root)
    assert result.status == 0, result.out + result.err

    sidecar = sidecar_of(root, "2024/06/bridge.md")
    assert sidecar.body == BRIDGE_ANALYSIS + "\n"  # the notes apart
    assert [(n.kind, n.quote, n.text) for n in sidecar.notes] == BRIDGE_NOTES
    text = (root / "analyses/2024/06/bridge.md").read_text(encoding="utf-8")
    assert "## Notes\n\n### check\n> will open in 2026\n\nAn exact quote.\n" in text

    # every note kept; those whose words are not the article's listed, at their line
    lines = text.split("\n")
    expected = [
        f"analyses/2024/06/bridge.md:{sidecar.notes[n - 1].line}: note {n} of "
        "2024/06/bridge.md quotes words the article does not contain"
        for n in UNMATCHED
    ]
    assert all(lines[sidecar.notes[n - 1].line - 1].startswith("### ") for n in UNMATCHED)
    for line in expected:
        assert line in result.out
    assert "Notes quoting words their article does not contain (3)" in result.out
    assert (
        sum("quotes words the article does not contain" in ln for ln in result.out.split("\n")) == 3
    )

    checked = run("check", "--root", root)
    assert checked.status == 0, checked.err
    for line in expected:
        assert line.replace(": note", ": warning: note", 1) in checked.err
    assert sum("does not contain" in ln for ln in checked.err.split("\n")) == 3


def test_notes_are_the_editors_once_locked_and_a_broken_section_is_located(site, run, service):
    root = bridge_site(site)
    service.enqueue(bridge_reply())
    assert run("analyze", "--root", root).status == 0
    path = root / "analyses/2024/06/bridge.md"
    edited = (
        path.read_text(encoding="utf-8")
        .replace("locked: false", "locked: true")
        .replace("An exact quote.", "Reworded by the editor.")
    )
    path.write_text(edited, encoding="utf-8")
    assert run("analyze", "--root", root, "--force").status == 0
    assert path.read_text(encoding="utf-8") == edited  # locked: the editor's notes stay
    assert sidecar_of(root, "2024/06/bridge.md").notes[0].text == "Reworded by the editor."

    broken = edited.replace("### check\n> will open", "### rant\n> will open")
    path.write_text(broken, encoding="utf-8")
    line = broken.split("\n").index("### rant") + 1
    result = run("check", "--root", root)
    assert result.status == 1
    assert f"analyses/2024/06/bridge.md:{line}: a note's kind must be one of" in result.err
    assert "Traceback" not in result.err
    assert run("build", "--root", root).status == 1


def test_a_json_mode_server_and_a_strict_one_write_the_same_sidecar(
    site, run, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root = make_site(
        site,
        {
            "2024/06/bridge.md": article("Bridge", body=BRIDGE),
            "2024/05/b.md": article("B", "2024-05-01"),
        },
    )
    json_mode = tmp_path / "json-mode"
    shutil.copytree(root, json_mode)
    written = {}
    for where, structured in ((root, "json_schema"), (json_mode, "json_object")):
        with FakeOpenAI(structured=structured) as fake:
            fake.responder = for_title("Bridge", bridge_reply())
            monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
            result = run("analyze", "--root", where, "--concurrency", "1")
            assert result.status == 0, result.out + result.err
            formats = [r.json["response_format"]["type"] for r in fake.requests]
        written[structured] = {
            rel: re.sub(r"\ncreated: .*\n", "\n", (where / "analyses" / rel).read_text("utf-8"))
            for rel in ("2024/06/bridge.md", "2024/05/b.md")
        }
        if structured == "json_object":  # refused once, then JSON mode for the rest
            assert formats == ["json_schema", "json_object", "json_object"]
            assert "asking in JSON mode for the rest of this run" in result.err
        else:
            assert formats == ["json_schema", "json_schema"]
    assert written["json_schema"] == written["json_object"]
    assert "## Notes" in written["json_object"]["2024/05/b.md"]


@pytest.mark.parametrize("structured", ["json_schema", "json_object"])
def test_a_pinned_response_format_is_kept(site, run, structured, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    config = CONFIG + f"  structured: {structured}\n"
    root = make_site(site, {"2024/06/a.md": article("A")}, config=config)
    with FakeOpenAI(structured="json_object") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        result = run("analyze", "--root", root)
        formats = [r.json["response_format"]["type"] for r in fake.requests]
    assert formats == [structured]
    if structured == "json_schema":  # no fallback: the article fails, saying what to set
        assert result.status == 1
        assert "set analysis.structured: auto" in result.out
    else:
        assert result.status == 0, result.out


BAD_JSON_ANSWERS = {
    "not JSON": ('{"analysis": "### What is reported", "notes": [', "not the json object"),
    "Markdown": ("### What is reported\nNo JSON at all.", "not the json object"),
    "a list": ("[]", "wrong shape"),
    "no notes": ('{"analysis": "### What is reported"}', "notes: field required"),
    "unknown kind": (
        structured_content("### A", [{"quote": "Body", "kind": "rant", "text": "t"}]),
        "notes.0.kind",
    ),
    "empty analysis": (structured_content("  ", []), "empty"),
}


@pytest.mark.parametrize("kind", list(BAD_JSON_ANSWERS))
def test_an_answer_that_is_not_the_json_asked_for_fails_that_article_only(site, run, service, kind):
    content, words = BAD_JSON_ANSWERS[kind]
    root = make_site(
        site, {"2024/06/bad.md": article("Bad", "2024-06-02"), "2024/06/good.md": article("Good")}
    )
    service.responder = for_title("Bad", Reply(content=content))
    result = run("analyze", "--root", root)
    assert result.status == 1, result.out + result.err
    line = next(ln for ln in result.out.splitlines() if "failed: content/2024/06/bad.md: " in ln)
    assert words in line.lower(), line
    assert sidecars(root) == ["2024/06/good.md"]


def test_an_analysis_ending_in_an_open_code_block_keeps_its_notes(site, run, service):
    root = make_site(site, {"2024/06/a.md": article("A", body="Body text.")})
    note = {"quote": "Body text.", "kind": "context", "text": "A note."}
    service.enqueue(Reply(content=structured_content("### A\n```\ncode never closed", [note])))
    assert run("analyze", "--root", root).status == 0
    sidecar = sidecar_of(root, "2024/06/a.md")
    assert sidecar.body == "### A\n```\ncode never closed\n```\n"  # closed before the notes
    assert [(n.quote, n.text) for n in sidecar.notes] == [("Body text.", "A note.")]
