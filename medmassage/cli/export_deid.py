"""`medmassage export deid OUT`: a de-identified copy of the store (SPEC §10)."""

from __future__ import annotations

import click

from medmassage.cli.base import Options, _print_problems, format_option, today_option
from medmassage.cli.exporting import export, print_summary, progress

__all__ = ["export"]

_SEED_HELP = (
    "Draw offsets and pseudonyms from this seed: the same seed gives a byte-identical copy. "
    "Keep it as secret as the records (with it and the original store the shifts can be "
    "undone). Default: a random seed that is never shown."
)
_KEEP_TEXT_HELP = (
    "Keep free text (reports, findings, summaries, notes); it may name or describe the "
    "patient, so read the copy before sharing it."
)
_TEXT_WARNING = (
    "medmassage: warning: --keep-text: free text is copied as written and may identify a "
    "patient (names, dates, places, employers); read the copy before sharing it"
)


@export.command("deid")
@click.argument("out", metavar="OUT")
@click.option("--seed", metavar="TEXT", help=_SEED_HELP)
@click.option("--keep-text", is_flag=True, help=_KEEP_TEXT_HELP)
@format_option(("text", "json"), "text for people, json for programs (one document).")
@today_option()
@click.pass_obj
def deid(
    opts: Options, out: str, seed: str | None, keep_text: bool, fmt: str, today: str | None
) -> None:
    """Write a de-identified copy of the whole store into OUT (a new or empty folder
    outside the store) by HIPAA Safe Harbor: names and identifiers replaced by
    pseudonyms, contact details removed, ZIP codes cut to 3 digits, dates shifted by a
    secret offset per patient that keeps every interval, ages over 89 grouped, free text
    removed unless --keep-text. Signed notes are sealed again over the copy; documents
    sent and rendered are not copied. OUT/DEIDENTIFICATION.md lists what was done per
    field. A store with errors is not exported. Exit status: 0, 1 when the store has
    errors (printed as by validate), 2 on a usage error."""
    import secrets

    from medmassage.export.deid import Refused, export_deid
    from medmassage.export.deid_report import summary, summary_text

    store = opts.store()
    if keep_text:
        click.echo(_TEXT_WARNING, err=True)
    try:
        outcome = export_deid(
            store,
            out,
            seed if seed is not None else secrets.token_hex(16),
            keep_text,
            today,
            progress,
        )
    except Refused as refused:
        _print_problems(store.root, refused.problems)
        raise
    print_summary(summary(outcome), fmt, summary_text(outcome))
