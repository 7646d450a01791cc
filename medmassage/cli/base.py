"""The command line's common ground: the `medmassage` group, the one place that turns an
error into a message and an exit status, the global options and shared option decorators.
Nothing below the command line imports Click. Start-up imports Click and the kinds
registry only: everything else (pathlib, YAML, jsonschema, Jinja, even traceback) is
imported inside the command that needs it, so `--help` and `--version` stay instant."""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from medmassage import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from medmassage.store import Store

F = TypeVar("F", bound=Callable[..., Any])
DATE = "YYYY-MM-DD"
_COMMIT_HELP = (
    "Commit exactly the files written (git add/commit -- PATHS) with a message of ids only; "
    "your git identity, hooks and commit signing apply."
)
_TODAY_HELP = "Judge the notes as `validate --today` would (default: today)."


# Writing the output failed: a reader gone (EPIPE), a full disk (ENOSPC), a closed stdout.
_OUTPUT_ERRORS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EDQUOT, errno.EIO})


class _ClosedOutput(io.TextIOBase):
    """Standard output when the shell closed it (`>&-`): writing fails as an I/O error
    instead of vanishing (Python would have sys.stdout be None)."""

    def writable(self) -> bool:
        """Claims to be writable so that writers try, and fail."""
        return True

    def write(self, text: str) -> int:
        """Always fails: there is nowhere to write."""
        raise OSError(errno.EBADF, "standard output is closed")


class Group(click.Group):
    """Turns every MedmassageError into one located message and its exit status."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register a command, giving it `--root` too (accepted after the command's name)."""
        if not any(param.name == "root" for param in cmd.params):
            root_option(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map its errors to a message and an exit status."""
        from medmassage.errors import MedmassageError

        try:
            return _invoke_and_flush(super().invoke, ctx)
        except MedmassageError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            _silence_stdout()
            sys.stderr.close()
            sys.exit(1)
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRORS:
                raise
            _silence_stdout()
            _fail(
                f"cannot write the output: {exc.strerror or os.strerror(exc.errno or errno.EIO)}", 1
            )
        except Exception as exc:
            if os.environ.get("MEDMASSAGE_DEBUG"):
                import traceback

                traceback.print_exc()
            _fail(
                f"internal error ({type(exc).__name__}); "
                "set MEDMASSAGE_DEBUG=1 for details and please report it",
                3,
            )


def _invoke_and_flush(invoke: Callable[[click.Context], Any], ctx: click.Context) -> Any:
    """Run the command and flush its output here, where a failed write is still caught."""
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    try:
        result = invoke(ctx)
    except SystemExit:
        sys.stdout.flush()
        raise
    sys.stdout.flush()
    return result


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the output still buffered is
    not written again (and does not fail again) as Python exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        sys.stdout = _ClosedOutput()


def _fail(message: str, code: int) -> NoReturn:
    """The one line of an error (file names in it escaped: it may quote the command line)."""
    if not message.isprintable():
        from medmassage.report import escape

        message = escape(message)
    click.echo(f"medmassage: error: {_with_root(message)}", err=True)
    sys.exit(code)


def _given_root() -> str | None:
    """The --root the user gave (before or after the command's name), if any."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Options) if ctx is not None else None
    return obj.root_arg if obj is not None else None


def _with_root(text: str) -> str:
    """`text` with the medmassage commands it suggests given the user's --root."""
    root = _given_root()
    if root is None or "medmassage " not in text:
        return text
    from medmassage.report import with_root

    return with_root(text, root)


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


_COLOURS = {"error": "red", "warning": "yellow", "ok": "green"}


def _styler(stream: Any) -> Any:
    if not use_colour(stream):
        return lambda text, severity: text
    return lambda text, severity: click.style(
        text, fg=_COLOURS.get(severity), bold=severity == "error"
    )


class Options:
    """Global options shared by every command."""

    def __init__(self, root: str | None) -> None:
        self.root_arg = root

    def store(self, near: Path | None = None) -> Store:
        """The store named by --root or $MEDMASSAGE_ROOT, else the one found from `near`."""
        from medmassage.store import Store, find_root

        return Store(find_root(self.root_arg, near))

    def store_if_any(self) -> Store | None:
        """The store, or None outside any store when none was named (--root, $MEDMASSAGE_ROOT)."""
        from medmassage.errors import StoreNotFound

        try:
            return self.store()
        except StoreNotFound:
            if self.root_arg is not None or os.environ.get("MEDMASSAGE_ROOT"):
                raise
            return None


def _date_param(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a YYYY-MM-DD option, checked as a real date."""
    return _checked_date(value, f"--{param.name}")


def _root_param(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Click callback: `--root` given after the command overrides the group's."""
    opts = ctx.find_object(Options)
    if value is not None and opts is not None:
        opts.root_arg = value


_ROOT_HELP = (
    "The store's folder (default: $MEDMASSAGE_ROOT, else the nearest folder up holding "
    "medmassage.yaml)."
)


def root_option(command: F) -> F:
    """--root DIR on a command, so it is accepted after the command's name as well."""
    return click.option(
        "--root", metavar="DIR", expose_value=False, callback=_root_param, help=_ROOT_HELP
    )(command)


def today_option(help: str = _TODAY_HELP) -> Callable[[F], F]:
    """--today YYYY-MM-DD: the day dates are judged against (checked as a date)."""
    return click.option("--today", metavar=DATE, callback=_date_param, help=help)


def commit_option(command: F) -> F:
    """--commit: commit exactly the files the command wrote."""
    return click.option("--commit", is_flag=True, help=_COMMIT_HELP)(command)


def format_option(choices: tuple[str, ...], help: str, multiple: bool = False) -> Callable[[F], F]:
    """--format: one of `choices` (the first is the default) as `fmt`, or with `multiple`
    any number of them as `formats`."""
    if multiple:
        return click.option(
            "--format", "formats", multiple=True, type=click.Choice(choices), help=help
        )
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", metavar="DIR", help=_ROOT_HELP)
@click.version_option(
    __version__, "--version", prog_name="medmassage", message="%(prog)s %(version)s"
)
@click.pass_context
def main(ctx: click.Context, root: str | None) -> None:
    """Plain-text charts for medical massage therapy: validate and render the
    patient, referral, assessment, plan and SOAP-note records kept in a store."""
    ctx.obj = Options(root)


def _checked_date(value: str | None, option: str) -> str | None:
    import datetime as dt

    if value is None:
        return None
    try:
        return (
            dt.date.fromisoformat(value).isoformat()
            if len(value) == 10
            else _bad_date(option, value)
        )
    except ValueError:
        _bad_date(option, value)


def _bad_date(option: str, value: str) -> NoReturn:
    raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD", param_hint=option)


def _print_problems(root: Path, problems: list[Any]) -> None:
    """Located problems on stderr, as `validate` prints them (fix commands with --root)."""
    from medmassage.report import report_problems, with_root_all

    report_problems(with_root_all(problems, _given_root()), root, sys.stderr)


def _waiting() -> None:
    click.echo(
        "medmassage: another medmassage command is writing to this store; waiting for it to finish",
        err=True,
    )


def _commit(root: Path, paths: list[Path], message: str) -> None:
    """Commit exactly `paths`; on failure say that the files are written but not committed."""
    from medmassage.errors import GitError
    from medmassage.store.git import commit_paths

    try:
        commit_paths(root, paths, message)
    except GitError as exc:
        raise GitError(f"{exc}; the record files are written but not committed") from None
    click.echo(f"medmassage: committed: {message.splitlines()[0]}", err=True)
