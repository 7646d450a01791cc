"""`medmassage due` through the CLI (in this process; the exit status of `--fail-on` is also
checked on a real one); the expected items are read from the demo YAML and the store's
settings (CLINICAL.md §4), never written down here.

Tests that only read use the shared `demo_store`; those that edit it use a private `store`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import TODAY, run_cli, run_here


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # dates stay strings


def _day(day: str, plus: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=plus)).isoformat()


def _due(store: Path, *args: str) -> Any:
    result = run_here("--root", str(store), "due", "--today", TODAY, "--format", "json", *args)
    assert result.code == 0, result
    return result.json()


def _patients(store: Path) -> dict[str, dict[str, Any]]:
    return {p.name: _load(p / "patient.yaml") for p in sorted((store / "patients").iterdir())}


def _sessions(store: Path, patient: str) -> list[dict[str, Any]]:
    found = [_load(f) for f in (store / "patients" / patient / "sessions").glob("*.yaml")]
    return sorted(found, key=lambda s: s["date"])


def _settings(store: Path) -> Any:
    return _load(store / "medmassage.yaml")


def _severity(since: str, until: str | None) -> str:
    if until is not None and until < TODAY:
        return "overdue"
    return "due" if since <= TODAY else "soon"


def test_unsigned_notes_follow_the_signing_window(demo_store: Path) -> None:
    store = demo_store
    window = int(_settings(store).get("signing", {}).get("window_days", 3))
    expected = set()
    for patient in _patients(store):
        for s in _sessions(store, patient):
            if "signature" not in s:
                sev = _severity(s["date"], _day(s["date"], window))
                expected.add((patient, s["date"], sev))
    got = {
        (i["patient"], i["since"], i["severity"]) for i in _due(store, "--kind", "note")["items"]
    }
    assert got == expected and expected


def test_a_narrower_signing_window_makes_the_notes_overdue(store: Path) -> None:
    settings = (store / "medmassage.yaml").read_text()
    (store / "medmassage.yaml").write_text(settings.replace("window_days: 3", "window_days: 0"))
    items = _due(store, "--kind", "note")["items"]
    assert items and {i["severity"] for i in items} == {"overdue"}
    assert all(i["command"].startswith("medmassage sign --late ") for i in items)
    # the exit status a scheduler or CI job sees: a real process
    failing = run_cli("--root", str(store), "due", "--today", TODAY, "--fail-on", "overdue")
    assert failing.code == 1, failing
    (store / "medmassage.yaml").write_text(settings.replace("window_days: 3", "window_days: 30"))
    calm = run_here(
        "--root", str(store), "due", "--today", TODAY, "--kind", "note", "--fail-on", "overdue"
    )
    assert calm.code == 0, calm
    assert {i["severity"] for i in _due(store, "--kind", "note")["items"]} == {"due"}


def test_a_discharged_patient_has_nothing_due(demo_store: Path) -> None:
    store = demo_store
    discharged = [p for p, d in _patients(store).items() if d["status"] == "discharged"]
    assert discharged
    listed = {i["patient"] for i in _due(store, "--within", "365")["items"]}
    assert not listed & set(discharged)
    for patient in discharged:
        assert _due(store, "--patient", patient)["items"] == []


def _referral(store: Path, patient: str) -> dict[str, Any]:
    files = sorted((store / "patients" / patient / "referrals").glob("*.yaml"))
    return dict(_load(files[-1]))


def test_referrals_nearly_used_up_are_listed(demo_store: Path) -> None:
    store = demo_store
    keep = int(_settings(store).get("due", {}).get("referral_visits_left", 2))
    expected = set()
    for patient, data in _patients(store).items():
        left = int(_referral(store, patient)["visits_authorized"]) - len(_sessions(store, patient))
        if data["status"] != "discharged" and left <= keep:
            expected.add(patient)
    items = _due(store, "--kind", "referral")["items"]
    got = {i["patient"] for i in items if "nearly used up" in i["what"]}
    assert got == expected and expected


def test_progress_reports_by_the_referral_visit_cadence(demo_store: Path) -> None:
    """Referrals asking for an update every N visits: due once N visits are given, overdue
    once another visit followed (no update is logged in the demo)."""
    store = demo_store
    items = {i["patient"]: i for i in _due(store, "--kind", "progress")["items"]}
    checked = 0
    for patient, data in _patients(store).items():
        every = _referral(store, patient).get("updates", {}).get("every_visits")
        visits = _sessions(store, patient)
        if data["status"] == "discharged" or every is None or len(visits) < int(every):
            continue
        n = int(every)
        assert items[patient]["since"] == visits[n - 1]["date"]
        assert items[patient]["severity"] == ("overdue" if len(visits) > n else "due")
        checked += 1
    assert checked


def test_a_logged_update_clears_its_progress_report(store: Path) -> None:
    patient = next(i["patient"] for i in _due(store, "--kind", "progress")["items"])
    referral = _referral(store, patient)
    (store / "patients" / patient / "updates").mkdir()
    (store / "patients" / patient / "updates" / f"{TODAY}.yaml").write_text(
        f"id: {TODAY}\ndate: {TODAY}\nprovider: {referral['provider']}\n"
        f"period:\n  from: {referral['date']}\n  to: {TODAY}\nvia: fax\n"
    )
    assert _due(store, "--kind", "progress", "--patient", patient, "--within", "0")["items"] == []


def test_reassessment_at_most_every_ten_visits(demo_store: Path) -> None:
    store = demo_store
    cap = int(_settings(store).get("due", {}).get("reassess_max_visits", 10))
    items = {i["patient"]: i for i in _due(store, "--kind", "reassessment")["items"]}
    for patient, data in _patients(store).items():
        plans = sorted((store / "patients" / patient / "plans").glob("*.yaml"))
        plan = _load(plans[-1])
        if data["status"] != "active" or plan["status"] != "active":
            assert patient not in items
            continue
        every = min(int(plan.get("reassess_every", cap)), cap)
        assessed = sorted(_load(a)["date"] for a in (plans[-1].parent.parent / "assessments")
                          .glob("*.yaml"))  # fmt: skip
        counted = [s for s in _sessions(store, patient) if s["date"] >= assessed[-1]]
        if len(counted) >= every:
            assert items[patient]["since"] == counted[every - 1]["date"]
            assert items[patient]["severity"] in ("due", "overdue")
        elif len(counted) < every - 1:
            assert patient not in items


def test_a_license_expiring_soon_is_listed(store: Path) -> None:
    therapist = sorted((store / "therapists").glob("*.yaml"))[0]
    text = therapist.read_text()
    expires = _load(therapist)["license"]["expires"]
    assert not [i for i in _due(store)["items"] if i["kind"] == "license"]
    therapist.write_text(text.replace(f"expires: {expires}", f"expires: {_day(TODAY, 10)}"))
    items = _due(store, "--kind", "license")["items"]
    assert [(i["therapist"], i["severity"]) for i in items] == [(therapist.stem, "due")]


def test_filters_and_text_fit_80_columns(demo_store: Path) -> None:
    store = demo_store
    everything = _due(store)["items"]
    patient = everything[0]["patient"]
    only = _due(store, "--patient", patient)["items"]
    assert only == [i for i in everything if i["patient"] == patient]
    therapist = everything[0]["therapist"]
    mine = _due(store, "--therapist", therapist)["items"]
    assert mine == [i for i in everything if i["therapist"] == therapist]
    assert list(everything[0]) == [
        "patient", "therapist", "kind", "what", "why", "since", "until", "severity", "command"
    ]  # fmt: skip
    text = run_here("--root", str(store), "due", "--today", TODAY)
    assert text.code == 0 and text.out.strip()
    assert max(len(line) for line in text.out.splitlines()) <= 80
    bad = run_here("--root", str(store), "due", "--patient", "p-9999")
    assert bad.code == 2 and "Traceback" not in bad.err
    assert "no patient 'p-9999'" in bad.err, bad
