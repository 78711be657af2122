# Tests take the imported `fake_openai` fixture as an argument of the same name:
# ruff: noqa: F811
"""The fake Chat Completions server, driven by the real ``openai`` client.

Retry facts of the installed client (openai 3.57, ``openai/_base_client.py``):

* Retried: connection errors (e.g. a dropped connection), timeouts, and HTTP
  408, 409, 429 and >= 500 — unless the response says ``x-should-retry: false``
  (``x-should-retry: true`` forces a retry of any status).
* The wait honours ``retry-after-ms`` (milliseconds, checked first) and then
  ``Retry-After`` (seconds, fractions like "0.1" allowed, or an HTTP date), if
  0 < delay <= 120 s. A delay above 120 s means "do not retry at all". Otherwise
  (no header, or 0) it backs off 0.5 s * 2**n, minus up to 25 % jitter, max 8 s.
* ``max_retries`` (default 2) is set on the client or per call via
  ``client.with_options(max_retries=...)``; the client logs every retry on the
  ``openai._base_client`` logger at INFO: "Retrying request in %f seconds ...".
* A 200 whose body is not JSON (with a JSON content type) raises
  ``json.JSONDecodeError`` straight from the response parsing: NOT an
  ``openai.OpenAIError``, and it is not retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time

import openai
import pytest
from fake_openai import FakeOpenAI, Reply, fake_openai  # noqa: F401 (the fixture, used by name)

MESSAGES = [
    {"role": "system", "content": "You annotate news articles."},
    {"role": "user", "content": "Seoul, 20 June 2024 — The city council voted today."},
]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENAI_* settings or proxies from the environment reach the client."""
    for name in list(os.environ):
        if name.upper().startswith("OPENAI_") or name.upper().endswith("_PROXY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def sync_client(fake: FakeOpenAI, **kwargs) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return openai.OpenAI(api_key="test-key", base_url=fake.base_url, **kwargs)


def async_client(fake: FakeOpenAI, **kwargs) -> openai.AsyncOpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return openai.AsyncOpenAI(api_key="test-key", base_url=fake.base_url, **kwargs)


def ask(client: openai.OpenAI, **kwargs):
    kwargs.setdefault("model", "gpt-test")
    kwargs.setdefault("messages", MESSAGES)
    return client.chat.completions.create(**kwargs)


def retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    """The waits the client chose, from its own "Retrying request in ..." log."""
    found = (
        re.search(r"Retrying request in ([\d.]+) seconds", r.getMessage()) for r in caplog.records
    )
    return [float(m.group(1)) for m in found if m]


def gap(fake: FakeOpenAI, first: int = 0) -> float:
    """Seconds between request ``first`` and the next one arriving."""
    requests = fake.requests
    return requests[first + 1].received_at - requests[first].received_at


# -- normal answers ----------------------------------------------------------


def test_default_answer_sync(fake_openai: FakeOpenAI) -> None:
    with sync_client(fake_openai) as client:
        completion = ask(client, temperature=0.2, max_tokens=300)

    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "### What is reported\nAnalysis of: " + MESSAGES[1]["content"]
    assert choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-test"  # echoed from the request
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    assert fake_openai.calls == 1
    (request,) = fake_openai.requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json["model"] == "gpt-test"
    assert request.json["messages"] == MESSAGES
    assert request.json["temperature"] == 0.2
    assert request.json["max_tokens"] == 300
    assert request.last_user_message == MESSAGES[1]["content"]


def test_default_content_is_cut_to_60_characters(fake_openai: FakeOpenAI) -> None:
    text = "x" * 100
    with sync_client(fake_openai) as client:
        completion = ask(client, messages=[{"role": "user", "content": text}])
    assert completion.choices[0].message.content == "### What is reported\nAnalysis of: " + "x" * 60


def test_default_answer_async_with_max_completion_tokens(fake_openai: FakeOpenAI) -> None:
    async def main():
        async with async_client(fake_openai) as client:
            return await client.chat.completions.create(
                model="gpt-test", messages=MESSAGES, max_completion_tokens=500
            )

    completion = asyncio.run(main())
    assert completion.choices[0].message.content.startswith("### What is reported\n")
    assert fake_openai.requests[0].json["max_completion_tokens"] == 500
    assert "max_tokens" not in fake_openai.requests[0].json


def test_scripted_reply_content_model_usage(fake_openai: FakeOpenAI) -> None:
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    fake_openai.enqueue(Reply(content="Scripted.", model="gpt-other-2024", usage=usage))
    with sync_client(fake_openai) as client:
        first = ask(client)
        second = ask(client)  # queue empty: default again
    assert first.choices[0].message.content == "Scripted."
    assert first.model == "gpt-other-2024"
    assert first.usage.model_dump(exclude_none=True) == usage
    assert second.choices[0].message.content.startswith("### What is reported")
    assert fake_openai.pending == 0


def test_server_model_override() -> None:
    with FakeOpenAI(model="served-model") as fake, sync_client(fake) as client:
        assert ask(client).model == "served-model"


def test_responder_answers_by_content(fake_openai: FakeOpenAI) -> None:
    def responder(request: dict) -> Reply | None:
        if "refuse" in request["messages"][-1]["content"]:
            return Reply(content=None, refusal="No.")
        return None  # default answer

    fake_openai.responder = responder
    with sync_client(fake_openai) as client:
        refused = ask(client, messages=[{"role": "user", "content": "please refuse"}])
        normal = ask(client, messages=[{"role": "user", "content": "fine"}])
    assert refused.choices[0].message.refusal == "No."
    assert normal.choices[0].message.content == "### What is reported\nAnalysis of: fine"


def test_empty_content(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(content=""))
    with sync_client(fake_openai) as client:
        completion = ask(client)
    assert completion.choices[0].message.content == ""
    assert completion.choices[0].finish_reason == "stop"


def test_finish_reason_length(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(content="### What is reported\nThe council", finish_reason="length"))
    with sync_client(fake_openai) as client:
        completion = ask(client, max_completion_tokens=5)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "### What is reported\nThe council"


def test_refusal(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(content=None, refusal="I can't help with that."))
    with sync_client(fake_openai) as client:
        completion = ask(client)
    message = completion.choices[0].message
    assert message.content is None
    assert message.refusal == "I can't help with that."


# -- errors and retries ------------------------------------------------------


def test_429_with_fractional_retry_after_is_retried(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openai")
    fake_openai.enqueue(Reply(status=429, retry_after=0.15), Reply(content="after 429"))
    with sync_client(fake_openai, max_retries=1) as client:
        completion = ask(client)
    assert completion.choices[0].message.content == "after 429"
    assert fake_openai.calls == 2
    assert retry_delays(caplog) == [0.15]  # not the >= 0.375 s default backoff
    assert gap(fake_openai) >= 0.14
    retried = fake_openai.requests[1]
    assert retried.headers["x-stainless-retry-count"] == "1"


def test_retry_after_ms_wins_over_retry_after(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openai")
    fake_openai.enqueue(
        Reply(status=503, headers={"retry-after-ms": "100", "Retry-After": "30"}),
        Reply(content="after 503"),
    )
    with sync_client(fake_openai, max_retries=1) as client:
        assert ask(client).choices[0].message.content == "after 503"
    assert retry_delays(caplog) == [0.1]
    assert fake_openai.calls == 2


def test_500_then_success_async(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(status=500, retry_after=0.1), Reply(content="after 500"))

    async def main():
        async with async_client(fake_openai, max_retries=2) as client:
            return await client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    assert asyncio.run(main()).choices[0].message.content == "after 500"
    assert fake_openai.calls == 2


def test_error_without_retries_has_openai_shape(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(status=429, retry_after=0.1, error_message="Slow down."))
    with sync_client(fake_openai) as client, pytest.raises(openai.RateLimitError) as info:
        ask(client)
    assert info.value.status_code == 429
    assert info.value.message.endswith("Slow down.")
    assert info.value.body == {
        "message": "Slow down.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert info.value.response.headers["retry-after"] == "0.1"


def test_400_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(status=400, error_message="Bad model."))
    with sync_client(fake_openai, max_retries=3) as client, pytest.raises(openai.BadRequestError):
        ask(client)
    assert fake_openai.calls == 1


def test_drop_then_success(fake_openai: FakeOpenAI) -> None:
    # No response means no Retry-After: the client's own backoff (0.375-0.5 s).
    fake_openai.enqueue(Reply(drop=True), Reply(content="after drop"))
    with sync_client(fake_openai, max_retries=1) as client:
        assert ask(client).choices[0].message.content == "after drop"
    assert fake_openai.calls == 2


def test_drop_without_retries_is_a_connection_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(drop=True))
    with sync_client(fake_openai) as client, pytest.raises(openai.APIConnectionError) as info:
        ask(client)
    assert not isinstance(info.value, openai.APITimeoutError)


def test_hang_past_timeout_raises_api_timeout_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(hang=3.0))

    async def main():
        async with async_client(fake_openai, timeout=0.2) as client:
            await client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        asyncio.run(main())
    assert time.monotonic() - started < 1.5
    assert fake_openai.calls == 1


def test_hang_then_success_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(hang=3.0))
    with sync_client(fake_openai, timeout=0.2, max_retries=1) as client:
        assert ask(client).choices[0].message.content.startswith("### What is reported")
    assert fake_openai.calls == 2


