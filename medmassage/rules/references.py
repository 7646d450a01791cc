"""Reference checks: every id a record mentions names a record that exists.
(An addendum's `refers_to` is judged by integrity/addendum-target, which also
requires the note to be signed.)"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from medmassage import kinds
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.store import record_rel
from medmassage.store.ids import is_valid_id


def _known(view: StoreView, kind: str, patient: str | None) -> list[str]:
    return sorted(rid for (k, p, rid) in view.existing if k == kind and p == patient)


def check_references(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """ref/unknown-<kind>: an id that names no record of that kind."""
    scoped = kinds.patient_scoped()
    for record in records:
        for kind, fields, target in kinds.references():
            if record.kind != kind:
                continue
            patient = record.entry.patient if target in scoped else None
            for path, value in kinds.referenced(record.data, fields):
                if view.exists(target, value, patient):
                    continue
                close = difflib.get_close_matches(value, _known(view, target, patient), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                # A reference that is not id-shaped may be free text: do not quote it.
                where = f"{value!r} (no {record_rel(target, value, patient)})"
                shown = where if is_valid_id(value) else "written here"
                yield Finding(
                    record.rel,
                    path,
                    f"ref/unknown-{target}",
                    "error",
                    f"{target} {shown} does not exist{hint}",
                )


def check_goal_references(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """ref/unknown-goal and ref/duplicate-goal: session goal ids are the plan's goal ids."""
    for record in records:
        if record.kind == "plan" and record.valid:
            seen: set[str] = set()
            for index, goal in enumerate(record.data["goals"]):
                if goal["id"] in seen:
                    yield Finding(
                        record.rel,
                        ("goals", index, "id"),
                        "ref/duplicate-goal",
                        "error",
                        f"goal id {goal['id']!r} is used twice in this plan",
                    )
                seen.add(goal["id"])
        if record.kind != "session" or not record.valid:
            continue
        plan = view.get("plan", record.data["treatment_plan"], record.entry.patient)
        if plan is None:
            continue
        goal_ids = [goal["id"] for goal in plan.data["goals"]]
        for index, entry in enumerate(record.data.get("assessment", {}).get("goals", [])):
            if entry["goal"] not in goal_ids:
                close = difflib.get_close_matches(entry["goal"], goal_ids, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f"; the plan's goals are: {', '.join(goal_ids)}"
                )
                yield Finding(
                    record.rel,
                    ("assessment", "goals", index, "goal"),
                    "ref/unknown-goal",
                    "error",
                    f"goal {entry['goal']!r} is not a goal of plan {plan.id!r}{hint}",
                )


def patient_key(record: dict[str, Any]) -> tuple[str, str, str] | None:
    """What makes two intakes the same person: given and family name (case and spacing
    aside) and date of birth; None when the record lacks them."""
    name, born = record.get("name"), record.get("date_of_birth")
    if not isinstance(name, dict) or born is None:
        return None
    given, family = name.get("given"), name.get("family")
    if not isinstance(given, str) or not isinstance(family, str):
        return None
    return (" ".join(given.split()).casefold(), " ".join(family.split()).casefold(), str(born))


def duplicate_patient(rel: str, patient: str, other: str) -> Finding:
    """ref/duplicate-patient: the finding for `patient`, which matches `other` (ids only:
    the name and birth date they share are never repeated in a message)."""
    return Finding(
        rel,
        (),
        "ref/duplicate-patient",
        "warning",
        f"patient {patient} has the same name and date of birth as patient {other}: the same "
        "intake imported twice? Keep one chart and move the other's records into it",
    )


def person_digest(record: dict[str, Any]) -> str | None:
    """A digest of `patient_key` (None: the record lacks a name or birth date): what the
    validation cache keeps per chart to find duplicates without reading every patient
    file again, and without keeping names and birth dates in the cache."""
    key = patient_key(record)
    return None if key is None else hashlib.sha256(repr(key).encode()).hexdigest()


def check_duplicate_patients(
    patients: Iterable[tuple[str, str, str | None]],
) -> Iterator[Finding]:
    """ref/duplicate-patient across the store, from (file, id, person_digest) of every
    patient: each patient with the name and birth date of one before it (by id) is
    warned, naming it."""
    first: dict[str, str] = {}
    for rel, patient, key in sorted(patients, key=lambda found: found[1]):
        if key is None:
            continue
        if key in first:
            yield duplicate_patient(rel, patient, first[key])
        else:
            first[key] = patient
