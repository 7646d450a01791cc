"""The rows of `medmassage list KIND`: one per record, the columns a person wants, filtered
by patient, status, period and therapist, sorted by patient, date and id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from medmassage.care import episode, norms
from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import UsageError
from medmassage.query import Clinic, Row, Table, full_name

Rows = Callable[[StoreView, Chart, str], list[Row]]


@dataclass(frozen=True)
class Filters:
    """What `list` was asked to keep (None: no filter)."""

    patient: str | None = None
    status: str | None = None
    since: str | None = None
    until: str | None = None
    therapist: str | None = None

    def keeps(self, row: Row) -> bool:
        """True when the row passes every filter given."""
        day = str(row.get("date") or "")
        return (
            (self.status is None or row.get("status") == self.status)
            and (self.therapist is None or row.get("therapist") == self.therapist)
            and (self.since is None or (day != "" and day >= self.since))
            and (self.until is None or (day != "" and day <= self.until))
        )


def _signed(record: Record) -> str:
    return "signed" if episode.is_signed(record) else "unsigned"


def _visits(view: StoreView, chart: Chart, referral: Record) -> str:
    used = len(episode.visits_under(view, chart, referral))
    return f"{used}/{referral.data['visits_authorized']}"


def _last_session(chart: Chart) -> Record | None:
    sessions = chart.sorted("session")
    return sessions[-1] if sessions else None


def patient_row(view: StoreView, chart: Chart, today: str) -> Row:
    """A patient: status, therapist, visits used/authorized, last and next visit (no name)."""
    data = chart.patient.data if chart.patient is not None and chart.patient.valid else {}
    referral = episode.current_referral(view, chart, today)
    last = _last_session(chart)
    plans = [p for p in chart.sorted("plan") if p.data["status"] not in episode.CLOSED_PLAN]
    therapist = plans[-1].data["therapist"] if plans else (last.data["therapist"] if last else None)
    following = last.data.get("plan", {}).get("next_visit") if last is not None else None
    return {
        "patient": chart.patient_id,
        "name": full_name(data) if data else None,
        "status": data.get("status"),
        "therapist": therapist,
        "referral": referral.id if referral is not None else None,
        "visits": _visits(view, chart, referral) if referral is not None else None,
        "date": str(last.data["date"]) if last is not None else None,
        "next": str(following) if following and data.get("status") != "discharged" else None,
    }


def _session_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    numbers = episode.visit_numbers(view, chart)
    rows = []
    for s in chart.sorted("session"):
        referral, number = numbers.get(s.id, (None, 0))
        after = s.data.get("response", {}).get("pain")
        rows.append(
            {
                "patient": chart.patient_id,
                "date": str(s.data["date"]),
                "id": s.id,
                "time": s.data.get("time"),
                "minutes": s.data.get("duration_minutes"),
                "therapist": s.data["therapist"],
                "visit": f"{number}/{referral.data['visits_authorized']}" if referral else None,
                "pain": f"{s.data['subjective']['pain']}>{'-' if after is None else after}",
                "status": _signed(s),
            }
        )
    return rows


def referral_status(view: StoreView, chart: Chart, referral: Record, today: str) -> str:
    """expired (past valid_until), used_up (every authorized visit given) or open."""
    if str(referral.data.get("valid_until", "9999-12-31")) < today:
        return "expired"
    used = len(episode.visits_under(view, chart, referral))
    return "used_up" if used >= int(referral.data["visits_authorized"]) else "open"


def _referral_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    return [
        {
            "patient": chart.patient_id,
            "date": str(r.data["date"]),
            "id": r.id,
            "provider": r.data["provider"],
            "diagnoses": ",".join(str(d["code"]) for d in r.data.get("diagnoses", [])),
            "visits": _visits(view, chart, r),
            "valid_until": str(r.data.get("valid_until") or "") or None,
            "status": referral_status(view, chart, r, today),
        }
        for r in chart.sorted("referral")
    ]


def _plan_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    rows = []
    for p in chart.sorted("plan"):
        given = episode.attendance_summary(view, chart, p, today).attended
        rows.append(
            {
                "patient": chart.patient_id,
                "date": str(p.data["date"]),
                "id": p.id,
                "therapist": p.data["therapist"],
                "referral": p.data["referral"],
                "visits": f"{given}/{p.data['visits']}",
                "per_week": p.data["sessions_per_week"],
                "goals": len(p.data.get("goals", [])),
                "status": p.data["status"],
            }
        )
    return rows


def _scores(record: Record) -> str:
    found = []
    for entry in record.data.get("outcome_measures", []):
        sign = "%" if norms.is_percent(str(entry.get("unit", ""))) else ""
        found.append(f"{entry['instrument']} {entry['score']:g}{sign}")
    return ", ".join(found) or "-"


def _assessment_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    return [
        {
            "patient": chart.patient_id,
            "date": str(a.data["date"]),
            "id": a.id,
            "kind": a.data["kind"],
            "therapist": a.data["therapist"],
            "pain": a.data.get("pain", {}).get("current"),
            "outcomes": _scores(a),
        }
        for a in chart.sorted("assessment")
    ]


def _addendum_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    found = [r for r in chart.of("addendum").values() if r.valid]
    return [
        {
            "patient": chart.patient_id,
            "date": str(a.data["written_at"])[:10],
            "id": a.id,
            "refers_to": a.data["refers_to"],
            "kind": a.data["kind"],
            "therapist": a.data["author"],
            "status": _signed(a),
        }
        for a in sorted(found, key=lambda r: (str(r.data["written_at"]), r.id))
    ]


def _update_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    return [
        {
            "patient": chart.patient_id,
            "date": str(u.data["date"]),
            "id": u.id,
            "provider": u.data["provider"],
            "period": f"{u.data['period']['from']}..{u.data['period']['to']}",
            "via": u.data.get("via"),
            "sessions": len(u.data.get("sessions", [])),
        }
        for u in chart.sorted("update")
    ]


def _provider_rows(view: StoreView) -> list[Row]:
    return [
        {
            "id": p.id,
            "name": p.data.get("name"),
            "credentials": p.data.get("credentials"),
            "specialty": p.data.get("specialty"),
            "fax": p.data.get("fax"),
        }
        for p in sorted(view.providers.values(), key=lambda r: r.id)
        if p.valid
    ]


def _therapist_rows(view: StoreView) -> list[Row]:
    return [
        {
            "id": t.id,
            "name": t.data.get("name"),
            "credentials": t.data.get("credentials"),
            "license": t.data.get("license", {}).get("number"),
            "date": str(t.data.get("license", {}).get("expires") or "") or None,
            "status": "active" if t.data.get("active", True) else "inactive",
        }
        for t in sorted(view.therapists.values(), key=lambda r: r.id)
        if t.valid
    ]


def _patient_rows(view: StoreView, chart: Chart, today: str) -> list[Row]:
    return [patient_row(view, chart, today)]


_P = ("patient", "patient")
# kind -> (columns, rows of one chart); the store-wide kinds are below.
CHART_KINDS: dict[str, tuple[list[tuple[str, str]], Rows]] = {
    "patients": (
        [
            _P,
            ("status", "status"),
            ("therapist", "therapist"),
            ("visits", "visits"),
            ("date", "last visit"),
            ("next", "next visit"),
        ],
        _patient_rows,
    ),
    "sessions": (
        [
            _P,
            ("date", "date"),
            ("time", "time"),
            ("minutes", "min"),
            ("therapist", "therapist"),
            ("visit", "visit"),
            ("pain", "pain"),
            ("status", "status"),
        ],
        _session_rows,
    ),
    "referrals": (
        [
            _P,
            ("id", "referral"),
            ("provider", "provider"),
            ("diagnoses", "diagnoses"),
            ("visits", "visits"),
            ("valid_until", "valid until"),
            ("status", "status"),
        ],
        _referral_rows,
    ),
    "plans": (
        [
            _P,
            ("id", "plan"),
            ("therapist", "therapist"),
            ("referral", "referral"),
            ("visits", "visits"),
            ("per_week", "/week"),
            ("goals", "goals"),
            ("status", "status"),
        ],
        _plan_rows,
    ),
    "assessments": (
        [
            _P,
            ("date", "date"),
            ("kind", "kind"),
            ("therapist", "therapist"),
            ("pain", "pain"),
            ("outcomes", "outcomes"),
        ],
        _assessment_rows,
    ),
    "addenda": (
        [
            _P,
            ("id", "addendum"),
            ("refers_to", "refers to"),
            ("kind", "kind"),
            ("therapist", "author"),
            ("status", "status"),
        ],
        _addendum_rows,
    ),
    "updates": (
        [
            _P,
            ("date", "date"),
            ("provider", "provider"),
            ("period", "period"),
            ("via", "via"),
            ("sessions", "sessions"),
        ],
        _update_rows,
    ),
}
STORE_KINDS: dict[str, tuple[list[tuple[str, str]], Callable[[StoreView], list[Row]]]] = {
    "providers": (
        [
            ("id", "provider"),
            ("name", "name"),
            ("credentials", "cred."),
            ("specialty", "specialty"),
            ("fax", "fax"),
        ],
        _provider_rows,
    ),
    "therapists": (
        [
            ("id", "therapist"),
            ("name", "name"),
            ("credentials", "cred."),
            ("license", "license"),
            ("date", "expires"),
            ("status", "status"),
        ],
        _therapist_rows,
    ),
}
KINDS = tuple(sorted([*CHART_KINDS, *STORE_KINDS]))
_ALL = frozenset(("patient", "status", "therapist", "since", "until"))
# The filters each kind's rows answer (since/until: the row's date).
FILTERS: dict[str, frozenset[str]] = {
    "patients": _ALL,
    "sessions": _ALL,
    "referrals": _ALL - {"therapist"},
    "plans": _ALL,
    "assessments": _ALL - {"status"},
    "addenda": _ALL,
    "updates": _ALL - {"status", "therapist"},
    "providers": frozenset(),
    "therapists": frozenset(("status",)),
}


def _check_filters(kind: str, f: Filters) -> None:
    for name in sorted(_ALL - FILTERS[kind]):
        if getattr(f, name) is not None:
            raise UsageError(f"`list {kind}` has no --{name} filter")


def list_rows(clinic: Clinic, kind: str, filters: Filters, names: bool = False) -> Table:
    """The table of `list KIND` (`names`: add each patient's name, patients only)."""
    if kind not in FILTERS:
        raise UsageError(f"cannot list {kind!r}; kinds are: {', '.join(KINDS)}")
    _check_filters(kind, filters)
    if names and kind != "patients":
        raise UsageError("--names applies to `list patients` only")
    if kind in STORE_KINDS:
        columns, store_rows = STORE_KINDS[kind]
        rows = store_rows(clinic.shared())
    else:
        columns, chart_rows = CHART_KINDS[kind]
        rows = []
        if clinic.cached:  # each chart's rows as the cache keeps them (query.summary)
            from medmassage.query.summary import rows_of

            found = clinic.summaries(clinic.patients(filters.patient))
            for patient in sorted(found):
                rows.extend(rows_of(found[patient], kind))
        else:
            for patient in clinic.patients(filters.patient):
                view, chart = clinic.chart(patient)
                rows.extend(chart_rows(view, chart, clinic.today))
    if names:
        columns = [columns[0], ("name", "name"), *columns[1:]]
    elif kind == "patients":  # privacy: no patient's name unless asked
        rows = [{k: v for k, v in row.items() if k != "name"} for row in rows]
    kept = [row for row in rows if filters.keeps(row)]
    return Table(kind, list(columns), kept, dict(clinic.errors))
