"""Every rule code the product can report, one row each: code, severity, one-line summary.

The README's rule table is this registry written out (a test keeps the two equal), and
a test walks the package so that no finding uses a code missing here. Codes are stable:
CI configurations and people's habits depend on them, so a code is added, never renamed.
"""

from __future__ import annotations

from typing import NamedTuple


class RuleInfo(NamedTuple):
    """One rule: its stable code, how bad a finding is, and what it catches."""

    code: str
    severity: str  # "error" or "warning"
    summary: str


def _rows(severity: str, prefix: str, *rows: tuple[str, str]) -> tuple[RuleInfo, ...]:
    return tuple(RuleInfo(f"{prefix}/{name}", severity, summary) for name, summary in rows)


_SYNTAX = _rows(
    "error",
    "syntax",
    ("unreadable", "a file that cannot be read, or is not a regular file"),
    ("too-large", "a file over 1 MiB"),
    ("encoding", "bytes that are not UTF-8"),
    ("control-character", "a control character in the text"),
    ("invalid-yaml", "text that is not YAML"),
    ("empty", "an empty file"),
    ("not-a-mapping", "a top level that is not a mapping of field: value"),
    ("multiple-documents", "several YAML documents in one file"),
    ("duplicate-key", "the same field twice in one mapping (both lines named)"),
    ("complex-key", "a field name that is a list or mapping"),
    ("merge-key", "a merge key (`<<`)"),
    ("anchor", "an anchor (`&name`)"),
    ("alias", "an alias (`*name`)"),
    ("tag", "an explicit tag (`!!str`, `!thing`)"),
    ("too-deep", "nesting deeper than 32 levels"),
    ("directive", "a directive (`%YAML`, `%TAG`)"),
    ("tab", "a tab outside quotes, or inside a block of text"),
    ("flow-form", "inside `[ ]` or `{ }`, a `:` not followed by a space"),
    ("empty-key", "a field with no name before `:`"),
)

# One code per JSON Schema keyword that explain.py turns into words (schema/<keyword>).
_SCHEMA = _rows(
    "error",
    "schema",
    ("required", "a required field is missing"),
    ("additional-properties", "a field the schema does not know (with a suggestion)"),
    ("type", "a value of the wrong type"),
    ("enum", "a term outside the controlled vocabulary (with a suggestion)"),
    ("const", "a value other than the one allowed"),
    ("format", "a date, timestamp or email address that is not well formed"),
    ("pattern", "an id, time or code not in its expected form"),
    ("minimum", "a number below the minimum"),
    ("maximum", "a number above the maximum"),
    ("exclusive-minimum", "a number not above its lower bound"),
    ("exclusive-maximum", "a number not below its upper bound"),
    ("min-length", "empty text"),
    ("max-length", "text longer than allowed"),
    ("min-items", "a list with too few items"),
    ("max-items", "a list with too many items"),
    ("unique-items", "a list holding the same item twice"),
    ("any-of", "a value in none of the forms the field allows (e.g. an item answer)"),
    ("invalid", "a value the schema refuses for any other reason"),
)

_LAYOUT = (
    *_rows(
        "error",
        "layout",
        ("id-mismatch", "a record whose id is not its file name"),
        ("bad-id", "a file or patient folder name that is not a valid id"),
        ("wrong-folder", "a record in the folder of another kind"),
        ("missing-patient", "a patient folder without patient.yaml"),
        ("symlink", "a symbolic link in the store (never followed)"),
        ("not-read", "a file or folder named like a record but not read (.yml, wrong case)"),
    ),
    *_rows(
        "warning",
        "layout",
        ("unknown-folder", "a folder that is not one of a patient's record folders"),
        ("stray-file", "a file that is not a record (it is not read)"),
        ("stray-temp-file", "a temporary file left over from an interrupted write"),
        ("stale-schema", "an editor schema in schemas/ missing or out of date (schema --write)"),
    ),
)

