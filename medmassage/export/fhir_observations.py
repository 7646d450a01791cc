"""What a visit measured, as FHIR R4 Observations (and QuestionnaireResponses for item
answers): pain on the 0-10 numeric rating scale (LOINC 72514-3, CLINICAL.md §5), range of
motion in degrees or millimetres (CLINICAL.md §3), palpation findings, outcome scores
computed by care/instruments.py, and a note's progress on each plan goal.

A figure from an unsigned note is `preliminary`; from a signed note, or from a record of a
kind that is not signed (an assessment), `final` (SPEC §11)."""

from __future__ import annotations

from typing import Any

from medmassage.care import instruments, outcomes
from medmassage.chart import Record
from medmassage.export import fhir_ids
from medmassage.export.fhir_terms import (
    LOINC,
    PAIN_DISPLAY,
    PAIN_LOINC,
    Visit,
    category,
    coding,
    label,
    quantity,
    ref,
    status,
    term,
    text_concept,
)

Resource = dict[str, Any]

# Which pain a figure is, in words for Observation.code.text (CLINICAL.md §3: "say which
# pain: current, usual/average, worst, best").
_PAIN_WORDS = {
    "before": "Current pain before treatment",
    "after": "Current pain after treatment",
    "current": "Current pain",
    "usual": "Usual (average) pain",
    "worst": "Worst pain",
    "best": "Least pain",
}


def _observation(visit: Visit, slot: str, code: dict[str, Any], kind: str) -> Resource:
    """The fields every Observation of a visit shares."""
    return {
        "resourceType": "Observation",
        "id": visit.key("Observation", slot),
        "status": status(visit.record),
        "category": category(kind),
        "code": code,
        "subject": ref(fhir_ids.patient, visit.patient),
        "encounter": visit.encounter(),
        "effectiveDateTime": visit.day,
        "performer": [ref(fhir_ids.therapist, str(visit.data["therapist"]))],
    }


def pain(visit: Visit, which: str, value: float) -> Resource:
    """One pain rating, 0-10 points (LOINC 72514-3; UCUM {score}); `which` says which pain:
    before or after treatment at a visit, or current, usual, worst, best at an assessment."""
    words = f"{_PAIN_WORDS[which]} (NRS 0-10)"
    code = {"coding": [coding(LOINC, PAIN_LOINC, PAIN_DISPLAY)], "text": words}
    found = _observation(visit, f"pain-{which}", code, "survey")
    found["valueQuantity"] = quantity(value, "points")
    return found


def pains(visit: Visit) -> list[Resource]:
    """Every pain rating of a session (before and after treatment) or an assessment."""
    data = visit.data
    if visit.kind == "session":
        found = [pain(visit, "before", data["subjective"]["pain"])]
        after = data.get("response", {}).get("pain")
        return found if after is None else [*found, pain(visit, "after", after)]
    given = data.get("pain", {})
    return [pain(visit, kind, given[kind]) for kind in outcomes.PAIN_KINDS if kind in given]


def rom_unit(entry: dict[str, Any]) -> str:
    """The unit of a range-of-motion entry: degrees, or mm for a linear measure such as
    mouth opening (CLINICAL.md §3; the record's `unit`, degrees by default)."""
    return "mm" if entry.get("unit") == "mm" else "degrees"


def range_of_motion(visit: Visit, number: int, entry: dict[str, Any]) -> Resource:
    """One range-of-motion measurement: the movement as the code, the joint and side as the
    body site, the value in degrees (UCUM deg) or millimetres (mm); pain on movement as a
    component."""
    joint, movement, side = str(entry["joint"]), str(entry["movement"]), str(entry["side"])
    words = f"{label(joint)} {movement.replace('_', ' ')}, {side} (range of motion)"
    found = _observation(visit, f"rom-{number}", term("movement", movement, words), "exam")
    found["bodySite"] = term("joint", joint, f"{label(joint)}, {side}")
    found["valueQuantity"] = quantity(entry["degrees"], rom_unit(entry))
    if "painful" in entry:
        found["component"] = [
            {"code": text_concept("Painful movement"), "valueBoolean": entry["painful"]}
        ]
    if entry.get("notes"):
        found["note"] = [{"text": entry["notes"]}]
    return found


def palpation(visit: Visit, number: int, entry: dict[str, Any]) -> Resource:
    """One palpation finding: what was felt as the value, where (region, muscle, side) as
    the body site."""
    region, side = str(entry["region"]), str(entry["side"])
    muscle = fhir_ids.words(entry.get("muscle"))
    where = f"{label(region)}: {muscle}" if muscle else label(region)
    found = _observation(visit, f"palpation-{number}", text_concept("Palpation"), "exam")
    found["bodySite"] = term("region", region, f"{where}, {side}")
    found["valueCodeableConcept"] = term("finding", str(entry["finding"]))
    if entry.get("notes"):
        found["note"] = [{"text": entry["notes"]}]
    return found


def outcome_unit(entry: dict[str, Any]) -> str:
    """The unit of a recorded outcome score: the one written, else the instrument's own
    (CLINICAL.md §3: ODI and SPADI percent, NDI points or percent, the others points)."""
    known = instruments.instrument(str(entry["instrument"]))
    return str(entry.get("unit") or (known.unit if known else "points"))


def answers(entry: dict[str, Any]) -> list[float | None]:
    """An outcome measure's item answers in order (a PSFS activity's rating for each)."""
    return [a["score"] if isinstance(a, dict) else a for a in entry.get("items", [])]


