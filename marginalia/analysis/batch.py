"""Analyses as batch jobs: `analyze --batch` (and `--cancel`), `--export`, `--import`.

A batch run collects this site's finished batches, sends what is still to do, and says
what is pending. The provider is the only state needed: batches are found by listing
them (metadata names the site), and what a batch asked for by its input file's
custom_ids, which name each article and the versions of its text and of the prompt
(jsonl.RequestKey). A result is written only when no analysis was written for its
article since the batch was sent, so collecting again is harmless, from any clone. A
local record of each batch's custom_ids (under .cache/) only saves downloading them.

Results become sidecars through the same checks and writer as direct calls
(client.answer_of, run.save_answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import openai
from openai.types import Batch

from .. import atomic
from ..content import CONTENT_DIR
from ..errors import InputError, Problem
from ..words import human_size, plural
from . import jsonl
from .client import (
    AnalysisFailed,
    Endpoint,
    answer_of,
    api_reason,
    completion_of,
    make_batch_client,
    request_body,
)
from .plan import PlanItem, State
from .run import (
    AnalyzeOptions,
    Failure,
    Job,
    base_url_for,
    describe_quotes,
    endpoint_for,
    estimate_tokens,
    first_format,
    prepare,
    save_answer,
    select,
)

SITE_KEY = "marginalia_site"  # batch metadata: which site sent it
PENDING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
RECORDS_DIR = ".cache/marginalia/batches"  # {batch id}.json: the custom_ids it was sent


@dataclass
class BatchReport:
    """What a batch command did, for the closing summary."""

    job: Job
    written: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    stale: list[Failure] = field(default_factory=list)  # results discarded, and why
    collected: list[Batch] = field(default_factory=list)
    sent: list[tuple[Batch, int, int]] = field(default_factory=list)  # batch, requests, bytes
    pending: list[Batch] = field(default_factory=list)
    cancelled: list[Batch] = field(default_factory=list)
    over_limit: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    sent_input_tokens: int = 0
    sent_output_tokens: int = 0  # at most: the prompt's max_output_tokens per request
    quotes: list[Problem] = field(default_factory=list)  # notes quoting words not in the article
    stopped: str = ""  # the provider error that ended the run early
    listed: bool = False  # the provider's batches were looked at (not so for --import)

    @property
    def ok(self) -> bool:
        return not (self.failures or self.stopped)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return self.job.settings.analysis.batch_prices.cost(input_tokens, output_tokens)


def site_id(job: Job) -> str:
    """How this site's batches are told from others sent with the same key."""
    return job.settings.base_url[:512]  # metadata values are at most 512 characters


# -- results into sidecars (collect and import) ----------------------------------------


def apply_results(
    root: Path,
    results: Iterable[jsonl.Result],
    items: dict[str, PlanItem],
    job: Job,
    report: BatchReport,
    source: str,
    numbered: bool = True,
) -> None:
    """Write a sidecar for each usable result; report every other one with its reason
    (and its line in `source`, when numbered)."""
    for result in results:
        where = f"{source}:{result.line}" if numbered else source
        key = jsonl.RequestKey.parse(result.custom_id)
        item = items.get(key.path) if key else None
        if item is None:
            if result.custom_id is None:
                report.failures.append(Failure(where, result.error))
            else:
                why = f"unknown custom_id {result.custom_id!r}: no such article to analyze"
                report.failures.append(Failure(where, why))
            continue
        shown = f"{CONTENT_DIR}/{item.article.path}"
        changed = key.matches(item.article.sha256, job.prompt.sha256)
        if changed:
            report.stale.append(Failure(shown, f"{changed}; result discarded ({source})"))
            continue
        if result.error:
            report.failures.append(Failure(shown, f"{result.error} ({where})"))
            continue
        try:
            answer = answer_of(completion_of(result.body), job.model)
        except AnalysisFailed as failed:
            report.failures.append(Failure(shown, f"{failed.reason} ({where})"))
            continue
        report.input_tokens += answer.input_tokens
        report.output_tokens += answer.output_tokens
        refused = save_answer(root, item, job.prompt, answer, report.quotes)
        if refused:
            report.failures.append(Failure(shown, refused))
        else:
            report.written.append(item.article.path)


