"""Commands that write records: `init`, `create`, `sign` and `amend` (`log`, which reads
their history, is in cli/querying.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from medmassage import kinds
from medmassage.cli.base import (
    Options,
    _commit,
    _print_problems,
    _waiting,
    _with_root,
    commit_option,
    main,
    today_option,
)

if TYPE_CHECKING:
    from pathlib import Path

    from medmassage.charting.create import Outcome, Request
    from medmassage.charting.prompts import Terminal
    from medmassage.charting.sign import SignOutcome


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
    _report_signing(store.root, outcome)


def _report_signing(root: Path, outcome: SignOutcome) -> None:
    """On stderr: the notes about the signing, and each note refused with its problems;
    MedmassageError (exit status 1) when any was refused."""
    from medmassage.errors import MedmassageError

    for message in outcome.notes:
        click.echo(_with_root(f"medmassage: {message}"), err=True)
    for name, refusal in outcome.refused:
        _print_problems(root, refusal.problems)
        click.echo(_with_root(f"medmassage: not signed: {name}: {refusal}"), err=True)
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
