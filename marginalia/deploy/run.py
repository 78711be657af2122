"""A deploy from start to end: settings, the plan, every changed file up phase by phase,
then the objects site/ no longer has deleted.

Nothing is deleted until every upload has succeeded, and each object is replaced whole by
one PUT: a deploy cut short leaves the old site with some new files, never a page that
names a missing file, and the next run (comparing again) finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..config import DeploySettings, load_settings
from ..errors import UsageError
from ..output import SITE_DIR
from ..words import human_size, plural
from .bucket import Bucket, DeployError, Target
from .plan import Plan, local_files, make_plan


@dataclass(frozen=True)
class DeployOptions:
    """The command line's settings; None: config.yaml's `deploy:` value."""

    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str | None = None
    concurrency: int | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class DeployReport:
    target: Target
    plan: Plan
    dry_run: bool
    seconds: float


def _settings(root: Path, options: DeployOptions) -> DeploySettings:
    """config.yaml's deploy settings with the command line's over them, validated alike."""
    given = {
        name: getattr(options, name)
        for name in ("bucket", "endpoint_url", "region", "prefix", "concurrency")
        if getattr(options, name) is not None
    }
    configured = load_settings(root).deploy
    try:
        settings = DeploySettings.model_validate({**configured.model_dump(), **given})
    except ValidationError as exc:
        raise UsageError(
            "; ".join(
                f"--{str(error['loc'][0]).replace('_', '-')}: "
                + error["msg"].removeprefix("Value error, ")
                for error in exc.errors()
            )
        ) from None
    if settings.bucket is None:
        raise UsageError("deploy needs a bucket: set deploy.bucket in config.yaml, or --bucket")
    return settings


def deploy(root: Path, options: DeployOptions, say: Callable[[str], None]) -> DeployReport:
    """Make the bucket hold exactly site/; `say` is told each upload and deletion."""
    started = time.perf_counter()
    settings = _settings(root, options)
    assert settings.bucket is not None
    target = Target(settings.bucket, settings.prefix, settings.endpoint_url, settings.region)
    local = local_files(root / SITE_DIR)
    if not local:  # never make a bucket empty because the site was not built here
        raise DeployError(f"{root / SITE_DIR} has no files: run 'python build.py' first")
    bucket = Bucket(target, settings.concurrency)
    plan = make_plan(local, bucket.listing())
    if options.dry_run:
        for upload in plan.uploads:
            say(f"would upload {upload.rel} ({'new' if upload.new else 'changed'})")
        for rel in plan.deletes:
            say(f"would delete {rel}")
    else:
        _upload(bucket, plan, settings.concurrency, say)
        try:
            for rel in bucket.delete(plan.deletes):
                say(f"deleted {rel}")
        except DeployError as exc:
            raise DeployError(
                f"{exc}; every file is up: run deploy again to delete the rest"
            ) from None
    return DeployReport(target, plan, options.dry_run, time.perf_counter() - started)


def _upload(bucket: Bucket, plan: Plan, concurrency: int, say: Callable[[str], None]) -> None:
    """Each phase's files, `concurrency` at a time; the next phase once all are up."""
    done = 0
    for phase in plan.phases():
        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="deploy")
        try:
            futures = {pool.submit(bucket.put, upload): upload for upload in phase}
            for future in as_completed(futures):
                future.result()  # a DeployError ends the deploy here
                done += 1
                say(f"uploaded {futures[future].rel}")
        except DeployError as exc:
            raise DeployError(
                f"{exc}; {done} of {plural(len(plan.uploads), 'upload')} done and nothing "
                "deleted: run deploy again to finish"
            ) from None
        finally:  # on an error or Ctrl-C, start no more uploads
            pool.shutdown(wait=True, cancel_futures=True)


def describe(report: DeployReport) -> str:
    """The last line: what was (or would be) uploaded and deleted, and where."""
    plan = report.plan
    sent = f"{plural(len(plan.uploads), 'file')} ({human_size(plan.upload_bytes)})"
    if report.dry_run:
        return (
            f"Would upload {sent} to {report.target} and delete {len(plan.deletes)}; "
            f"{plan.unchanged} unchanged. Nothing was sent."
        )
    return (
        f"Deployed site/ to {report.target}: uploaded {sent}, deleted {len(plan.deletes)}, "
        f"{plan.unchanged} unchanged, in {report.seconds:.2f} s"
    )
