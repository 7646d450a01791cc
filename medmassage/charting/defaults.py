"""Sensible defaults for a new record, taken from the store: today's date, the
default therapist, the patient's active plan and its usual session length, the
referral's frequency... A session never inherits the previous note's narrative
text: only its structure (techniques, regions, sides, minutes) is offered."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage.charting.form import Default, Path_, Reference, matches
from medmassage.errors import RecordError
from medmassage.store import Store
from medmassage.yamlio import load_file

# Fields of a treatment item that describe what was done, not what was said.
_STRUCTURE = ("technique", "regions", "side", "minutes", "pressure")


@dataclass
class Context:
    """What the store says that a new record of `kind` may default from."""

    kind: str
    today: str
    settings: dict[str, Any] = field(default_factory=dict)
    therapists: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    patient: dict[str, Any] | None = None
    chart: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def ids(self, kind: str) -> tuple[str, ...]:
        """Ids of the records of `kind` the new record may refer to."""
        if kind == "therapist":
            return tuple(sorted(self.therapists))
        if kind == "provider":
            return tuple(sorted(self.providers))
        return tuple(sorted(self.chart.get(kind, {})))

    def latest(self, kind: str, **wanted: Any) -> tuple[str, dict[str, Any]] | None:
        """The patient's most recent record of `kind` (by date, then id) matching `wanted`."""
        found = [
            (str(data.get("date", "")), rid, data)
            for rid, data in self.chart.get(kind, {}).items()
            if all(data.get(key) == value for key, value in wanted.items())
        ]
        if not found:
            return None
        _, rid, data = max(found, key=lambda item: (item[0], item[1]))
        return rid, data


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return load_file(path, path.name)
    except RecordError:
        return None  # a broken record offers no defaults; validation reports it