def test_non_json_body_raises_json_decode_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(raw_body="<html>upstream error</html>"))
    with sync_client(fake_openai, max_retries=2) as client, pytest.raises(json.JSONDecodeError):
        ask(client)
    assert fake_openai.calls == 1  # not retried
    assert not issubclass(json.JSONDecodeError, openai.OpenAIError)


def test_non_json_body_async_raises_json_decode_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply(raw_body="not json"))

    async def main():
        async with async_client(fake_openai) as client:
            await client.chat.completions.create(model="gpt-test", messages=MESSAGES)

    with pytest.raises(json.JSONDecodeError):
        asyncio.run(main())


# -- concurrency and lifecycle -----------------------------------------------


def test_max_in_flight_with_concurrent_async_requests() -> None:
    with FakeOpenAI(latency=0.3) as fake:

        async def main():
            async with async_client(fake) as client:
                return await asyncio.gather(
                    *(
                        client.chat.completions.create(
                            model="gpt-test", messages=[{"role": "user", "content": f"article {i}"}]
                        )
                        for i in range(4)
                    )
                )

        started = time.monotonic()
        completions = asyncio.run(main())
        elapsed = time.monotonic() - started

        assert fake.max_in_flight == 4
        assert fake.in_flight == 0
        assert fake.calls == 4
        assert elapsed < 1.0  # concurrent, not 4 x 0.3 s
        contents = sorted(c.choices[0].message.content for c in completions)
        assert contents == [f"### What is reported\nAnalysis of: article {i}" for i in range(4)]


