"""analyze: ask the model for each missing or stale analysis and keep every answer.

Each sidecar is written atomically the moment its answer arrives, so an interrupted run
(Ctrl-C, kill -9) keeps all finished work and the next run makes only the calls left.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..config import AnalysisSettings, Settings
from ..content import CONTENT_DIR, is_service_url
from ..errors import MarginaliaError, Problem, Problems, UsageError
from ..notes.quotes import unmatched_problems
from ..words import plural
from .answer import FORMATS, system_message
from .client import (
    AnalysisFailed,
    Answer,
    Endpoint,
    FormatRefused,
    ask,
    make_client,
    request_body,
)
from .plan import PlanItem, State, load_for_analysis, make_plan
from .progress import Progress
from .prompt import Prompt
from .sidecar import ANALYSES_DIR, Sidecar, read_sidecar, write_sidecar
from .tokens import token_counter

TODO = frozenset({State.MISSING, State.STALE})


@dataclass
class AnalyzeOptions:
    paths: list[Path] = field(default_factory=list)
    force: bool = False
    limit: int | None = None
    model: str | None = None
    concurrency: int | None = None
    dry_run: bool = False


@dataclass
class Failure:
    path: str
    reason: str


@dataclass
class AnalyzeReport:
    todo: list[PlanItem]
    skipped: Counter[State]
    model: str
    settings: AnalysisSettings
    analysed: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    seconds: float = 0.0
    over_limit: int = 0
    tokens_method: str = ""
    interrupted: bool = False
    quotes: list[Problem] = field(default_factory=list)  # notes quoting words not in the article

    @property
    def calls(self) -> int:
        """Requests sent: one per finished article plus every retry."""
        return len(self.analysed) + len(self.failures) + self.retries

    def cost(self) -> float:
        return self.settings.price_per_million_tokens.cost(self.input_tokens, self.output_tokens)

    def skipped_text(self) -> str:
        parts = [f"{n} {state.value}" for state, n in sorted(self.skipped.items()) if n]
        if self.over_limit:
            parts.append(f"{self.over_limit} over --limit")
        return ", ".join(parts) or "none"


class MissingKey(MarginaliaError):
    """No OPENAI_API_KEY for a service that needs one."""


class BadServiceUrl(MarginaliaError):
    """OPENAI_BASE_URL is no http(s) URL (config.yaml's analysis.base_url is checked
    with the rest of the config)."""


def base_url_for(analysis: AnalysisSettings) -> str | None:
    """The OpenAI-compatible server named by OPENAI_BASE_URL, else by config; None: OpenAI.
    The environment wins so that a CI variable or one run can point elsewhere without
    editing config.yaml."""
    from_environment = os.environ.get("OPENAI_BASE_URL", "").strip()
    if from_environment and not is_service_url(from_environment):
        raise BadServiceUrl(f"OPENAI_BASE_URL is not a usable http(s) URL: {from_environment}")
    return from_environment or analysis.base_url or None


def endpoint_for(analysis: AnalysisSettings) -> Endpoint:
    """Where to send requests: OPENAI_BASE_URL, else config's analysis.base_url, else
    OpenAI. OpenAI itself needs OPENAI_API_KEY, a local server may not."""
    base_url = base_url_for(analysis)
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not key:
        if base_url is None:
            raise MissingKey(
                "no API key: set the OPENAI_API_KEY environment variable, or point "
                "analysis.base_url (or OPENAI_BASE_URL) at a local server such as Ollama"
            )
        key = "no-key"  # Ollama, vLLM and llama.cpp accept any key unless told otherwise
    return Endpoint(base_url, key, analysis.timeout, analysis.max_retries)


def _article_paths(root: Path, args: list[Path]) -> set[str]:
    """Content-relative paths of the articles named (files or folders), or UsageError."""
    content = (root / CONTENT_DIR).resolve()
    chosen: set[str] = set()
    for arg in args:
        candidates = [arg, root / arg, content / arg] if not arg.is_absolute() else [arg]
        target = next((c.resolve() for c in candidates if c.exists()), None)
        if target is None or not target.is_relative_to(content):
            raise UsageError(f"{arg}: not an article or folder under {CONTENT_DIR}/")
        if target.is_dir():
            chosen.update(p.relative_to(content).as_posix() for p in target.rglob("*.md"))
        else:
            chosen.add(target.relative_to(content).as_posix())
    return chosen


def select(
    plan: list[PlanItem], options: AnalyzeOptions, root: Path
) -> tuple[list[PlanItem], Counter[State], int]:
    """The items to analyze (newest first, at most --limit), counts of the rest, how many
    --limit left out."""
    if options.paths:
        wanted = _article_paths(root, options.paths)
        plan = [item for item in plan if item.article.path in wanted]
    states = TODO | {State.FRESH} if options.force else TODO
    todo = [item for item in plan if item.state in states]
    skipped = Counter(item.state for item in plan if item.state not in states)
    over_limit = 0
    if options.limit is not None and len(todo) > options.limit:
        over_limit = len(todo) - options.limit
        todo = todo[: options.limit]
    return todo, skipped, over_limit


def model_for(options: AnalyzeOptions, prompt: Prompt, analysis: AnalysisSettings) -> str:
    """--model, else the prompt's model, else config's analysis.model."""
    return options.model or prompt.model or analysis.model


@dataclass(frozen=True)
class Job:
    """What a run works from: settings, prompt, model, every article's state, the selection."""

    settings: Settings
    prompt: Prompt
    model: str
    plan: list[PlanItem]
    todo: list[PlanItem]
    skipped: Counter[State]
    over_limit: int


