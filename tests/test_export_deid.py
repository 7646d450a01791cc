"""`medmassage export deid OUT` through the real CLI on copies of the demo clinic: the copy
holds no identifier gathered from the original records, validates and renders, keeps every
interval of a chart, groups ages over 89, drops free text unless asked, is the same for
the same seed; and the date and ZIP arithmetic holds for any input (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from medmassage import kinds
from medmassage.codesets import npi_valid
from medmassage.export.deid_fields import action_for
from medmassage.export.deid_ids import PATIENT_PREFIX, numbered
from medmassage.export.deid_shift import (
    RESTRICTED_ZIP3,
    Keyed,
    age_on,
    shift_date,
    shift_date_id,
    shift_datetime,
    zip3,
)
from medmassage.schema_loader import raw_schema
from medmassage.signature import fingerprint
from medmassage.yamlio import parse_text
from tests.conftest import DEMO, TODAY, run_cli, run_here

SEED = "7"
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


# libyaml's reader where PyYAML has it (the pure-Python one reads the same, ten times slower):
# PyYAML's own loader, not the store's composer and pre-scan.
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_LOADER)  # dates stay strings


def _copy_demo(target: Path) -> Path:
    """A copy of the demo clinic without what a run leaves behind (`rendered/` is not in the
    repository, so a fresh clone has none)."""
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return target


def _export(root: Path, out: Path, *extra: str, real: bool = False) -> Any:
    """`export deid` in this process, or as a real process when `real`."""
    run = run_cli if real else run_here
    return run("--root", str(root), "export", "deid", str(out), *extra)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo clinic with one patient's notes rendered into it (rendered
    documents must not travel)."""
    store = _copy_demo(tmp_path_factory.mktemp("deid") / "store")
    rendered = run_here("--root", str(store), "render", "soap", "p-0001", "--format", "md")
    assert rendered.code == 0 and any((store / "rendered").rglob("*.md")), rendered
    return store


@pytest.fixture(scope="module")
def _copied_once(demo: Path) -> tuple[Path, Any, dict[str, bytes]]:
    out = demo.parent / "copy"
    result = _export(demo, out, "--seed", SEED, "--format", "json", real=True)  # a real process
    assert result.code == 0, result
    return out, result, _tree(out)


@pytest.fixture
def copied(_copied_once: tuple[Path, Any, dict[str, bytes]]) -> Iterator[tuple[Path, Any]]:
    """The demo de-identified once with SEED, and the run's JSON summary (shared by the
    tests: only read, and checked unchanged after each of them)."""
    out, result, files = _copied_once
    yield out, result
    assert _tree(out) == files, "a test changed the shared de-identified copy"


def _files(root: Path) -> Iterator[Path]:
    return (path for path in sorted(root.rglob("*")) if path.is_file())


def _at(record: Any, fields: Iterable[str]) -> Any:
    """The value at a field path of a parsed record (None where there is none)."""
    for name in fields:
        record = record.get(name) if isinstance(record, dict) else None
    return record


def _identifiers(root: Path) -> set[str]:
    """Every identifying value of the store, gathered from its records."""
    found: set[str] = set()

    def add(record: Any, *paths: str) -> None:
        found.update(
            v for v in (_at(record, p.split(".")) for p in paths) if isinstance(v, str) and v
        )

    contact = ("phone", "fax", "email", "npi", "address.street", "address.city")
    settings = _load(root / "medmassage.yaml")
    add(settings, "practice.name", "billing.tax_id", "practice.address.postal_code")
    add(settings, *(f"practice.{p}" for p in contact))
    for path in (root / "therapists").glob("*.yaml"):
        add(_load(path), "id", "name", "license.number", *contact)
    for path in (root / "providers").glob("*.yaml"):
        add(_load(path), "id", "name", "organization", "address.postal_code", *contact)
    for path in (root / "patients").glob("*/patient.yaml"):
        patient = _load(path)
        add(patient, "name.given", "name.family", "name.preferred", "date_of_birth")
        add(patient, "contact.phone", "contact.email", "contact.address.street")
        add(patient, "contact.address.city", "contact.address.postal_code")
        add(patient, "emergency_contact.name", "emergency_contact.phone")
        add(patient, "consent.guardian.name", "insurance.adjuster", "insurance.payer")
        add(patient, "insurance.member_id", "insurance.group", "insurance.claim_number")
    return found


