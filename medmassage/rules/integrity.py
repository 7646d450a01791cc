"""Integrity checks (SPEC §6.5, §2.4): signed notes are unchanged, addenda refer to
signed notes, and notes are signed on time. Signed is final: the messages point to
addenda and to git, never to re-signing."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
from collections.abc import Iterator
from typing import Any

from medmassage import kinds
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.signature import covered_fields, days_between, fingerprint
from medmassage.store import record_rel


def _signable(records: list[Record]) -> Iterator[Record]:
    signable = kinds.signable()
    return (r for r in records if r.kind in signable)


def _name(record: Record) -> str:
    if record.kind == "session":
        return f"session {record.entry.patient}/{record.id}"
    return f"{record.kind} {record.rel}"


def _days_setting(view: StoreView, name: str, default: int) -> int:
    value = view.setting("signing", name, default=default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def check_signatures(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/signature-mismatch: a signed note whose content no longer matches its hash."""
    for record in _signable(records):
        signed: Any = record.data.get("signature")
        if not isinstance(signed, dict) or not isinstance(signed.get("sha256"), str):
            continue  # no signature, or a malformed one the schema reports
        if fingerprint(record.data) == signed["sha256"]:
            continue
        yield Finding(
            record.rel,
            ("signature",),
            "integrity/signature-mismatch",
            "error",
            f"{_name(record)} has changed since {signed.get('by')} signed it at "
            f"{signed.get('at')}: its sha256 no longer matches (the signature covers every "
            f"field: {', '.join(covered_fields(record.data))}). A signed note is never edited: "
            f"restore the signed version from git (`medmassage log {_ref(record)}` names the "
            "fields changed since) and record the change as an addendum: "
            f"medmassage amend {_ref(record)} --kind correction --reason TEXT",
            at_key=True,
        )


def _ref(record: Record) -> str:
    return f"{record.entry.patient}/{record.id}" if record.kind == "session" else record.rel


def check_addendum_targets(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/addendum-target: an addendum must refer to a session note that exists and
    is signed."""
    for record in records:
        target = record.data.get("refers_to") if record.kind == "addendum" else None
        if not isinstance(target, str):
            continue
        patient = record.entry.patient
        if not view.exists("session", target, patient):
            known = sorted(
                rid for (kind, p, rid) in view.existing if kind == "session" and p == patient
            )
            close = difflib.get_close_matches(target, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            yield Finding(
                record.rel,
                ("refers_to",),
                "integrity/addendum-target",
                "error",
                f"this {record.data.get('kind', 'addendum')} refers to session {target!r}, "
                f"which does not exist (no {record_rel('session', target, str(patient))}){hint}",
            )
            continue
        session = view.chart(patient).of("session").get(target) if patient else None
        if session is not None and not isinstance(session.data.get("signature"), dict):
            yield Finding(
                record.rel,
                ("refers_to",),
                "integrity/addendum-target",
                "error",
                f"session {patient}/{target} is not signed; an unsigned note is not final, so "
                f"change the note itself and sign it (`medmassage sign {patient}/{target}`); "
                "addenda are for signed notes",
            )


def check_late_signatures(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/late-signature: a session signed more than N days after the visit, neither
    labelled `late: true` nor explained by a late_entry addendum."""
    limit = _days_setting(view, "late_after_days", 1)
    for session in records:
        signed = (
            session.data.get("signature") if session.kind == "session" and session.valid else None
        )
        if signed is None or session.data.get("late") is True:
            continue
        days = days_between(session.data["date"], signed["at"])
        if days <= limit or _has_late_entry(view, session):
            continue
        yield Finding(
            session.rel,
            ("signature", "at"),
            "integrity/late-signature",
            "warning",
            f"signed {days} days after the visit on {session.data['date']} (the clinic's limit "
            f"is {limit}); explain the delay with a late entry: "
            f"medmassage amend {_ref(session)} --kind late_entry --reason TEXT",
        )


def _has_late_entry(view: StoreView, session: Record) -> bool:
    addenda = (
        view.chart(session.entry.patient).of("addendum").values() if session.entry.patient else ()
    )
    return any(
        a.data.get("refers_to") == session.id and a.data.get("kind") == "late_entry"
        for a in addenda
    )


def check_unsigned(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/unsigned: a note still unsigned after the clinic's signing window."""
    window = _days_setting(view, "window_days", 3)
    for record in _signable(records):
        if not record.valid or "signature" in record.data:
            continue
        day = str(record.data[kinds.get(record.kind).day_field])[:10]
        age = (dt.date.fromisoformat(view.today) - dt.date.fromisoformat(day)).days
        if age <= window:
            continue
        yield Finding(
            record.rel,
            (),
            "integrity/unsigned",
            "warning",
            f"{_name(record)} from {day} is still unsigned, {age} days later (the clinic signs "
            f"within {window}); review it and sign it: medmassage sign {_ref(record)} --late",
        )


# What a visit's note says about that visit; a note whose every one of these equals the
# previous visit's (dates, times, ids, billing and signature aside) was copied forward.
CLINICAL_FIELDS = ("subjective", "objective", "treatment", "response", "assessment", "plan")


def check_cloned_notes(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/cloned-note: a session whose subjective, objective, treatment, response,
    assessment and plan are word for word those of the patient's previous session."""
    charts: dict[str, list[Record]] = {}
    for record in records:
        if record.kind == "session" and record.valid and record.entry.patient:
            charts.setdefault(record.entry.patient, []).append(record)
    for sessions in charts.values():
        sessions.sort(key=lambda r: (str(r.data["date"]), str(r.data.get("time", "")), r.id))
        for earlier, later in itertools.pairwise(sessions):
            if _clinical(later) is None or _clinical(later) != _clinical(earlier):
                continue
            yield Finding(
                later.rel,
                (),
                "integrity/cloned-note",
                "warning",
                f"{_name(later)} repeats {_name(earlier)} word for word (subjective, objective, "
                "treatment, response, assessment and plan); a note copied from the last visit "
                "is an audit red flag: record what was found and done at this visit",
            )


def _clinical(session: Record) -> list[Any] | None:
    """The clinical content of a session (None: it has none to compare)."""
    content = [session.data.get(name) for name in CLINICAL_FIELDS]
    return content if any(content) else None
