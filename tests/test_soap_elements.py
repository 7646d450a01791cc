"""Every SOAP note carries the elements of CLINICAL.md §1 "Daily treatment note (SOAP)".

The demo clinic is copied, every note is rendered by the real CLI in md, html and txt,
and each element is looked for with its value read here from the records themselves:
the diagnoses of the referral in effect, the referring provider's NPI, the visit number
counted here from the referral's sessions by date, allergies and precautions, consent,
the therapist's license and NPI, the claim number where the patient has one, the minutes
per billing code (care/billing.py), the signature and the addenda."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO, PROJECT, run_here

from medmassage.care.billing import billing_lines, billing_settings

FORMATS = ("md", "html", "txt")
CLI = PROJECT / ".venv" / "bin" / "medmassage"


class Loader(yaml.SafeLoader):
    """YAML as the records mean it: dates stay the strings they are written as."""


Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


def flat(text: str) -> str:
    """A note as one line of plain text: tags removed, entities decoded, wrapping undone."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def demo_sessions() -> list[tuple[str, str]]:
    """(patient, session id) of every demo visit."""
    paths = sorted(DEMO.glob("patients/*/sessions/*.yaml"))
    return [(path.parts[-3], path.stem) for path in paths]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the demo records and every SOAP note rendered from it, in every format."""
    base = tmp_path_factory.mktemp("soap")
    root, out = base / "records", base / "out"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    command = [str(CLI), "--root", str(root), "render", "soap", "--all", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return root, out


@cache
def _records(root: Path, patient: str) -> dict[str, Any]:
    folder = root / "patients" / patient
    kinds = ("sessions", "plans", "referrals", "addenda")
    found: dict[str, Any] = {
        kind: {p.stem: load(p) for p in sorted(folder.glob(f"{kind}/*.yaml"))} for kind in kinds
    }
    found["patient"] = load(folder / "patient.yaml")
    return found


def expected(root: Path, patient: str, session_id: str) -> dict[str, Any]:
    """The elements of one note, read from the records (no product code but billing)."""
    records = _records(root, patient)
    session = records["sessions"][session_id]
    referral_id = records["plans"][session["treatment_plan"]]["referral"]
    referral = records["referrals"][referral_id]
    under = sorted(
        (str(s["date"]), s["id"])
        for s in records["sessions"].values()
        if records["plans"][s["treatment_plan"]]["referral"] == referral_id
    )
    number = under.index((str(session["date"]), session["id"])) + 1
    return {
        "session": session,
        "referral": referral,
        "visit": f"visit {number} of {referral['visits_authorized']}",
        "provider": load(root / "providers" / f"{referral['provider']}.yaml"),
        "therapist": load(root / "therapists" / f"{session['therapist']}.yaml"),
        "patient": records["patient"],
        "addenda": [a for a in records["addenda"].values() if a["refers_to"] == session_id],
    }


def note(out: Path, patient: str, session_id: str, fmt: str) -> str:
    return flat((out / patient / f"{session_id}.soap.{fmt}").read_text(encoding="utf-8"))


CASES = [(p, s, fmt) for p, s in demo_sessions() for fmt in FORMATS]
IDS = [f"{p}/{s}.{fmt}" for p, s, fmt in CASES]


@pytest.mark.parametrize(("patient", "session_id", "fmt"), CASES, ids=IDS)
def test_every_note_carries_every_element(
    rendered: tuple[Path, Path], patient: str, session_id: str, fmt: str
) -> None:
    root, out = rendered
    want = expected(root, patient, session_id)
    text = note(out, patient, session_id, fmt)
    person, session = want["patient"], want["session"]
    # who, when, how long
    name = person["name"]
    assert f"{name['given']} {name['family']}" in text
    assert patient in text and str(person["date_of_birth"]) in text
    assert str(session["date"]) in text and f"{session['duration_minutes']} minutes" in text
    if session.get("time"):
        assert session["time"] in text
    # the referral in effect: diagnoses, referring provider and NPI, visit number
    for diagnosis in want["referral"]["diagnoses"]:
        assert f"{diagnosis['code']} {' '.join(diagnosis['description'].split())}" in text
    provider = want["provider"]
    assert f"{provider['name']}, {provider['credentials']}, NPI {provider['npi']}" in text
    assert want["visit"] in text
    # precautions, contraindications and allergies reviewed; consent on file
    assert "Precautions, contraindications and allergies reviewed".lower() in text.lower()
    for allergy in person.get("allergies", []):
        assert allergy["substance"] in text
    for precaution in person.get("precautions", []):
        assert precaution["condition"] in text
    for precaution in want["referral"].get("precautions", []):
        assert " ".join(precaution.split()) in text
    assert f"signed {person['consent']['treatment']}" in text
    # the rendering therapist
    therapist = want["therapist"]
    assert therapist["name"] in text and therapist["credentials"] in text
    assert therapist["license"]["number"] in text and f"NPI {therapist['npi']}" in text
    # payer claim data
    claim = (person.get("insurance") or {}).get("claim_number")
    assert (f"claim {claim}" in text) if claim else ("claim " not in text.lower())


@pytest.mark.parametrize(("patient", "session_id", "fmt"), CASES, ids=IDS)
def test_every_note_carries_treatment_minutes_signature_and_addenda(
    rendered: tuple[Path, Path], patient: str, session_id: str, fmt: str
) -> None:
    root, out = rendered
    want = expected(root, patient, session_id)
    text = note(out, patient, session_id, fmt)
    session = want["session"]
    for item in session["treatment"]:
        assert f"{item['minutes']}" in text and item["side"] in text
    total = sum(item["minutes"] for item in session["treatment"])
    duration = session["duration_minutes"]
    assert re.search(rf"\b{total}( minutes)? of a {duration}-minute session", text)
    settings = billing_settings(load(root / "medmassage.yaml").get("billing"))
    lines = billing_lines(session, settings)
    for line in lines:
        assert f"{line.code}" in text and f"({line.minutes} min" in text
    timed = sum(line.minutes for line in lines)
    assert re.search(rf"[Tt]otal timed( minutes)?:? {timed}\b", text)
    for code in (session.get("billing") or {}).get("codes") or []:
        assert f"{code['code']}" in text and f"× {code['units']}" in text
    if session.get("signature"):
        assert session["signature"]["sha256"] in text
        assert session["signature"]["at"][:10] in text
    else:
        assert "UNSIGNED" in text
    if session.get("late"):
        assert "late entry" in text.lower()
    signed_at = max(text.find("SHA-256"), text.find("UNSIGNED"))
    position = text.lower().find("addenda", signed_at)  # the addenda come after the note
    for addendum in want["addenda"]:
        assert position > signed_at and addendum["id"] in text[position:]


def test_intraoral_work_names_its_consent(rendered: tuple[Path, Path]) -> None:
    """A visit with intraoral work shows the patient's intraoral consent; others do not."""
    root, out = rendered
    seen = 0
    for patient, session_id in demo_sessions():
        want = expected(root, patient, session_id)
        intraoral = any("intraoral" in t["technique"] for t in want["session"]["treatment"])
        consents = want["patient"]["consent"].get("techniques", [])
        for fmt in FORMATS:
            text = note(out, patient, session_id, fmt)
            assert ("ntraoral" in text and "consent" in text) or not intraoral
            if intraoral:
                seen += 1
                dates = [c["date"] for c in consents if c["kind"] == "intraoral"]
                assert f"signed {min(map(str, dates))}" in text
    assert seen, "the demo has a visit with intraoral work"


def test_notes_are_deterministic(rendered: tuple[Path, Path], tmp_path: Path) -> None:
    """Rendering the same records twice gives byte-identical notes (in this process: the
    notes the tests above read came from the installed command)."""
    root, _ = rendered
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        result = run_here("--root", str(root), "render", "soap", "--all", "--out", str(out))
        assert result.code == 0, result
    first = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.soap.*"))
    assert first == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*.soap.*"))
    for rel in first:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
