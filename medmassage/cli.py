"""The command line: parse options, call the core, report, exit with a status. Nothing
below this module imports Click. Start-up imports Click and the kinds registry only:
everything else (pathlib, YAML, jsonschema, Jinja, even traceback) is imported inside
the command that needs it, so `--help` and `--version` stay instant."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar

import click

from medmassage import __version__, kinds

if TYPE_CHECKING:
    from pathlib import Path

    from medmassage.charting.create import Outcome, Request
    from medmassage.charting.prompts import Terminal
    from medmassage.render.batch import Batch
    from medmassage.store import Store

F = TypeVar("F", bound=Callable[..., Any])
DATE = "YYYY-MM-DD"
_COMMIT_HELP = (
    "Commit exactly the files written (git add/commit -- PATHS) with a message of ids only; "
    "your git identity, hooks and commit signing apply."
)
_TODAY_HELP = "Judge the notes as `validate --today` would (default: today)."


class Group(click.Group):
    """Turns every MedmassageError into one located message and its exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map its errors to a message and an exit status."""
        from medmassage.errors import MedmassageError

        try:
            return super().invoke(ctx)
        except MedmassageError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(1)
        except Exception as exc:
            if os.environ.get("MEDMASSAGE_DEBUG"):
                import traceback

                traceback.print_exc()
            _fail(
                f"internal error ({type(exc).__name__}); "
                "set MEDMASSAGE_DEBUG=1 for details and please report it",
                3,
            )


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"medmassage: error: {message}", err=True)
    sys.exit(code)


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
@click.option(
    "--root",
    metavar="DIR",
    help=(
        "The store's folder (default: $MEDMASSAGE_ROOT, else the nearest folder up holding "
        "medmassage.yaml)."
    ),
)
@click.version_option(
    __version__, "--version", prog_name="medmassage", message="%(prog)s %(version)s"
)
@click.pass_context
def main(ctx: click.Context, root: str | None) -> None:
    """Plain-text charts for medical massage therapy: validate and render the
    patient, referral, assessment, plan and SOAP-note records kept in a store."""
    ctx.obj = Options(root)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@format_option(
    ("text", "json", "github"),
    "text for people, json for programs, github for workflow annotations.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@today_option("Judge dates as if today were this day (for reproducible checks).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Check every file again instead of reusing results for unchanged charts.",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Processes to use (default: one per core)."
)
@click.pass_obj
def validate(
    opts: Options,
    paths: tuple[str, ...],
    fmt: str,
    strict: bool,
    today: str | None,
    no_cache: bool,
    jobs: int | None,
) -> None:
    """Check records: syntax, schema, layout, references and clinical rules.

    PATHS are record files or folders inside the store (default: the whole store).
    Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error."""
    from pathlib import Path

    from medmassage.report import REPORTERS
    from medmassage.validate import validate_store

    chosen = [Path(path) for path in paths]
    store = opts.store(chosen[0].resolve().parent if chosen and opts.root_arg is None else None)
    report = validate_store(
        store, chosen or None, today=today, jobs=jobs, use_cache=not no_cache, keep_view=False
    )
    stream = sys.stdout
    REPORTERS[fmt](
        report, store.root, stream, _styler(stream) if fmt == "text" else (lambda t, s: t)
    )
    sys.exit(1 if report.failed(strict) else 0)


@main.command()
@click.argument("kind", type=click.Choice(kinds.names()))
@click.pass_obj
def schema(opts: Options, kind: str) -> None:
    """Print the JSON Schema of one record KIND (self-contained, with the store's
    vocabulary extensions when run inside a store), e.g. for an editor's YAML plugin."""
    import contextlib
    import json

    from medmassage import schema_loader as schemas
    from medmassage.errors import MedmassageError

    store = opts.store_if_any()
    extensions: schemas.Extensions = ()
    if store is not None:
        # A broken medmassage.yaml is validate's to report; the schema is still useful.
        with contextlib.suppress(MedmassageError):
            extensions = schemas.extensions_from(store.load_settings())
    click.echo(json.dumps(schemas.bundled(kind, extensions), indent=2, ensure_ascii=False))


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


