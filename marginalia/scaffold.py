"""new and init: files an editor would otherwise copy by hand."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from . import atomic, frontmatter
from .analysis.prompt import PROMPTS_DIR
from .config import GITHUB_REPOSITORY, load_settings
from .content import CONTENT_DIR, is_web_url
from .errors import InputError, Problem
from .paths import SITE_ISSUE_TEMPLATES, SITE_WORKFLOWS, builtin_dir
from .slugs import slugify

# base_url is config.PLACEHOLDER_BASE_URL: a build warns until the editor sets it
CONFIG_TEMPLATE = """\
# Marginalia site settings: every key is described in Marginalia's README.
title: "My News Archive"
description: "News articles with critical analyses."
base_url: "https://USER.github.io/REPOSITORY/"   # where the site is served: set it
{repository}
language: en
timezone: UTC            # for dates written without one
paginate: 20             # articles per list page
permalink: "/{year}/{month}/{slug}/"
search: true             # Pagefind search: site/pagefind/, /search/, the header's box
feed:
  limit: 20
analysis:
  model: gpt-4o-mini
  concurrency: 4
  max_retries: 5
  timeout: 120
  price_per_million_tokens: {input: 0.15, output: 0.60}
"""

SAMPLE_ARTICLE = """\
---
title: "Welcome to your archive"
date: {date}
source: https://www.example.com/news/welcome
source_name: Example News
authors: [Your Name]
tags: [meta]
summary: The first article of a new Marginalia archive.
---
Replace this article with your own. Each article is a Markdown file with YAML front
matter; `python build.py new "Headline"` creates one with today's date.
"""

GITIGNORE = "site/\n.cache/\n__pycache__/\n"

WORKFLOWS = "workflows"
ISSUE_TEMPLATES = "issue_templates"
REPOSITORY_LINE = "repository: {name}   # on GitHub: where readers request analyses"
NO_REPOSITORY_LINE = (
    "# repository: OWNER/NAME   # on GitHub: article pages link to its analysis request form"
)

BUILD_PY = '''\
"""Entry point: python build.py [command] (see README)."""

from marginalia.cli import main

raise SystemExit(main())
'''

REQUIREMENTS_TEMPLATE = """\
# What GitHub Actions installs to build and analyze this site
# (.github/workflows/pages.yml and analyze.yml). Not plain "marginalia": on PyPI that
# name belongs to another project. Name the Marginalia repository and a commit or tag:
{line}
"""

SITE_README = """\
# {name}

An annotated news archive made with Marginalia: news articles in `content/`, their
machine-written analyses in `analyses/`, built into a static site for GitHub Pages.

## Write

```sh
python build.py new "Headline" --source https://www.example.com/news/story
python build.py check              # validate; count missing and stale analyses
python build.py                    # build into site/
python build.py serve              # look at it on http://127.0.0.1:8000/ as you write
```

## Analyze

```sh
export OPENAI_API_KEY=...          # or OPENAI_BASE_URL=http://127.0.0.1:11434/v1 (Ollama)
python build.py analyze --dry-run  # what would be asked, and the estimated cost
python build.py analyze            # writes analyses/; read them before you publish
```

## Publish on GitHub Pages

1. Check `requirements.txt`: it names the Marginalia that GitHub Actions installs.
2. Set `title` in `config.yaml` (and `base_url`, for builds outside GitHub Actions),
   then commit and push to `main`.
3. On GitHub: Settings -> Pages -> Build and deployment -> Source: **GitHub Actions**.
   Every push to `main` now publishes the site (`.github/workflows/pages.yml`).
4. For analyses (`.github/workflows/analyze.yml`, weekly and by hand): add the secret
   `OPENAI_API_KEY` (or the variable `OPENAI_BASE_URL`) under Settings -> Secrets and
   variables -> Actions; optionally the variable `ANALYSIS_MODEL`; and tick "Allow
   GitHub Actions to create and approve pull requests" under Settings -> Actions ->
   General. New analyses arrive as a pull request: read them before merging.
5. For readers' requests (`.github/workflows/request.yml`): with the setup of step 4,
   create the labels `analysis-request` and `analysis-approved` (Issues -> Labels).
   Article pages without a current analysis link to the request form
   (`.github/ISSUE_TEMPLATE/request-analysis.yml`); apply `analysis-approved` to a
   request to have it analyzed and answered with a pull request.
"""


def new_article(root: Path, title: str, *, source: str | None = None) -> Path:
    """content/YYYY/MM/<slug>.md dated now in the site's time zone; never overwrites."""
    settings = load_settings(root)
    if source is not None and not is_web_url(source):
        raise InputError([Problem("--source", None, f"must be an http(s) URL, not {source!r}")])
    now = datetime.now(settings.zone).replace(microsecond=0)
    slug = slugify(title)
    if not slug:
        raise InputError(
            [Problem("new", None, f"cannot make a file name from the title {title!r}")]
        )
    path = root / CONTENT_DIR / f"{now:%Y}" / f"{now:%m}" / f"{slug}.md"
    if path.exists():
        raise InputError(
            [
                Problem(
                    path.relative_to(root).as_posix(), None, "already exists; choose another title"
                )
            ]
        )
    lines = ["---", frontmatter.field_line("title", title), f"date: {now.isoformat()}"]
    if source:
        lines.append(frontmatter.field_line("source", source))
    lines += ["authors: []", "tags: []", "---", "", ""]
    atomic.write_bytes(path, "\n".join(lines).encode("utf-8"))
    return path


