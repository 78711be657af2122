"""The command line: parses arguments and calls the build, check, new, init, analyze,
import, serve and deploy.

Errors in the user's files end with a `path:line: message` list and exit 1; wrong
usage exits 2; nothing here prints a traceback for either.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .capture import DEFAULT_TIMEOUT
from .errors import MarginaliaError, Problem, UsageError
from .words import human_size, plural

if TYPE_CHECKING:
    from .analysis.run import AnalyzeOptions


def _print_problems(errors: Sequence[Problem], warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        where, _, message = str(warning).partition(": ")
        print(f"{where}: warning: {message}", file=sys.stderr)
    for error in errors:
        print(str(error), file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    import os

    from .build import build

    # GitHub Pages: "Published GitHub Pages sites may be no larger than 1 GB." The build
    # warns from 80% of it; MARGINALIA_PAGES_SIZE_LIMIT (bytes) sets another limit.
    limit_text = os.environ.get("MARGINALIA_PAGES_SIZE_LIMIT", "").strip()
    limit = 1_000_000_000
    if limit_text:
        if not limit_text.isdigit() or int(limit_text) < 1:
            print(
                f"marginalia: MARGINALIA_PAGES_SIZE_LIMIT must be a whole number of bytes, "
                f"not {limit_text!r}",
                file=sys.stderr,
            )
            return 2
        limit = int(limit_text)

    report = build(
        args.root,
        drafts=args.drafts,
        base_url=args.base_url,
        repository=args.repository,
        full=args.full,
    )
    _print_problems([], report.warnings)
    pub = report.published
    size = pub.total_bytes
    if size >= 0.8 * limit:
        over = size > limit
        share = "over" if over else f"{size * 100 // limit}% of"
        message = (
            f"site/ is {human_size(size)}, {share} GitHub Pages' {human_size(limit)} limit "
            "on a published site: "
            + ("GitHub Pages may refuse to publish it. " if over else "")
            + "Two ways out: a leaner site (large files elsewhere, `search: false`), or "
            'object storage with `python build.py deploy`; see README, "Hosting a large '
            'archive".'
        )
        if os.environ.get("GITHUB_ACTIONS") == "true":  # an annotation on the run's page
            print(f"::{'error' if over else 'warning'} title=Site size::{message}", file=sys.stderr)
        else:
            label = "warning: OVER THE LIMIT" if over else "warning"
            print(f"site/: {label}: {message}", file=sys.stderr)
    print(
        f"Built {plural(report.pages, 'file')} ({pub.written} written, {pub.unchanged} unchanged, "
        f"{pub.removed} removed), {human_size(size)}, in {report.seconds:.2f} s -> "
        f"{args.root / 'site'}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check

    report = check(args.root, drafts=args.drafts)
    _print_problems([], report.warnings)
    print(report.summary())
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import new_article

    path = new_article(args.root, args.title, source=args.source)
    print(path)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .scaffold import init_site

    written = init_site(args.directory)
    for path in written:
        print(f"  wrote {path}")
    print(
        f"Created a Marginalia site in {args.directory}. Next: edit config.yaml (title, base_url),\n"
        f"check requirements.txt names the Marginalia to install, then 'python build.py' there.\n"
        "To publish, push it to GitHub and follow README's 'Publishing on GitHub Pages'."
    )
    return 0


def _analyze_batch(args: argparse.Namespace, options: AnalyzeOptions) -> int:
    """--batch [--cancel], --export, --import: analyses through batch files."""
    from .analysis import batch

    modes = [name for name in ("batch", "export", "import_") if getattr(args, name)]
    clashes = [
        flag
        for flag, used in (("--dry-run", args.dry_run), ("--concurrency", args.concurrency))
        if used
    ]
    if len(modes) > 1 or clashes:
        raise UsageError(
            "use one of --batch, --export, --import, without --dry-run or --concurrency"
        )
    if args.import_:
        if args.paths or args.force or args.limit or args.model:
            raise UsageError("--import takes no PATH, --force, --limit or --model")
        report = batch.import_results(args.root, args.import_)
    elif args.export:
        count = batch.export(args.root, options, args.export)
        print(
            f"Wrote {plural(count, 'request')} to {args.export}. Run them with any OpenAI-compatible "
            "batch engine, then: analyze --import OUTPUT.jsonl"
        )
        return 0
    else:
        report = batch.run_batch(args.root, options, cancel=args.cancel)
    print(batch.describe(report))
    return 0 if report.ok else 1


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis.run import AnalyzeOptions, analyze, describe_plan, describe_run

    if args.cancel and not args.batch:
        raise UsageError("--cancel goes with --batch: analyze --batch --cancel")
    options = AnalyzeOptions(
        paths=args.paths,
        force=args.force,
        limit=args.limit,
        model=args.model,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
    )
    if args.batch or args.export or args.import_:
        return _analyze_batch(args, options)
    report = analyze(args.root, options)
    if args.dry_run:
        print(describe_plan(report))
        return 0
    print(describe_run(report))
    if report.interrupted:
        return 130
    return 1 if report.failures else 0


def cmd_import(args: argparse.Namespace) -> int:
    from .capture.run import ImportOptions, import_articles

    options = ImportOptions(
        targets=args.targets,
        feeds=args.feed,
        limit=args.limit,
        dry_run=args.dry_run,
        timeout=args.timeout,
    )
    report = import_articles(args.root, options, lambda line: print(line, file=sys.stderr))
    for path, title in report.written:
        print(f"would write {path}: {title}" if args.dry_run else path)
    for url, known in report.already:
        print(f"{url}: already in the archive: {known}")
    for url, note in report.notes:
        print(f"{url}: {note}", file=sys.stderr)
    for url, reason in report.failed:
        print(f"{url}: {reason}", file=sys.stderr)
    count = len(report.written)
    done = "would write" if args.dry_run else "wrote"
    print(
        f"{done} {plural(count, 'article')}, {len(report.already)} already in "
        f"the archive, {len(report.failed)} could not be used",
        file=sys.stderr,
    )
    return 1 if report.failed else 0


def cmd_request_check(args: argparse.Namespace) -> int:
    import os

    from .request.decide import check_request, read_request, write_outputs

    output = args.output or os.environ.get("GITHUB_OUTPUT")
    if not output:
        raise UsageError("request-check: give --output FILE (GitHub Actions sets GITHUB_OUTPUT)")
    request = read_request(args.event, args.issue, args.permission, args.requests)
    decision = check_request(args.root, request)
    write_outputs(decision, Path(output), args.comment)
    print(f"{decision.action.value}{': ' + decision.article if decision.article else ''}")
    if decision.comment:
        print(decision.comment)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import ServeOptions, serve

    return serve(args.root, ServeOptions(host=args.host, port=args.port, drafts=args.drafts))


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import DeployOptions, deploy, describe

    options = DeployOptions(
        bucket=args.bucket,
        endpoint_url=args.endpoint_url,
        region=args.region,
        prefix=args.prefix,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
    )
    report = deploy(args.root, options, print)
    print(describe(report))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def make_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", type=Path, default=Path("."), help="the site folder (default: here)"
    )
    parser = argparse.ArgumentParser(
        prog="marginalia",
        description="Build an annotated news archive into a static site.",
        epilog="With no command, builds: 'python build.py --drafts' is 'python build.py build --drafts'.",
    )
    parser.add_argument("--version", action="version", version=f"marginalia {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser(
        "build", parents=[common], help="validate everything and render site/ (the default)"
    )
    build.add_argument("--drafts", action="store_true", help="include draft: true articles")
    build.add_argument(
        "--base-url", help="serve under this absolute URL instead of config's base_url"
    )
    build.add_argument(
        "--repository",
        metavar="OWNER/NAME",
        help="the GitHub repository readers request analyses in, instead of config's",
    )
    build.add_argument(
        "--full", action="store_true", help="render every page, not only those whose inputs changed"
    )
    build.set_defaults(handler=cmd_build)

    check = commands.add_parser(
        "check", parents=[common], help="validate without writing; report analyses to do"
    )
    check.add_argument("--drafts", action="store_true", help="include draft: true articles")
    check.set_defaults(handler=cmd_check)

    new = commands.add_parser(
        "new", parents=[common], help="create a dated article file and print its path"
    )
    new.add_argument("title", help="the headline")
    new.add_argument("--source", help="URL of the original article")
    new.set_defaults(handler=cmd_new)

    init = commands.add_parser("init", help="create a new site folder from the defaults")
    init.add_argument("directory", type=Path)
    init.set_defaults(handler=cmd_init)

    analyze = commands.add_parser(
        "analyze", parents=[common], help="ask a model for missing and stale analyses"
    )
    analyze.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="only these articles or folders"
    )
    analyze.add_argument(
        "--dry-run", action="store_true", help="show the plan, tokens and cost; make no calls"
    )
    analyze.add_argument(
        "--force", action="store_true", help="redo fresh analyses too (never locked ones)"
    )
    analyze.add_argument(
        "--limit", type=_positive, metavar="N", help="at most N articles, newest first"
    )
    analyze.add_argument(
        "--model", metavar="M", help="the model to ask (overrides prompt and config)"
    )
    analyze.add_argument(
        "--concurrency", type=_positive, metavar="N", help="requests in flight at once"
    )
    analyze.add_argument(
        "--batch",
        action="store_true",
        help="collect finished batch jobs, send what is left as new ones (half the price)",
    )
    analyze.add_argument(
        "--cancel", action="store_true", help="with --batch: cancel this site's pending batches"
    )
    analyze.add_argument(
        "--export", type=Path, metavar="FILE.jsonl", help="write the requests as a batch file"
    )
    analyze.add_argument(
        "--import",
        dest="import_",
        type=Path,
        metavar="FILE.jsonl",
        help="write sidecars from a batch engine's output file",
    )
    analyze.set_defaults(handler=cmd_analyze)

    import_ = commands.add_parser(
        "import",
        parents=[common],
        help="capture articles from web pages, saved .html files or feeds into content/",
    )
    import_.add_argument(
        "targets", nargs="+", metavar="URL_OR_FILE", help="pages to capture (feeds with --feed)"
    )
    import_.add_argument(
        "--feed", action="store_true", help="the arguments are RSS/Atom feeds (or pages naming one)"
    )
    import_.add_argument(
        "--limit", type=_positive, metavar="N", help="with --feed: the newest N entries of each"
    )
    import_.add_argument(
        "--dry-run", action="store_true", help="print what would be written; write nothing"
    )
    import_.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a page after this long (default: {DEFAULT_TIMEOUT:g})",
    )
    import_.set_defaults(handler=cmd_import)

    request = commands.add_parser(
        "request-check",
        parents=[common],
        help="decide on an approved analysis request (for .github/workflows/request.yml)",
    )
    for name, about in (
        ("--event", "the issues event (GITHUB_EVENT_PATH)"),
        ("--issue", "the issue as the API gives it now"),
        ("--permission", "the collaborator permission API's answer for who applied the label"),
        ("--requests", "the open analysis requests as the API lists them"),
        ("--comment", "where to write the comment for the issue"),
    ):
        request.add_argument(name, type=Path, required=True, metavar="FILE", help=about)
    request.add_argument(
        "--output", type=Path, metavar="FILE", help="where to add the outputs (GITHUB_OUTPUT)"
    )
    request.set_defaults(handler=cmd_request_check)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="build, serve the site, rebuild on change and reload the browser",
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default: 8000; 0: any free)"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--drafts", action="store_true", help="include draft: true articles")
    serve.set_defaults(handler=cmd_serve)

    deploy = commands.add_parser(
        "deploy",
        parents=[common],
        help="publish site/ to an S3-compatible bucket: changed files, then deletions",
    )
    deploy.add_argument("--bucket", help="the bucket, instead of config's deploy.bucket")
    deploy.add_argument(
        "--endpoint-url", metavar="URL", help="the service's S3 endpoint (not for AWS S3)"
    )
    deploy.add_argument("--region", help="the bucket's region (R2: auto)")
    deploy.add_argument("--prefix", metavar="FOLDER", help="the bucket's folder for the site")
    deploy.add_argument(
        "--concurrency", type=_positive, metavar="N", help="uploads in flight at once"
    )
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be uploaded and deleted; send nothing",
    )
    deploy.set_defaults(handler=cmd_deploy)
    return parser


COMMANDS = (
    "build",
    "check",
    "new",
    "init",
    "analyze",
    "import",
    "request-check",
    "serve",
    "deploy",
)


# The options of build (the command when none is named) that take a value: a word after
# one of them is its value, not a command (`--repository ""` in the Pages workflow too).
BUILD_VALUE_OPTIONS = ("--root", "--base-url", "--repository")


def _command_first(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Put the command first ('--root X check' works); no command means build, and a
    word that build cannot take is a command mistyped (exit 2, listing the commands)."""
    for index, arg in enumerate(argv):
        if arg in ("-h", "--help", "--version"):
            return argv
        if arg in COMMANDS and (index == 0 or argv[index - 1] not in BUILD_VALUE_OPTIONS):
            return [arg, *argv[:index], *argv[index + 1 :]]
    for index, arg in enumerate(argv):
        if not arg.startswith("-") and (index == 0 or argv[index - 1] not in BUILD_VALUE_OPTIONS):
            from .content import near_miss

            close = near_miss(arg, frozenset(COMMANDS))
            guess = f" (did you mean '{close}'?)" if close else ""
            parser.error(f"unknown command '{arg}'{guess}; the commands are {', '.join(COMMANDS)}")
    return ["build", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(_command_first(list(sys.argv[1:] if argv is None else argv), parser))
    try:
        return args.handler(args)
    except MarginaliaError as exc:
        errors = getattr(exc, "errors", None)
        if errors is not None:
            _print_problems(errors, getattr(exc, "warnings", []))
            print(
                f"Stopped: {plural(len(errors), 'error')}; nothing was written.",
                file=sys.stderr,
            )
        else:
            print(f"marginalia: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
