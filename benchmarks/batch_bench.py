"""Benchmark of `analyze --batch` against the fake server's Batch API (not a test).

Makes a temporary site of N articles (the shared benchmark corpus, without its sidecars),
starts tests/fake_openai.FakeOpenAI, and runs `python -m marginalia analyze --batch` as a
subprocess three times: to send (upload + create), while pending, and, once the fake has
finished the batch, to collect (download + write the sidecars). Prints, per run: the
HTTP requests it made, the batch files, the wall time (the interpreter's start included).

    python benchmarks/batch_bench.py [--articles 1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "benchmarks")]

from analyze_bench import make_site  # noqa: E402 - after the path is set
from fake_openai import FakeOpenAI  # noqa: E402

CONFIG = """\
title: Batch benchmark
base_url: https://example.org/
analysis:
  model: gpt-4o-mini
  price_per_million_tokens: {input: 0.15, output: 0.6}
"""


def run_batch(root: Path, fake: FakeOpenAI) -> tuple[float, int, str]:
    """(wall seconds, HTTP requests made, the command's output)."""
    env = {
        **os.environ,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "bench-key",
        "PYTHONPATH": str(REPO),
        "NO_PROXY": "127.0.0.1,localhost",
        "MARGINALIA_TOKENIZER": "approx",
    }
    before = fake.calls
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "marginalia", "analyze", "--batch", "--root", str(root)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"analyze --batch failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return wall, fake.calls - before, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp, FakeOpenAI() as fake:
        root = make_site(Path(tmp) / "site", args.articles)
        (root / "config.yaml").write_text(CONFIG, encoding="utf-8")  # with prices
        print(f"{args.articles} articles; wall times include the interpreter's start.")
        wall, requests, out = run_batch(root, fake)
        uploaded = sum(f["object"]["bytes"] for f in fake.files.values())
        lines = sum(len(fake.file_lines(b["input_file_id"])) for b in fake.batches.values())
        print(
            f"send:    {wall:6.2f} s, {requests} HTTP requests, {len(fake.batches)} batch "
            f"file(s), {lines} request lines, {uploaded / 1e6:.2f} MB uploaded"
        )
        wall, requests, _ = run_batch(root, fake)
        print(f"pending: {wall:6.2f} s, {requests} HTTP requests (nothing sent twice)")
        started = time.monotonic()
        fake.finish_batches()
        print(f"(the fake server answered the batch in {time.monotonic() - started:.2f} s)")
        wall, requests, out = run_batch(root, fake)
        written = len(list((root / "analyses").rglob("*.md")))
        print(f"collect: {wall:6.2f} s, {requests} HTTP requests, {written} sidecars written")
        print(*(line for line in out.splitlines() if line.startswith("Tokens")), sep="\n")


if __name__ == "__main__":
    main()
