"""`list`, `show` and `progress` through the CLI, expectations read from the demo YAML: each
command once as a real process (its exit status and output), the rest in this process.
Tests that only read use the shared `demo_store`; those that edit it use a private `store`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.query.jsontext import dumps
from tests.conftest import TODAY, run_cli, run_here


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # dates stay strings


def _sessions(store: Path) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (s.parent.parent.name, s.stem, _load(s))
        for s in sorted((store / "patients").glob("*/sessions/*.yaml"))
    ]


def test_list_sessions_rows_are_the_session_files(demo_store: Path) -> None:
    store = demo_store
    # a real process: the exit status and the JSON on its stdout
    result = run_cli("--root", str(store), "list", "sessions", "--format", "json", "--today", TODAY)
    assert result.code == 0, result
    rows = result.json()["rows"]
    expected = []
    for patient, _sid, data in _sessions(store):
        expected.append(
            (patient, data["date"], data["therapist"], int(data["subjective"]["pain"]),
             "signed" if "signature" in data else "unsigned")
        )  # fmt: skip
    got = [
        (r["patient"], r["date"], r["therapist"], int(r["pain"].split(">")[0]), r["status"])
        for r in rows
    ]
    assert got == sorted(expected)
    # a visit's number counts the patient's visits under the same plan's referral
    for patient in {p for p, _, _ in _sessions(store)}:
        mine = [r for r in rows if r["patient"] == patient]
        numbers = [int(r["visit"].split("/")[0]) for r in mine]
        assert numbers == list(range(1, len(mine) + 1))


def test_list_sessions_filters(demo_store: Path) -> None:
    store = demo_store
    unsigned = [(p, d["date"]) for p, _, d in _sessions(store) if "signature" not in d]
    result = run_here(
        "--root", str(store), "list", "sessions", "--status", "unsigned", "--format", "json"
    )
    assert result.code == 0, result
    assert [(r["patient"], r["date"]) for r in result.json()["rows"]] == unsigned
    since, until = "2026-11-01", "2026-11-10"
    by_day = [
        (p, d["date"])
        for p, _, d in _sessions(store)
        if since <= d["date"] <= until and d["therapist"] == "amara-okafor"
    ]
    result = run_here(
        "--root", str(store), "list", "sessions", "--since", since, "--until", until,
        "--therapist", "amara-okafor", "--format", "json",
    )  # fmt: skip
    assert [(r["patient"], r["date"]) for r in result.json()["rows"]] == by_day


def test_list_patients_counts_visits_under_the_referral_and_hides_names(demo_store: Path) -> None:
    store = demo_store
    result = run_here("--root", str(store), "list", "patients", "--today", TODAY)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for folder in sorted((store / "patients").iterdir()):
        patient = _load(folder / "patient.yaml")
        assert patient["name"]["family"] not in result.out
        referral = _load(sorted((folder / "referrals").glob("*.yaml"))[-1])
        visits = len(list((folder / "sessions").glob("*.yaml")))
        last = sorted(p.stem for p in (folder / "sessions").glob("*.yaml"))[-1]
        row = next(line.split() for line in lines if line.startswith(folder.name))
        assert row[1] == patient["status"]
        assert f"{visits}/{referral['visits_authorized']}" in row
        assert last in row
    named = run_here("--root", str(store), "list", "patients", "--names", "--format", "json")
    family = _load(store / "patients" / "p-0001" / "patient.yaml")["name"]["family"]
    assert family in named.json()["rows"][0]["name"]


def test_a_new_session_changes_the_rows(store: Path) -> None:
    source = store / "patients" / "p-0001" / "sessions" / "2026-11-19.yaml"
    copy = source.with_name("2026-11-21.yaml")
    copy.write_text(source.read_text().replace("2026-11-19", "2026-11-21"))
    result = run_here("--root", str(store), "list", "patients", "--format", "json")
    row = result.json()["rows"][0]
    authorized = _load(sorted((store / "patients/p-0001/referrals").glob("*.yaml"))[-1])
    sessions = len(list(source.parent.glob("*.yaml")))
    assert row["visits"] == f"{sessions}/{authorized['visits_authorized']}"
    assert row["date"] == "2026-11-21"


def test_a_chart_with_errors_is_reported_as_such(store: Path) -> None:
    plan = next((store / "patients" / "p-0002" / "plans").glob("*.yaml"))
    plan.write_text(plan.read_text().replace("status: completed", "status: bogus"))
    result = run_here("--root", str(store), "list", "plans", "--format", "json")
    assert result.code == 0, result
    assert result.json()["charts_with_errors"].get("p-0002", 0) >= 1
    assert "p-0002" not in [r["patient"] for r in result.json()["rows"]]  # not schema-valid
    text = run_here("--root", str(store), "list", "plans")
    assert "! p-0002" in text.out


def test_show_puts_precautions_and_allergies_first(demo_store: Path) -> None:
    store = demo_store
    result = run_cli("--root", str(store), "show", "p-0001", "--today", TODAY)  # a real process
    assert result.code == 0, result
    patient = _load(store / "patients/p-0001/patient.yaml")
    lines = result.out.splitlines()
    assert patient["name"]["family"] in lines[0]
    allergy = next(i for i, line in enumerate(lines) if line.startswith("ALLERGY"))
    diagnosis = next(i for i, line in enumerate(lines) if line.startswith("diagnosis"))
    assert allergy < diagnosis
    assert all(len(line) <= 80 for line in lines)
    data = run_here("--root", str(store), "show", "p-0001", "--format", "json", "--today", TODAY)
    shown = data.json()
    referral = _load(next((store / "patients/p-0001/referrals").glob("*.yaml")))
    plan = _load(next((store / "patients/p-0001/plans").glob("*.yaml")))
    used = len(list((store / "patients/p-0001/sessions").glob("*.yaml")))
    assert shown["referral"]["visits_left"] == int(referral["visits_authorized"]) - used
    assert [d["code"] for d in shown["diagnoses"]] == [d["code"] for d in referral["diagnoses"]]
    assert [g["goal"] for g in shown["plan"]["goals"]] == [g["id"] for g in plan["goals"]]
    assert [g["target"] for g in shown["plan"]["goals"]] == [
        float(g["target"]) for g in plan["goals"]
    ]
    assert [a["substance"] for a in shown["allergies"]] == [
        a["substance"] for a in patient["allergies"]
    ]


def test_progress_lists_every_pain_value_with_its_change(demo_store: Path) -> None:
    store = demo_store
    plan = _load(next((store / "patients/p-0003/plans").glob("*.yaml")))
    goal = next(g for g in plan["goals"] if g["measure"]["kind"] == "pain")
    result = run_cli(  # a real process
        "--root", str(store), "progress", "p-0003", "--format", "json"
    )
    assert result.code == 0, result
    shown = next(g for g in result.json()["goals"] if g["goal"] == goal["id"])
    sessions = {
        d["date"]: float(d["subjective"]["pain"])
        for p, _, d in _sessions(store)
        if p == "p-0003" and d["date"] > plan["date"]
    }
    if goal["measure"].get("pain", "current") == "current":
        got = {p["date"]: p["value"] for p in shown["points"][1:]}
        assert {day: got[day] for day in sessions} == sessions
    baseline = float(goal["baseline"])
    assert all(p["change"] == p["value"] - baseline for p in shown["points"])
    text = run_here("--root", str(store), "progress", "p-0003")
    assert text.out.isascii() or "°" in text.out  # the chart itself is plain ASCII here
    chart_line = next(
        line for line in text.out.splitlines() if line.startswith(f"goal {goal['id']}")
    )
    assert set(chart_line.rsplit(" ", 1)[1]) <= set("_.-=+*#")
    assert len(chart_line.rsplit(" ", 1)[1]) == len(shown["points"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("list", "providers", "--status", "active"), "has no --status filter"),
        (("list", "sessions", "--names"), "--names applies to `list patients` only"),
        (("show", "p-9999"), "no patient 'p-9999'"),
        (("list", "sessions", "--since", "2026-13-01"), "'2026-13-01' is not a date"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    demo_store: Path, args: tuple[str, ...], said: str
) -> None:
    result = run_here("--root", str(demo_store), *args)
    assert result.code == 2, result
    assert "Traceback" not in result.err and said in result.err, result


_PLAIN_JSON = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_KEYS = st.text() | st.integers() | st.booleans() | st.none()
_JSON = st.recursive(
    _PLAIN_JSON,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(_KEYS, inner),
    max_leaves=30,
)
_TABLES = st.dictionaries(
    st.text(), st.lists(st.dictionaries(st.text(), _PLAIN_JSON)) | _PLAIN_JSON
)  # rows (lists of flat dicts) take the fast path of query.jsontext


@settings(max_examples=400)
@given(st.one_of(_JSON, _TABLES))
def test_the_json_of_the_queries_is_json_dumps_indented(document: Any) -> None:
    assert dumps(document) == json.dumps(document, indent=2, ensure_ascii=False)
