# Tests take the imported fixtures as arguments of the same name:
# ruff: noqa: F811
"""Batch analyses (issue 15): `analyze --batch`, `--cancel`, `--export`, `--import` on real
sites in tmp_path, the real openai client talking to the fake server's files and batches
on 127.0.0.1, whose batches end when a test calls `finish_batches()` as scripted.

One lifecycle per test, each checking the sidecars and the calls of the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import openai
import pytest
from conftest import PYTHON, REPO, article, write_files
from fake_openai import BatchPlan, FakeOpenAI, Fault, Reply, fake_openai  # noqa: F401
from test_analyze import (  # noqa: F401
    CONFIG,
    for_titles,
    make_site,
    service,
    sidecar_of,
    sidecar_text,
    sidecars,
)

from marginalia.analysis import jsonl

LIST = r"/v1/batches"
UPLOAD = r"/v1/files"
CREATE = r"/v1/batches"
CONTENT = r"/v1/files/[\w-]+/content"


def four(site) -> Path:
    return make_site(
        site,
        {
            f"2024/0{i}/a{i}.md": article(f"A{i}", f"2024-0{i}-01", f"Body {i}.")
            for i in range(1, 5)
        },
    )


def batch_run(run, root: Path, *extra: str):
    return run("analyze", "--batch", "--root", root, *extra)


def calls(fake: FakeOpenAI, since: int = 0) -> list[str]:
    """The files/batches calls made since a point, as 'METHOD /path' without ids."""
    shown = []
    for request in fake.requests[since:]:
        path = request.path.split("?")[0]
        for prefix in ("/v1/files/", "/v1/batches/"):
            if path.startswith(prefix):
                path = prefix + "ID" + ("/content" if path.endswith("/content") else "")
        shown.append(f"{request.method} {path}")
    return shown


def sent_paths(fake: FakeOpenAI, batch_id: str) -> list[str]:
    lines = fake.file_lines(fake.batches[batch_id]["input_file_id"])
    return sorted(jsonl.RequestKey.parse(line["custom_id"]).path for line in lines)


def newest(fake: FakeOpenAI) -> str:
    return max(fake.batches)


ALL = [f"2024/0{i}/a{i}.md" for i in range(1, 5)]


# -- the whole cycle -------------------------------------------------------------------


def test_send_then_collect_writes_sidecars_like_analyze(site, run, service, tmp_path):
    root = four(site)
    result = batch_run(run, root)
    assert result.status == 0, result.out + result.err
    assert calls(service) == ["GET /v1/batches", "POST /v1/files", "POST /v1/batches"]
    batch = service.batches[newest(service)]
    assert batch["metadata"]["marginalia_site"] == "https://example.org/"
    assert sent_paths(service, batch["id"]) == ALL
    assert "Pending: 1 batch;" in result.out and "0/4 done" in result.out
    assert sidecars(root) == []

    # run again while pending, from a fresh clone (no local record): nothing sent twice
    shutil.rmtree(root / ".cache")
    mark = service.calls
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert calls(service, mark) == ["GET /v1/batches", "GET /v1/files/ID/content"]

    service.finish_batches()
    mark = service.calls
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert calls(service, mark) == ["GET /v1/batches", "GET /v1/files/ID/content"]
    assert "Written 4, failed 0" in result.out and "Pending: none." in result.out
    assert sidecars(root) == ALL

    # the same sidecars as a direct analyze of the same site writes
    direct = tmp_path / "direct"
    shutil.copytree(root, direct, ignore=shutil.ignore_patterns("analyses", ".cache"))
    assert run("analyze", "--root", direct).status == 0
    for rel in ALL:
        ours, theirs = sidecar_of(root, rel), sidecar_of(direct, rel)
        assert ours.created and ours.usage["input_tokens"] > 0
        ours.created = theirs.created = None
        ours.usage = theirs.usage = {}
        ours.digest = theirs.digest = ""
        assert ours == theirs and ours.notes  # the notes came the same way

    # collecting again is harmless: no download, nothing rewritten, nothing sent
    before = {rel: (root / "analyses" / rel).read_bytes() for rel in ALL}
    mark = service.calls
    result = batch_run(run, root)
    assert result.status == 0 and "Written" not in result.out, result.out
    assert calls(service, mark) == ["GET /v1/batches"]
    assert before == {rel: (root / "analyses" / rel).read_bytes() for rel in ALL}


def test_expired_batch_writes_its_half_and_sends_the_rest_again(site, run, service):
    root = four(site)
    service.plan_batches(BatchPlan("expired", answered=0.5))
    assert batch_run(run, root).status == 0
    first = newest(service)
    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert f"Collected {first} (expired)" in result.out
    assert "Written 2, failed 0" in result.out
    written = sidecars(root)
    assert len(written) == 2
    second = newest(service)
    assert second != first
    assert sent_paths(service, second) == sorted(set(ALL) - set(written))

    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0 and "Written 2, failed 0" in result.out, result.out
    assert sidecars(root) == ALL


def test_batch_failing_validation_is_reported_and_sent_again(site, run, service):
    root = four(site)
    service.plan_batches(BatchPlan("failed", errors=("model 'nope' does not exist",)))
    assert batch_run(run, root).status == 0
    first = newest(service)
    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 1
    assert f"failed: batch {first}: the batch failed: model 'nope' does not exist" in result.out
    assert sidecars(root) == []
    second = newest(service)
    assert second != first and sent_paths(service, second) == ALL

    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert first not in result.out  # reported once: its articles were sent again since
    assert sidecars(root) == ALL


def test_error_lines_fail_their_articles_only_and_are_sent_again(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    service.responder = for_titles(
        {
            "A2": Reply(status=400, error_message="context too long"),
            "A3": Reply(finish_reason="length"),
        }
    )
    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 1
    assert "Written 2, failed 2" in result.out
    assert "content/2024/02/a2.md: the request failed with status 400: context too long" in (
        result.out
    )
    assert "content/2024/03/a3.md: the answer was cut off (finish_reason: length)" in result.out
    assert sidecars(root) == ["2024/01/a1.md", "2024/04/a4.md"]
    assert sent_paths(service, newest(service)) == ["2024/02/a2.md", "2024/03/a3.md"]

    service.responder = None
    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert sidecars(root) == ALL


def test_answers_are_validated_and_quotes_checked_as_analyze_does(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    lines = service.file_lines(service.batches[newest(service)]["input_file_id"])
    assert {line["body"]["response_format"]["type"] for line in lines} == {"json_schema"}
    not_there = {"quote": "Not in it.", "kind": "check", "text": "Which words?"}
    service.responder = for_titles(
        {
            "A2": Reply(content="### What is reported\nMarkdown, not JSON."),
            "A3": Reply(notes=[not_there]),
        }
    )
    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 1
    assert "Written 3, failed 1" in result.out
    assert "content/2024/02/a2.md: the answer was not the JSON object asked for" in result.out
    line = sidecar_of(root, "2024/03/a3.md").notes[0].line
    assert (
        f"analyses/2024/03/a3.md:{line}: note 1 of 2024/03/a3.md quotes words the article "
        "does not contain"
    ) in result.out
    assert sidecars(root) == ["2024/01/a1.md", "2024/03/a3.md", "2024/04/a4.md"]


def test_result_for_an_article_edited_meanwhile_is_discarded_as_stale(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    first = newest(service)
    write_files(root, {"content/2024/02/a2.md": article("A2", "2024-02-01", "Edited body.")})
    result = batch_run(run, root)  # the new text is not in a pending batch: sent now
    assert result.status == 0, result.out
    assert sent_paths(service, newest(service)) == ["2024/02/a2.md"]

    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert (
        f"stale: content/2024/02/a2.md: the article changed since it was sent; result "
        f"discarded (batch {first})" in result.out
    )
    assert sidecars(root) == ALL
    assert (
        "Edited body."
        in service.file_lines(service.batches[newest(service)]["input_file_id"])[0]["body"][
            "messages"
        ][-1]["content"]
    )
    from marginalia.content import article_sha256

    assert sidecar_of(root, "2024/02/a2.md").article_sha256 == article_sha256("A2", "Edited body.")


def test_a_sidecar_locked_meanwhile_is_left_alone(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    locked = sidecar_text(root, "2024/01/a1.md", title="A1", body="Body 1.", locked=True)
    write_files(root, {"analyses/2024/01/a1.md": locked})
    service.finish_batches()
    assert batch_run(run, root).status == 0
    assert (root / "analyses/2024/01/a1.md").read_text(encoding="utf-8") == locked
    assert sidecars(root) == ALL


def test_cancel_cancels_this_sites_pending_batches_only(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    mine = newest(service)
    client = openai.OpenAI(api_key="test-key", base_url=service.base_url)  # another site's
    line = jsonl.request_line("elsewhere.md#" + "0" * 16 + "." + "0" * 16, {"model": "m"})
    uploaded = client.files.create(file=("other.jsonl", line), purpose="batch")
    theirs = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"marginalia_site": "https://other.example/"},
    ).id
    result = batch_run(run, root, "--cancel")
    assert result.status == 0, result.out
    assert f"Cancelled {mine} (cancelling" in result.out
    assert service.batches[mine]["status"] == "cancelling"
    assert service.batches[theirs]["status"] != "cancelling"

    service.finish_batches()
    result = batch_run(run, root)  # cancelled: nothing came back, so all is sent again
    assert result.status == 0, result.out
    assert sent_paths(service, newest(service)) == ALL


# -- faults: the next run recovers -------------------------------------------------------


def test_provider_refusing_the_file_is_a_clear_error_and_the_next_run_sends(site, run, service):
    root = four(site)
    service.faults.append(Fault("POST", UPLOAD, "status", 400, "Invalid file: too large"))
    result = batch_run(run, root)
    assert result.status == 1
    assert "Stopped: the service answered 400: Invalid file: too large" in result.out
    assert "Traceback" not in result.out + result.err and service.batches == {}

    service.faults.clear()
    assert batch_run(run, root).status == 0
    assert sent_paths(service, newest(service)) == ALL


def test_network_drop_mid_download_writes_nothing_and_the_next_run_collects(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    service.finish_batches()
    service.faults.append(Fault("GET", CONTENT, "cut"))
    result = batch_run(run, root)
    assert result.status == 1
    assert "Stopped: could not connect to the model service" in result.out, result.out
    assert sidecars(root) == []
    assert list((root / "analyses").rglob("*")) == [] if (root / "analyses").exists() else True

    service.faults.clear()
    mark = service.calls
    result = batch_run(run, root)
    assert result.status == 0 and "Written 4" in result.out, result.out
    assert "POST /v1/files" not in calls(service, mark)
    assert sidecars(root) == ALL


def _killed_while(root: Path, fake: FakeOpenAI, method: str, path: str) -> None:
    """Run analyze --batch in a subprocess, kill -9 it while it waits on that request."""
    fake.faults.append(Fault(method, path, "hang"))
    env = {
        **os.environ,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [PYTHON, "-m", "marginalia", "analyze", "--batch", "--root", str(root)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not fake.requests_to(method, path) and time.monotonic() < deadline:
        assert process.poll() is None, "analyze ended before it reached the request"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    fake.faults.clear()


def test_killed_between_upload_and_create_the_next_run_sends_everything(site, run, service):
    root = four(site)
    _killed_while(root, service, "POST", CREATE)
    assert len(service.files) == 1 and service.batches == {}  # uploaded, never a batch

    mark = service.calls
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert calls(service, mark) == ["GET /v1/batches", "POST /v1/files", "POST /v1/batches"]
    assert sent_paths(service, newest(service)) == ALL


def test_killed_between_download_and_write_the_next_run_writes(site, run, service):
    root = four(site)
    assert batch_run(run, root).status == 0
    service.responder = lambda body: (
        Reply(status=500) if "Title: A4\n" in body["messages"][-1]["content"] else None
    )
    service.finish_batches()
    batch = service.batches[newest(service)]
    error_file = batch["error_file_id"]
    _killed_while(root, service, "GET", rf"/v1/files/{error_file}/content")
    assert len(service.requests_to("GET", rf"/v1/files/{batch['output_file_id']}/content")) == 1
    assert sidecars(root) == []

    result = batch_run(run, root)
    assert result.status == 1  # the article whose request failed
    assert "content/2024/04/a4.md: the request failed with status 500" in result.out
    assert sidecars(root) == ALL[:3]
    assert sent_paths(service, newest(service)) == ["2024/04/a4.md"]


# -- limits and options -------------------------------------------------------------------


def test_request_files_are_split_to_the_limits():
    lines = [b"x" * 10 + b"\n"] * 7
    assert [len(f) for f in jsonl.split_lines(lines, max_requests=3, max_bytes=10**6)] == [3, 3, 1]
    assert [len(f) for f in jsonl.split_lines(lines, max_requests=100, max_bytes=25)] == [2] * 3 + [
        1
    ]
    assert jsonl.MAX_REQUESTS == 50_000 and jsonl.MAX_BYTES <= 200 * 1024 * 1024


def test_limit_and_paths_choose_what_is_sent(site, run, service):
    root = four(site)
    assert batch_run(run, root, "--limit", "2").status == 0
    assert sent_paths(service, newest(service)) == ["2024/03/a3.md", "2024/04/a4.md"]
    result = batch_run(run, root, "content/2024/01")
    assert result.status == 0, result.out
    assert sent_paths(service, newest(service)) == ["2024/01/a1.md"]


@pytest.mark.parametrize(
    "args",
    [
        ["--cancel"],
        ["--batch", "--dry-run"],
        ["--export", "x.jsonl", "--batch"],
        ["--import", "x.jsonl", "--limit", "2"],
    ],
)
def test_mixed_up_options_are_usage_errors(site, run, service, args):
    root = four(site)
    result = run("analyze", "--root", root, *args)
    assert result.status == 2 and "marginalia:" in result.err
    assert service.calls == 0


# -- export and import: another engine's round trip --------------------------------------


def engine_stand_in(requests: Path, output: Path, fake: FakeOpenAI) -> None:
    """What vLLM's run-batch does: each request line through a chat model, one output
    line each (its format), in another order than the input."""
    lines = []
    for number, raw in enumerate(requests.read_bytes().splitlines()):
        request = json.loads(raw)
        sent = urllib.request.Request(
            fake.base_url + "/chat/completions",
            data=json.dumps(request["body"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(sent) as response:
            status, body = response.status, json.load(response)
        lines.append(
            {
                "id": f"vllm-{number}",
                "custom_id": request["custom_id"],
                "response": {
                    "status_code": status,
                    "request_id": f"vllm-batch-{number}",
                    "body": body,
                },
                "error": None,
            }
        )
    output.write_text("".join(json.dumps(line) + "\n" for line in reversed(lines)))


def test_export_then_import_writes_what_analyze_writes(site, run, service, tmp_path):
    root = four(site)
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    result = run("analyze", "--root", root, "--export", requests)
    assert result.status == 0 and "Wrote 4 requests" in result.out, result.out
    assert service.calls == 0
    for line in map(json.loads, requests.read_bytes().splitlines()):
        assert set(line) == {"custom_id", "method", "url", "body"}
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert line["body"]["response_format"]["json_schema"]["strict"] is True
    engine_stand_in(requests, output, service)

    result = run("analyze", "--root", root, "--import", output)
    assert result.status == 0, result.out + result.err
    assert "Written 4, failed 0" in result.out
    direct = tmp_path / "direct"
    shutil.copytree(root, direct, ignore=shutil.ignore_patterns("analyses"))
    assert run("analyze", "--root", direct).status == 0
    for rel in ALL:
        ours, theirs = sidecar_of(root, rel), sidecar_of(direct, rel)
        for sidecar in (ours, theirs):
            sidecar.created, sidecar.usage, sidecar.digest = None, {}, ""
        assert ours == theirs and ours.notes


def test_import_reports_each_bad_line_and_keeps_the_rest(site, run, service, tmp_path):
    root = four(site)
    requests, output = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    assert run("analyze", "--root", root, "--export", requests).status == 0
    engine_stand_in(requests, output, service)
    lines = {
        jsonl.RequestKey.parse(json.loads(raw)["custom_id"]).path: json.loads(raw)
        for raw in output.read_text().splitlines()
    }
    unknown = {**lines[ALL[3]], "custom_id": "2024/09/gone.md#" + "0" * 16 + "." + "0" * 16}
    error = {**lines[ALL[2]], "response": None}
    error["error"] = {"code": "500", "message": "engine crashed"}
    output.write_text(
        "\n".join(
            [
                json.dumps(unknown),
                json.dumps(error),
                "{not json",
                json.dumps(lines[ALL[1]]),
                json.dumps(lines[ALL[0]]),
            ]
        )
        + "\n"
    )
    write_files(root, {"content/2024/02/a2.md": article("A2", "2024-02-01", "Changed.")})

    result = run("analyze", "--root", root, "--import", output)
    assert result.status == 1
    assert f"{output}:1: unknown custom_id '2024/09/gone.md#" in result.out
    assert "content/2024/03/a3.md: the engine reported: engine crashed" in result.out
    assert f"{output}:3: line 3 is not JSON" in result.out
    assert "stale: content/2024/02/a2.md: the article changed since it was sent" in result.out
    assert sidecars(root) == ["2024/01/a1.md"]


def test_import_of_a_missing_file_names_it(site, run, service, tmp_path):
    root = four(site)
    result = run("analyze", "--root", root, "--import", tmp_path / "nope.jsonl")
    assert result.status == 1 and "nope.jsonl: cannot read" in result.err


@pytest.mark.parametrize(
    ("prices", "per_million"),
    [
        ("  price_per_million_tokens: {input: 2000, output: 4000}\n", (1000, 2000)),
        ("  batch_price_per_million_tokens: {input: 300, output: 500}\n", (300, 500)),
    ],
    ids=["half by default", "configured"],
)
def test_cost_is_estimated_at_batch_prices(site, run, service, prices, per_million):
    root = make_site(site, {"2024/01/a1.md": article("A1", "2024-01-01")}, config=CONFIG + prices)
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert "Estimated cost: input only, $" in result.out
    service.finish_batches()
    result = batch_run(run, root)
    usage = sidecar_of(root, "2024/01/a1.md").usage
    cost = (usage["input_tokens"] * per_million[0] + usage["output_tokens"] * per_million[1]) / 1e6
    assert f"cost ${cost:.4f} at batch prices" in result.out, result.out


def test_a_provider_that_keeps_input_files_to_itself(site, run, service):
    """Without the local record and the input file, a pending batch stops sending (lest an
    article be paid twice); a finished one is collected from its results alone."""
    root = four(site)
    assert batch_run(run, root).status == 0
    input_file = service.batches[newest(service)]["input_file_id"]
    service.faults.append(Fault("GET", rf"/v1/files/{input_file}/content", "status", 403))
    shutil.rmtree(root / ".cache")
    write_files(root, {"content/2024/05/a5.md": article("A5", "2024-05-01")})
    result = batch_run(run, root)
    assert result.status == 1
    assert "does not give the requests of pending batch batch_fake000001" in result.out
    assert len(service.batches) == 1  # a5 waits: nothing sent

    service.finish_batches()
    result = batch_run(run, root)
    assert result.status == 0, result.out
    assert "Written 4" in result.out and sidecars(root) == ALL
    assert sent_paths(service, newest(service)) == ["2024/05/a5.md"]
    result = batch_run(run, root)  # its results again: all older than the sidecars
    assert result.status == 0 and "Written" not in result.out, result.out