def outcome_score(entry: dict[str, Any]) -> float:
    """The score of one outcome measure in its unit: computed from the item answers by the
    instrument's scoring rule where they are recorded and the tool scores it (CLINICAL.md
    §3, care/instruments.py), else the total as recorded."""
    key, unit = str(entry["instrument"]), outcome_unit(entry)
    row = instruments.instrument(key)
    if entry.get("items") and row is not None and row.scored and unit in row.units:
        scored = instruments.score(key, answers(entry), unit)
        if scored.value is not None:
            return round(scored.value, 4)
    return float(entry["score"])


def outcome(visit: Visit, number: int, entry: dict[str, Any]) -> Resource:
    """One outcome score (ODI, NDI, PSFS...): a text concept with the store's instrument
    term (no LOINC code is given for them in CLINICAL.md, and none is invented), the score
    in points ({score}) or percent (%), derived from its QuestionnaireResponse when the item
    answers are recorded."""
    key = str(entry["instrument"])
    known = instruments.instrument(key)
    code = term("instrument", key, known.name if known else key)
    found = _observation(visit, f"outcome-{number}", code, "survey")
    found["valueQuantity"] = quantity(outcome_score(entry), outcome_unit(entry))
    if entry.get("items"):
        found["derivedFrom"] = [
            ref(fhir_ids.questionnaire_response, visit.patient, visit.kind, visit.record.id, number)
        ]
    if entry.get("notes"):
        found["note"] = [{"text": entry["notes"]}]
    return found


def questionnaire(visit: Visit, number: int, entry: dict[str, Any]) -> Resource:
    """The item answers of one outcome measure: one group per instrument holding an item
    per question (a PSFS activity by its name), unanswered items without an answer;
    completed when the instrument's missing-item rule lets it be scored, else in-progress."""
    key = str(entry["instrument"])
    known = instruments.instrument(key)
    items = []
    for place, (given, value) in enumerate(zip(entry["items"], answers(entry), strict=True), 1):
        named = isinstance(given, dict)
        item: dict[str, Any] = {
            "linkId": f"{key}-{place}",
            "text": given["activity"] if named else f"Item {place}",
        }
        if value is not None:
            item["answer"] = [{"valueDecimal": value}]
        items.append(item)
    complete = all(a is not None for a in answers(entry))
    if known is not None and known.scored:
        complete = instruments.score(key, answers(entry)).value is not None
    return {
        "resourceType": "QuestionnaireResponse",
        "id": visit.key("QuestionnaireResponse", str(number)),
        "status": "completed" if complete else "in-progress",
        "subject": ref(fhir_ids.patient, visit.patient),
        "encounter": visit.encounter(),
        "authored": visit.day,
        "source": ref(fhir_ids.patient, visit.patient),
        "item": [{"linkId": key, "text": known.name if known else key, "item": items}],
    }


# A note's verdict on a goal in HL7's goal-achievement codes (R4 Goal.achievementStatus:
# progression toward the target), and, where one applies, the ObservationInterpretation
# code R4 binds Observation.interpretation to (extensible: a code of the value set that
# applies must be used): B better, W worse than before. Not addressed has neither.
_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_PROGRESS_CODES = {
    "met": [(_ACHIEVEMENT, "achieved", "Achieved")],
    "progressing": [(_INTERPRETATION, "B", "Better"), (_ACHIEVEMENT, "improving", "Improving")],
    "unchanged": [(_ACHIEVEMENT, "no-change", "No Change")],
    "regressed": [(_INTERPRETATION, "W", "Worse"), (_ACHIEVEMENT, "worsening", "Worsening")],
}


def progress_concept(progress: str) -> dict[str, Any]:
    """A verdict on a goal (met, progressing...): the store's term, then the HL7 codes
    that say the same."""
    concept = term("progress", progress)
    concept["coding"] += [coding(*code) for code in _PROGRESS_CODES.get(progress, [])]
    return concept


def goal_progress(
    visit: Visit, number: int, plan: Record | None, entry: dict[str, Any]
) -> Resource:
    """A note's progress on one plan goal: the verdict (met, progressing...) as the
    interpretation, today's value in the goal's unit (care/outcomes.py `unit`), the Goal as
    the focus when the plan holds it."""
    goal_id = str(entry["goal"])
    goals = {str(g["id"]): g for g in (plan.data.get("goals", []) if plan else [])}
    code = text_concept(f"Progress toward goal {goal_id}")
    found = _observation(visit, f"goal-{number}", code, "survey")
    if plan is not None and goal_id in goals:
        found["focus"] = [ref(fhir_ids.goal, visit.patient, plan.id, goal_id)]
    if "value" in entry:
        unit = outcomes.unit(goals[goal_id]) if goal_id in goals else ""
        value = entry["value"]
        found["valueQuantity"] = quantity(value, unit) if unit else {"value": value}
    found["interpretation"] = [progress_concept(str(entry["progress"]))]
    if entry.get("note"):
        found["note"] = [{"text": entry["note"]}]
    return found


def measured(visit: Visit, plan: Record | None) -> list[Resource]:
    """Every Observation and QuestionnaireResponse of a session or an assessment, in the
    order the record holds them: pain, range of motion, palpation, outcome scores (each
    followed by its item answers), then progress per goal."""
    data = visit.data
    place = data.get("objective", {}) if visit.kind == "session" else data
    found = pains(visit)
    rom = place.get("range_of_motion", [])
    found += [range_of_motion(visit, n, e) for n, e in enumerate(rom, 1)]
    found += [palpation(visit, n, e) for n, e in enumerate(place.get("palpation", []), 1)]
    for number, entry in enumerate(place.get("outcome_measures", []), 1):
        found.append(outcome(visit, number, entry))
        if entry.get("items"):
            found.append(questionnaire(visit, number, entry))
    if visit.kind == "session":
        goals = data.get("assessment", {}).get("goals", [])
        found += [goal_progress(visit, n, plan, e) for n, e in enumerate(goals, 1)]
    return found