# ParamType is generic in newer Clicks, and not subscriptable in older ones.
if TYPE_CHECKING:
    _StrParam: TypeAlias = click.ParamType[str]
else:
    _StrParam = click.ParamType


class _DocumentName(_StrParam):
    """A document of the registry (medmassage.documents), read only when one is given,
    so that --help does not load the documents."""

    name = "document"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The name, when the registry has it; else a usage error listing the documents."""
        from medmassage.documents import DOCUMENTS

        if value not in DOCUMENTS:
            names = ", ".join(repr(name) for name in DOCUMENTS)
            self.fail(f"{value!r} is not one of {names}.", param, ctx)
        return str(value)


@main.command()
@click.argument("document", required=False, metavar="DOCUMENT", type=_DocumentName())
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option(
    "--all",
    "all_",
    is_flag=True,
    help="Every session (soap), or every active patient with a referral (physician-update).",
)
@click.option(
    "--patient",
    metavar="ID",
    help="Every session of this patient (soap), or this patient's update.",
)
@click.option(
    "--since",
    metavar=DATE,
    callback=_date_param,
    help=(
        "soap: sessions from this day; physician-update: period start (default: the day after the "
        "last update sent, else the referral date)."
    ),
)
@click.option(
    "--until",
    metavar=DATE,
    callback=_date_param,
    help="soap: sessions up to this day; physician-update: period end (default: the last visit).",
)
@format_option(
    ("md", "html", "txt", "all"),
    "Output format; repeat for several. Default: all three (md, html, txt); md with --out -.",
    multiple=True,
)
@click.option(
    "--out",
    metavar="DIR",
    help=(
        "Output folder (default: rendered/ in the store); '-' writes one document to standard "
        "output."
    ),
)
@click.option(
    "--date",
    metavar=DATE,
    callback=_date_param,
    help=(
        "Date printed on letters (default: the period's end date); nothing is ever dated by the "
        "clock."
    ),
)
@click.option(
    "--list-templates",
    is_flag=True,
    help=(
        "List the templates and which file is in effect (the store's templates/ overrides "
        "packaged ones)."
    ),
)
@click.pass_obj
def render(
    opts: Options,
    document: str | None,
    refs: tuple[str, ...],
    all_: bool,
    patient: str | None,
    since: str | None,
    until: str | None,
    formats: tuple[str, ...],
    out: str | None,
    date: str | None,
    list_templates: bool,
) -> None:
    """Render DOCUMENT (soap or physician-update) from records that validate.

    REF is PATIENT/SESSION or PATIENT for soap, PATIENT for physician-update, or a
    record file or folder. Files go to OUT/<patient>/<id>.<document>.<ext>, where <id>
    is the session id (soap) or the period's end date (physician-update); the paths
    written are printed, one per line. Records with errors are not rendered: their
    errors are printed (as by validate) and the exit status is 1, but the rest are."""
    from medmassage.render.batch import Batch
    from medmassage.render.request import Request

    if list_templates:
        _list_templates(opts)
        return
    if document is None:
        from medmassage.documents import DOCUMENTS

        raise click.UsageError(f"name a DOCUMENT: {' or '.join(DOCUMENTS)}")
    to_stdout = out == "-"
    chosen = (
        ("md", "html", "txt")
        if "all" in formats or not (formats or to_stdout)
        else tuple(dict.fromkeys(formats or ("md",)))
    )
    store = opts.store()
    batch = Batch(store, Request(document, refs, all_, patient, since, until, chosen, date))
    held = _render_to_stdout(batch, chosen) if to_stdout else _render_to_folder(batch, out)
    _report_held(store.root, document, held)
    sys.exit(1 if any(held.values()) else 0)


def _render_to_stdout(batch: Batch, chosen: tuple[str, ...]) -> dict[Any, list[Any]]:
    """`--out -`: the one document asked for, on standard output; the targets held back."""
    found = batch.choose_here()
    for notice in batch.skipped:
        click.echo(f"medmassage: {notice}", err=True)
    if len(found) != 1 or len(chosen) != 1:
        raise click.UsageError(
            "--out - writes exactly one document in one format; name one record and at most "
            "one --format"
        )
    _print_documents(batch, [target for target, problems in found if not problems])
    return dict(found)


def _render_to_folder(batch: Batch, out: str | None) -> dict[Any, list[Any]]:
    """Render into OUT (default: the store's rendered/), with a progress bar on a terminal;
    print the paths written and return the targets held back."""
    import contextlib
    from pathlib import Path

    from medmassage.render.request import shown

    # Unchanged documents are answered from the render cache; the rest are rendered in parallel.
    plan = batch.plan(Path(out) if out else batch.store.rendered_dir)
    bar = (
        click.progressbar(length=plan.size, label="Rendering", file=sys.stderr)
        if plan.size > 1 and sys.stderr.isatty()
        else None
    )
    with bar or contextlib.nullcontext():
        for done in plan:
            if bar is not None:
                bar.update(done)
    for notice in plan.outcome.skipped:
        click.echo(f"medmassage: {notice}", err=True)
    if plan.outcome.written:
        click.echo("\n".join(shown(path) for path in plan.outcome.written))
    return plan.outcome.held


def _print_documents(renderer: Any, ready: list[Any]) -> None:
    """Render each target to standard output (`--out -`, one document)."""
    for target in ready:
        for text in renderer.render(target).texts.values():
            click.echo(text, nl=False)


def _report_held(root: Path, document: str, held: dict[Any, list[Any]]) -> None:
    """The located errors of the records not rendered, as `validate` prints them, on stderr."""
    _print_problems(root, sorted({p for found in held.values() for p in found}))
    names = [str(target) for target, found in held.items() if found]
    if names:
        click.echo(
            f"medmassage: {len(names)} {document} document{'s' if len(names) != 1 else ''} "
            f"not rendered because of the errors above: {', '.join(names)}",
            err=True,
        )


def _list_templates(opts: Options) -> None:
    """One line per template name: name, origin (store or packaged), file, and any refusal."""
    from medmassage.render.jinja import listing, refusal

    store = opts.store_if_any()
    for source in listing(store.root if store is not None else None):
        note = refusal(source)
        click.echo(
            f"{source.name}\t{source.origin}\t{source.path}" + (f"\t({note})" if note else "")
        )


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--name", help="The practice's name, as printed on notes and letters.")
@click.option("--phone", help="The practice's phone number.")
@click.option("--fax", help="The practice's fax number (physician updates are often faxed).")
@click.option("--email", help="The practice's email address.")
@click.option("--no-input", is_flag=True, help="Never ask; fail naming what is missing.")
@click.option("--no-git", is_flag=True, help="Do not run `git init`.")
@click.pass_obj
def init(
    opts: Options,
    directory: str | None,
    name: str | None,
    phone: str | None,
    fax: str | None,
    email: str | None,
    no_input: bool,
    no_git: bool,
) -> None:
    """Start a new, empty store in DIRECTORY (default: --root, else the current folder):
    medmassage.yaml, the record folders, a .gitignore, a sample pre-commit
    configuration and a git repository. A folder that holds a store is refused.

    Prints the store's path on stdout; everything else goes to stderr."""
    from pathlib import Path

    from medmassage.charting.init import ask_settings, init_store, next_steps, refuse_store
    from medmassage.charting.prompts import Terminal

    target = Path(directory or opts.root_arg or ".")
    refuse_store(target)
    given = {"name": name, "phone": phone, "fax": fax, "email": email}
    settings = {
        "format": 1,
        "practice": {key: value for key, value in given.items() if value is not None},
    }
    if not no_input and sys.stdin.isatty():
        ask_settings(settings, Terminal())
    started = init_store(target, settings, git=not no_git)
    for note in started.notes:
        click.echo(f"medmassage: {note}", err=True)
    click.echo(str(target))
    for line in next_steps(started, str(directory or opts.root_arg or ".")):
        click.echo(line, err=True)


@main.command()
@click.argument("kind", type=click.Choice(kinds.creatable()))
@click.option(
    "--patient",
    metavar="ID",
    help="The patient a referral, assessment, plan or session belongs to.",
)
@click.option(
    "--id",
    "record_id",
    metavar="ID",
    help=(
        "The new record's id (default: p-NNNN for patients, the date for dated records, a slug of "
        "the name otherwise)."
    ),
)
@click.option(
    "--from",
    "source",
    metavar="FILE",
    help="Start from this YAML record ('-' reads standard input).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help=(
        "Set a field, e.g. subjective.pain=6 or treatment.0.minutes=20 (repeatable; quote a value "
        "to keep it text)."
    ),
)
@click.option(
    "--no-input",
    is_flag=True,
    help="Never ask: take the safe defaults and fail naming every missing field.",
)
@click.option("--dry-run", is_flag=True, help="Check the record and print it; write nothing.")
@click.option(
    "--edit", is_flag=True, help="Open $EDITOR on the prefilled record before checking it."
)
@commit_option
@click.pass_obj
def create(
    opts: Options,
    kind: str,
    patient: str | None,
    record_id: str | None,
    source: str | None,
    sets: tuple[str, ...],
    no_input: bool,
    dry_run: bool,
    edit: bool,
    commit: bool,
) -> None:
    """Create one new KIND record, checked exactly as `validate` would check it,
    written atomically and never over an existing file.

    On a terminal it asks for the required fields that are missing (Enter takes the
    offered default, ? explains a field). Prints the path of the new file on stdout;
    problems and messages go to stderr. Exit status: 0 created, 1 refused, 2 usage error."""
    from medmassage.charting.create import Request
    from medmassage.charting.create import create as create_record
    from medmassage.report import display_path
    from medmassage.store.git import write_warnings

    store = opts.store()
    if edit and no_input:
        raise click.UsageError("--edit and --no-input do not go together")
    request = Request(kind, patient, record_id, source, sets, dry_run, edit)
    asker = _asker(request) if not (no_input or edit or source == "-") else None
    outcome = create_record(store, request, asker, sys.stdin.buffer)
    _report_creation(store.root, request, outcome)
    if outcome.path is None:
        click.echo("medmassage: dry run: the record is valid; nothing was written", err=True)
        return
    rel = outcome.path.relative_to(store.root).as_posix()
    click.echo(display_path(store.root, rel))
    if commit:
        from medmassage.store.lock import store_lock
        from medmassage.store.refs import display, entry_of

        with store_lock(store.root, _waiting):
            _commit(store.root, [outcome.path], f"create {kind} {display(entry_of(store, rel))}")
        return
    for warning in write_warnings(store.root, outcome.path):
        click.echo(f"medmassage: warning: {warning}", err=True)


