"""ICD-10-CM codes against the shipped index of the real code set, NPI check digits
(CLINICAL.md §5), the rules that use them, and one run of the real CLI."""

from __future__ import annotations

import functools
import os
import random
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, TODAY, line_of, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage import codesets
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.rules import RULES, is_registered
from medmassage.rules.codes import check_diagnosis_codes, check_npis
from medmassage.store import Entry

# The folder holding the release's source files, when present (development machines):
# `code-list-April-2026.txt` and `icd10c-tabular-April-1-2026.xml`.
SOURCE = Path(os.environ.get("MEDMASSAGE_ICD_SOURCE", "/tmp/icd/x/simple_icd_10_cm/data"))


# --- lookups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("S13.4XXA", "billable"),
        ("S13.4XXD", "billable"),
        ("S13.4XX", "needs-7th"),
        ("S13.4X", "needs-7th"),
        ("S13.4", "needs-7th"),
        ("S13.4XXZ", "unknown"),
        ("M54.50", "billable"),
        ("M54.5", "header"),
        ("M54", "header"),
        ("U07.1", "billable"),
        ("U09.9", "billable"),
        ("M99.99", "unknown"),
        ("Z99.Z9", "unknown"),
        ("I10", "billable"),
        ("T36.0X1A", "billable"),
        ("T36.0X1", "needs-7th"),
        ("E08.3211", "billable"),
        ("QA0.0101", "billable"),
        ("m54.50", "billable"),
        ("M5450", "billable"),
        ("M5.450", "unknown"),
        ("A00-A09", "unknown"),
        ("!release", "unknown"),
        ("", "unknown"),
    ],
)
def test_lookup_statuses(code: str, status: str) -> None:
    found = codesets.lookup(code)
    assert found.status == status
    assert found.billable == (status == "billable") == codesets.is_valid_icd10cm(code)


def test_lookup_details() -> None:
    assert codesets.RELEASE == "ICD-10-CM April 2026"
    assert codesets.lookup("M54.50").description == "Low back pain, unspecified"
    assert codesets.lookup("U07.1").description == "COVID-19"
    sprain = codesets.lookup("S13.4XXA")
    assert sprain.code == "S13.4XXA"
    assert sprain.description == "Sprain of ligaments of cervical spine, initial encounter"
    header = codesets.lookup("M54.5")
    assert header.description == "Low back pain"
    assert header.examples == ("M54.50", "M54.51", "M54.59")
    short = codesets.lookup("S13.4")
    assert short.examples == ("S13.4XXA", "S13.4XXD", "S13.4XXS")
    assert short.seventh == (
        ("A", "initial encounter"),
        ("D", "subsequent encounter"),
        ("S", "sequela"),
    )
    assert codesets.lookup("S72").examples == ("S72.001A", "S72.001B", "S72.001C")


@functools.cache
def _index_lines() -> tuple[tuple[str, str, str], ...]:
    """The shipped index's lines, split (read once per process; only read)."""
    text = codesets.INDEX_PATH.read_text("utf-8")
    return tuple(tuple(line.split("\t")) for line in text.splitlines())  # type: ignore[misc]


def _status(kind: str) -> str:
    """The status an index line's kind column stands for."""
    return {"B": "billable", "H": "header"}.get(kind, "needs-7th")


def test_index_is_sorted_and_holds_every_code_once() -> None:
    lines = _index_lines()
    keys = [key.encode() for key, _kind, _text in lines]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert ("!release", "-", codesets.RELEASE) in lines
    counts = {"billable": 0, "header": 0, "needs-7th": 0}
    for key, kind, _text in lines:
        if not key.startswith("!"):
            counts[_status(kind)] += 1
    assert counts == {"billable": 23414, "header": 10538, "needs-7th": 12929}


PARTS = 4  # the lookups of every line, in as many tests (parallel workers share them)


@pytest.mark.parametrize("part", range(PARTS))
def test_every_line_of_the_index_is_found(part: int) -> None:
    for key, kind, text in _index_lines()[part::PARTS]:
        if key.startswith("!"):
            continue
        found = codesets.lookup(key)
        assert found.description == text, key
        assert found.status == _status(kind), key
        for char, meaning in found.seventh:  # every derived code is found and billable
            extended = codesets.lookup(key.ljust(6, "X") + char)
            assert extended.billable and extended.description == f"{text}, {meaning}"


