"""Clinical rules: checks a careful clinician would make across a patient's chart.

Each rule is a plain function `(view, records) -> findings` that looks only at
records which passed their schema, so field access needs no defensive code."""

from __future__ import annotations

from collections.abc import Iterator

from medmassage import kinds as registry
from medmassage.care import episode
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding


def _valid(records: list[Record], *kinds: str) -> Iterator[Record]:
    return (r for r in records if r.valid and r.kind in kinds)


def _patient(view: StoreView, record: Record) -> Record | None:
    return view.get("patient", record.entry.patient)


def check_dates(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/future-date, clinical/before-intake, clinical/before-birth."""
    for record in _valid(records, *registry.dated()):
        field = registry.get(record.kind).day_field
        day = str(record.data[field])[:10]
        if day > view.today:
            yield Finding(
                record.rel,
                (field,),
                "clinical/future-date",
                "error",
                f"dated in the future ({day}; today is {view.today})",
            )
        patient = record if record.kind == "patient" else _patient(view, record)
        if patient is None:
            continue
        born = patient.data["date_of_birth"]
        if day < born:
            yield Finding(
                record.rel,
                (field,),
                "clinical/before-birth",
                "error",
                f"dated {day}, before the patient's date of birth ({born})",
            )
        elif registry.get(record.kind).care and day < patient.data["intake_date"]:
            yield Finding(
                record.rel,
                (field,),
                "clinical/before-intake",
                "error",
                f"dated {day}, before the patient's intake on {patient.data['intake_date']}",
            )


def check_pain_scale(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/pain-range: pain goals and their measurements stay on the 0-10 scale."""
    for plan in _valid(records, "plan"):
        for index, goal in enumerate(plan.data["goals"]):
            if goal["measure"]["kind"] != "pain":
                continue
            for field in ("baseline", "target"):
                if not 0 <= goal[field] <= 10:
                    yield Finding(
                        plan.rel,
                        ("goals", index, field),
                        "clinical/pain-range",
                        "error",
                        f"a pain goal's {field} must be on the 0-10 scale, not {goal[field]}",
                    )
    for session in _valid(records, "session"):
        treatment_plan = view.get("plan", session.data["treatment_plan"], session.entry.patient)
        if treatment_plan is None:
            continue
        pain_goals = {
            g["id"] for g in treatment_plan.data["goals"] if g["measure"]["kind"] == "pain"
        }
        for index, entry in enumerate(session.data.get("assessment", {}).get("goals", [])):
            value = entry.get("value")
            if entry["goal"] in pain_goals and value is not None and not 0 <= value <= 10:
                yield Finding(
                    session.rel,
                    ("assessment", "goals", index, "value"),
                    "clinical/pain-range",
                    "error",
                    f"pain is measured 0-10; {value} is off the scale",
                )


def check_treatment_minutes(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/treatment-exceeds-session: the techniques cannot take longer than the visit."""
    for session in _valid(records, "session"):
        total = sum(item["minutes"] for item in session.data["treatment"])
        if total > session.data["duration_minutes"]:
            yield Finding(
                session.rel,
                ("treatment",),
                "clinical/treatment-exceeds-session",
                "error",
                f"treatment adds up to {total} minutes but the session lasted "
                f"{session.data['duration_minutes']}",
            )


def check_license(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/license-expired: the therapist was licensed on the date of service."""
    for record in _valid(records, "session", "assessment"):
        therapist = view.get("therapist", record.data["therapist"])
        if therapist is None:
            continue
        expires = therapist.data["license"]["expires"]
        if record.data["date"] > expires:
            yield Finding(
                record.rel,
                ("therapist",),
                "clinical/license-expired",
                "error",
                f"the license of therapist {therapist.id!r} expired on {expires}, before this "
                f"visit on {record.data['date']}",
            )


def check_precautions(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/absolute-precaution (error) and clinical/local-precaution (warning)."""
    for session in _valid(records, "session"):
        patient = _patient(view, session)
        if patient is None:
            continue
        precautions = patient.data.get("precautions", [])
        for item in precautions:
            if item["kind"] == "absolute":
                yield Finding(
                    session.rel,
                    ("treatment",),
                    "clinical/absolute-precaution",
                    "error",
                    f"the patient has an absolute precaution ({item['condition']}); no massage "
                    "may be given",
                )
        local = [(p, set(p.get("regions", []))) for p in precautions if p["kind"] == "local"]
        for index, treatment in enumerate(session.data["treatment"]):
            for position, region in enumerate(treatment["regions"]):
                for precaution, regions in local:
                    if region in regions:
                        yield Finding(
                            session.rel,
                            ("treatment", index, "regions", position),
                            "clinical/local-precaution",
                            "warning",
                            f"treatment on {region.replace('_', ' ')}, where the patient has a "
                            f"local precaution ({precaution['condition']})",
                        )


def check_referral_limits(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/outside-referral and clinical/visits-exceeded (warnings), and
    clinical/before-plan."""
    for chart in view.charts.values():
        numbers = episode.visit_numbers(view, chart)
        for session in chart.sorted("session"):
            plan = episode.plan_of(view, chart, session)
            if plan is None:
                continue
            day = session.data["date"]
            if day < plan.data["date"]:
                yield Finding(
                    session.rel,
                    ("date",),
                    "clinical/before-plan",
                    "warning",
                    f"visit on {day} is before its treatment plan was written "
                    f"({plan.data['date']})",
                )
            if session.id not in numbers:
                continue  # no valid referral behind the plan
            referral, number = numbers[session.id]
            if not referral.data["date"] <= day <= referral.data["valid_until"]:
                yield Finding(
                    session.rel,
                    ("date",),
                    "clinical/outside-referral",
                    "warning",
                    f"visit on {day} is outside referral {referral.id!r} (valid "
                    f"{referral.data['date']} to {referral.data['valid_until']})",
                )
            allowed = referral.data["visits_authorized"]
            if number > allowed:
                yield Finding(
                    session.rel,
                    ("treatment_plan",),
                    "clinical/visits-exceeded",
                    "warning",
                    f"visit {number} under referral {referral.id!r}, which authorizes {allowed}",
                )