def prepare(root: Path, options: AnalyzeOptions) -> Job:
    """Load the site and prompt and select the articles to do; no calls, no writes."""
    settings, site, prompt = load_for_analysis(root)
    model = model_for(options, prompt, settings.analysis)
    plan = make_plan(site.articles, prompt.sha256)
    todo, skipped, over_limit = select(plan, options, root)
    return Job(settings, prompt, model, plan, todo, skipped, over_limit)


def first_format(analysis: AnalysisSettings) -> str:
    """The response format asked for first: the one configured; `auto` starts with
    Structured Outputs (and a batch, which cannot fall back, keeps them)."""
    return FORMATS[0] if analysis.structured == "auto" else analysis.structured


def save_answer(
    root: Path, item: PlanItem, prompt: Prompt, answer: Answer, quotes: list[Problem]
) -> str | None:
    """Write an answer's sidecar (atomically); the reason when it may not be written.
    Each note quoting words the article does not contain is added to `quotes`.

    Direct calls and batch results both end here, so their sidecars are alike.
    """
    current = read_sidecar(root, item.article.path, Problems())
    if current is not None and current.locked:  # an editor locked it since the plan was made
        return "locked since the request was made; left as it is"
    write_sidecar(
        root,
        Sidecar(
            article=item.article.path,
            model=answer.model,
            body=answer.text,
            notes=list(answer.notes),
            prompt=prompt.name,
            prompt_sha256=prompt.sha256,
            article_sha256=item.article.sha256,
            created=datetime.now(UTC).replace(microsecond=0),
            usage={"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
            extra=item.sidecar.extra if item.sidecar else {},
        ),
    )
    # the notes as written: each at the line of its heading in the new file
    written = read_sidecar(root, item.article.path, Problems())
    if written is not None:
        shown = f"{ANALYSES_DIR}/{item.article.path}"
        quotes.extend(unmatched_problems(item.article, written.notes, shown))
    return None


async def _call_all(
    root: Path,
    todo: list[PlanItem],
    messages: list[str],
    prompt: Prompt,
    model: str,
    endpoint: Endpoint,
    concurrency: int,
    report: AnalyzeReport,
    progress: Progress,
) -> None:
    client = make_client(endpoint)
    progress.stream.write(
        f"Analyzing {plural(len(todo), 'article')} with {model} at {client.base_url}\n"
    )
    gate = asyncio.Semaphore(concurrency)
    falls_back = report.settings.structured == "auto"
    formats = [first_format(report.settings)]  # auto turns to JSON mode once refused

    async def ask_for(message: str) -> Answer:
        while True:
            asked = formats[0]
            try:
                return await ask(
                    client, request_body(prompt, model, message, endpoint.base_url, asked)
                )
            except FormatRefused as refused:
                if not falls_back:
                    raise
                report.retries += refused.retries + 1
                if formats[0] == asked:
                    formats[0] = FORMATS[1]
                    progress.say(
                        "The server refused Structured Outputs (json_schema): asking in JSON "
                        "mode for the rest of this run (analysis.structured: json_object "
                        "starts there)."
                    )

    async def one(item: PlanItem, message: str) -> None:
        async with gate:
            try:
                answer = await ask_for(message)
            except AnalysisFailed as failed:
                report.retries += failed.retries
                report.failures.append(Failure(f"{CONTENT_DIR}/{item.article.path}", failed.reason))
                progress.done(f"{CONTENT_DIR}/{item.article.path}", False, failed.reason)
                return
        report.retries += answer.retries
        report.input_tokens += answer.input_tokens
        report.output_tokens += answer.output_tokens
        refused = save_answer(root, item, prompt, answer, report.quotes)
        if refused:
            report.failures.append(Failure(f"{CONTENT_DIR}/{item.article.path}", refused))
            progress.done(f"{CONTENT_DIR}/{item.article.path}", False, refused)
            return
        report.analysed.append(item.article.path)
        progress.done(f"{CONTENT_DIR}/{item.article.path}", True)

    try:
        await asyncio.gather(
            *(one(item, message) for item, message in zip(todo, messages, strict=True))
        )
    finally:
        await client.close()


def estimate_tokens(prompt: Prompt, model: str, messages: list[str]) -> tuple[int, int, str]:
    """Input tokens of these user messages with the prompt's system message, output tokens
    at most (max_output_tokens each), and how the input was counted."""
    count, method = token_counter(model)
    system = count(system_message(prompt.system))
    sent = sum(system + count(message) for message in messages)
    return sent, len(messages) * (prompt.max_output_tokens or 0), method


def analyze(root: Path, options: AnalyzeOptions, stream: TextIO | None = None) -> AnalyzeReport:
    """Plan, then (unless dry_run) call the model for each selected article.

    Progress goes to `stream`, by default the sys.stderr of the moment (not of import time).
    """
    job = prepare(root, options)
    todo, prompt, model = job.todo, job.prompt, job.model
    messages = [prompt.user_message(item.article) for item in todo]
    report = AnalyzeReport(
        todo, job.skipped, model, job.settings.analysis, over_limit=job.over_limit
    )
    if options.dry_run:
        report.input_tokens, report.output_tokens, report.tokens_method = estimate_tokens(
            prompt, model, messages
        )
        return report
    if not todo:
        return report
    endpoint = endpoint_for(job.settings.analysis)
    concurrency = options.concurrency or job.settings.analysis.concurrency
    progress = Progress(len(todo), sys.stderr if stream is None else stream)
    started = time.monotonic()
    try:
        asyncio.run(
            _call_all(root, todo, messages, prompt, model, endpoint, concurrency, report, progress)
        )
    except KeyboardInterrupt:
        report.interrupted = True  # every finished sidecar is already on disk
    finally:
        progress.close()
        report.seconds = time.monotonic() - started
    return report


def describe_plan(report: AnalyzeReport) -> str:
    """What --dry-run prints: each article to do, tokens and cost estimated."""
    prices = report.settings.price_per_million_tokens
    lines = [
        f"Would analyze {plural(len(report.todo), 'article')} with {report.model}; skipping {report.skipped_text()}."
    ]
    for item in report.todo:
        why = item.state.value + (f" ({item.stale_reason})" if item.stale_reason else "")
        lines.append(f"  {CONTENT_DIR}/{item.article.path}  [{why}]")
    lines.append(f"Estimated input: {report.input_tokens:,} tokens ({report.tokens_method}).")
    if report.output_tokens:
        lines.append(
            f"Output: at most {report.output_tokens:,} tokens (the prompt's max_output_tokens per article)."
        )
    lines.append(
        f"Estimated cost: at most ${report.cost():.4f} at ${prices.input:g} in / ${prices.output:g} out "
        "per million tokens (analysis.price_per_million_tokens). No calls were made."
    )
    return "\n".join(lines)


def describe_run(report: AnalyzeReport) -> str:
    """The closing summary of a run: counts, each failure with its reason, tokens, cost."""
    lines = []
    if report.interrupted:
        lines.append(
            "Interrupted: every analysis finished so far is saved; run analyze again for the rest."
        )
    lines.append(
        f"Analyzed {plural(len(report.analysed), 'article')}, {len(report.failures)} failed, "
        f"skipped {report.skipped_text()} ({plural(report.calls, 'call')}, "
        f"{plural(report.retries, 'retry', 'retries')}, {report.seconds:.1f} s)."
    )
    lines += [f"  failed: {f.path}: {f.reason}" for f in report.failures]
    lines += describe_quotes(report.quotes)
    lines.append(
        f"Tokens: {report.input_tokens:,} in, {report.output_tokens:,} out; "
        f"estimated cost ${report.cost():.4f}."
    )
    return "\n".join(lines)


def describe_quotes(quotes: list[Problem]) -> list[str]:
    """The notes written that quote words their article does not contain."""
    if not quotes:
        return []
    return [
        f"Notes quoting words their article does not contain ({len(quotes)}): shown beside "
        "no paragraph, kept in the sidecar for you to fix:",
        *(f"  {problem}" for problem in sorted(quotes)),
    ]