def test_the_copy_holds_no_identifier_of_the_originals(
    demo: Path, copied: tuple[Path, Any]
) -> None:
    out, result = copied
    identifiers = _identifiers(demo)
    assert len(identifiers) > 60  # names, contacts, NPIs, licenses, claim numbers, birth dates
    pattern = re.compile("|".join(rf"\b{re.escape(value)}\b" for value in identifiers), re.I)
    originals = "\n".join(p.read_text() for p in _files(demo) if p.suffix == ".yaml")
    missed = {v for v in identifiers if not re.search(rf"\b{re.escape(v)}\b", originals, re.I)}
    assert missed == set()  # the search finds every one of them in the originals
    texts = {path: path.read_text() for path in _files(out)}
    texts[out / "(stdout)"] = result.out
    leaks = {str(path): sorted(set(pattern.findall(text))) for path, text in texts.items()}
    assert {path: found for path, found in leaks.items() if found} == {}
    assert not any((out / "patients").glob("*/sent")) and not (out / "rendered").exists()


def _mapping(demo: Path) -> dict[str, str]:
    """The secret map of patient ids, recomputed from the seed as the export draws it."""
    patients = [p.name for p in (demo / "patients").iterdir()]
    return numbered(Keyed(SEED), patients, PATIENT_PREFIX, "p")


def test_original_dates_of_a_chart_are_all_shifted(demo: Path, copied: tuple[Path, Any]) -> None:
    out, _ = copied
    for old, new in _mapping(demo).items():
        offset = Keyed(SEED).patient_offset(old)
        assert offset < 0 and offset % 7 == 0
        original = {
            d for p in _files(demo / "patients" / old) for d in _DATE.findall(p.read_text())
        }
        copy = {d for p in _files(out / "patients" / new) for d in _DATE.findall(p.read_text())}
        # An original date may reappear only as another original date moved by the offset.
        assert {d for d in original & copy if shift_date(d, -offset) not in original} == set()
        assert {shift_date(d, offset) for d in original} >= copy


def _sessions(root: Path, patient: str) -> list[dict[str, Any]]:
    paths = sorted((root / "patients" / patient / "sessions").glob("*.yaml"))
    return [_load(path) for path in paths]


def _days(first: str, second: str) -> int:
    return (dt.date.fromisoformat(second[:10]) - dt.date.fromisoformat(first[:10])).days


def test_intervals_inside_each_chart_are_kept(demo: Path, copied: tuple[Path, Any]) -> None:
    out, _ = copied
    for old, new in _mapping(demo).items():
        before, after = _sessions(demo, old), _sessions(out, new)
        assert len(before) == len(after) > 0
        gaps = [_days(a["date"], b["date"]) for a, b in itertools.pairwise(before)]
        assert gaps == [_days(a["date"], b["date"]) for a, b in itertools.pairwise(after)]
        for was, now in zip(before, after, strict=True):
            assert now["id"] == now["date"] != was["date"]
            if "signature" in was:
                assert _days(was["date"], was["signature"]["at"]) == _days(
                    now["date"], now["signature"]["at"]
                )
        first, copy = (
            _load(demo / "patients" / old / "patient.yaml"),
            _load(out / "patients" / new / "patient.yaml"),
        )
        assert _days(first["date_of_birth"], first["intake_date"]) == _days(
            copy["date_of_birth"], copy["intake_date"]
        )


def _validate(root: Path) -> Any:
    return run_here("--root", str(root), "validate", "--today", TODAY, "--format", "json")