def _asker(request: Request) -> Terminal | None:
    """Questions on the terminal for the missing fields; None when not on a terminal."""
    from medmassage.charting.prompts import Terminal

    if not sys.stdin.isatty():
        return None
    where = f" for patient {request.patient}" if request.patient else ""
    click.echo(
        f"New {request.kind}{where}: Enter takes the [default], ? explains a field, "
        "Ctrl-D cancels.",
        err=True,
    )
    return Terminal()


def _report_creation(root: Path, request: Request, outcome: Outcome) -> None:
    """What `create` says before any path: notes and problems on stderr, a dry run's record
    on stdout; a refusal names the kept draft and ends the command with exit status 1."""
    from medmassage.errors import MedmassageError

    for note in outcome.notes:
        click.echo(f"medmassage: {note}", err=True)
    _print_problems(root, outcome.problems)
    if request.dry_run and outcome.text:
        click.echo(outcome.text, nl=False)
    if not outcome.failed:
        return
    if outcome.draft is not None:
        where = f" --patient {request.patient}" if request.patient else ""
        click.echo(
            f"medmassage: your text is kept in {outcome.draft}; once fixed: medmassage create "
            f"{request.kind}{where} --from {outcome.draft}",
            err=True,
        )
    errors = sum(1 for p in outcome.problems if p.severity == "error")
    raise MedmassageError(
        f"{request.kind} not created: {errors} error{'s' if errors != 1 else ''}; "
        "nothing was written"
    )


