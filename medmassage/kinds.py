"""The record kinds (SPEC §2, §3): one row per kind saying where its files live, how
its ids look, which of its fields date and sign it, and which records it names.

Every other module asks this registry instead of keeping its own list of kinds, so a
new kind is one new row here (plus its schema)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from medmassage.errors import UsageError

Scope = Literal["settings", "store", "patient"]
# A field path inside a record ("*" = every item of a list) and the kind it names.
Reference = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class Kind:
    """One kind of record: its name, where it lives and what its fields mean."""

    name: str
    scope: Scope  # settings: medmassage.yaml; store: a top folder; patient: a patient's folder
    folder: str = ""  # its folder (in the store, or in a patient's folder); "" for one file
    dated: bool = False  # its ids are dates (2026-03-14, 2026-03-14-2)
    date_field: str | None = None  # the field dating it, for the date rules
    signer_field: str | None = None  # signable kinds: who signs it (on the day of date_field)
    creatable: bool = False  # `medmassage create` makes it
    care: bool = False  # records care given, so it cannot precede the patient's intake
    references: tuple[Reference, ...] = ()

    @property
    def patient_scoped(self) -> bool:
        """True for the kinds that belong to a patient, kept in a folder of theirs (the
        patient record itself lives in the patient's folder but is not one of them)."""
        return self.scope == "patient" and bool(self.folder)

    @property
    def day_field(self) -> str:
        """The field holding the record's day (a signature is judged against it); "" if none."""
        return self.date_field or ""

    @property
    def signable(self) -> bool:
        """True for notes that are signed (and then final)."""
        return self.signer_field is not None


THERAPIST: Reference = (("therapist",), "therapist")
KINDS: tuple[Kind, ...] = (
    Kind("settings", "settings", references=((("default_therapist",), "therapist"),)),
    Kind("therapist", "store", "therapists", creatable=True),
    Kind("provider", "store", "providers", creatable=True),
    Kind(
        "patient",
        "patient",
        date_field="intake_date",
        creatable=True,
        references=((("primary_provider",), "provider"),),
    ),
    Kind(
        "referral",
        "patient",
        "referrals",
        dated=True,
        date_field="date",
        creatable=True,
        references=((("provider",), "provider"),),
    ),
    Kind(
        "assessment",
        "patient",
        "assessments",
        dated=True,
        date_field="date",
        creatable=True,
        care=True,
        references=(THERAPIST, (("referral",), "referral")),
    ),
    Kind(
        "plan",
        "patient",
        "plans",
        dated=True,
        date_field="date",
        creatable=True,
        care=True,
        references=(
            THERAPIST,
            (("referral",), "referral"),
            (("assessment",), "assessment"),
            (("certification", "by"), "provider"),
        ),
    ),
    Kind(
        "session",
        "patient",
        "sessions",
        dated=True,
        date_field="date",
        signer_field="therapist",
        creatable=True,
        care=True,
        references=(
            THERAPIST,
            (("treatment_plan",), "plan"),
            (("signature", "by"), "therapist"),
        ),
    ),
    Kind(
        "attendance",
        "patient",
        "attendance",
        dated=True,
        date_field="date",
        care=True,
        references=(THERAPIST,),
    ),
    Kind(
        "addendum",
        "patient",
        "addenda",
        dated=True,
        date_field="written_at",
        signer_field="author",
        references=((("author",), "therapist"), (("signature", "by"), "therapist")),
    ),
    Kind(
        "update",
        "patient",
        "updates",
        dated=True,
        date_field="date",
        references=(
            (("provider",), "provider"),
            (("sessions", "*"), "session"),
            (("cc", "*"), "provider"),
            (("by",), "therapist"),
        ),
    ),
)
NAMES = tuple(kind.name for kind in KINDS)
_BY_NAME = {kind.name: kind for kind in KINDS}
_BY_FOLDER = {(kind.scope, kind.folder): kind for kind in KINDS if kind.folder}
# Answers asked once per record by the walk and the rules: computed once.
_REFERENCES = tuple(
    (kind.name, fields, target) for kind in KINDS for fields, target in kind.references
)
_PATIENT_SCOPED = frozenset(kind.name for kind in KINDS if kind.patient_scoped)
_SIGNABLE = tuple(kind.name for kind in KINDS if kind.signable)
_DATED = tuple(kind.name for kind in KINDS if kind.date_field)


def names() -> tuple[str, ...]:
    """Every kind's name, in the registry's order."""
    return NAMES


def get(name: str) -> Kind:
    """The kind called `name`; UsageError naming the kinds when there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown record kind {name!r}; kinds are: {', '.join(names())}") from None


def find(name: str | None) -> Kind | None:
    """The kind called `name`, or None."""
    return _BY_NAME.get(name or "")


def folder_name(name: str) -> str:
    """The folder of a kind's records as messages name it (the kind's name if it has none)."""
    kind = _BY_NAME.get(name)
    return kind.folder if kind is not None and kind.folder else name


def in_folder(scope: Scope, folder: str) -> Kind | None:
    """The kind whose records live in `folder` (of the store, or of a patient's folder)."""
    return _BY_FOLDER.get((scope, folder))


def with_folders(scope: Scope) -> tuple[Kind, ...]:
    """The kinds kept in folders of the store ("store") or of a patient ("patient"), in order."""
    return tuple(kind for kind in KINDS if kind.scope == scope and kind.folder)


def dated() -> tuple[str, ...]:
    """The names of the kinds with a field dating them (for the date rules)."""
    return _DATED


def patient_scoped() -> frozenset[str]:
    """The names of the kinds that belong to a patient (not the patient record itself)."""
    return _PATIENT_SCOPED


def signable() -> tuple[str, ...]:
    """The names of the kinds that are signed."""
    return _SIGNABLE


def creatable() -> tuple[str, ...]:
    """The names of the kinds `medmassage create` makes."""
    return tuple(kind.name for kind in KINDS if kind.creatable)


def references() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(kind of the referring record, field path, kind referred to), for every reference."""
    return _REFERENCES


def referenced(
    node: Any, fields: tuple[str, ...], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, id) for every string at the field path `fields` of a reference ("*": every
    item of a list) in record data `node`; the path has list indexes filled in."""
    if not fields:
        if isinstance(node, str):
            yield path, node
        return
    head, rest = fields[0], fields[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from referenced(item, rest, (*path, index))
    elif isinstance(node, dict) and head in node:
        yield from referenced(node[head], rest, (*path, head))
