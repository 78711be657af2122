"""Problems found in a user's files, collected so that a build reports them all at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One located complaint about the user's input: `path:line: message`."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


@dataclass
class Problems:
    """Errors and warnings gathered over a whole run, never raised one by one."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, path: str | Path, line: int | None, message: str) -> None:
        self.errors.append(Problem(str(path), line, message))

    def warn(self, path: str | Path, line: int | None, message: str) -> None:
        self.warnings.append(Problem(str(path), line, message))

    def extend(self, other: Problems) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InputError(sorted(set(self.errors)), sorted(set(self.warnings)))


class MarginaliaError(Exception):
    """Base of the errors that end a command with a message instead of a traceback."""

    exit_status = 1


class InputError(MarginaliaError):
    """The user's content, config, analyses or templates are wrong; nothing was written."""

    def __init__(self, errors: list[Problem], warnings: list[Problem] | None = None) -> None:
        self.errors = errors
        self.warnings = warnings or []
        super().__init__("\n".join(str(e) for e in errors))


class UsageError(MarginaliaError):
    """The command line is wrong (exit status 2)."""

    exit_status = 2