@pytest.mark.skipif(not SOURCE.is_dir(), reason="the release's source files are not here")
def test_every_code_of_the_source_list_is_found() -> None:
    """Every category and code of the release's own list is in the index (chapter and
    block names such as `1` and `A00-A09` are not codes)."""
    listed = (SOURCE / "code-list-April-2026.txt").read_text("utf-8").split()
    codes = [c for c in listed if not c.isdigit() and "-" not in c]
    billable = sum(codesets.lookup(code).billable for code in codes)
    assert [c for c in codes if codesets.lookup(c).status == "unknown"] == []
    assert billable == 74724


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_any_text_never_crashes(text: str) -> None:
    found = codesets.lookup(text)
    assert found.status in ("billable", "header", "needs-7th", "unknown")


def test_random_code_shaped_strings_never_crash() -> None:
    rng = random.Random(11)
    alphabet = string.ascii_uppercase + string.digits
    for _ in range(5000):
        length = rng.randint(3, 7)
        code = "".join(rng.choice(alphabet) for _ in range(length))
        if length > 3 and rng.random() < 0.5:
            code = f"{code[:3]}.{code[3:]}"
        found = codesets.lookup(code)
        if found.billable:
            assert found.description


@pytest.mark.parametrize(
    ("given_words", "official", "matches"),
    [
        ("Low back pain, unspecified", "Low back pain, unspecified", True),
        ("low back pain", "Low back pain, unspecified", True),
        ("LOW-BACK PAIN!", "Low back pain, unspecified", True),
        ("Tension headache", "Tension-type headache, unspecified, not intractable", True),
        ("Cervicalgia (neck pain)", "Cervicalgia", True),
        ("Sprain of lumbar spine", "Sprain of ligaments of cervical spine", False),
        ("Fibromyalgia", "Low back pain, unspecified", False),
        ("...", "Cervicalgia", False),
    ],
)
def test_description_comparison(given_words: str, official: str, matches: bool) -> None:
    assert codesets.description_matches(given_words, official) is matches


@pytest.mark.parametrize(
    ("npi", "valid"),
    [
        ("1234567893", True),  # the example of the NPI standard
        ("1234567890", False),
        ("1999000015", True),
        ("1999000016", False),
        ("123456789", False),
        ("12345678931", False),
        ("１２３４５６７８９３", False),  # fullwidth digits
        ("123456789\n", False),
    ],
)
def test_npi_check_digit(npi: str, valid: bool) -> None:
    assert codesets.npi_valid(npi) is valid


def test_npi_check_digit_is_luhn_over_80840() -> None:
    assert codesets.npi_check_digit("123456789") == 3
    rng = random.Random(5)
    for _ in range(200):
        first = "".join(rng.choice(string.digits) for _ in range(9))
        right = codesets.npi_check_digit(first)
        assert codesets.npi_valid(first + str(right))
        assert not any(codesets.npi_valid(first + str(d)) for d in range(10) if d != right)


# --- the rules, in process -------------------------------------------------------------


def _record(kind: str, rel: str, data: dict[str, Any], patient: str | None = None) -> Record:
    return Record(Entry(rel, kind, str(data.get("id", kind)), patient), data, True)


def _referral(*diagnoses: tuple[str, str]) -> Record:
    data = {
        "id": "2026-10-01",
        "diagnoses": [{"code": code, "description": words} for code, words in diagnoses],
    }
    return _record("referral", "patients/p-1/referrals/2026-10-01.yaml", data, "p-1")