def _print_problems(root: Path, problems: list[Any]) -> None:
    """Located problems on stderr, as `validate` prints them."""
    from medmassage.report import report_problems

    report_problems(problems, root, sys.stderr)


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


@main.command()
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option(
    "--all-unsigned",
    is_flag=True,
    help=(
        "Every unsigned note (sessions and addenda) of the therapist named by --by: the end of a "
        "day."
    ),
)
@click.option(
    "--by",
    metavar="THERAPIST",
    help=(
        "Who signs (default: the note's therapist). Another therapist only as a co-signer, when "
        "medmassage.yaml sets signing.allow_cosigner."
    ),
)
@click.option(
    "--at",
    metavar="TIMESTAMP",
    help=(
        "The signing time, with seconds and UTC offset, e.g. 2026-11-20T17:05:00-08:00 (default: "
        "now)."
    ),
)
@click.option(
    "--late",
    is_flag=True,
    help="Label the sessions as late entries (late: true) before signing them.",
)
@today_option()
@commit_option
@click.pass_obj
def sign(
    opts: Options,
    refs: tuple[str, ...],
    all_unsigned: bool,
    by: str | None,
    at: str | None,
    late: bool,
    today: str | None,
    commit: bool,
) -> None:
    """Sign notes: add `signature: {by, at, sha256}`, after which a note is final.

    REF is a session as PATIENT/ID or the path of a session or addendum file. Only
    a note that validates and is not yet signed is signed. The sha256 covers every
    field of the note and the signature's `by` and `at` (as canonical JSON), so any
    later change shows in `validate` as integrity/signature-mismatch; corrections
    are then made with `medmassage amend`, never by editing.

    The signature is added to the end of the file, keeping its layout and comments;
    a file that cannot simply be extended is rewritten in the standard layout, and
    its comments are lost. The rewrite is atomic and keeps the file's permissions.
    Prints the path of each signed file. Exit status: 0 all signed, 1 some refused."""
    from medmassage.charting.sign import SignRequest
    from medmassage.charting.sign import sign as sign_notes
    from medmassage.errors import MedmassageError
    from medmassage.report import display_path
    from medmassage.store.lock import store_lock

    store = opts.store()
    request = SignRequest(refs, all_unsigned, by, at, late, today)
    with store_lock(store.root, _waiting):
        outcome = sign_notes(store, request)
        for note in outcome.signed:
            click.echo(display_path(store.root, note.entry.rel))
        if commit and outcome.signed:
            _commit(
                store.root,
                [n.path for n in outcome.signed],
                _sign_message([n.entry for n in outcome.signed]),
            )
    for message in outcome.notes:
        click.echo(f"medmassage: {message}", err=True)
    for name, refusal in outcome.refused:
        _print_problems(store.root, refusal.problems)
        click.echo(f"medmassage: not signed: {name}: {refusal}", err=True)
    if outcome.refused:
        raise MedmassageError(
            f"{len(outcome.refused)} of {len(outcome.refused) + len(outcome.signed)} notes not "
            "signed (see above)"
        )