def test_sequential_requests_keep_max_in_flight_at_one(fake_openai: FakeOpenAI) -> None:
    with sync_client(fake_openai) as client:
        ask(client)
        ask(client)
    assert fake_openai.max_in_flight == 1


def test_stop_is_prompt_while_a_request_hangs() -> None:
    fake = FakeOpenAI().start()
    fake.enqueue(Reply(hang=30.0))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with sync_client(fake, timeout=20.0) as client:
                ask(client)
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 2
    while fake.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.in_flight == 1

    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    caller.join(timeout=2)
    assert not caller.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], openai.APIConnectionError)


def test_api_key_check_and_unknown_paths() -> None:
    with FakeOpenAI(api_key="right-key") as fake:
        with sync_client(fake) as client, pytest.raises(openai.AuthenticationError):
            ask(client)
        with (
            openai.OpenAI(api_key="right-key", base_url=fake.base_url, max_retries=0) as client,
            pytest.raises(openai.NotFoundError),
        ):
            client.models.list()
        with openai.OpenAI(api_key="right-key", base_url=fake.base_url, max_retries=0) as client:
            assert ask(client).choices[0].finish_reason == "stop"


def test_streaming_is_refused_clearly(fake_openai: FakeOpenAI) -> None:
    with sync_client(fake_openai) as client, pytest.raises(openai.BadRequestError, match="stream"):
        ask(client, stream=True)


