"""`medmassage export chart`: the chart released to the patient (SPEC §10)."""

from __future__ import annotations

import click

from medmassage.cli.base import Options, _print_problems, format_option, today_option
from medmassage.cli.exporting import export, print_summary, progress

__all__ = ["chart", "export"]


@export.command()
@click.argument("patient", metavar="PATIENT")
@click.argument("out", metavar="OUT")
@click.option(
    "--zip",
    "archive",
    is_flag=True,
    help="Write one zip archive, OUT.zip (or OUT when it ends in .zip), instead of a folder.",
)
@format_option(("text", "json"), "Summary for people, or one JSON document.")
@today_option()
@click.pass_obj
def chart(
    opts: Options, patient: str, out: str, archive: bool, fmt: str, today: str | None
) -> None:
    """Release PATIENT's chart into OUT: every document rendered (html and txt, signed
    state shown), the YAML records and copies of documents sent byte for byte, the
    providers and therapists the chart names, and an index.html listing it all by date.

    OUT is a new (or empty) folder outside the store, or with --zip a new archive; it
    appears whole or not at all. A chart with errors is not released: its errors are
    printed as by validate and the exit status is 1. Exit 2: usage errors (an unknown
    patient, OUT inside the store or not empty)."""
    from medmassage.export import output
    from medmassage.export.chart import NotReleased, open_release
    from medmassage.export.chart_release import summary_text, write_release
    from medmassage.report import escape

    store = opts.store()
    dest = output.destination(store.root, out, archive)
    try:
        release = open_release(store, patient, today)
    except NotReleased as exc:
        _print_problems(store.root, exc.problems)
        raise
    chosen = release.documents.chosen
    with progress(chosen, f"Rendering {release.patient}") as items:
        rendered = [release.documents.render(item) for item in items]
    found = write_release(release, rendered, dest)
    shown = found["index"] if not archive else found["path"]
    print_summary(found, fmt, summary_text(found, escape(shown)))
