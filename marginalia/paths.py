"""Where the built-in defaults live: inside the wheel, or in the repository checkout.

They are kept once, where users look for them: the theme in layouts/, the prompt in
prompts/, the GitHub Actions workflows that `init` gives a new site in
.github/workflows/ and its issue forms in .github/ISSUE_TEMPLATE/. A wheel carries them as marginalia/builtin/<name>/ (see the
force-include table in pyproject.toml); a source checkout or an editable install finds
them at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

# builtin name -> its folder relative to the repository root
_SOURCE_DIRS = {
    "layouts": "layouts",
    "prompts": "prompts",
    "workflows": ".github/workflows",
    "issue_templates": ".github/ISSUE_TEMPLATE",
}

# The workflows a new site gets (the repository's .github/workflows/ may hold others,
# such as its own CI, which are not copied).
SITE_WORKFLOWS = ("pages.yml", "analyze.yml", "request.yml")
# The issue forms a new site gets (request.yml answers this one).
SITE_ISSUE_TEMPLATES = ("request-analysis.yml",)


def builtin_dir(name: str) -> Path:
    """`layouts`, `prompts`, `workflows` or `issue_templates` of the built-in defaults."""
    packaged = _PACKAGE / "builtin" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / _SOURCE_DIRS.get(name, name)
