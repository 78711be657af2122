"""One model call: a Chat Completions request through the openai package's AsyncOpenAI.

Retries (429, 5xx, dropped connections, timeouts; honouring Retry-After) are the
client's own; this module turns every way a call can fail into an AnalysisFailed with a
reason a person can act on, so one bad answer never ends the run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
import pydantic
from openai.types.chat import ChatCompletion

from .prompt import Prompt

_OUTER_FENCE = re.compile(r"\A```(?:markdown|md)?\s*\n(.*)\n```\s*\Z", re.DOTALL)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AnalysisFailed(Exception):
    """The model gave no usable analysis for one article; `reason` says why."""

    def __init__(self, reason: str, retries: int = 0) -> None:
        self.reason = reason
        self.retries = retries
        super().__init__(reason)


@dataclass(frozen=True)
class Answer:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    retries: int


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None
    api_key: str
    timeout: float
    max_retries: int


def _client_options(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "api_key": endpoint.api_key,
        "base_url": endpoint.base_url,
        "timeout": endpoint.timeout,
        "max_retries": endpoint.max_retries,
    }


def make_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(**_client_options(endpoint))


def make_batch_client(endpoint: Endpoint) -> openai.OpenAI:
    """A blocking client: batch work is a few sequential calls (files, batches)."""
    return openai.OpenAI(**_client_options(endpoint))


def clean_text(text: str) -> str:
    """Model text as stored: control characters dropped, one wrapping ``` fence removed."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    match = _OUTER_FENCE.match(text)
    return match.group(1).strip() if match else text


def request_body(
    prompt: Prompt, model: str, user_message: str, base_url: str | None
) -> dict[str, Any]:
    """The Chat Completions request for one article: sent directly, or as a batch line."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": user_message},
        ],
    }
    if prompt.temperature is not None:
        body["temperature"] = prompt.temperature
    if prompt.max_output_tokens is not None:
        # OpenAI's reasoning models take only max_completion_tokens; compatible servers
        # (Ollama, llama.cpp, older vLLM) know only max_tokens.
        key = "max_completion_tokens" if base_url is None else "max_tokens"
        body[key] = prompt.max_output_tokens
    return body


# What the client retries by itself before giving up (so a failure spent every retry).
_RETRIED_ERRORS = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


def api_reason(exc: openai.APIError, api_key: str = "", base_url: str = "") -> str:
    """What went wrong with a call, in words a person can act on; never the key."""
    reason = _api_reason(exc, base_url)
    # a service may echo the key in its error message: never print it
    return reason.replace(api_key, "[OPENAI_API_KEY]") if api_key else reason


def _without_v1(base_url: str) -> str:
    """The usual mistake behind a 404 or no answer: a base URL that stops short of /v1,
    where OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) answer."""
    if not base_url or urlsplit(base_url).path.rstrip("/").endswith("/v1"):
        return ""
    return (
        f"; the base URL {base_url} has no /v1, where OpenAI-compatible servers answer "
        "(set OPENAI_BASE_URL or analysis.base_url to end in /v1)"
    )


def _api_reason(exc: openai.APIError, base_url: str) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timed out (after retries)"
    if isinstance(exc, openai.APIConnectionError):
        return (
            f"could not connect to the model service at {exc.request.url} (after retries): "
            f"{exc.__cause__ or exc}; is the server running?{_without_v1(base_url)}"
        )
    if isinstance(exc, openai.AuthenticationError):
        return "the service refused the API key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.APIStatusError):
        detail = exc.body.get("message") if isinstance(exc.body, dict) else None
        reason = f"the service answered {exc.status_code}: {detail or exc.message}"
        if exc.status_code == 404:
            reason += f" (at {exc.request.url}){_without_v1(base_url)}"
        return reason
    return f"API error: {exc}"


async def ask(client: openai.AsyncOpenAI, body: dict[str, Any]) -> Answer:
    """Send one request; return the answer or raise AnalysisFailed (never anything else)."""
    try:
        raw = await client.chat.completions.with_raw_response.create(**body)
    except openai.APIError as exc:
        retries = client.max_retries if isinstance(exc, _RETRIED_ERRORS) else 0
        raise AnalysisFailed(
            api_reason(exc, client.api_key, str(client.base_url)), retries
        ) from None
    retries = raw.retries_taken
    try:
        completion = raw.parse()
    except (json.JSONDecodeError, openai.APIError, ValueError) as exc:
        raise AnalysisFailed(
            f"the reply was not valid JSON ({type(exc).__name__})", retries
        ) from None
    return answer_of(completion, body["model"], retries)


def completion_of(body: Any) -> ChatCompletion:
    """A chat completion from a batch result's JSON body (of any engine), or AnalysisFailed."""
    try:
        return ChatCompletion.model_validate(body)
    except pydantic.ValidationError:
        raise AnalysisFailed("the result was not a chat completion") from None


def answer_of(completion: ChatCompletion, requested_model: str, retries: int = 0) -> Answer:
    """The analysis in a chat completion, or AnalysisFailed saying why there is none.

    The one place a model's reply is judged, for direct calls and batch results alike.
    """
    choices = getattr(completion, "choices", None)
    if not choices:
        raise AnalysisFailed("the reply had no choices (not a chat completion)", retries)
    choice = choices[0]
    message = choice.message
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise AnalysisFailed(f"the model refused: {refusal.strip()[:200]}", retries)
    if choice.finish_reason == "length":
        raise AnalysisFailed(
            "the answer was cut off (finish_reason: length); raise max_output_tokens", retries
        )
    if choice.finish_reason == "content_filter":
        raise AnalysisFailed("the answer was withheld by the service's content filter", retries)
    text = clean_text(message.content or "")
    if not text:
        raise AnalysisFailed("the model's answer was empty", retries)
    usage = completion.usage
    return Answer(
        text=text,
        model=completion.model or requested_model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        retries=retries,
    )
