"""One model call: a Chat Completions request through the openai package's AsyncOpenAI.

Retries (429, 5xx, dropped connections, timeouts; honouring Retry-After) are the
client's own; this module turns every way a call can fail into an AnalysisFailed with a
reason a person can act on, so one bad answer never ends the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
import pydantic
from openai.types.chat import ChatCompletion

from ..notes.model import Note
from .answer import FORMATS, BadAnswer, clean_text, parse_answer, response_format, system_message
from .prompt import Prompt


class AnalysisFailed(Exception):
    """The model gave no usable analysis for one article; `reason` says why."""

    def __init__(self, reason: str, retries: int = 0) -> None:
        self.reason = reason
        self.retries = retries
        super().__init__(reason)


class FormatRefused(AnalysisFailed):
    """The server refused the json_schema response format (it knows JSON mode at most)."""


@dataclass(frozen=True)
class Answer:
    text: str  # the analysis, Markdown
    model: str
    input_tokens: int
    output_tokens: int
    retries: int
    notes: tuple[Note, ...] = ()


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


def request_body(
    prompt: Prompt, model: str, user_message: str, base_url: str | None, structured: str
) -> dict[str, Any]:
    """The Chat Completions request for one article: sent directly, or as a batch line;
    `structured` is the response format asked for (answer.FORMATS)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": system_message(prompt.system)},
            {"role": "user", "content": user_message},
        ],
        "response_format": response_format(structured),
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
        reason = api_reason(exc, client.api_key, str(client.base_url))
        if _refuses_schema(exc, body):
            hint = "; for a server without Structured Outputs set analysis.structured: auto"
            raise FormatRefused(reason + hint, retries) from None
        raise AnalysisFailed(reason, retries) from None
    retries = raw.retries_taken
    try:
        completion = raw.parse()
    except (json.JSONDecodeError, openai.APIError, ValueError) as exc:
        raise AnalysisFailed(
            f"the reply was not valid JSON ({type(exc).__name__})", retries
        ) from None
    return answer_of(completion, body["model"], retries)


def _refuses_schema(exc: openai.APIError, body: dict[str, Any]) -> bool:
    """Whether a failed json_schema request was refused for its response format, as
    servers that know JSON mode at most answer (llama.cpp before September 2024: "type
    must be one of 'text' or 'json_object'")."""
    if body["response_format"]["type"] != FORMATS[0] or not isinstance(exc, openai.APIStatusError):
        return False
    message = str(exc.message).lower()
    return exc.status_code in (400, 422, 500) and (
        "response_format" in message or "json_schema" in message
    )


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
    content = clean_text(message.content or "")
    if not content:
        raise AnalysisFailed("the model's answer was empty", retries)
    try:
        analysis, notes = parse_answer(content)
    except BadAnswer as exc:
        raise AnalysisFailed(str(exc), retries) from None
    text = clean_text(analysis)
    if not text:
        raise AnalysisFailed("the model's analysis was empty", retries)
    usage = completion.usage
    return Answer(
        notes=tuple(notes),
        text=text,
        model=completion.model or requested_model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        retries=retries,
    )