def test_diagnosis_rules_exact_findings() -> None:
    referral = _referral(
        ("M54.50", "low back pain"),
        ("M99.99", "made up"),
        ("M54.5", "Low back pain"),
        ("S13.4XX", "Sprain of ligaments of cervical spine"),
        ("S13.4", "Sprain of ligaments of cervical spine"),
        ("U07.1", "Fibromyalgia"),
        ("S13.4XXD", "Neck sprain, subsequent encounter"),
    )
    found = list(check_diagnosis_codes(StoreView(today=TODAY), [referral]))
    rel = referral.rel
    assert found == [
        Finding(
            rel,
            ("diagnoses", 1, "code"),
            "clinical/icd-unknown",
            "error",
            "M99.99 is not a code of ICD-10-CM April 2026",
        ),
        Finding(
            rel,
            ("diagnoses", 2, "code"),
            "clinical/icd-not-billable",
            "error",
            "M54.5 is a header in ICD-10-CM April 2026 (Low back pain), not a billable code: "
            "use a more specific code under it, e.g. M54.50, M54.51, M54.59",
        ),
        Finding(
            rel,
            ("diagnoses", 3, "code"),
            "clinical/icd-not-billable",
            "error",
            "S13.4XX lacks its 7th character: ICD-10-CM April 2026 requires one of A, D, S here "
            "(e.g. S13.4XXA, S13.4XXD, S13.4XXS)",
        ),
        Finding(
            rel,
            ("diagnoses", 4, "code"),
            "clinical/icd-not-billable",
            "error",
            "S13.4 lacks its 7th character: ICD-10-CM April 2026 requires placeholder X and one "
            "of A, D, S here (e.g. S13.4XXA, S13.4XXD, S13.4XXS)",
        ),
        Finding(
            rel,
            ("diagnoses", 5, "description"),
            "clinical/icd-description",
            "warning",
            "the description does not match U07.1, which ICD-10-CM April 2026 calls 'COVID-19'",
        ),
        Finding(
            rel,
            ("diagnoses", 6, "description"),
            "clinical/icd-description",
            "warning",
            "the description does not match S13.4XXD, which ICD-10-CM April 2026 calls "
            "'Sprain of ligaments of cervical spine, subsequent encounter'",
        ),
    ]
    for finding in found:
        assert is_registered(finding.rule)
        assert "made up" not in finding.message and "Fibromyalgia" not in finding.message


def test_diagnosis_rules_skip_records_that_failed_their_schema() -> None:
    referral = _referral(("M99.99", "x"))
    referral.valid = False
    assert list(check_diagnosis_codes(StoreView(today=TODAY), [referral])) == []


def test_npi_rule_exact_findings() -> None:
    message = (
        "not a valid NPI: its last digit fails the check over 80840 and the first 9 digits "
        "(CLINICAL.md §5); check the number for a typo"
    )
    records = [
        _record("provider", "providers/dr-a.yaml", {"id": "dr-a", "npi": "1999000031"}),
        _record("provider", "providers/dr-b.yaml", {"id": "dr-b", "npi": "1999000032"}),
        _record("therapist", "therapists/t-a.yaml", {"id": "t-a", "npi": "1234567890"}),
        _record("therapist", "therapists/t-b.yaml", {"id": "t-b"}),
        _record("settings", "medmassage.yaml", {"practice": {"name": "X", "npi": "2999000014"}}),
        _record("settings", "other.yaml", {"practice": {"name": "X"}}),
    ]
    found = list(check_npis(StoreView(today=TODAY), records))
    assert found == [
        Finding("providers/dr-b.yaml", ("npi",), "clinical/npi-check-digit", "error", message),
        Finding("therapists/t-a.yaml", ("npi",), "clinical/npi-check-digit", "error", message),
        Finding(
            "medmassage.yaml", ("practice", "npi"), "clinical/npi-check-digit", "error", message
        ),
    ]


def test_rules_are_registered_and_run() -> None:
    assert check_diagnosis_codes in RULES and check_npis in RULES
    for rule in ("icd-unknown", "icd-not-billable", "icd-description", "npi-check-digit"):
        assert is_registered(f"clinical/{rule}")


def test_demo_codes_and_npis_are_valid() -> None:
    import yaml

    for path in sorted(DEMO.glob("patients/*/referrals/*.yaml")):
        for diagnosis in yaml.safe_load(path.read_text())["diagnoses"]:
            found = codesets.lookup(diagnosis["code"])
            assert found.billable, (path, diagnosis["code"])
            assert codesets.description_matches(diagnosis["description"], found.description)
    for path in sorted([*DEMO.glob("providers/*.yaml"), *DEMO.glob("therapists/*.yaml")]):
        npi = yaml.safe_load(path.read_text()).get("npi")
        assert npi is None or codesets.npi_valid(npi), path


# --- the real CLI ----------------------------------------------------------------------


def test_header_code_fails_validate_at_its_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    referral = store / "patients/p-0001/referrals/2026-10-19.yaml"
    text = referral.read_text()
    assert "code: M54.50\n" in text
    referral.write_text(text.replace("code: M54.50\n", "code: M54.5\n", 1))
    result = run_cli("--root", str(store), "validate", "--format", "json", "--today", TODAY)
    assert result.code == 1, result
    problems = result.json()["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    assert [p["rule"] for p in errors] == ["clinical/icd-not-billable"], problems
    (error,) = errors
    assert error["file"].endswith("patients/p-0001/referrals/2026-10-19.yaml")
    assert error["line"] == line_of(referral, "code: M54.5")
    assert error["column"] == len("  - code: ") + 1
    assert error["message"].startswith("M54.5 is a header in ICD-10-CM April 2026")
