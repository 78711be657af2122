"""The command line: parses arguments and calls the build, check, new, init and analyze.

Errors in the user's files end with a `path:line: message` list and exit 1; wrong
usage exits 2; nothing here prints a traceback for either.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import MarginaliaError, Problem
from .words import plural


def _print_problems(errors: Sequence[Problem], warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        where, _, message = str(warning).partition(": ")
        print(f"{where}: warning: {message}", file=sys.stderr)
    for error in errors:
        print(str(error), file=sys.stderr)


def _human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    raise AssertionError


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

    report = build(args.root, drafts=args.drafts, base_url=args.base_url, full=args.full)
    _print_problems([], report.warnings)
    pub = report.published
    size = pub.total_bytes
    if size >= 0.8 * limit:
        over = size > limit
        share = "over" if over else f"{size * 100 // limit}% of"
        message = (
            f"site/ is {_human_size(size)}, {share} GitHub Pages' {_human_size(limit)} limit "
            "on a published site: "
            + ("GitHub Pages may refuse to publish it. " if over else "")
            + "Keep large files (video, audio, archives) elsewhere and link to them."
        )
        if os.environ.get("GITHUB_ACTIONS") == "true":  # an annotation on the run's page
            print(f"::{'error' if over else 'warning'} title=Site size::{message}", file=sys.stderr)
        else:
            label = "warning: OVER THE LIMIT" if over else "warning"
            print(f"site/: {label}: {message}", file=sys.stderr)
    print(
        f"Built {plural(report.pages, 'file')} ({pub.written} written, {pub.unchanged} unchanged, "
        f"{pub.removed} removed), {_human_size(size)}, in {report.seconds:.2f} s -> "
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


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis.run import AnalyzeOptions, analyze, describe_plan, describe_run

    options = AnalyzeOptions(
        paths=args.paths,
        force=args.force,
        limit=args.limit,
        model=args.model,
        concurrency=args.concurrency,
        dry_run=args.dry_run,
    )
    report = analyze(args.root, options)
    if args.dry_run:
        print(describe_plan(report))
        return 0
    print(describe_run(report))
    if report.interrupted:
        return 130
    return 1 if report.failures else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import ServeOptions, serve

    return serve(args.root, ServeOptions(host=args.host, port=args.port, drafts=args.drafts))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
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
    analyze.set_defaults(handler=cmd_analyze)

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
    return parser


COMMANDS = ("build", "check", "new", "init", "analyze", "serve")


def _command_first(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Put the command first ('--root X check' works); no command means build, and a
    word that build cannot take is a command mistyped (exit 2, listing the commands)."""
    for index, arg in enumerate(argv):
        if arg in ("-h", "--help", "--version"):
            return argv
        if arg in COMMANDS and (index == 0 or argv[index - 1] != "--root"):
            return [arg, *argv[:index], *argv[index + 1 :]]
    for index, arg in enumerate(argv):
        if not arg.startswith("-") and (
            index == 0 or argv[index - 1] not in ("--root", "--base-url")
        ):
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
