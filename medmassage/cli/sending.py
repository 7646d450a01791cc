"""The `send` command: a document rendered, its exact file kept in the chart and the
sending logged and signed (SPEC §4.1 "Sent documents")."""

from __future__ import annotations

import click

from medmassage.cli.base import (
    DATE,
    Options,
    _commit,
    _date_param,
    _print_problems,
    _waiting,
    commit_option,
    main,
    today_option,
)
from medmassage.cli.rendering import _DocumentName

_VIAS = ("fax", "email", "portal", "mail", "hand")


@main.command()
@click.argument("document", metavar="DOCUMENT", type=_DocumentName())
@click.argument("ref", metavar="REF")
@click.option("--via", required=True, type=click.Choice(_VIAS), help="How it is sent.")
@click.option("--to", "to", required=True, metavar="PROVIDER", help="The provider it goes to.")
@click.option(
    "--cc", multiple=True, metavar="PROVIDER", help="A provider who gets a copy; repeatable."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("txt", "md", "html")),
    default="txt",
    show_default=True,
    help="The format sent (and kept).",
)
@click.option("--ascii", "ascii_", is_flag=True, help="txt in 7-bit ASCII, for fax gateways.")
@click.option(
    "--at",
    metavar="TIMESTAMP",
    help="When it was sent, e.g. 2026-11-20T17:05:00-08:00 (default: now).",
)
@click.option("--by", metavar="THERAPIST", help="Who sends and signs it (default: the store's).")
@click.option("--since", metavar=DATE, callback=_date_param, help="Period start (as render).")
@click.option("--until", metavar=DATE, callback=_date_param, help="Period end (as render).")
@click.option("--date", metavar=DATE, callback=_date_param, help="Date printed on the letter.")
@today_option()
@commit_option
@click.pass_obj
def send(
    opts: Options,
    document: str,
    ref: str,
    via: str,
    to: str,
    cc: tuple[str, ...],
    fmt: str,
    ascii_: bool,
    at: str | None,
    by: str | None,
    since: str | None,
    until: str | None,
    date: str | None,
    today: str | None,
    commit: bool,
) -> None:
    """Send DOCUMENT for REF to a provider: render it, keep the exact file in the chart
    (patients/<p>/sent/<date>-<document>[-n].<format>) and log the sending in updates/
    (to, cc, via, file, its sha256, when, by whom), signed.

    Prints the kept file and the log. `validate` then reports a kept copy changed
    after sending; `due` counts the next progress report from the period sent.
    Exit status: 0 sent, 1 not sent (the errors are printed), 2 usage errors."""
    from medmassage.charting.send import NotSent, SendRequest
    from medmassage.charting.send import send as send_document
    from medmassage.report import display_path
    from medmassage.store.lock import store_lock

    store = opts.store()
    request = SendRequest(
        document, ref, via, to, cc, fmt, ascii_, at, by, since, until, date, today
    )
    with store_lock(store.root, _waiting):
        try:
            outcome = send_document(store, request)
        except NotSent as exc:
            _print_problems(store.root, exc.problems)
            raise
        assert outcome.kept is not None and outcome.log is not None
        paths = [outcome.kept, outcome.log]
        for path in paths:
            click.echo(display_path(store.root, path.relative_to(store.root).as_posix()))
        if commit:
            patient = outcome.kept.parent.parent.name
            _commit(store.root, paths, f"send {document} for {patient} to {to} via {via}")
