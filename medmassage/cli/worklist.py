"""The `due` command: the clinic's worklist (medmassage.care.due)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from medmassage.cli.base import Options, format_option, main, today_option
from medmassage.cli.querying import answering

if TYPE_CHECKING:
    from medmassage.care.due import Item
    from medmassage.store import Store

_KINDS = (
    "note",
    "progress",
    "reassessment",
    "certification",
    "referral",
    "consent",
    "license",
    "gap",
)
_WIDTH = 80


@main.command()
@click.option(
    "--within",
    metavar="DAYS",
    type=click.IntRange(min=0),
    help="Also list what falls due within DAYS days of today "
    "(default: due.within_days in medmassage.yaml, else 7).",
)
@click.option("--patient", metavar="ID", multiple=True, help="Only this patient (repeatable).")
@click.option(
    "--therapist",
    metavar="ID",
    help="Only the items of this therapist's patients, notes and license.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(_KINDS),
    help="Only items of this kind (repeatable).",
)
@today_option("The day to judge against (default: today).")
@format_option(("text", "json"), "text: one block per item, 80 columns; json: one document.")
@click.option(
    "--fail-on",
    type=click.Choice(("overdue",)),
    help="Exit with status 1 when anything listed is overdue (for CI).",
)
@click.pass_obj
@answering
def due(
    opts: Options,
    within: int | None,
    patient: tuple[str, ...],
    therapist: str | None,
    kinds: tuple[str, ...],
    today: str | None,
    fmt: str,
    fail_on: str | None,
) -> None:
    """List what is due, overdue or falling due soon (CLINICAL.md §4): unsigned notes,
    progress reports to the referrer, re-assessments, plan-of-care certification,
    referrals to renew, consents, therapists' licenses and follow-up gaps.

    Each item says why (the rule and its numbers), since when or until when, and the
    command that resolves it. Most urgent first. Exit status: 0, or 1 with --fail-on
    overdue when anything listed is overdue; 2 on a usage error."""
    import datetime as dt

    from medmassage.care import due as rules

    store = opts.store()
    day = today or dt.date.today().isoformat()
    items, days = _items(store, day, within, patient)
    items = [
        i
        for i in items
        if (not kinds or i.kind in kinds) and (therapist is None or i.therapist == therapist)
    ]
    items = rules.order(rules.within(items, day, days))
    if fmt == "json":
        _print_json(items, day, days)
    else:
        _print_text(items, day, days)
    if fail_on == "overdue" and any(i.severity == "overdue" for i in items):
        sys.exit(1)


def _items(
    store: Store, today: str, within: int | None, patients: tuple[str, ...]
) -> tuple[list[Item], int]:
    """Every item of the store (or of `patients`), read through the validation façade:
    each unchanged chart's items from the validation cache (query.summary), the others
    judged again; and the window in days."""
    from medmassage.care import due as rules
    from medmassage.errors import UsageError
    from medmassage.query.summary import gather, items_of, shared_summary
    from medmassage.validate import open_store

    survey = open_store(store, today)
    unknown = sorted(set(patients) - set(survey.charts))
    if unknown:
        raise UsageError(f"no patient {unknown[0]!r} in this store")
    chosen = list(dict.fromkeys(patients)) or sorted(survey.charts)
    found = gather(survey, chosen)
    shared = shared_summary(survey)
    survey.save()
    items = [] if patients else [rules.Item(*fields) for fields in shared["licenses"]]
    for patient in chosen:
        items += items_of(found[patient][1])
    days = within if within is not None else int(shared["within_days"])
    return items, days


def _print_json(items: list[Item], today: str, days: int) -> None:
    from medmassage.query.jsontext import dumps

    document: dict[str, Any] = {
        "today": today,
        "within_days": days,
        "counts": {s: sum(i.severity == s for i in items) for s in ("overdue", "due", "soon")},
        "items": [i.as_dict() for i in items],
    }
    # json.dumps(indent=2)'s text, written as is (JSON holds no terminal control codes)
    sys.stdout.write(dumps(document) + "\n")


def _print_text(items: list[Item], today: str, days: int) -> None:
    import textwrap

    if not items:
        click.echo(f"nothing due on {today} or within {days} days")
        return
    for item in items:
        when = f"since {item.since}" if item.severity != "soon" else f"from {item.since}"
        if item.until is not None:
            when += f", until {item.until}"
        who = item.patient or f"therapist {item.therapist}"
        click.echo(f"{item.severity.upper():8} {who}  {item.kind}: {item.what}")
        for line in textwrap.wrap(f"{when}; {item.why}", _WIDTH - 9):
            click.echo(f"{'':9}{line}")
        click.echo(f"{'':9}$ {item.command}")
    counts = {s: sum(i.severity == s for i in items) for s in ("overdue", "due", "soon")}
    click.echo(
        ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (on {today}, within {days} days)"
    )