def test_batches_list_pages_newest_first_and_files_round_trip(fake_openai: FakeOpenAI) -> None:
    client = sync_client(fake_openai)
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}
    data = json.dumps(line).encode() + b"\n"
    uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
    assert client.files.content(uploaded.id).content == data
    created = [
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"n": str(n)},
        ).id
        for n in range(3)
    ]
    assert [b.id for b in client.batches.list(limit=2)] == created[::-1]  # both pages
    assert client.batches.cancel(created[0]).status == "cancelling"
    fake_openai.finish_batches()
    done = client.batches.retrieve(created[1])
    assert done.status == "completed" and done.request_counts.completed == 1
    [result] = [
        json.loads(x) for x in client.files.content(done.output_file_id).content.splitlines()
    ]
    assert result["custom_id"] == "a" and result["response"]["status_code"] == 200
    assert client.batches.retrieve(created[0]).status == "cancelled"


# -- response formats (issue 20) -------------------------------------------------------

ARTICLE_MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "Read this.\n\n<<<\nThe city council voted today, at last.\n>>>"},
]
STRICT = {
    "type": "object",
    "properties": {"analysis": {"type": "string"}},
    "required": ["analysis"],
    "additionalProperties": False,
}


def schema_format(schema: dict) -> dict:
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "strict": True, "schema": schema},
    }


@pytest.mark.parametrize("kind", ["json_schema", "json_object"])
def test_a_json_request_gets_the_analysis_and_a_note_quoting_the_article(
    fake_openai: FakeOpenAI, kind: str
) -> None:
    response_format = schema_format(STRICT) if kind == "json_schema" else {"type": kind}
    with sync_client(fake_openai) as client:
        content = ask(client, messages=ARTICLE_MESSAGES, response_format=response_format)
    answer = json.loads(content.choices[0].message.content)
    assert answer["analysis"].startswith("### What is reported\nAnalysis of: Read this.")
    assert answer["notes"] == [
        {
            "quote": "The city council voted today, at",
            "kind": "context",
            "text": "A note on the opening.",
        }
    ]


def test_a_json_mode_server_refuses_json_schema_as_llama_cpp_did() -> None:
    with FakeOpenAI(structured="json_object") as fake, sync_client(fake) as client:
        fake.enqueue(Reply(content="kept for the next request"))
        with pytest.raises(openai.BadRequestError) as info:
            ask(client, response_format=schema_format(STRICT))
        assert 'must be one of "text" or "json_object"' in info.value.message
        reply = ask(client, response_format={"type": "json_object"})
        assert reply.choices[0].message.content == "kept for the next request"


@pytest.mark.parametrize(
    "schema",
    [
        {**STRICT, "additionalProperties": True},
        {**STRICT, "required": []},
        {
            **STRICT,
            "properties": {"notes": {"type": "array", "items": {"type": "object"}}},
            "required": ["notes"],
        },
    ],
)
def test_a_strict_server_refuses_a_schema_strict_mode_would(
    fake_openai: FakeOpenAI, schema
) -> None:
    with sync_client(fake_openai) as client, pytest.raises(openai.BadRequestError) as info:
        ask(client, response_format=schema_format(schema))
    assert "Invalid schema for response_format 'answer'" in info.value.message