# -- the provider's batches ------------------------------------------------------------


def _record_path(root: Path, batch_id: str) -> Path:
    return root / RECORDS_DIR / f"{batch_id}.json"


def _remember(root: Path, batch_id: str, ids: list[str]) -> None:
    atomic.write_bytes(_record_path(root, batch_id), json.dumps(ids).encode())


def sent_ids(client: openai.OpenAI, root: Path, batch: Batch) -> list[str] | None:
    """The custom_ids a batch was sent: from the local record, else its input file; None
    when the provider will not give the file (gone, or not to be downloaded)."""
    try:
        ids = json.loads(_record_path(root, batch.id).read_bytes())
        if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            return ids
    except (OSError, ValueError):
        pass
    try:
        data = client.files.content(batch.input_file_id).content
    except (openai.NotFoundError, openai.PermissionDeniedError, openai.BadRequestError):
        return None
    ids = jsonl.custom_ids(data)
    _remember(root, batch.id, ids)
    return ids


def site_batches(client: openai.OpenAI, site: str) -> list[Batch]:
    """This site's batches, oldest first (later results then win)."""
    found = [b for b in client.batches.list(limit=100) if (b.metadata or {}).get(SITE_KEY) == site]
    return sorted(found, key=lambda b: (b.created_at, b.id))


def _still_wanted(item: PlanItem, batch: Batch) -> bool:
    """A result is wanted unless an analysis was written since the request (or locked)."""
    sidecar = item.sidecar
    if sidecar is None:
        return True
    if sidecar.locked:
        return False
    return sidecar.created is None or sidecar.created.timestamp() < batch.created_at


def _batch_errors(batch: Batch) -> str:
    errors = batch.errors.data if batch.errors and batch.errors.data else []
    text = "; ".join(
        (f"line {e.line}: " if e.line else "") + (e.message or e.code or "") for e in errors
    )
    return text or "no reason given"


def collect(
    client: openai.OpenAI,
    root: Path,
    batch: Batch,
    ids: list[str] | None,
    superseded: set[str],
    items: dict[str, PlanItem],
    report: BatchReport,
) -> None:
    """Write what a finished batch brought that is still wanted; report the rest.

    Wanted: not sent again since (or pending), and no analysis written since it was sent.
    Without the batch's custom_ids (ids None), its results say what it held.
    """

    def wanted(custom_id: str | None) -> bool:
        key = jsonl.RequestKey.parse(custom_id)
        item = items.get(key.path) if key else None
        return bool(item) and custom_id not in superseded and _still_wanted(item, batch)

    if ids is not None and not any(map(wanted, ids)):
        return  # collected before, or overtaken: nothing to say
    if batch.status == "failed":
        if ids is not None:
            reason = f"the batch failed: {_batch_errors(batch)}; its articles are sent again"
            report.collected.append(batch)
            report.failures.append(Failure(f"batch {batch.id}", reason))
        return
    data = b"".join(
        client.files.content(file_id).content.rstrip(b"\n") + b"\n"
        for file_id in (batch.output_file_id, batch.error_file_id)
        if file_id
    )  # every file is downloaded before a sidecar is written
    results = [r for r in jsonl.read_results(data) if wanted(r.custom_id) and not r.unanswered]
    if ids is not None or results:
        report.collected.append(batch)
        source = f"batch {batch.id}"
        apply_results(root, results, items, report.job, report, source, numbered=False)


def _upload(client: openai.OpenAI, root: Path, lines: list[bytes], part: str, job: Job) -> Batch:
    data = b"".join(lines)
    uploaded = client.files.create(file=(f"marginalia-{part}.jsonl", data), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=jsonl.CHAT_COMPLETIONS,
        completion_window="24h",
        metadata={SITE_KEY: site_id(job), "marginalia_part": part, "model": job.model[:512]},
    )
    _remember(root, batch.id, jsonl.custom_ids(data))
    return batch


