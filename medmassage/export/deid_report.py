"""The report of a de-identified copy: what was removed or changed, counted per kind and
field path (never a value, an id of the original store or the seed). Written into the
copy as DEIDENTIFICATION.md and printed as the command's summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medmassage.export.deid import Outcome

REPORT_FILE = "DEIDENTIFICATION.md"  # written at the top of the copy

CAVEATS = (
    "Dates are shifted by a secret offset per patient (whole weeks, into the past) instead "
    "of being cut to the year as Safe Harbor does: intervals inside a chart are kept, and "
    "anyone holding the seed and the original store could undo the shift.",
    "Signature blocks keep who signed (pseudonymised) and when (shifted); their sha256 is "
    "recomputed over the de-identified note by the export. They show that the original "
    "note was signed and that this copy is unchanged since the export, not that the "
    "therapist signed this text.",
    "Documents sent, rendered output and the store's own templates are not copied; update "
    "logs keep whom they went to and when, without the file and its hash.",
    "Safe Harbor also requires that the clinic has no actual knowledge that what remains "
    "could identify a patient: read the copy before sharing it, above all with --keep-text.",
)


def summary(outcome: Outcome) -> dict[str, Any]:
    """The JSON summary: counts per kind, field path and what was done."""
    fields: dict[str, dict[str, dict[str, int]]] = {}
    for (kind, path, what), count in sorted(outcome.counts.items()):
        fields.setdefault(kind, {}).setdefault(path, {})[what] = count
    return {
        "path": str(outcome.out),
        "patients": outcome.patients,
        "records": outcome.records,
        "ages_grouped": outcome.grouped,
        "free_text": "kept" if outcome.keep_text else "removed",
        "not_copied": dict(sorted(outcome.not_copied.items())),
        "fields": fields,
    }


def summary_text(outcome: Outcome) -> str:
    """The summary for a person: where the copy is and what was done, in a few lines."""
    changed = sum(outcome.counts.values())
    text = "kept (review it before sharing)" if outcome.keep_text else "removed"
    lines = [
        f"de-identified copy: {outcome.out}",
        f"{outcome.patients} patient(s), {outcome.records} record(s); "
        f"{changed} field value(s) removed or changed; free text {text}",
    ]
    if outcome.grouped:
        lines.append(f"{outcome.grouped} patient(s) over 89: ages grouped as 90+")
    lines.extend(f"not copied: {n} {what}" for what, n in sorted(outcome.not_copied.items()))
    lines.append(f"what was done, per field: {outcome.out / REPORT_FILE}")
    return "\n".join(lines)


def report_markdown(outcome: Outcome) -> str:
    """DEIDENTIFICATION.md: the method, the caveats, and a table per kind of what was
    done to each field path, with counts. Holds no value and no path outside the copy."""
    text = (
        "kept, with a warning that it may identify a patient"
        if outcome.keep_text
        else ("removed (required text fields read [removed])")
    )
    lines = [
        "# De-identified copy",
        "",
        "Made by `medmassage export deid` following HIPAA Safe Harbor "
        "(45 CFR 164.514(b)(2)). Names, contact details, identifiers and geography below "
        "the state were removed or replaced by pseudonyms; ZIP codes were cut to 3 digits; "
        "dates were shifted; patients over 89 have their ages grouped as 90+.",
        "",
        f"- patients: {outcome.patients}; records: {outcome.records}; "
        f"ages grouped: {outcome.grouped}",
        f"- free text: {text}",
    ]
    lines += [f"- not copied: {n} {what}" for what, n in sorted(outcome.not_copied.items())]
    lines += ["", "## Caveats", ""] + [f"- {caveat}" for caveat in CAVEATS]
    for kind, paths in summary(outcome)["fields"].items():
        lines += ["", f"## {kind}", "", "| field | done | values |", "|---|---|---|"]
        for path, done in paths.items():
            lines += [f"| {path} | {what} | {count} |" for what, count in done.items()]
    return "\n".join(lines) + "\n"
