"""Code-set rules: diagnosis codes against the real ICD-10-CM release, NPI check digits.

Both follow CLINICAL.md §5. Like the other rules, each is a plain function
`(view, records) -> findings` over schema-valid records. Messages name the code (which the
schema has already held to its letters-and-digits shape) and the code set's own words,
never other text from a chart. The ICD-10-CM index is read only when a referral is
checked (`medmassage.codesets`).
"""

from __future__ import annotations

from collections.abc import Iterator

from medmassage import codesets
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding

# Where each kind keeps an NPI (schemas/provider, therapist and settings .schema.json).
_NPI_FIELDS: dict[str, tuple[str, ...]] = {
    "provider": ("npi",),
    "therapist": ("npi",),
    "settings": ("practice", "npi"),
}


def _not_billable(found: codesets.IcdCode) -> str:
    """The message for a header or for a code lacking its 7th character."""
    examples = ", ".join(found.examples)
    if found.status == "header":
        return (
            f"{found.code} is a header in {codesets.RELEASE} ({found.description}), "
            f"not a billable code: use a more specific code under it, e.g. {examples}"
        )
    chars = ", ".join(char for char, _meaning in found.seventh)
    padding = " placeholder X and" if len(found.code.replace(".", "")) < 6 else ""
    return (
        f"{found.code} lacks its 7th character: {codesets.RELEASE} requires{padding} one of "
        f"{chars} here (e.g. {examples})"
    )


def check_diagnosis_codes(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/icd-unknown, clinical/icd-not-billable (errors), clinical/icd-description.

    A referral's codes must exist in the release and be billable (CLINICAL.md §5); a
    description that does not name the code's official title is a warning, compared as
    `codesets.description_matches` explains (case, punctuation and shorter wording
    forgiven).
    """
    for referral in records:
        if not (referral.valid and referral.kind == "referral"):
            continue
        for index, diagnosis in enumerate(referral.data["diagnoses"]):
            found = codesets.lookup(diagnosis["code"])
            where = ("diagnoses", index, "code")
            if found.status == "unknown":
                yield Finding(
                    referral.rel,
                    where,
                    "clinical/icd-unknown",
                    "error",
                    f"{found.code} is not a code of {codesets.RELEASE}",
                )
            elif not found.billable:
                yield Finding(
                    referral.rel, where, "clinical/icd-not-billable", "error", _not_billable(found)
                )
            elif not codesets.description_matches(diagnosis["description"], found.description):
                yield Finding(
                    referral.rel,
                    ("diagnoses", index, "description"),
                    "clinical/icd-description",
                    "warning",
                    f"the description does not match {found.code}, which {codesets.RELEASE} "
                    f"calls {found.description!r}",
                )


def _field(data: object, path: tuple[str, ...]) -> object:
    """The value at `path` in nested mappings, or None."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def check_npis(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/npi-check-digit: every NPI (provider, therapist, practice) passes its Luhn
    check, computed over the prefix 80840 plus the first 9 digits (CLINICAL.md §5)."""
    for record in records:
        path = _NPI_FIELDS.get(record.kind)
        if not record.valid or path is None:
            continue
        npi = _field(record.data, path)
        if isinstance(npi, str) and not codesets.npi_valid(npi):
            yield Finding(
                record.rel,
                path,
                "clinical/npi-check-digit",
                "error",
                "not a valid NPI: its last digit fails the check over 80840 and the first 9 "
                "digits (CLINICAL.md §5); check the number for a typo",
            )