def _sign_message(entries: list[Any]) -> str:
    from medmassage.store.refs import display

    names = [display(entry) for entry in entries]
    if len(names) == 1:
        return f"sign {names[0]}"
    return f"sign {len(names)} notes\n\n" + "\n".join(names)


@main.command()
@click.argument("ref", metavar="REF")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["addendum", "correction", "late_entry"]),
    help=(
        "addendum adds information, correction fixes an error, late_entry documents what was not "
        "written at the time."
    ),
)
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why it is needed, e.g. 'wrong side recorded'."
)
@click.option("--text", metavar="TEXT", help="The text (default: --from, else $EDITOR).")
@click.option(
    "--from",
    "source",
    metavar="FILE",
    help="Read the text from a plain-text FILE ('-' reads standard input).",
)
@click.option(
    "--by", metavar="THERAPIST", help="The author, who signs it (default: the session's therapist)."
)
@click.option(
    "--at",
    metavar="TIMESTAMP",
    help="When it was written, e.g. 2026-11-20T17:05:00-08:00 (default: now).",
)
@today_option()
@commit_option
@click.pass_obj
def amend(
    opts: Options,
    ref: str,
    kind: str,
    reason: str,
    text: str | None,
    source: str | None,
    by: str | None,
    at: str | None,
    today: str | None,
    commit: bool,
) -> None:
    """Add a signed addendum, correction or late entry to the signed session REF
    (PATIENT/ID or its file). The note itself is never changed: a signed note is
    final, and what is added or corrected is a separate, dated, attributed entry
    in patients/PATIENT/addenda/, shown after the note when it is rendered.

    Prints the path of the new file. Exit status: 0 written, 1 refused, 2 usage error."""
    from medmassage.charting.amend import AmendRequest, take_text
    from medmassage.charting.amend import amend as amend_note
    from medmassage.errors import MedmassageError
    from medmassage.report import display_path
    from medmassage.store.lock import store_lock

    store = opts.store()
    request = AmendRequest(ref, kind, reason, text, source, by, at, today)
    # The session is checked before the editor opens; the text is read outside the lock.
    request, draft = take_text(store, request, sys.stdin.buffer)
    with store_lock(store.root, _waiting):
        outcome = amend_note(store, request, draft=draft)
        if outcome.path is not None:
            click.echo(display_path(store.root, outcome.path.relative_to(store.root).as_posix()))
            if commit:
                _commit(
                    store.root,
                    [outcome.path],
                    f"amend {outcome.ref}: {kind} {outcome.record['id']}",
                )
    _print_problems(store.root, outcome.problems)
    if outcome.path is None:
        kept = f"; your text is kept in {outcome.draft}" if outcome.draft else ""
        raise MedmassageError(
            f"{kind} not written: it would not validate; nothing was written{kept}"
        )


@main.command()
@click.argument("ref", metavar="REF")
@click.option(
    "--patch", is_flag=True, help="Show each change in full (a diff) instead of a summary."
)
@click.pass_obj
def log(opts: Options, ref: str, patch: bool) -> None:
    """Show the history of one record from git: who changed it, when, and what.

    REF is a session as PATIENT/ID or the path of any record file. This is the
    record's audit trail. For a note it first says whether the signature still
    holds (if not, which fields differ from the last committed version that matches
    it) and lists the note's addenda. With --patch it prints record content."""
    from medmassage.charting.audit import note_status
    from medmassage.errors import MedmassageError
    from medmassage.store.git import history
    from medmassage.store.refs import resolve

    store = opts.store()
    entry = resolve(store, ref, kinds.names())
    text = history(store.root, store.root / entry.rel, patch)
    if not text.strip():
        raise MedmassageError(f"{entry.rel} has no history yet: it has never been committed")
    status = note_status(store, entry)
    click.echo("\n".join(status) + "\n" if status else "", nl=bool(status))
    click.echo(text, nl=False)
