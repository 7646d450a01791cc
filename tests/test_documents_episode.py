"""The documents of an episode of care -- plan of care, progress report, discharge summary --
rendered by the CLI (in-process) from a copy of the demo clinic. Each element CLINICAL.md §1 asks
for is looked up in the output, its expected value read from the demo records."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, run_here

from medmassage.care import norms
from medmassage.yamlio import load_file

DOCUMENTS = ("plan-of-care", "progress-report", "discharge-summary")
FORMATS = ("md", "html", "txt")


def _records(store: Path, patient: str, folder: str) -> list[dict[str, Any]]:
    files = sorted((store / "patients" / patient / folder).glob("*.yaml"))
    found = [load_file(p, str(p.relative_to(store))) for p in files]
    return sorted(found, key=lambda r: str(r["date"]))


def _patients(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "patients").iterdir() if p.is_dir())


def _render(store: Path, document: str, ref: str, fmt: str = "md") -> str:
    result = run_here(
        "--root", str(store), "render", document, ref, "--out", "-", "--format", fmt
    )  # fmt: skip
    assert result.code == 0, result
    return str(result.out)


def _oneline(text: str) -> str:
    return " ".join(str(text).split())


def _label(word: str) -> str:
    text = word.replace("_", " ")
    return text[:1].upper() + text[1:]


def _discharged(store: Path, patient: str) -> bool:
    """Discharged as the records say it: a discharge assessment, a closed plan or a
    discharged patient."""
    chart = load_file(store / "patients" / patient / "patient.yaml", "patient.yaml")
    plans = _records(store, patient, "plans")
    assessments = _records(store, patient, "assessments")
    return (
        chart["status"] == "discharged"
        or any(a["kind"] == "discharge" for a in assessments)
        or any(p["status"] in ("completed", "discontinued") for p in plans)
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("episode") / "store"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return target


@pytest.fixture(scope="module")
def rendered(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every document of the three, for every patient, rendered twice into two folders."""
    twice = tmp_path_factory.mktemp("rendered")
    for run in ("one", "two"):
        for document in DOCUMENTS:
            result = run_here(
                "--root", str(demo), "render", document, "--all", "--status", "any",
                "--out", str(twice / run),
            )  # fmt: skip
            assert result.code == 0, result
    yield twice


def test_every_patient_gets_the_documents_that_apply_in_every_format_deterministically(
    demo: Path, rendered: Path
) -> None:
    expected = set()
    for patient in _patients(demo):
        for plan in _records(demo, patient, "plans"):
            expected.add(f"{patient}/{plan['id']}.plan-of-care")
        for a in _records(demo, patient, "assessments"):
            if a["kind"] != "initial":
                expected.add(f"{patient}/{a['id']}.progress-report")
        if _discharged(demo, patient):
            end = max(
                str(r["date"])
                for folder in ("sessions", "assessments")
                for r in _records(demo, patient, folder)
            )
            expected.add(f"{patient}/{end}.discharge-summary")
    wanted = {f"{name}.{fmt}" for name in expected for fmt in FORMATS}
    one = {str(p.relative_to(rendered / "one")) for p in (rendered / "one").rglob("*.*")}
    assert one == wanted
    for name in sorted(wanted):
        assert (rendered / "one" / name).read_bytes() == (rendered / "two" / name).read_bytes()
    html = (rendered / "one" / sorted(n for n in wanted if n.endswith(".html"))[0]).read_text()
    assert 'class="letterhead"' in html and "break-inside: avoid" in html