def _custom_id(job: Job, item: PlanItem) -> str:
    """The request's name: the article, its text and the prompt it is sent with."""
    return jsonl.RequestKey(item.article.path, item.article.sha256, job.prompt.sha256).custom_id


def request_lines(
    job: Job, todo: list[PlanItem], messages: list[str], base_url: str | None
) -> list[bytes]:
    """One request line per article (with its user message), as sent to a batch or exported."""
    structured = first_format(job.settings.analysis)
    return [
        jsonl.request_line(
            _custom_id(job, item),
            request_body(job.prompt, job.model, message, base_url, structured),
        )
        for item, message in zip(todo, messages, strict=True)
    ]


def user_messages(job: Job, todo: list[PlanItem]) -> list[str]:
    """What each article's request asks: the prompt's user message made for it."""
    return [job.prompt.user_message(item.article) for item in todo]


def _send(
    client: openai.OpenAI,
    root: Path,
    job: Job,
    todo: list[PlanItem],
    endpoint: Endpoint,
    report: BatchReport,
) -> None:
    messages = user_messages(job, todo)
    report.sent_input_tokens, report.sent_output_tokens, _ = estimate_tokens(
        job.prompt, job.model, messages
    )
    files = jsonl.split_lines(request_lines(job, todo, messages, endpoint.base_url))
    for number, lines in enumerate(files, start=1):
        batch = _upload(client, root, lines, f"{number}/{len(files)}", job)
        report.sent.append((batch, len(lines), sum(map(len, lines))))
        report.pending.append(batch)


def _to_send(
    job: Job, options: AnalyzeOptions, root: Path, busy: set[str], report: BatchReport
) -> list[PlanItem]:
    """The selection of `analyze` (--limit included) among what no batch has or just brought."""
    written = set(report.written)
    open_items = [
        item
        for item in job.plan
        if item.article.path not in written and _custom_id(job, item) not in busy
    ]
    todo, _, report.over_limit = select(open_items, options, root)
    return todo


def run_batch(root: Path, options: AnalyzeOptions, cancel: bool = False) -> BatchReport:
    """Collect finished batches, send what is left (or, with cancel, cancel the pending)."""
    job = prepare(root, options)
    report = BatchReport(job)
    endpoint = endpoint_for(job.settings.analysis)
    client = make_batch_client(endpoint)
    items = {item.article.path: item for item in job.plan if item.state is not State.OPTED_OUT}
    try:
        batches = site_batches(client, site_id(job))
        report.listed = True
        pending = [b for b in batches if b.status in PENDING]
        if cancel:
            report.cancelled = [
                client.batches.cancel(b.id) for b in pending if b.status != "cancelling"
            ]
            return report
        ids = {b.id: sent_ids(client, root, b) for b in batches}
        busy = {custom_id for b in pending for custom_id in ids[b.id] or ()}
        sent_later: set[str] = set()  # a request sent again later is that batch's business
        superseded = {}
        for batch in reversed(batches):
            superseded[batch.id] = busy | sent_later
            sent_later.update(ids[batch.id] or ())
        for batch in batches:
            if batch.status not in PENDING:
                collect(client, root, batch, ids[batch.id], superseded[batch.id], items, report)
        report.pending = pending
        unknown = [b.id for b in pending if ids[b.id] is None]
        if unknown:
            report.stopped = (
                f"the provider does not give the requests of pending "
                f"{'batch' if len(unknown) == 1 else 'batches'} {', '.join(unknown)}, so nothing was sent (an article might be sent twice). "
                f"The clone that sent them keeps them in {RECORDS_DIR}/; or cancel them with "
                "analyze --batch --cancel"
            )
            return report
        todo = _to_send(job, options, root, busy, report)
        if todo:
            _send(client, root, job, todo, endpoint, report)
    except openai.APIError as exc:
        report.stopped = api_reason(exc, endpoint.api_key, endpoint.base_url or "")
    finally:
        client.close()
    return report


