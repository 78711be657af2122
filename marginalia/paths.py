"""Where the built-in theme and prompt live: inside the wheel, or at the repository root.

They are kept once, in the repository's layouts/ and prompts/ (where users look for
them); a wheel carries them as marginalia/builtin/ (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def builtin_dir(name: str) -> Path:
    """`layouts` or `prompts` of the built-in defaults."""
    packaged = _PACKAGE / "builtin" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
