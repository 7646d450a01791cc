"""The home-care handout: one per treatment plan, for the patient, in plain words. Each
item of the home program (the latest visit's under the plan, else the plan's own), how
often and for how long, when to stop, and whom to call. Clinical terms are put into
everyday words through `PLAIN_WORDS`; the HTML is set in large type."""

from __future__ import annotations

import re
from collections.abc import Sequence

from medmassage.care import episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import Context, patient, practice
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.store import SETTINGS_FILE, Entry, record_rel

# Clinical word -> everyday words (whole words, any case). Longer phrases first.
PLAIN_WORDS: dict[str, str] = {
    "myofascial release": "gentle sustained pressure",
    "trigger point": "tender spot",
    "diaphragmatic breathing": "slow belly breathing",
    "upper trapezius": "top-of-shoulder muscle",
    "levator scapulae": "side-of-neck muscle",
    "range of motion": "how far you can move",
    "hip-hinge": "bend-at-the-hips",
    "supine": "lying-down",
    "prone": "lying face down",
    "piriformis": "buttock",
    "masseter": "jaw muscle",
    "temporalis": "temple muscle",
    "bilateral": "on both sides",
    "cervical": "neck",
    "lumbar": "low back",
    "thoracic": "upper back",
    "paraspinals": "back muscles",
    "flexion": "bending",
    "rotation": "turning",
    "abduction": "lifting out to the side",
    "elevate": "raise",
    "active": "",
    "repetitions": "times",
    "reps": "times",
    "x": "times, for",
}
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(PLAIN_WORDS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_OFTEN = re.compile(
    r"\b((?:once|twice|\d+ times) (?:a|per) (?:day|week)|(?:once |twice )?daily"
    r"|every [\w ]+?(?=,|$)|(?:before|after) [\w ]+?(?=,|$))",
    re.IGNORECASE,
)
_LONG = re.compile(
    r"\b(\d+(?:-\d+)?(?: times, for \d+)? (?:seconds|minutes)(?: each (?:side|way))?"
    r"|\d+ (?:times|each way)(?! (?:a|per) ))",
    re.IGNORECASE,
)
STOP_SIGNS = (
    "it hurts more, or the pain becomes sharp, and does not settle within an hour",
    "you feel numbness, tingling or weakness that is new",
    "you feel dizzy, faint or sick",
    "the skin becomes red, hot, swollen or broken where you worked",
)
SHOWN = "as shown at your visit"


def plain(text: str) -> str:
    """A home-care instruction in everyday words: 'Supine piriformis stretch, 3 x 30
    seconds' -> 'Lying-down buttock stretch, 3 times, for 30 seconds'."""
    worded = _PATTERN.sub(lambda m: PLAIN_WORDS[m.group(1).lower()], " ".join(text.split()))
    worded = re.sub(r"\s+", " ", worded).replace(" ,", ",").strip()
    return worded[:1].upper() + worded[1:]


def _item(text: str) -> Context:
    what = plain(text)
    often = _OFTEN.search(what)
    long = _LONG.search(what)
    return {
        "what": what,
        "often": often.group(1) if often else SHOWN,
        "long": long.group(1) if long else SHOWN,
    }


def _program(view: StoreView, chart: Chart, plan: Record) -> tuple[list[str], str]:
    """The latest home program under the plan and the day it was given."""
    for session in reversed(chart.sorted("session")):
        given = session.data.get("plan", {}).get("home_care")
        if session.data["treatment_plan"] == plan.id and given:
            return list(given), session.data["date"]
    return list(plan.data.get("home_care", [])), plan.data["date"]


def handout_context(view: StoreView, chart: Chart, plan: Record) -> Context:
    """Everything the handout shows, for one schema-valid plan."""
    items, given = _program(view, chart, plan)
    referral = episode.referral_of(view, chart, plan)
    provider = view.get("provider", referral.data["provider"]) if referral else None
    doctor = provider.data if provider else {}
    return {
        "practice": practice(view),
        "patient": patient(chart),
        "plan": {"id": plan.id, "weeks": plan.data.get("weeks", ""), "given": given},
        "items": [_item(text) for text in items],
        "stop": list(STOP_SIGNS),
        "doctor": {"name": doctor.get("name", ""), "phone": doctor.get("phone", "")},
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """Whether the plan is still in effect, and the patient's status (for --all)."""
    plan = chart.of("plan").get(target.session)
    state = plan.data.get("status") if plan else None
    status = chart.patient.data.get("status") if chart.patient else None
    return {
        "open": state not in episode.CLOSED_PLAN,
        "status": status if isinstance(status, str) else None,
    }


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """A plan named is always rendered; --all renders the plans still in effect."""
    return "render" if named or facts.get("open") else "skip"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The plan, the patient, the settings, the visits, and the plan's referral and
    provider (whose phone the handout gives)."""
    files = {
        record_rel("plan", target.session, target.patient),
        record_rel("patient", target.patient),
        SETTINGS_FILE,
    }
    files.update(e.rel for e in folder if e.kind == "session")
    plan = chart.of("plan").get(target.session)
    if plan is not None and plan.valid:
        files.add(record_rel("referral", plan.data["referral"], target.patient))
        referral = episode.referral_of(view, chart, plan)
        if referral is not None:
            files.add(record_rel("provider", referral.data["provider"]))
    return files


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The handout of one schema-valid plan, named by the plan id."""
    return target.session, handout_context(view, chart, chart.of("plan")[target.session])


DOCUMENT = Document(
    name="home-care",
    title="home-care handout",
    per="plan",
    sources=("settings", "patient", "plan", "session", "referral", "provider"),
    facts=("open", "status"),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=("session",),  # every visit: a new one may give a new home program
    build=build,
)
