"""Rules that follow from the episode of care (issue 13): a plan stays inside its
referral, re-assessment comes often enough, and the consents a visit needs are on file.

Each rule is a plain function `(view, records) -> findings` over schema-valid records.
Messages name fields and ids, never a chart's values or free text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from medmassage.chart import Record, StoreView
from medmassage.errors import Finding

# CMS: a progress report at least once every 10 treatment days (CLINICAL.md §4).
MAX_REASSESS_EVERY = 10
ADULT_AGE = 18


def _valid(records: list[Record], kind: str) -> Iterator[Record]:
    return (r for r in records if r.valid and r.kind == kind)


def check_plan_within_referral(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/plan-outside-referral: a planned technique or region that the plan's
    referral does not list (a referral that lists none limits nothing)."""
    for plan in _valid(records, "plan"):
        referral = view.get("referral", plan.data["referral"], plan.entry.patient)
        if referral is None:
            continue
        for field, noun in (("techniques", "technique"), ("regions", "region")):
            allowed = referral.data.get(field) or []
            if not allowed:
                continue
            for index, item in enumerate(plan.data[field]):
                if item not in allowed:
                    yield Finding(
                        plan.rel,
                        (field, index),
                        "clinical/plan-outside-referral",
                        "warning",
                        f"a planned {noun} that referral {referral.id} does not list among its "
                        f"{field}; ask the provider to extend the referral or drop it",
                    )


def check_reassess_interval(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/reassess-interval: `reassess_every` above 10 visits (CMS asks for a
    progress report at least every 10 treatment days; CLINICAL.md §4)."""
    for plan in _valid(records, "plan"):
        every = plan.data.get("reassess_every")
        if isinstance(every, int) and every > MAX_REASSESS_EVERY:
            yield Finding(
                plan.rel,
                ("reassess_every",),
                "clinical/reassess-interval",
                "warning",
                f"re-assessment is planned less often than every {MAX_REASSESS_EVERY} visits "
                "(the CMS progress-report interval); set reassess_every to 10 or fewer",
            )


def adult_on(date_of_birth: str, day: str) -> bool:
    """True when someone born on `date_of_birth` is 18 or older on `day` (a 29 February
    birthday comes of age on 1 March)."""
    born = dt.date.fromisoformat(date_of_birth)
    try:
        coming_of_age = born.replace(year=born.year + ADULT_AGE)
    except ValueError:
        coming_of_age = dt.date(born.year + ADULT_AGE, 3, 1)
    return dt.date.fromisoformat(day) >= coming_of_age


def _consent(patient: Record) -> Mapping[str, Any]:
    consent: Mapping[str, Any] = patient.data["consent"]
    return consent


def check_minor_consent(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/minor-consent: a visit for a patient under 18 on its date without a
    guardian's consent (patient consent.guardian) signed by that day."""
    for session in _valid(records, "session"):
        patient = view.get("patient", session.entry.patient)
        day = str(session.data["date"])
        born = str(patient.data["date_of_birth"]) if patient is not None else ""
        if patient is None or day < born or adult_on(born, day):
            continue  # a visit before birth is clinical/before-birth's
        guardian = _consent(patient).get("guardian")
        if guardian is None or str(guardian["date"]) > day:
            yield Finding(
                session.rel,
                ("date",),
                "clinical/minor-consent",
                "error",
                "the patient is under 18 on the day of this visit and no guardian's consent "
                "signed by then is on file; record it under consent.guardian in patient.yaml",
            )


def _intraoral(name: str) -> bool:
    return "intraoral" in name


def check_intraoral_consent(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/intraoral-consent: intraoral work (a technique or region named intraoral)
    in a visit without written intraoral consent (patient consent.techniques) by that day."""
    for session in _valid(records, "session"):
        patient = view.get("patient", session.entry.patient)
        if patient is None:
            continue
        day = str(session.data["date"])
        given = any(
            c["kind"] == "intraoral" and str(c["date"]) <= day
            for c in _consent(patient).get("techniques", [])
        )
        if given:
            continue
        for index, item in enumerate(session.data["treatment"]):
            if _intraoral(item["technique"]) or any(map(_intraoral, item["regions"])):
                yield Finding(
                    session.rel,
                    ("treatment", index, "technique"),
                    "clinical/intraoral-consent",
                    "error",
                    "intraoral work without the patient's written intraoral consent signed by "
                    "the day of the visit; record it under consent.techniques in patient.yaml",
                )
