"""The project's one exception family (every exception the package raises) and the
problem record every check returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # not at run time: the CLI's start-up imports this module
    from pathlib import Path


class Problem(NamedTuple):
    """One finding about one file: where it is, which rule, how bad, and what to do."""

    file: str
    line: int
    column: int
    path: str
    rule: str
    severity: str  # "error" or "warning"
    message: str

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of a problem (SPEC §6)."""
        return self._asdict()


class Finding(NamedTuple):
    """A problem before it is located: the record file and the field path inside it."""

    rel: str  # file, relative to the store root
    path: tuple[str | int, ...]
    rule: str
    severity: str
    message: str
    at_key: bool = False  # point at the field's name rather than its value


class MedmassageError(Exception):
    """Base of every error the CLI turns into a message and an exit status."""

    exit_code = 1


class UsageError(MedmassageError):
    """The user asked for something that cannot be done as asked (exit 2)."""

    exit_code = 2


class StoreNotFound(UsageError):
    """No store root could be found or the one named is not a store."""


class RecordError(MedmassageError):
    """A file that is not a readable record; carries the located problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class WriteError(MedmassageError):
    """A record could not be written; the store is left as it was."""


class RecordExists(WriteError):
    """The target file exists already; it was left untouched."""

    def __init__(self, path: Path, shown: str | None = None) -> None:
        super().__init__(
            f"{shown or path} already exists; it was left unchanged and nothing was written"
        )
        self.path = path


class NotSignable(MedmassageError):
    """One note cannot be signed; the reason says what to do instead."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class GitError(MedmassageError):
    """git could not do what was asked (commit, history); the records are unaffected."""


class TemplateProblem(MedmassageError):
    """A template that cannot be used: refused, missing, malformed or failing."""


class Cancelled(MedmassageError):
    """The person at the terminal ended the questions (end of input)."""