def init_site(directory: Path) -> list[Path]:
    """A new site folder, ready to push to GitHub: config, a sample article, the default
    prompt, build.py, the GitHub Actions workflows and the analysis request form, a
    README and a .gitignore. config.yaml names the GitHub repository of the folder's
    origin remote, when it has one.

    Refuses a folder that has a config.yaml; any other file that is already there is
    kept as it is, never overwritten. Returns the files written.
    """
    if (directory / "config.yaml").exists():
        raise InputError(
            [
                Problem(
                    str(directory / "config.yaml"),
                    None,
                    "already exists: this folder is a site already",
                )
            ]
        )
    directory.mkdir(parents=True, exist_ok=True)
    today = datetime.now().astimezone().replace(microsecond=0)
    sample = Path(CONTENT_DIR) / f"{today:%Y}" / f"{today:%m}" / "welcome.md"
    workflows = builtin_dir(WORKFLOWS)
    files: dict[Path, bytes] = {
        Path("config.yaml"): config_yaml(github_repository(directory)).encode(),
        sample: SAMPLE_ARTICLE.format(date=today.isoformat()).encode(),
        Path(PROMPTS_DIR) / "analysis.md": (builtin_dir(PROMPTS_DIR) / "analysis.md").read_bytes(),
        Path("build.py"): BUILD_PY.encode(),
        Path("requirements.txt"): requirements_txt(marginalia_requirement()).encode(),
        Path("README.md"): SITE_README.format(name=directory.resolve().name).encode(),
        Path(".gitignore"): GITIGNORE.encode(),
    }
    for name in SITE_WORKFLOWS:
        files[Path(".github") / "workflows" / name] = (workflows / name).read_bytes()
    for name in SITE_ISSUE_TEMPLATES:
        form = builtin_dir(ISSUE_TEMPLATES) / name
        files[Path(".github") / "ISSUE_TEMPLATE" / name] = form.read_bytes()
    written = [rel for rel, data in files.items() if _write_new(directory / rel, data)]
    (directory / "analyses").mkdir(exist_ok=True)
    return written


def _write_new(path: Path, data: bytes) -> bool:
    """Write path unless something is there already (an existing file is never replaced)."""
    if path.exists() or path.is_symlink():
        return False
    atomic.write_bytes(path, data)
    return True


def marginalia_requirement() -> str | None:
    """How GitHub Actions can install the Marginalia that runs now (a pip requirement),
    or None when that cannot be told.

    Not `marginalia` from PyPI: that name belongs to another project. A Marginalia
    installed from a git URL names that URL and commit; one installed from a local git
    checkout (pip install -e .) names the checkout's origin remote and its commit.
    """
    try:
        direct = importlib.metadata.distribution("marginalia").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        direct = None
    return requirement_from_direct_url(direct, _git_origin)


def requirement_from_direct_url(
    direct_url: str | None, git_origin: Callable[[Path], tuple[str, str] | None]
) -> str | None:
    """The requirement for a PEP 610 direct_url.json text (see marginalia_requirement)."""
    if not direct_url:
        return None
    try:
        info = json.loads(direct_url)
    except ValueError:
        return None
    url = str(info.get("url", ""))
    vcs = info.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and vcs.get("commit_id") and url.startswith("https://"):
        return f"marginalia @ git+{url}@{vcs['commit_id']}"
    if url.startswith("file://"):
        origin = git_origin(Path(url2pathname(urlsplit(url).path)))
        if origin is not None:
            remote, commit = origin
            return f"marginalia @ git+{remote}@{commit}"
    return None


def _git(checkout: Path, *args: str) -> str:
    """The output of a git command in checkout, or '' when it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _https_remote(remote: str) -> str:
    """git@github.com:owner/repo.git -> https://github.com/owner/repo.git"""
    if remote.startswith("git@") and ":" in remote:
        host, _, path = remote.removeprefix("git@").partition(":")
        return f"https://{host}/{path}"
    return remote


def _git_origin(checkout: Path) -> tuple[str, str] | None:
    """(https URL of the origin remote, HEAD commit) of a git checkout, or None."""
    if not (checkout / ".git").exists():
        return None
    remote = _https_remote(_git(checkout, "remote", "get-url", "origin"))
    commit = _git(checkout, "rev-parse", "HEAD")
    if not remote.startswith("https://") or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    return remote, commit


def github_repository(folder: Path) -> str | None:
    """OWNER/NAME of the GitHub repository that is the origin remote of the git checkout
    folder is in (a repository cloned empty has no commit yet: that is fine), or None."""
    if not folder.is_dir():
        return None
    try:
        parts = urlsplit(_https_remote(_git(folder, "remote", "get-url", "origin")))
        host = parts.hostname
    except ValueError:  # 'https://[github.com/o/r': an IPv6 host never closed
        return None
    if parts.scheme not in ("https", "ssh") or host != "github.com":
        return None
    name = parts.path.strip("/").removesuffix(".git")
    return name if GITHUB_REPOSITORY.fullmatch(name) else None


def config_yaml(repository: str | None) -> str:
    """config.yaml of a new site, naming its GitHub repository when it is known."""
    line = REPOSITORY_LINE.format(name=repository) if repository else NO_REPOSITORY_LINE
    return CONFIG_TEMPLATE.replace("{repository}", line)


def requirements_txt(requirement: str | None) -> str:
    """requirements.txt of a new site: what its GitHub Actions workflows install."""
    if requirement is None:
        return REQUIREMENTS_TEMPLATE.format(
            line="# marginalia @ git+https://github.com/OWNER/marginalia@COMMIT_OR_TAG"
        )
    return REQUIREMENTS_TEMPLATE.format(line=requirement)
