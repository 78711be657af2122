"""Benchmark of `analyze` against the fake Chat Completions server (not a test).

Makes a temporary site of N articles (the shared benchmark corpus, without its sidecars),
starts tests/fake_openai.FakeOpenAI with a fixed latency that answers every 20th request
with a 429 (Retry-After 0.5 s), and runs `python -m marginalia analyze` as a subprocess
at each concurrency, on a fresh analyses/ each time. Prints: concurrency, calls the
server received, retries the summary reports, wall time.

    python benchmarks/analyze_bench.py [--articles 100] [--latency 0.5] [--concurrency 1 8 32]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAKE_CORPUS = Path("/work/shared/bench/make_corpus.py")
sys.path.insert(0, str(REPO / "tests"))

import fake_openai  # noqa: E402 - after the path is set
from fake_openai import FakeOpenAI, Reply  # noqa: E402

# socketserver's listen backlog of 5 makes the fake reset connections when 32 arrive at
# once; those resets are retried by the client but never reach the server's count.
fake_openai._Server.request_queue_size = 128

CONFIG = """\
title: Analyze benchmark
base_url: https://example.org/
analysis:
  model: gpt-4o-mini
  max_retries: 5
  timeout: 30
"""
SUMMARY = re.compile(r"\((\d+) calls, (\d+) retries, ([\d.]+) s\)")


def every_nth_429(n: int, retry_after: float):
    """A responder answering every n-th request with 429 + Retry-After, the rest normally."""
    counter = itertools.count(1)
    lock = threading.Lock()

    def respond(_body: object) -> Reply | None:
        with lock:
            number = next(counter)
        return Reply(status=429, retry_after=retry_after) if number % n == 0 else None

    return respond


def make_site(folder: Path, articles: int) -> Path:
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), str(folder), str(articles)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(folder / "analyses", ignore_errors=True)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder


def run_once(root: Path, fake: FakeOpenAI, concurrency: int) -> tuple[int, int, float, str]:
    shutil.rmtree(root / "analyses", ignore_errors=True)
    fake.reset()
    fake.responder = every_nth_429(20, 0.5)
    env = {
        **os.environ,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "bench-key",
        "PYTHONPATH": str(REPO),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "marginalia",
            "analyze",
            "--root",
            str(root),
            "--concurrency",
            str(concurrency),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    match = SUMMARY.search(result.stdout)
    if result.returncode != 0 or match is None:
        sys.exit(f"analyze failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    sidecars = len(list((root / "analyses").rglob("*.md")))
    return (
        fake.calls,
        int(match.group(2)),
        wall,
        (f"{sidecars} sidecars; analyze: {match.group(1)} calls, {match.group(3)} s"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="analyze-bench-") as tmp,
        FakeOpenAI(latency=args.latency) as fake,
    ):
        root = make_site(Path(tmp) / "site", args.articles)
        print(
            f"{args.articles} articles, {args.latency:g} s latency, every 20th request a 429 "
            "(Retry-After 0.5 s); wall time includes the interpreter's start."
        )
        print(f"{'concurrency':>11}  {'calls':>5}  {'retries':>7}  {'wall time':>9}  notes")
        for concurrency in args.concurrency:
            calls, retries, wall, notes = run_once(root, fake, concurrency)
            print(
                f"{concurrency:>11}  {calls:>5}  {retries:>7}  {wall:>8.1f}s  {notes}", flush=True
            )


if __name__ == "__main__":
    main()
