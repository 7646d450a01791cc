"""`medmassage export fhir`: one FHIR R4 Bundle per patient (SPEC §10)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from medmassage.cli.base import Options, _print_problems, format_option, today_option
from medmassage.cli.exporting import export, print_summary, progress

if TYPE_CHECKING:
    from pathlib import Path

    from medmassage.export.fhir import Exported

__all__ = ["export", "fhir"]

_OUT_HELP = (
    "Folder to write <patient>.fhir.json into (made if missing; only earlier exports of "
    "the same patients are replaced); '-' writes the bundles to standard output as NDJSON, "
    "one bundle per line."
)


@export.command("fhir")
@click.argument("patients", nargs=-1, metavar="[PATIENT]...")
@click.option("--out", metavar="DIR|-", required=True, help=_OUT_HELP)
@format_option(("text", "json"), "The summary of what was written (with --out DIR).")
@today_option("Judge the charts as `validate --today` would (default: today).")
@click.option("--no-cache", is_flag=True, help="Read every chart again, ignoring the cache.")
@click.pass_obj
def fhir(
    opts: Options,
    patients: tuple[str, ...],
    out: str,
    fmt: str,
    today: str | None,
    no_cache: bool,
) -> None:
    """Export each PATIENT's chart (default: every patient) as a FHIR R4 Bundle of type
    collection: Patient, Practitioner and PractitionerRole, Organization, Condition,
    ServiceRequest, CarePlan and Goal, and the visits. Ids are stable and every reference
    resolves inside the bundle. A chart with errors is not exported: its errors are
    printed (as by validate) and the exit status is 1, but the others are. A patient who
    has not consented to sharing with providers is left out (and named). Exit status: 0,
    1, or 2 on a usage error (an unknown patient, or one who has not consented)."""
    from pathlib import Path

    from medmassage.export.fhir import FhirExport, dumps, prepare_out, write_bundle

    store = opts.store()
    job = FhirExport(store, today, use_cache=not no_cache)
    chosen = job.patients(patients)
    folder = None if out == "-" else prepare_out(Path(out), store.root, chosen)
    done: list[Exported] = []
    with progress(chosen, "Exporting FHIR bundles") as items:
        for patient_id in items:
            result = job.export(patient_id)
            if result.bundle is not None and folder is None:
                click.echo(dumps(result.bundle))
            elif result.bundle is not None and folder is not None:
                result.path = write_bundle(folder, patient_id, dumps(result.bundle) + "\n")
            result.bundle = None  # written: only its counts are kept, so memory stays flat
            done.append(result)
    job.close()
    refused = _left_out(store.root, done)
    if folder is not None:
        _summarize(folder, done, fmt)
    sys.exit(1 if refused else 0)


def _left_out(root: Path, done: list[Exported]) -> list[str]:
    """Name on stderr the charts not exported: withheld for want of consent, and refused
    for their errors (which are printed, as by validate). Returns the patients refused."""
    refused = [r.patient for r in done if r.refused]
    withheld = [r.patient for r in done if r.withheld]
    if withheld:  # every patient was asked for: the ones who said no are left out, and named
        click.echo(
            f"medmassage: {len(withheld)} chart{'s' if len(withheld) != 1 else ''} not "
            "exported: no consent to sharing with providers (consent.share_with_providers): "
            f"{', '.join(withheld)}",
            err=True,
        )
    _print_problems(root, sorted({p for result in done for p in result.problems}))
    if refused:
        click.echo(
            f"medmassage: {len(refused)} chart{'s' if len(refused) != 1 else ''} not exported "
            f"because of the errors above: {', '.join(refused)}",
            err=True,
        )
    return refused


def _summarize(folder: Path, done: list[Exported], fmt: str) -> None:
    """What was written: per bundle its patient, file and resources by type (ids, counts
    and paths only)."""
    from medmassage.render.request import shown

    written = [result for result in done if result.path is not None]
    bundles: list[dict[str, Any]] = [
        {
            "patient": result.patient,
            "path": shown(result.path),
            "resources": sum(result.counts.values()),
            "by_type": result.counts,
        }
        for result in written
        if result.path is not None
    ]
    total = sum(bundle["resources"] for bundle in bundles)
    summary = {
        "bundles": bundles,
        "refused": [r.patient for r in done if r.refused],
        "withheld": [r.patient for r in done if r.withheld],
        "resources": total,
    }
    lines = [f"{bundle['path']}  ({bundle['resources']} resources)" for bundle in bundles]
    plural = "s" if len(bundles) != 1 else ""
    lines.append(f"{len(bundles)} bundle{plural}, {total} resources, in {folder}")
    print_summary(summary, fmt, "\n".join(lines))