_REFERENCES = _rows(
    "error",
    "ref",
    ("unknown-therapist", "a therapist id that names no therapist"),
    ("unknown-provider", "a provider id that names no provider"),
    ("unknown-referral", "a referral id that names no referral of the patient"),
    ("unknown-assessment", "an assessment id that names no assessment of the patient"),
    ("unknown-plan", "a plan id that names no treatment plan of the patient"),
    ("unknown-session", "a session id that names no session of the patient"),
    ("unknown-goal", "a session's goal that is not a goal of its plan"),
    ("duplicate-goal", "a goal id used twice in one plan"),
)
_REFERENCE_WARNINGS = _rows(
    "warning",
    "ref",
    ("duplicate-patient", "a patient with the same name and birth date as another (both ids)"),
)

_CLINICAL = (
    *_rows(
        "error",
        "clinical",
        ("future-date", "a record dated after today"),
        ("before-intake", "care dated before the patient's intake"),
        ("before-birth", "a record dated before the patient's birth"),
        ("pain-range", "a pain goal or pain measurement off the 0–10 scale"),
        ("treatment-exceeds-session", "technique minutes adding up to more than the visit"),
        ("license-expired", "the therapist's license had expired on the date of service"),
        ("absolute-precaution", "any treatment for a patient with an absolute contraindication"),
        ("icd-unknown", "a diagnosis code that is not in the ICD-10-CM release"),
        ("icd-not-billable", "a diagnosis code that is a header or lacks its 7th character"),
        ("npi-check-digit", "an NPI whose check digit is wrong (Luhn over 80840 + 9 digits)"),
        ("minor-consent", "a visit for a patient under 18 without a guardian's consent"),
        ("intraoral-consent", "intraoral work without the patient's written intraoral consent"),
        ("score-out-of-range", "an outcome score or item answer outside its instrument's range"),
        ("score-mismatch", "an outcome total that disagrees with the score of its item answers"),
        ("items-incomplete", "fewer item answers than the instrument's missing-item rule allows"),
    ),
    *_rows(
        "warning",
        "clinical",
        ("local-precaution", "treatment on a region with a local contraindication"),
        ("outside-referral", "a visit outside the referral's dates"),
        ("visits-exceeded", "more visits than the referral authorizes"),
        ("before-plan", "a visit dated before its treatment plan"),
        ("icd-description", "a diagnosis description that does not match the code's title"),
        ("plan-outside-referral", "a planned technique or region the referral does not list"),
        ("reassess-interval", "re-assessment planned less often than every 10 visits (CMS)"),
        ("baseline-mismatch", "a goal's baseline that differs from its plan's assessment"),
    ),
)

_BILLING = _rows(
    "error",
    "billing",
    ("unknown-code", "a billed code that is neither a known CPT code nor in the store's table"),
    ("units-mismatch", "billed units that differ from the units the minutes support"),
)

_INTEGRITY = (
    *_rows(
        "error",
        "integrity",
        ("signature-mismatch", "a signed note changed since it was signed"),
        ("addendum-target", "an addendum to a note that does not exist or is not signed"),
        ("sent-changed", "a kept copy of a document sent whose bytes differ from the log's sha256"),
        ("sent-missing", "a document sent whose kept copy is missing from the chart"),
    ),
    *_rows(
        "warning",
        "integrity",
        ("late-signature", "a note signed late without `late: true` or a late-entry addendum"),
        ("unsigned", "a note still unsigned after the clinic's signing window"),
        (
            "cloned-note",
            "a session whose subjective, objective, treatment, response, assessment and plan "
            "equal the previous session's word for word",
        ),
    ),
)

REGISTRY: dict[str, RuleInfo] = {
    row.code: row
    for row in (
        *_SYNTAX,
        *_SCHEMA,
        *_LAYOUT,
        *_REFERENCES,
        *_REFERENCE_WARNINGS,
        *_CLINICAL,
        *_BILLING,
        *_INTEGRITY,
    )
}
"""Every reportable rule by code, in the order validation reaches them."""


def is_registered(code: str) -> bool:
    """True when `code` is a rule the product documents."""
    return code in REGISTRY
