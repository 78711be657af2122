"""Prompt files (prompts/<name>.md): a system message in front matter, a Jinja2 body.

The prompt's hash is of its file's bytes, so any edit makes every analysis written with
it prompt-stale (design §3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .. import frontmatter
from ..errors import InputError, Problem
from ..paths import builtin_dir

PROMPTS_DIR = "prompts"
PROMPT_KEYS = frozenset({"system", "model", "temperature", "max_output_tokens"})


@dataclass(frozen=True)
class Prompt:
    name: str
    shown_path: str
    sha256: str
    system: str
    template: jinja2.Template
    model: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None

    def user_message(self, article: object) -> str:
        """The user message for one article; a template error names the prompt file."""
        try:
            return self.template.render(article=article).strip()
        except jinja2.TemplateError as exc:
            raise InputError(
                [
                    Problem(
                        self.shown_path,
                        getattr(exc, "lineno", None),
                        f"prompt template error: {exc}",
                    )
                ]
            ) from None


def prompt_file(root: Path, name: str) -> tuple[Path, str]:
    """The site's prompts/<name>.md, else the built-in one of that name."""
    own = root / PROMPTS_DIR / f"{name}.md"
    if own.is_file():
        return own, f"{PROMPTS_DIR}/{name}.md"
    return builtin_dir(PROMPTS_DIR) / f"{name}.md", f"{PROMPTS_DIR}/{name}.md (built-in)"


def load_prompt(root: Path, name: str) -> Prompt:
    """Read and check a prompt; every problem is an InputError naming the prompt file."""
    path, shown = prompt_file(root, name)
    problems: list[Problem] = []
    try:
        data = path.read_bytes()
        doc = frontmatter.parse(frontmatter.decode(data))
    except FileNotFoundError:
        raise InputError([Problem(shown, None, "prompt not found")]) from None
    except frontmatter.FrontMatterError as exc:
        raise InputError([Problem(shown, exc.line, exc.message)]) from None
    meta = doc.meta
    for key in sorted(set(meta) - PROMPT_KEYS):
        problems.append(
            Problem(
                shown,
                doc.line_of([key]),
                f"unknown key '{key}' (known: {', '.join(sorted(PROMPT_KEYS))})",
            )
        )
    system = meta.get("system")
    if not isinstance(system, str) or not system.strip():
        problems.append(
            Problem(shown, doc.line_of(["system"]), "'system' (the system message) is required")
        )
    checks = {"model": str, "temperature": (int, float), "max_output_tokens": int}
    for key, kind in checks.items():
        if key in meta and (not isinstance(meta[key], kind) or isinstance(meta[key], bool)):
            problems.append(
                Problem(shown, doc.line_of([key]), f"'{key}' has the wrong type: {meta[key]!r}")
            )
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    try:
        template = env.from_string(doc.body)
    except jinja2.TemplateSyntaxError as exc:
        line = None if exc.lineno is None else exc.lineno + len(doc.yaml_text.splitlines()) + 2
        problems.append(Problem(shown, line, f"prompt template syntax error: {exc.message}"))
    if problems:
        raise InputError(problems)
    return Prompt(
        name=name,
        shown_path=shown,
        sha256=hashlib.sha256(data).hexdigest(),
        system=system.strip(),
        template=template,
        model=meta.get("model"),
        temperature=meta.get("temperature"),
        max_output_tokens=meta.get("max_output_tokens"),
    )