def test_plan_of_care_carries_the_plan_and_a_certification_block(demo: Path) -> None:
    for patient in _patients(demo):
        for plan in _records(demo, patient, "plans"):
            md = _render(demo, "plan-of-care", f"{patient}/{plan['id']}")
            referral = load_file(
                demo / "patients" / patient / "referrals" / f"{plan['referral']}.yaml", "r"
            )
            for d in referral["diagnoses"]:
                assert f"{d['code']}: " in md
            long_part, short_part = md.split("## Short-term goals")
            for g in plan["goals"]:
                part = long_part if g["term"] == "long" else short_part
                row = next(line for line in part.splitlines() if line.startswith(f"| {g['id']}:"))
                assert f"| {g['baseline']:g} | {g['target']:g} | {g['due']} |" in row
            for t in plan["techniques"]:
                assert _label(t) in md
            for r in plan["regions"]:
                assert _label(r) in md
            assert f"Minutes per visit: {plan['session_minutes']}" in md
            assert f"for {plan['weeks']} weeks ({plan['visits']} visits)" in md
            assert f"{plan['sessions_per_week']:g} visit" in md
            for h in plan.get("home_care", []):
                assert _oneline(h) in md
            if "reassess_every" in plan:
                assert f"every {plan['reassess_every']} visits" in md
            assert "Physician's certification" in md
            assert ("certify that the treatment" in md) != ("certification" in plan)
            for field in ("techniques", "regions"):
                listed = referral.get(field) or plan[field]
                for item in plan[field]:
                    flagged = f"{_label(item)} (not in the referral)" in md
                    assert flagged == (item not in listed)


def test_a_certified_plan_shows_it_and_work_outside_the_referral_is_flagged(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    path = store / "patients" / "p-0003" / "plans" / "2026-10-13.yaml"
    plan = load_file(path, "plan")
    referral = load_file(
        store / "patients" / "p-0003" / "referrals" / f"{plan['referral']}.yaml", "r"
    )
    assert "deep_tissue" not in referral["techniques"]
    text = path.read_text(encoding="utf-8").replace(
        "techniques:\n", "techniques:\n  - deep_tissue\n"
    )
    text += f"certification:\n  by: {referral['provider']}\n  date: 2026-10-20\n"
    text += "  received: 2026-10-22\n"
    path.write_text(text, encoding="utf-8")
    provider = load_file(store / "providers" / f"{referral['provider']}.yaml", "p")
    for fmt in FORMATS:
        out = _render(store, "plan-of-care", "p-0003/2026-10-13", fmt)
        assert provider["name"] in out and "2026-10-20" in out and "2026-10-22" in out
        assert "certified" in out.lower() and "certify that the treatment" not in out
        assert "Deep tissue" in out and "agreement" in out.lower()


def _initial(store: Path, patient: str, assessment: dict[str, Any]) -> dict[str, Any]:
    return [
        a
        for a in _records(store, patient, "assessments")
        if a["kind"] == "initial" and a["date"] <= assessment["date"]
        and a.get("referral") == assessment.get("referral")
    ][-1]  # fmt: skip


def _reassessments(store: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (patient, a)
        for patient in _patients(store)
        for a in _records(store, patient, "assessments")
        if a["kind"] != "initial"
    ]


def test_progress_report_sets_the_reassessment_beside_the_initial_one(demo: Path) -> None:
    found = _reassessments(demo)
    assert found
    for patient, now in found:
        before = _initial(demo, patient, now)
        md = _render(demo, "progress-report", f"{patient}/{now['id']}")
        assert f"compared with the initial assessment of {before['date']}" in md
        for kind in ("current", "usual", "worst", "best"):
            if kind in before["pain"] and kind in now["pain"]:
                row = f"| {_label(kind)} pain (0–10 NRS) | {before['pain'][kind]} | "
                assert row + f"{now['pain'][kind]} |" in md
        for rom in now["range_of_motion"]:
            old = next(
                e["degrees"]
                for e in before["range_of_motion"]
                if (e["joint"], e["movement"], e["side"])
                == (rom["joint"], rom["movement"], rom["side"])
            )
            normal = norms.normal_rom(rom["joint"], rom["movement"]) or "not listed"
            assert f"| {normal} | {old} | {rom['degrees']} | {rom['degrees'] - old:+d} |" in md
        assert f"normal range from {norms.reference()}" in md
        for side in (before, now):
            for p in side["palpation"]:
                assert p.get("muscle", "") in md
            assert _oneline(side["function"]) in md
        _check_outcomes(md, before, now)


def _check_outcomes(md: str, before: dict[str, Any], now: dict[str, Any]) -> None:
    """Each score re-measured: both values, the MCID in the instrument's unit and the verdict."""
    for entry in now.get("outcome_measures", []):
        name, unit = entry["instrument"], entry.get("unit", "points")
        old = next(e["score"] for e in before["outcome_measures"] if e["instrument"] == name)
        known = norms.instrument(name)
        assert known is not None and known.mcid is not None
        mcid = round(norms.change_in_unit(name, known.mcid, known.mcid_unit, unit), 2)
        row = next(line for line in md.splitlines() if line.startswith(f"| {name} ("))
        sign = "%" if unit == "percent" else "points"
        assert f"| {old:g} | {entry['score']:g} | {entry['score'] - old:+g} |" in row
        assert f"MCID {mcid:g} {sign}" in row
        meaningful = abs(entry["score"] - old) >= mcid
        assert ("not clinically meaningful" in row) != meaningful


def test_an_unsigned_visit_is_marked_in_the_progress_report(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    patient, now = next((p, a) for p, a in _reassessments(store) if a["kind"] == "reassessment")
    plan = _records(store, patient, "plans")[0]
    goal = next(g for g in plan["goals"] if g["measure"]["kind"] == "other")  # visits only
    measured = [
        (s, e["value"])
        for s in _records(store, patient, "sessions")
        if s["date"] <= now["date"]
        for e in s.get("assessment", {}).get("goals", [])
        if e["goal"] == goal["id"] and "value" in e
    ]
    session, value = measured[-1]
    path = store / "patients" / patient / "sessions" / f"{session['id']}.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\nsignature:")[0] + "\n")
    md = _render(store, "progress-report", f"{patient}/{now['id']}")
    row = next(line for line in md.splitlines() if line.startswith(f"| {goal['id']}:"))
    assert f"| {value:g} (unsigned) ({session['date']}) |" in row


