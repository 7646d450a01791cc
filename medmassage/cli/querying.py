"""Commands that ask the store: `list KIND`, `show PATIENT`, `progress PATIENT`, and
`log REF`, the history of a record."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from medmassage import kinds
from medmassage.cli.base import DATE, Options, _date_param, format_option, main, today_option

if TYPE_CHECKING:
    from medmassage.query import Clinic

_KINDS = (
    "addenda", "assessments", "patients", "plans", "providers", "referrals", "sessions",
    "therapists", "updates",
)  # fmt: skip
_FORMAT_HELP = "text for people (fits 80 columns), json for programs (one document)."
_TODAY = "Judge visits left, expiry and ages as if today were this day (default: today)."
_NO_CACHE = "Read every chart again instead of reusing the validation cache."


def _clinic(opts: Options, today: str | None, no_cache: bool) -> Clinic:
    from medmassage.query import Clinic

    return Clinic(opts.store(), today, use_cache=not no_cache)


def answering(command: Callable[..., None]) -> Callable[..., None]:
    """Run a query with the cyclic garbage collector paused (store.cache.paused_gc): a
    query builds a few objects per record of the store and keeps them to the end, which
    the collector would walk again and again."""

    @functools.wraps(command)
    def answer(*args: Any, **kwargs: Any) -> None:
        from medmassage.store.cache import paused_gc

        with paused_gc():
            command(*args, **kwargs)

    return answer


@main.command("list")
@click.argument("kind", type=click.Choice(_KINDS))
@click.option("--patient", metavar="ID", help="Only this patient's records.")
@click.option(
    "--status",
    help="Only rows with this status (patients: active, on_hold, discharged; sessions and "
    "addenda: signed, unsigned; referrals: open, used_up, expired; plans: the plan's status; "
    "therapists: active, inactive).",
)
@click.option("--since", metavar=DATE, callback=_date_param, help="Only rows dated on or after.")
@click.option("--until", metavar=DATE, callback=_date_param, help="Only rows dated on or before.")
@click.option("--therapist", metavar="ID", help="Only rows of this therapist.")
@click.option("--names", is_flag=True, help="Add each patient's name (patients only).")
@format_option(("text", "json"), _FORMAT_HELP)
@today_option(_TODAY)
@click.option("--no-cache", is_flag=True, help=_NO_CACHE)
@click.pass_obj
@answering
def list_(
    opts: Options,
    kind: str,
    patient: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    therapist: str | None,
    names: bool,
    fmt: str,
    today: str | None,
    no_cache: bool,
) -> None:
    """One row per record of KIND, sorted by patient, date and id. A patient's row (id,
    status, therapist, referral visits used/authorized, last and next visit) names no one
    unless --names is given; since/until filter on each row's date (a patient's last
    visit). A chart with errors is named under the table. Exit status: 0, or 2 on a
    usage error."""
    from medmassage.query.lists import Filters, list_rows
    from medmassage.report.tables import report_table

    clinic = _clinic(opts, today, no_cache)
    table = list_rows(clinic, kind, Filters(patient, status, since, until, therapist), names)
    clinic.close()
    if fmt == "json":  # report_table's JSON (Table.as_dict), written by the faster encoder
        from medmassage.query.jsontext import dumps

        sys.stdout.write(dumps(table.as_dict()) + "\n")
    else:
        report_table(table, sys.stdout, fmt)


@main.command()
@click.argument("patient")
@format_option(("text", "json"), _FORMAT_HELP)
@today_option(_TODAY)
@click.option("--no-cache", is_flag=True, help=_NO_CACHE)
@click.pass_obj
@answering
def show(opts: Options, patient: str, fmt: str, today: str | None, no_cache: bool) -> None:
    """The chart of PATIENT on one screen, names included (you asked for this chart):
    precautions and allergies first, diagnoses, the referral and its visits left, the
    active plan with each goal's baseline -> latest -> target, last and next visit, and
    what is due. Exit status: 0, or 2 on a usage error."""
    from medmassage.query.patient import show as show_chart
    from medmassage.report.tables import report_show

    clinic = _clinic(opts, today, no_cache)
    data = show_chart(clinic, patient)
    clinic.close()
    report_show(data, sys.stdout, fmt)


@main.command()
@click.argument("patient")
@format_option(("text", "json"), _FORMAT_HELP)
@today_option(_TODAY)
@click.option("--no-cache", is_flag=True, help=_NO_CACHE)
@click.pass_obj
@answering
def progress(opts: Options, patient: str, fmt: str, today: str | None, no_cache: bool) -> None:
    """Measured progress of PATIENT: per goal of the plan in effect and per outcome measure,
    every value with its date, the change from baseline, the MCID verdict in the measure's
    unit, and a sparkline (plain ASCII unless on a terminal without NO_COLOR). Exit status:
    0, or 2 on a usage error."""
    from medmassage.cli.base import use_colour
    from medmassage.query.patient import progress_of
    from medmassage.report.tables import report_progress

    clinic = _clinic(opts, today, no_cache)
    data = progress_of(clinic, patient)
    clinic.close()
    report_progress(data, sys.stdout, fmt, fancy=use_colour(sys.stdout))


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