def test_the_copy_validates_and_renders(
    demo: Path, copied: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = copied
    copy = _validate(out)
    assert copy.code == 0 and copy.json()["ok"], copy
    assert not [p for p in copy.json()["problems"] if p["severity"] == "error"]
    # The warnings: the notes unsigned in the original are now long past the signing window.
    unsigned = [p for p in demo.glob("patients/*/sessions/*.yaml") if "signature" not in _load(p)]
    assert [p["rule"] for p in copy.json()["problems"]] == ["integrity/unsigned"] * len(unsigned)
    at = tmp_path / "rendered"  # not into the shared copy
    rendered = run_here(
        "--root", str(out), "render", "soap", "--all", "--format", "md", "--out", str(at)
    )
    assert rendered.code == 0, rendered
    notes = list(at.rglob("*.soap.md"))
    assert len(notes) == len(list(out.glob("patients/*/sessions/*.yaml")))
    for path in (*out.glob("therapists/*.yaml"), *out.glob("providers/*.yaml")):
        assert npi_valid(_load(path)["npi"])


def test_the_report_counts_fields_per_kind_without_values(copied: tuple[Path, Any]) -> None:
    out, result = copied
    summary = result.json()
    names = summary["fields"]["patient"]
    assert names["name.given"] == {"pseudonymised": summary["patients"]}
    assert names["contact.phone"]["removed"] > 0
    assert summary["fields"]["session"]["date"]["shifted"] == len(
        list(out.glob("patients/*/sessions/*.yaml"))
    )
    assert summary["not_copied"]["rendered documents"] > 0
    assert "| name.given | pseudonymised |" in (out / "DEIDENTIFICATION.md").read_text()


def _tree(root: Path) -> dict[str, bytes]:
    """Every file of a copy (not the caches later commands left in it)."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in _files(root)}
    return {rel: data for rel, data in files.items() if not rel.startswith(".medmassage-cache/")}


def test_the_same_seed_gives_the_same_copy_and_another_seed_another(
    demo: Path, copied: tuple[Path, Any]
) -> None:
    out, _ = copied
    again, other = demo.parent / "again", demo.parent / "other"
    assert _export(demo, again, "--seed", SEED).code == 0
    assert _export(demo, other, "--seed", "8").code == 0
    assert _tree(again) == _tree(out)
    assert _tree(other) != _tree(out)
    assert sorted(_tree(other)) != sorted(_tree(out))  # other dates: other file names


# Free text from the original records: what the patient said, what the therapist wrote.
_TEXT_FIELDS = {
    "sessions": (("subjective", "report"), ("objective", "findings"), ("response", "feedback"),
                 ("assessment", "summary")),
    "assessments": (("chief_complaint",), ("posture",), ("notes",)),
}  # fmt: skip


def _free_text(root: Path) -> set[str]:
    """The free text of the store's charts, at the field paths of _TEXT_FIELDS."""
    records = [(f, _load(p)) for f in _TEXT_FIELDS for p in root.glob(f"patients/*/{f}/*.yaml")]
    values = (_at(record, fields) for f, record in records for fields in _TEXT_FIELDS[f])
    return {value for value in values if isinstance(value, str)}


def test_free_text_is_dropped_unless_kept_with_a_warning(
    demo: Path, copied: tuple[Path, Any]
) -> None:
    out, result = copied
    texts = _free_text(demo)
    assert len(texts) > 50
    everything = "\n".join(_load_all(out))
    assert [t for t in texts if t in everything] == []
    assert "warning" not in result.err
    kept = demo.parent / "kept"
    with_text = _export(demo, kept, "--seed", SEED, "--keep-text")
    assert with_text.code == 0, with_text
    assert "--keep-text" in with_text.err and "warning" in with_text.err
    everything = "\n".join(_load_all(kept))
    assert [t for t in texts if t not in everything] == []


def _load_all(root: Path) -> Iterator[str]:
    """Every string value of every record of a copy (folded YAML read back as written)."""
    for path in root.rglob("*.yaml"):
        yield from _strings(_load(path))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_ages_over_89_are_grouped_and_a_telling_patient_id_renumbered(tmp_path: Path) -> None:
    store = _copy_demo(tmp_path / "store")
    (store / "patients" / "p-0001").rename(store / "patients" / "whitcombe")
    path = store / "patients" / "whitcombe" / "patient.yaml"
    original = _load(path)
    text = path.read_text().replace(original["date_of_birth"], "1931-02-10")
    path.write_text(text.replace("id: p-0001", "id: whitcombe"))
    assert _validate(store).json()["ok"]
    out = tmp_path / "copy"
    result = _export(store, out, "--seed", SEED, "--format", "json")
    assert result.code == 0, result
    assert result.json()["ages_grouped"] == 1
    olds = [p.name for p in (store / "patients").iterdir()]
    new = numbered(Keyed(SEED), olds, PATIENT_PREFIX, "p")
    assert sorted(new.values()) == sorted(p.name for p in (out / "patients").iterdir())
    assert not [p for p in _files(out) if "whitcombe" in p.read_text().lower()]
    copy = _load(out / "patients" / new["whitcombe"] / "patient.yaml")
    days = [copy["intake_date"], *(s["date"] for s in _sessions(out, new["whitcombe"]))]
    born = copy["date_of_birth"]
    assert age_on(born, min(days)) == 90 <= age_on(born, max(days)) < 92
    assert all("date" not in item for item in copy["medical_history"].get("surgeries", []))
    assert all("date" not in item for item in copy["medical_history"].get("injuries", []))
    for old in olds:  # everyone else keeps their age at intake
        if old != "whitcombe":
            was = _load(store / "patients" / old / "patient.yaml")
            now = _load(out / "patients" / new[old] / "patient.yaml")
            assert age_on(was["date_of_birth"], was["intake_date"]) == age_on(
                now["date_of_birth"], now["intake_date"]
            )


def test_a_store_with_errors_is_not_exported(tmp_path: Path) -> None:
    store = _copy_demo(tmp_path / "store")
    session = sorted(store.glob("patients/p-0002/sessions/*.yaml"))[0]
    session.write_text(session.read_text().replace("duration_minutes:", "duration_minute:"))
    out = tmp_path / "copy"
    result = _export(store, out)
    assert result.code == 1, result
    assert session.relative_to(store).as_posix() in result.err and "not exported" in result.err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def _schema_paths(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    ref = node.get("$ref", "")
    if ref.endswith(("/address", "/signature", "/rom_entry", "/palpation_entry")):
        node = raw_schema("vocabulary")["$defs"][ref.rsplit("/", 1)[1]]
    for key, child in node.get("properties", {}).items():
        yield from _schema_paths(child, (*path, key))
    if "items" in node:
        yield from _schema_paths(node["items"], (*path, "*"))
    for option in node.get("anyOf", ()):
        yield from _schema_paths(option, path)
    if not node.get("properties") and "items" not in node and "anyOf" not in node:
        yield path, node


def test_every_field_of_every_schema_has_an_action() -> None:
    for kind in kinds.names():
        for path, node in _schema_paths(raw_schema(kind), ()):
            assert action_for(kind, path, node)  # KeyError for an id field not handled


_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


@given(_dates, _dates, st.integers(-5000, 5000))
def test_shifting_keeps_intervals_and_undoes(first: dt.date, second: dt.date, days: int) -> None:
    a, b = first.isoformat(), second.isoformat()
    assert _days(shift_date(a, days), shift_date(b, days)) == _days(a, b)
    assert shift_date(shift_date(a, days), -days) == a
    assert shift_date_id(f"{a}-3", days) == f"{shift_date(a, days)}-3"
    stamp = f"{a}T08:40:00-08:00"
    assert shift_datetime(stamp, days) == f"{shift_date(a, days)}T08:40:00-08:00"


@given(st.text(alphabet="0123456789-", max_size=12))
def test_zip_codes_keep_at_most_three_digits(code: str) -> None:
    found = zip3(code)
    if re.fullmatch(r"\d{5}(-?\d{4})?", code):
        assert found == ("000" if code[:3] in RESTRICTED_ZIP3 else code[:3])
    else:
        assert found is None


@given(st.text(max_size=8))
def test_offsets_move_dates_back_by_whole_weeks(seed: str) -> None:
    keyed = Keyed(seed)
    store, patient = keyed.store_offset(), keyed.patient_offset("p-0001")
    assert patient <= store <= -364 and store % 7 == patient % 7 == 0
    assert json.dumps(Keyed(seed).patient_offset("p-0001")) == json.dumps(patient)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_documents_sent_stay_behind_and_their_log_is_kept_without_file(tmp_path: Path) -> None:
    import subprocess

    store = _copy_demo(tmp_path / "store")
    for args in (("init", "-q"), ("config", "user.name", "Clinic"),
                 ("config", "user.email", "clinic@example.org"), ("add", "."),
                 ("commit", "-qm", "demo")):  # fmt: skip
        subprocess.run(["git", "-C", str(store), *args], check=True, capture_output=True)
    referral = _load(sorted(store.glob("patients/p-0005/referrals/*.yaml"))[-1])
    sent = run_here("--root", str(store), "send", "physician-update", "p-0005", "--via", "fax",
                   "--to", referral["provider"], "--at", f"{TODAY}T16:30:00-08:00",
                   "--today", TODAY)  # fmt: skip
    assert sent.code == 0, sent
    log = _load(next(store.glob("patients/p-0005/updates/*.yaml")))
    out = tmp_path / "copy"
    result = _export(store, out, "--seed", SEED, "--format", "json")
    assert result.code == 0, result
    assert result.json()["not_copied"] == {"sent documents": 1}
    assert not list(out.glob("patients/*/sent"))
    [copy] = [_load(p) for p in out.glob("patients/*/updates/*.yaml")]
    assert "file" not in copy and "sha256" not in copy and copy["via"] == log["via"]
    assert _days(copy["period"]["from"], copy["period"]["to"]) == _days(
        log["period"]["from"], log["period"]["to"]
    )
    assert len(copy["sessions"]) == len(log["sessions"]) and copy["by"].startswith("therapist-")
    assert _validate(out).json()["ok"]


def test_a_failure_midway_leaves_no_half_written_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medmassage.errors import WriteError
    from medmassage.export import deid, output
    from medmassage.store import Store

    store = _copy_demo(tmp_path / "store")
    written: list[Path] = []
    real_write = output._write_file

    def failing(path: Path, data: bytes) -> None:
        if len(written) == 40:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(output, "_write_file", failing)
    with pytest.raises(WriteError, match="the disk is full; nothing was written"):
        deid.export_deid(Store(store), str(tmp_path / "copy"), SEED, today=TODAY)
    assert len(written) == 40 and not any(path.exists() for path in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_identifiers_in_any_script_leave_no_letter_or_digit_of_theirs(tmp_path: Path) -> None:
    store = _copy_demo(tmp_path / "store")
    patient = store / "patients" / "p-0002" / "patient.yaml"
    written = {"member_id": "ÅSTRÖM-Łukasz-٣٤٥", "group": "Ñandú 12"}
    text = patient.read_text()
    for field_name, value in written.items():
        text = re.sub(rf"(?m)^  {field_name}: .*$", f'  {field_name}: "{value}"', text)
    patient.write_text(text)
    therapist = sorted(store.glob("therapists/*.yaml"))[0]
    license_number = _load(therapist)["license"]["number"]
    therapist.write_text(therapist.read_text().replace(license_number, "LMT Renée Okafor 19427"))
    assert _validate(store).json()["ok"]
    out = tmp_path / "copy"
    assert _export(store, out, "--seed", SEED).code == 0
    copies = [_load(p) for p in out.glob("patients/*/patient.yaml")]
    insurance = [c["insurance"] for c in copies if "member_id" in c.get("insurance", {})]
    everything = "\n".join(_load_all(out))
    for word in ("ÅSTRÖM", "Łukasz", "Ñandú", "Renée", "Okafor", "٣٤٥"):
        assert word.lower() not in everything.lower(), word
    assert not [c for c in everything if c.isalnum() and not c.isascii()]
    member = next(i["member_id"] for i in insurance if len(i["member_id"]) == 17)
    assert re.fullmatch(r"[A-Z]{6}-[A-Z][a-z]{5}-\d{3}", member), member
    licenses = [_load(p)["license"]["number"] for p in out.glob("therapists/*.yaml")]
    assert any(re.fullmatch(r"LMT [A-Z][a-z]{4} [A-Z][a-z]{5} \d{5}", n) for n in licenses)


@example("A ", True)
@given(st.text(max_size=16), st.booleans())
def test_an_identifier_pseudonym_keeps_its_shape_and_no_character_of_its_own(
    original: str, license_number: bool
) -> None:
    from medmassage.export.deid_ids import Pseudonyms

    made = Pseudonyms(Keyed(SEED)).identifier(original, keep_letters=license_number)
    if not any(c.isalnum() for c in original):
        assert made == "[removed]"
        return
    assert made != original and all(c.isascii() for c in made if c.isalnum())
    kept = re.match(r"[A-Z]{1,6}(?:[ -]|(?=\d))", original) if license_number else None
    # A credential prefix stays only when some of the number follows it.
    start = kept.end() if kept and any(c.isalnum() for c in original[kept.end() :]) else 0
    assert made[:start] == original[:start] and len(made) == len(original)
    for mine, theirs in zip(made[start:], original[start:], strict=True):
        assert mine == theirs if not theirs.isalnum() else mine.isascii() and mine.isalnum()


def test_a_state_field_keeps_a_state_and_nothing_smaller(tmp_path: Path) -> None:
    store = _copy_demo(tmp_path / "store")
    patient = store / "patients" / "p-0002" / "patient.yaml"
    patient.write_text(re.sub(r"(?m)^(    state:) .*$", r"\1 Lane County", patient.read_text()))
    provider = sorted(store.glob("providers/*.yaml"))[0]
    provider.write_text(re.sub(r"(?m)^(  state:) .*$", r"\1 Oregon", provider.read_text()))
    therapist = sorted(store.glob("therapists/*.yaml"))[0]
    license = re.compile(r"(?m)^(  jurisdiction:) .*$")
    therapist.write_text(license.sub(r"\1 Eugene city board", therapist.read_text()))
    assert _validate(store).json()["ok"]
    out = tmp_path / "copy"
    result = _export(store, out, "--seed", SEED, "--format", "json")
    assert result.code == 0, result
    everything = "\n".join(_load_all(out))
    assert "Lane County" not in everything and "Eugene" not in everything
    states = {
        _load(p)["contact"]["address"].get("state") for p in out.glob("patients/*/patient.yaml")
    }
    kept = {s for s in states if s is not None}
    originals = {
        _load(p)["contact"]["address"]["state"] for p in store.glob("patients/*/patient.yaml")
    }
    assert kept == originals - {"Lane County"} and None in states  # one state removed
    assert "Oregon" in {_load(p)["address"].get("state") for p in out.glob("providers/*.yaml")}
    jurisdictions = {_load(p)["license"]["jurisdiction"] for p in out.glob("therapists/*.yaml")}
    assert "[removed]" in jurisdictions
    fields = result.json()["fields"]
    assert fields["patient"]["contact.address.state"] == {"removed (not a state)": 1}
    assert _validate(out).json()["ok"]


def test_a_goal_label_that_tells_something_is_renumbered(tmp_path: Path) -> None:
    store = _copy_demo(tmp_path / "store")
    told = "back-to-whitcombe-warehouse"
    chart = store / "patients" / "p-0002"
    for path in [*chart.glob("plans/*.yaml"), *chart.glob("sessions/*.yaml")]:
        text = re.sub(r"(?m)^(  - id|    - goal): g1$", rf"\1: {told}", path.read_text())
        old = re.search(r'(?m)^  sha256: "(\w+)"$', text)
        if old:  # the note sealed again, as if it had been signed so
            new = fingerprint(parse_text(text, path.name))
            text = text.replace(old.group(1), new)
        path.write_text(text)
    assert told in "".join(p.read_text() for p in chart.rglob("*.yaml"))
    assert _validate(store).json()["ok"]
    out = tmp_path / "copy"
    assert _export(store, out, "--seed", SEED).code == 0
    assert not [p for p in _files(out) if "whitcombe" in p.read_text()]
    copy = _validate(out).json()
    assert copy["ok"] and not [p for p in copy["problems"] if p["rule"].startswith("ref/")]
    new = _mapping(store)["p-0002"]
    [plan] = [_load(p) for p in (out / "patients" / new / "plans").glob("*.yaml")]
    labels = [goal["id"] for goal in plan["goals"]]
    assert all(re.fullmatch(r"g\d+", label) for label in labels) and len(set(labels)) == len(labels)