def _folder(folder: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        data = _load(path)
        if data is not None:
            found[path.stem] = data
    return found


def _settings(store: Store) -> dict[str, Any]:
    try:
        return store.load_settings()
    except RecordError:
        return {}  # broken settings offer no defaults; validation reports them


def load_context(store: Store, kind: str, patient: str | None, today: str) -> Context:
    """Read the settings, the therapists, the providers and the one patient's chart."""
    context = Context(
        kind,
        today,
        _settings(store),
        _folder(store.folder_of("therapist")),
        _folder(store.folder_of("provider")),
    )
    if patient is not None:
        context.patient = _load(store.path_of("patient", patient, patient))
        for record_kind in kinds.with_folders("patient"):
            context.chart[record_kind.name] = _folder(store.folder_of(record_kind.name, patient))
    return context


def reference_for(context: Context, path: Path_) -> Reference | None:
    """The kind of record a field of the new record names, and the ids available."""
    for kind, fields, target in kinds.references():
        if kind == context.kind and matches(fields, path):
            return Reference(target, context.ids(target))
    return None


def default_for(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    """The default offered for the field at `path` of the record being made, if any."""
    shape = tuple("*" if isinstance(part, int) else part for part in path)
    rule = _RULES.get((context.kind, shape)) or _RULES.get(("*", shape))
    if rule is None:
        return None
    return rule(context, record, path)


def _after(day: Any, weeks: Any) -> str | None:
    try:
        start = dt.date.fromisoformat(str(day))
    except ValueError:
        return None
    if not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 1:
        return None
    return (start + dt.timedelta(days=7 * weeks - 1)).isoformat()


def _today(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    # Silent for the kinds dated by the day they are made (not, e.g., an update's date).
    made = kinds.find(context.kind)
    silent = made is not None and made.creatable and made.date_field is not None
    return Default(context.today, "today", silent=silent)


def _therapist(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    chosen = context.settings.get("default_therapist")
    if isinstance(chosen, str) and chosen in context.therapists:
        return Default(chosen, "the default therapist", silent=True)
    active = [
        tid for tid, data in context.therapists.items() if data.get("active", True) is not False
    ]
    return Default(active[0], "the only therapist", silent=True) if len(active) == 1 else None


def _constant(
    value: Any, why: str, silent: bool = False
) -> Callable[[Context, dict[str, Any], Path_], Default | None]:
    return lambda context, record, path: Default(value, why, silent)


def _latest_id(
    kind: str, silent: bool
) -> Callable[[Context, dict[str, Any], Path_], Default | None]:
    def rule(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
        found = context.latest(kind)
        return Default(found[0], f"the latest {kind}", silent) if found else None

    return rule


def _plan_of(context: Context, record: dict[str, Any]) -> dict[str, Any] | None:
    named = record.get("treatment_plan")
    if isinstance(named, str) and named in context.chart.get("plan", {}):
        return context.chart["plan"][named]
    found = context.latest("plan", status="active") or context.latest("plan")
    return found[1] if found else None


def _referral_of(context: Context, record: dict[str, Any]) -> dict[str, Any] | None:
    named = record.get("referral")
    if isinstance(named, str) and named in context.chart.get("referral", {}):
        return context.chart["referral"][named]
    found = context.latest("referral")
    return found[1] if found else None


def _from_referral(name: str) -> Callable[[Context, dict[str, Any], Path_], Default | None]:
    def rule(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
        referral = _referral_of(context, record)
        value = referral.get(name) if referral else None
        return (
            Default(value, f"from the referral's {name.replace('_', ' ')}")
            if value is not None
            else None
        )

    return rule


def _active_plan(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    found = context.latest("plan", status="active") or context.latest("plan")
    return (
        Default(
            found[0],
            "the patient's active plan"
            if found[1].get("status") == "active"
            else "the latest plan",
            silent=True,
        )
        if found
        else None
    )


def _session_minutes(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    plan = _plan_of(context, record)
    minutes = plan.get("session_minutes") if plan else None
    return (
        Default(minutes, "the plan's session length", silent=True)
        if isinstance(minutes, int)
        else None
    )


def _treatment(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    found = context.latest("session")
    if found and isinstance(found[1].get("treatment"), list):
        items = [
            {k: item[k] for k in _STRUCTURE if k in item}
            for item in found[1]["treatment"]
            if isinstance(item, dict)
        ]
        return Default(items, f"as in the previous session, {found[0]}")
    plan = _plan_of(context, record)
    techniques = plan.get("techniques") if plan else None
    if isinstance(techniques, list) and techniques:
        regions = plan.get("regions") if plan else None
        items = [{"technique": t, **({"regions": regions} if regions else {})} for t in techniques]
        return Default(items, "from the treatment plan")
    return None


def _home_care(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    plan = _plan_of(context, record)
    care = plan.get("home_care") if plan else None
    return Default(care, "from the treatment plan") if isinstance(care, list) and care else None


def _referral_provider(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    provider = (context.patient or {}).get("primary_provider")
    return (
        Default(provider, "the patient's primary provider") if isinstance(provider, str) else None
    )


def _only_provider(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    return (
        Default(next(iter(context.providers)), "the only provider")
        if len(context.providers) == 1
        else None
    )


def _valid_until(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    day = _after(record.get("date"), record.get("duration_weeks"))
    return Default(day, "the date plus the weeks prescribed") if day else None


def _visits(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    per_week, weeks = (
        record.get("frequency_per_week", record.get("sessions_per_week")),
        record.get("weeks", record.get("duration_weeks")),
    )
    if isinstance(per_week, (int, float)) and isinstance(weeks, int) and per_week > 0 and weeks > 0:
        return Default(math.ceil(per_week * weeks), "visits per week times weeks")
    return None


def _assessment_kind(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    return Default(
        "reassessment" if context.chart.get("assessment") else "initial", "from the patient's chart"
    )


def _consent_date(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    return Default(record.get("intake_date", context.today), "the intake date")


def _goal_id(context: Context, record: dict[str, Any], path: Path_) -> Default | None:
    return Default(f"g{int(path[1]) + 1}", "the next goal number")


Rule = Callable[[Context, dict[str, Any], Path_], "Default | None"]
_RULES: dict[tuple[str, tuple[str, ...]], Rule] = {
    ("*", ("date",)): _today,
    ("*", ("therapist",)): _therapist,
    ("settings", ("format",)): _constant(1, "the current store format", silent=True),
    ("patient", ("intake_date",)): _today,
    ("patient", ("status",)): _constant("active", "a new patient", silent=True),
    ("patient", ("primary_provider",)): _only_provider,
    ("patient", ("consent", "treatment")): _consent_date,
    ("referral", ("provider",)): _referral_provider,
    ("referral", ("kind",)): _constant("referral", "the usual kind"),
    ("referral", ("valid_until",)): _valid_until,
    ("referral", ("visits_authorized",)): _visits,
    ("assessment", ("kind",)): _assessment_kind,
    ("assessment", ("referral",)): _latest_id("referral", silent=False),
    ("plan", ("referral",)): _latest_id("referral", silent=True),
    ("plan", ("assessment",)): _latest_id("assessment", silent=True),
    ("plan", ("status",)): _constant("active", "a new plan", silent=True),
    ("plan", ("techniques",)): _from_referral("techniques"),
    ("plan", ("regions",)): _from_referral("regions"),
    ("plan", ("sessions_per_week",)): _from_referral("frequency_per_week"),
    ("plan", ("weeks",)): _from_referral("duration_weeks"),
    ("plan", ("visits",)): _visits,
    ("plan", ("goals", "*", "id")): _goal_id,
    ("session", ("treatment_plan",)): _active_plan,
    ("session", ("duration_minutes",)): _session_minutes,
    ("session", ("treatment",)): _treatment,
    ("session", ("plan", "home_care")): _home_care,
}
# Optional fields worth a question on a terminal (Enter skips them).
RECOMMENDED: dict[str, tuple[tuple[str, ...], ...]] = {
    "settings": (("practice", "phone"), ("practice", "fax"), ("practice", "email")),
    "provider": (("specialty",), ("phone",), ("fax",), ("email",)),
    "patient": (
        ("sex",),
        ("contact", "phone"),
        ("allergies", "*", "substance"),
        ("precautions", "*", "regions"),
    ),
    "assessment": (("referral",), ("pain", "worst"), ("pain", "best")),
    "session": (
        ("response", "pain"),
        ("assessment", "summary"),
        ("plan", "next_visit"),
        ("plan", "home_care"),
    ),
}