def test_an_initial_assessment_gets_no_progress_report_but_the_notice(demo: Path) -> None:
    first = _records(demo, "p-0003", "assessments")[0]
    assert first["kind"] == "initial"
    result = run_here("--root", str(demo), "render", "progress-report", f"p-0003/{first['id']}")
    assert result.code == 0, result
    assert result.out == "" and "initial assessment" in result.err


def test_the_discharged_patient_gets_a_summary_that_asks_for_no_more_visits(demo: Path) -> None:
    patient = next(p for p in _patients(demo) if _discharged(demo, p))
    assert patient == "p-0002"
    plan = _records(demo, patient, "plans")[-1]
    first, final = (
        _records(demo, patient, "assessments")[0],
        _records(demo, patient, "assessments")[-1],
    )
    referral = _records(demo, patient, "referrals")[-1]
    sessions = _records(demo, patient, "sessions")
    home = next(
        (s["plan"]["home_care"] for s in reversed(sessions) if s.get("plan", {}).get("home_care")),
        plan.get("home_care", []),
    )
    for fmt in FORMATS:
        out = _render(demo, "discharge-summary", patient, fmt)
        assert "no further visits are requested" in _oneline(out).lower()
        assert "we ask you to" not in out.lower() and "more visits" not in out.lower()
        assert "goals met" in out.lower() and f"discharge re-evaluation on {final['date']}" in out
        for d in referral["diagnoses"]:
            assert d["code"] in out
        for h in home:
            assert _oneline(h)[:40] in _oneline(out)
    md = _render(demo, "discharge-summary", patient)
    for g in plan["goals"]:
        row = next(line for line in md.splitlines() if line.startswith(f"| {g['id']}:"))
        assert f"| {g['baseline']:g} |" in row and f"| {g['target']:g} | met |" in row
    for entry in final["outcome_measures"]:
        old = next(
            e["score"] for e in first["outcome_measures"] if e["instrument"] == entry["instrument"]
        )
        assert f"| {old:g} | {entry['score']:g} |" in md
    assert f"{first['date']} → {final['date']}" in md


def test_a_patient_not_discharged_gets_no_summary_but_the_notice(
    demo: Path, tmp_path: Path
) -> None:
    patient = next(p for p in _patients(demo) if not _discharged(demo, p))
    out = tmp_path / "out"
    result = run_here(
        "--root", str(demo), "render", "discharge-summary", patient, "--out", str(out)
    )
    assert result.code == 0, result
    assert result.out == "" and not out.exists()
    assert f"{patient}: no discharge summary" in result.err
