"""Shared fixtures: isolated site folders written in the test body, and the CLI in-process.

Every test works in its own tmp_path; no test reads the user's files or keys or reaches
beyond 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import sys
import sysconfig
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_openai import fake_openai  # noqa: F401 - a fixture for the analyze tests

from marginalia.cli import main
from marginalia.search import BUNDLE_DIR, UNSTABLE
from marginalia.search.shards import YEAR_ENV

REPO = Path(__file__).resolve().parent.parent

MINIMAL_CONFIG = """\
title: Test Archive
base_url: https://example.org/
"""


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key, endpoint or proxy can leak into a test."""
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("MARGINALIA_TOKENIZER", "approx")  # tiktoken never reaches the network
    # The tests' archives are small: each month its own shard, as in a large archive
    # (test_search.py tests the year rule itself).
    monkeypatch.setenv(YEAR_ENV, "0")


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write a mini-site: {relative path: text (dedented) or bytes}."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data), encoding="utf-8")


def article(
    title: str = "A title",
    date: str = "2024-06-20T16:00:00+00:00",
    body: str = "Body text.",
    **meta: str,
) -> str:
    """The text of an article file with the given front matter lines."""
    lines = [f"title: {title}", f"date: {date}", *(f"{k}: {v}" for k, v in meta.items())]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def site(tmp_path: Path) -> Callable[..., Path]:
    """site({path: text}) -> a site folder with a minimal config.yaml unless one is given."""

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "site-root"
        root.mkdir(exist_ok=True)
        write_files(root, {"config.yaml": MINIMAL_CONFIG, **(files or {})})
        return root

    return make


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """run('build', '--root', root) -> Result(status, stdout, stderr), in this process."""

    def invoke(*args: str | Path) -> Result:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return invoke


def tree_digest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file below folder: to compare whole trees.

    The few files of the search bundle that Pagefind writes in a different order (and so
    size and name) each time it indexes (search.UNSTABLE) are counted per folder instead."""
    digest: dict[str, str] = {}
    unstable: dict[str, int] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            rel = p.relative_to(folder).as_posix()
            inside = rel.removeprefix(f"{BUNDLE_DIR}/")
            if inside != rel and UNSTABLE.fullmatch(inside):
                where = posixpath.dirname(rel)
                unstable[where] = unstable.get(where, 0) + 1
            else:
                digest[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    for where, count in unstable.items():
        digest[f"{where}/(unstable)"] = f"{count} files"
    return digest


PYTHON = sys.executable


def console_script(name: str) -> str | None:
    """The command `name` as pip installed it for this interpreter (beside it in a venv),
    or None: never another installation's, whose script would start another Python."""
    path = Path(sysconfig.get_path("scripts")) / name
    return str(path) if path.is_file() else None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/expected/ from a fresh build of tests/golden/site/",
    )