# -- export and import ------------------------------------------------------------------


def export(root: Path, options: AnalyzeOptions, target: Path) -> int:
    """Write the requests `analyze` would make as a batch input file; how many."""
    job = prepare(root, options)
    base_url = base_url_for(job.settings.analysis)
    atomic.write_bytes(
        target, b"".join(request_lines(job, job.todo, user_messages(job, job.todo), base_url))
    )
    return len(job.todo)


def import_results(root: Path, source: Path) -> BatchReport:
    """Write the sidecars of an engine's batch output file; report each line not used."""
    job = prepare(root, AnalyzeOptions())
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(source), None, f"cannot read: {exc.strerror}")]) from None
    report = BatchReport(job)
    items = {item.article.path: item for item in job.plan if item.state is not State.OPTED_OUT}
    apply_results(root, jsonl.read_results(data), items, job, report, str(source))
    return report


# -- the summary --------------------------------------------------------------------------


def _age(created_at: int) -> str:
    seconds = max(0, int(time.time()) - created_at)
    if seconds < 3600:
        return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _counts(batch: Batch) -> str:
    counts = batch.request_counts
    if counts is None:
        return "counts not known yet"
    failed = f", {counts.failed} failed" if counts.failed else ""
    return f"{counts.completed + counts.failed}/{counts.total} done{failed}"


def describe(report: BatchReport) -> str:
    """The state after a batch command: collected, sent, pending, failures, cost."""
    lines = []
    for batch in report.cancelled:
        lines.append(f"Cancelled {batch.id} ({batch.status}, {_counts(batch)}).")
    if report.collected:
        names = ", ".join(f"{b.id} ({b.status})" for b in report.collected)
        lines.append(f"Collected {names}.")
    if report.collected or report.written or report.failures or report.stale:
        lines.append(
            f"Written {len(report.written)}, failed {len(report.failures)}, "
            f"discarded as stale {len(report.stale)}."
        )
    lines += [f"  failed: {f.path}: {f.reason}" for f in report.failures]
    lines += [f"  stale: {f.path}: {f.reason}" for f in report.stale]
    if report.stale:
        lines.append("  (a stale result is not used: its article is due for a new analysis)")
    lines += describe_quotes(report.quotes)
    if report.input_tokens:
        lines.append(
            f"Tokens: {report.input_tokens:,} in, {report.output_tokens:,} out; cost "
            f"${report.cost(report.input_tokens, report.output_tokens):.4f} at batch prices."
        )
    if report.sent:
        requests = sum(n for _, n, _ in report.sent)
        size = sum(s for _, _, s in report.sent)
        ids = ", ".join(b.id for b, _, _ in report.sent)
        estimate = report.cost(report.sent_input_tokens, report.sent_output_tokens)
        bound = "at most " if report.sent_output_tokens else "input only, "
        lines.append(
            f"Sent {plural(requests, 'request')} in {plural(len(report.sent), 'batch', 'batches')}, "
            f"{human_size(size)}: {ids}."
        )
        lines.append(
            f"Estimated cost: {bound}${estimate:.4f} at batch prices "
            "(analysis.batch_price_per_million_tokens)."
        )
    if report.over_limit:
        lines.append(f"Left for later: {report.over_limit} over --limit.")
    if report.pending:
        lines.append(
            f"Pending: {plural(len(report.pending), 'batch', 'batches')}; run analyze --batch to collect."
        )
        lines += [
            f"  {b.id}: {b.status}, {_age(b.created_at)} old, {_counts(b)}" for b in report.pending
        ]
    elif report.listed and not report.cancelled:
        lines.append("Pending: none.")
    if report.stopped:
        lines.append(
            f"Stopped: {report.stopped}. What was written is kept; run the same command "
            "again to go on."
        )
    return "\n".join(lines)
