"""The superbill, the home-care handout and the referral form, through the CLI (in-process) on a
copy of the demo store: every demo patient gets each, in every format, byte for byte the
same twice; what they show is checked against the records they come from."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from conftest import run_here

from medmassage.care.billing import billing_lines, billing_settings
from medmassage.documents.home_care import PLAIN_WORDS
from medmassage.yamlio import load_file

FORMATS = ("md", "html", "txt")


def _load(root: Path, rel: str) -> dict[str, Any]:
    return load_file(root / rel, rel)


def _render(root: Path, out: Path, *args: str) -> list[Path]:
    result = run_here("--root", str(root), "render", *args, "--out", str(out))
    assert result.code == 0, result
    return [Path(line) for line in result.out.splitlines()]


def _patients(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "patients").iterdir() if p.is_dir())


def _refs(root: Path, folder: str) -> list[str]:
    return [
        f"{p}/{f.stem}"
        for p in _patients(root)
        for f in sorted((root / "patients" / p / folder).glob("*.yaml"))
    ]


def _settings(root: Path) -> dict[str, Any]:
    return _load(root, "medmassage.yaml")


def _billed(root: Path, ref: str) -> tuple[list[tuple[str, int]], bool]:
    """(code, units) of a visit: the note's billed codes, else care/billing's lines."""
    patient, session = ref.split("/")
    data = _load(root, f"patients/{patient}/sessions/{session}.yaml")
    codes = (data.get("billing") or {}).get("codes") or []
    if codes:
        return [(str(c["code"]), int(c["units"])) for c in codes], False
    settings = billing_settings(_settings(root).get("billing"))
    return [(line.code, line.units) for line in billing_lines(data, settings) if line.units], True


def _home_care_args(root: Path) -> list[str]:
    return _refs(root, "plans")


def test_each_document_renders_for_every_patient_in_every_format_deterministically(
    demo_store: Path, tmp_path: Path
) -> None:
    asks = {
        "superbill": [
            *_refs(demo_store, "sessions"),
            *(f"--format={f}" for f in (*FORMATS, "csv")),
        ],
        "home-care": [*_home_care_args(demo_store), *(f"--format={f}" for f in FORMATS)],
        "referral-form": ["--all", "--status", "any", *(f"--format={f}" for f in FORMATS)],
    }
    for document, args in asks.items():
        first = _render(demo_store, tmp_path / "one", document, *args)
        second = _render(demo_store, tmp_path / "two", document, *args)
        assert {p.parent.name for p in first} == set(_patients(demo_store)), document
        for a, b in zip(sorted(first), sorted(second), strict=True):
            assert a.read_bytes() == b.read_bytes(), a
            assert b.read_text(encoding="utf-8").strip(), b
            if a.suffix == ".txt":
                assert max(len(line) for line in a.read_text().splitlines()) <= 80, a


def test_superbill_lines_equal_the_billing_and_carry_the_cms_1500_elements(
    demo_store: Path, tmp_path: Path
) -> None:
    settings = _settings(demo_store)
    place = str(settings.get("billing", {}).get("place_of_service", "11"))
    out = tmp_path / "out"  # one run renders every visit's superbill
    _render(demo_store, out, "superbill", "--all", "--format", "md", "--format", "csv")
    for ref in _refs(demo_store, "sessions"):
        patient_id, session_id = ref.split("/")
        stem = out / patient_id / f"{session_id}.superbill"
        text = stem.with_name(stem.name + ".md").read_text(encoding="utf-8")
        table = stem.with_name(stem.name + ".csv").read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(table)))
        expected, computed = _billed(demo_store, ref)
        assert [(r["cpt"], int(r["units"])) for r in rows] == expected, ref
        assert ("computed" in text) == computed, ref
        patient = _load(demo_store, f"patients/{patient_id}/patient.yaml")
        session = _load(demo_store, f"patients/{patient_id}/sessions/{session_id}.yaml")
        plan = _load(demo_store, f"patients/{patient_id}/plans/{session['treatment_plan']}.yaml")
        referral = _load(demo_store, f"patients/{patient_id}/referrals/{plan['referral']}.yaml")
        provider = _load(demo_store, f"providers/{referral['provider']}.yaml")
        therapist = _load(demo_store, f"therapists/{session['therapist']}.yaml")
        cover = patient["insurance"]
        wanted = [
            patient["name"]["family"], str(patient["date_of_birth"]), str(session["date"]),
            provider["npi"], therapist["npi"], settings["practice"]["npi"],
            *(d["code"] for d in referral["diagnoses"][:12]),
            *(str(cover[k]) for k in ("payer", "member_id") if k in cover),
        ]  # fmt: skip
        if cover["kind"] in ("auto_pip", "workers_comp"):
            wanted += [str(cover["claim_number"]), str(cover["date_of_injury"])]
        for element in wanted:
            assert element in text, (ref, element)
        for row in rows:
            assert row["place_of_service"] == place and row["date_of_service"] == session["date"]
            assert row["rendering_npi"] == therapist["npi"], ref
            assert row["referring_npi"] == provider["npi"], ref
            assert row["diagnosis_pointer"] == "ABCD"[: min(4, len(referral["diagnoses"]))]
            assert row["note_signed"].startswith("yes" if session.get("signature") else "no")


def test_csv_is_only_for_documents_that_ship_it(demo_store: Path) -> None:
    ref = _refs(demo_store, "sessions")[0]
    result = run_here("--root", str(demo_store), "render", "soap", ref, "--format", "csv")
    assert result.code != 0 and "Traceback" not in result.err, result
    assert "csv" in result.err


def test_home_care_is_in_plain_words_and_names_the_practice_phone(
    demo_store: Path, tmp_path: Path
) -> None:
    phone = _settings(demo_store)["practice"]["phone"]
    jargon = re.compile(
        r"\b(" + "|".join(re.escape(k) for k in PLAIN_WORDS) + r")\b", re.IGNORECASE
    )
    for ref in _refs(demo_store, "plans"):
        patient_id, plan_id = ref.split("/")
        plan = _load(demo_store, f"patients/{patient_id}/plans/{plan_id}.yaml")
        paths = _render(demo_store, tmp_path / "out", "home-care", ref)
        for path in paths:
            text = path.read_text(encoding="utf-8")
            assert phone in text, path
            if path.suffix != ".html":
                assert not jargon.search(text), (path, jargon.search(text))
            else:
                assert "18pt" in text
        text = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
        assert text.count("How often:") == text.count("For how long:") >= 1, ref
        if not any(
            (s := _load(demo_store, f"patients/{patient_id}/sessions/{f.name}"))["treatment_plan"]
            == plan_id
            and s.get("plan", {}).get("home_care")
            for f in (demo_store / "patients" / patient_id / "sessions").glob("*.yaml")
        ):
            assert text.count("How often:") == len(plan.get("home_care", [])), ref


def test_referral_form_is_prefilled_from_the_current_referral(
    demo_store: Path, tmp_path: Path
) -> None:
    for patient_id in _patients(demo_store):
        paths = _render(demo_store, tmp_path / "out", "referral-form", patient_id)
        text = next(p for p in paths if p.suffix == ".txt").read_text(encoding="utf-8")
        referrals = sorted((demo_store / "patients" / patient_id / "referrals").glob("*.yaml"))
        referral = _load(demo_store, str(referrals[-1].relative_to(demo_store)))
        for diagnosis in referral["diagnoses"]:
            assert diagnosis["code"] in text, (patient_id, diagnosis["code"])
        assert "Signature:" in text and "Date:" in text
        provider = _load(demo_store, f"providers/{referral['provider']}.yaml")
        assert provider["npi"] in text
