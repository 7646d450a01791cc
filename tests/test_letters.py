"""The demo clinic's physician updates, rendered by the CLI (in-process), say what the records
support: each measure in its own unit and judged in it, the pain a goal tracks, every
score recorded, and the normal range with the table it comes from. Expected figures are
read from the demo records (a copy of them: the `store` fixture)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conftest import run_here

from medmassage.care import norms
from medmassage.yamlio import load_file


def _letter(store: Path, patient: str, *args: str, fmt: str = "md") -> str:
    result = run_here(
        "--root", str(store), "render", "physician-update", patient, "--out", "-",
        "--format", fmt, *args,
    )  # fmt: skip
    assert result.code == 0, result
    return str(result.out)


def _records(store: Path, patient: str, kind: str) -> list[dict[str, Any]]:
    folder = store / "patients" / patient / kind
    found = [load_file(p, str(p.relative_to(store))) for p in sorted(folder.glob("*.yaml"))]
    return sorted(found, key=lambda r: str(r["date"]))


def _goal(store: Path, patient: str, kind: str, **measure: str) -> dict[str, Any]:
    plan = _records(store, patient, "plans")[0]
    return next(
        g
        for g in plan["goals"]
        if g["measure"]["kind"] == kind
        and all(g["measure"].get(k) == v for k, v in measure.items())
    )


def _rows(md: str) -> dict[str, list[str]]:
    """The measured-progress table: goal id -> its cells."""
    rows = {}
    for line in md.splitlines():
        if line.startswith("| g"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0].split(":")[0]] = cells
    return rows


def _value(cell: str) -> float:
    return float(cell.split(maxsplit=1)[0])


def test_p0003_ndi_in_percent_is_not_called_meaningful_and_the_count_agrees(
    demo_store: Path,
) -> None:
    goal = _goal(demo_store, "p-0003", "outcome_measure", instrument="NDI")
    scores = [
        float(e["score"])
        for a in _records(demo_store, "p-0003", "assessments")
        for e in a.get("outcome_measures", [])
        if e["instrument"] == "NDI"
    ]
    md = _letter(demo_store, "p-0003")
    rows = _rows(md)
    row = rows[goal["id"]]
    assert "(%)" in row[1]
    assert _value(row[3]) == scores[-1]
    assert float(row[5]) == scores[-1] - float(goal["baseline"])
    assert row[7].startswith("not clinically meaningful") and "%" in row[7]
    judged = [
        gid
        for gid, cells in rows.items()
        if cells[7].startswith(("clinically meaningful improvement", "improvement beyond"))
    ]
    assert goal["id"] not in judged
    summary = re.search(r"(\d+) by a clinically meaningful amount", md)
    assert summary is not None and int(summary.group(1)) == len(judged)
    html = _letter(demo_store, "p-0003", fmt="html")
    chart = html[html.index('aria-label="NDI') :]
    chart = chart[: chart.index("</svg>")]
    ticks = [float(t) for t in re.findall(r'text-anchor="end" dy="4">([\d.]+)<', chart)]
    assert max(ticks) == 100  # percent on a 0–100 axis


def test_p0005_mouth_opening_is_in_mm_and_every_jfls_score_is_listed(demo_store: Path) -> None:
    goal = _goal(demo_store, "p-0005", "range_of_motion", joint="tmj")
    outcome = _goal(demo_store, "p-0005", "outcome_measure")
    sessions = _records(demo_store, "p-0005", "sessions")
    visit_scores = [
        (s["date"], e["value"])
        for s in sessions
        for e in s.get("assessment", {}).get("goals", [])
        if e["goal"] == outcome["id"] and "value" in e
    ]
    md = _letter(demo_store, "p-0005")
    row = _rows(md)[goal["id"]]
    assert "(mm)" in row[1] and "°" not in " ".join(row)
    assert f"{norms.LINEAR_SDD_MM:g} mm" in row[7]
    listed = next(
        line
        for line in md.splitlines()
        if line.startswith(f"- {outcome['measure']['instrument']} ")
    )
    day, value = visit_scores[-1]
    assert f"{value:g} ({day})" in listed


def test_p0002_until_the_discharge_shows_the_usual_headache_intensity(demo_store: Path) -> None:
    goal = _goal(demo_store, "p-0002", "pain", pain="usual")
    last = _records(demo_store, "p-0002", "assessments")[-1]
    md = _letter(demo_store, "p-0002", "--until", str(last["date"]))
    row = _rows(md)[goal["id"]]
    assert row[1].startswith("Usual pain")
    assert _value(row[3]) == float(last["pain"]["usual"]) and str(last["date"]) in row[3]


def test_p0006_usual_pain_in_the_letter_is_the_notes(demo_store: Path) -> None:
    goal = _goal(demo_store, "p-0006", "pain", pain="usual")
    latest = [
        e["value"]
        for s in _records(demo_store, "p-0006", "sessions")
        for e in s.get("assessment", {}).get("goals", [])
        if e["goal"] == goal["id"] and "value" in e
    ][-1]
    row = _rows(_letter(demo_store, "p-0006"))[goal["id"]]
    assert row[1].startswith("Usual pain") and _value(row[3]) == latest


def test_normal_rom_is_printed_with_its_table_and_the_store_may_choose(store: Path) -> None:
    goal = _goal(store, "p-0002", "range_of_motion")
    joint, movement = goal["measure"]["joint"], goal["measure"]["movement"]
    row = _rows(_letter(store, "p-0002"))[goal["id"]]
    assert f"normal {norms.normal_rom(joint, movement)} ({norms.reference()})" in row[1]
    settings = store / "medmassage.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "norms: ama\n", encoding="utf-8")
    row = _rows(_letter(store, "p-0002"))[goal["id"]]
    assert f"normal {norms.normal_rom(joint, movement, 'ama')} ({norms.reference('ama')})" in row[1]


def test_a_discharged_episode_offers_no_continuation_in_the_response_block(
    demo_store: Path,
) -> None:
    status = load_file(demo_store / "patients" / "p-0002" / "patient.yaml", "patient.yaml")[
        "status"
    ]
    assert status == "discharged"  # the demo's discharged patient
    for fmt in ("md", "txt", "html"):
        letter = _letter(demo_store, "p-0002", fmt=fmt)
        assert "Discharge acknowledged" in letter, fmt
        assert "Continue as requested" not in letter and "Continue with changes" not in letter
    active = _letter(demo_store, "p-0001")
    assert "Continue as requested" in active and "Discharge acknowledged" not in active


def test_an_episode_on_hold_says_so_and_asks_for_no_visits(demo_store: Path) -> None:
    patient = load_file(demo_store / "patients" / "p-0005" / "patient.yaml", "patient.yaml")
    assert patient["status"] == "on_hold"  # the demo's paused episode
    letter = _letter(demo_store, "p-0005")
    assert "**Recommendation: on hold.**" in letter
    assert "more visit" not in letter
