"""`render` never keeps a stale document: after any change to a record a document reads
(an earlier visit added, a visit deleted, the referral, a provider, a therapist, the
patient, the settings, an attendance record, a plan), rendering again into the same
folder gives byte for byte what a render into an empty folder gives, and the documents
that show the change are altered. A SOAP note's "visit N of M" counts every visit under
its referral, so a visit added before it, or one deleted, changes it; the numbers
expected are counted here from the session files.

Through the command line, in this process (Click's runner), on copies of the demo clinic
cut to the charts a change needs (the render cache decides per document and chart, so
other charts add only time): p-0001 (active; most changes are to it), p-0002 (discharged,
for the episode's letters) and p-0005, which no change to a patient's folder touches and
which must then not even be loaded again. The cache's decision is not per format either
(every format of a document is written from one context): one change is rendered in
every format, the others in html alone (the only format with the practice's letterhead),
the SOAP numbering in md. Changes on the same charts are made one after another on one
copy, each starting from the last one's render into empty folders. The caches trust files
at once (no one-second window to wait out)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, run_here
from hypothesis import given
from hypothesis import strategies as st
from render_deps_support import (
    copy_clinic,
    load,
    replace,
    rewrite,
    spy_loads,
    tree,
)

from medmassage.documents import DOCUMENTS
from medmassage.render.cache import rows_of, runs

# The charts copied: the one most changes touch, the discharged one (the episode's
# letters), and one no change to a patient's folder touches.
P1, P2, OTHER = "p-0001", "p-0002", "p-0005"
PATIENT1 = "patients/p-0001"
VISIT = re.compile(r"visit (\d+) of (\d+)")


def render(root: Path, document: str, out: Path, fmt: str = "md") -> None:
    """`render DOCUMENT --all --status any --format FMT --out OUT`, which must succeed."""
    got = run_here(
        "--root", str(root), "render", document, "--all", "--status", "any",
        "--format", fmt, "--out", str(out),
    )  # fmt: skip
    assert got.code == 0, (document, got)


@pytest.fixture
def clinic(tmp_path: Path, trusting: None) -> Path:
    """A private copy of the demo clinic, cut to p-0001 (what the tests using it read)."""
    return copy_clinic(tmp_path / "store", (P1,))


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    return spy_loads(monkeypatch)


# -- what the notes should say, counted from the records ----------------------------------


def expected_visits(root: Path, patient: str) -> dict[str, str]:
    """Each visit's 'visit N of M' from the files: the patient's sessions in date order
    (then id), numbered under the referral of each one's plan, M its visits authorized."""
    folder = root / "patients" / patient
    sessions = [load(p) for p in sorted((folder / "sessions").glob("*.yaml"))]
    sessions.sort(key=lambda s: (str(s["date"]), str(s["id"])))
    counted: dict[str, int] = {}
    found = {}
    for session in sessions:
        plan = load(folder / "plans" / f"{session['treatment_plan']}.yaml")
        referral = load(folder / "referrals" / f"{plan['referral']}.yaml")
        counted[str(referral["id"])] = counted.get(str(referral["id"]), 0) + 1
        number = counted[str(referral["id"])]
        found[str(session["id"])] = f"visit {number} of {referral['visits_authorized']}"
    return found


def shown_visits(out: Path, patient: str) -> dict[str, str]:
    """Each rendered note's 'visit N of M' (md)."""
    found = {}
    for path in sorted((out / patient).glob("*.soap.md")):
        match = VISIT.search(path.read_text())
        assert match, path
        found[path.name.removesuffix(".soap.md")] = match.group(0)
    return found


def session_files(root: Path, patient: str = "p-0001") -> list[Path]:
    return sorted((root / "patients" / patient / "sessions").glob("*.yaml"))


# -- the changes ----------------------------------------------------------------------------


def earlier_visit(root: Path) -> None:
    """A visit on the day after the first, added after the later ones were written: a copy
    of the second visit with its own id, date and report, unsigned."""
    first, second = session_files(root)[:2]
    day = load(first)["date"]
    new = str(day.fromordinal(day.toordinal() + 1))
    assert new < str(load(second)["date"])
    text = second.read_text().split("\nsignature:\n")[0] + "\n"
    old = str(load(second)["date"])
    text = text.replace(f"id: {old}", f"id: {new}", 1).replace(f"date: {old}", f"date: {new}", 1)
    text = text.replace("report: >-\n", "report: >-\n    Came in early for the back.\n", 1)
    rewrite(second.with_name(f"{new}.yaml"), text)


def deleted_visit(root: Path) -> None:
    """The second visit deleted."""
    session_files(root)[1].unlink()


def later_visit(root: Path) -> None:
    """A visit after the last, giving a new home program."""
    last = session_files(root)[-1]
    data = load(last)
    day = data["date"]
    new = str(day.fromordinal(day.toordinal() + 2))
    text = last.read_text().split("\nsignature:\n")[0] + "\n"
    text = text.replace(f"id: {day}", f"id: {new}", 1).replace(f"date: {day}", f"date: {new}", 1)
    first = data["plan"]["home_care"][0]
    text = text.replace(first, "Walk for 20 minutes every evening", 1)
    text = text.replace("report: >-\n", "report: >-\n    Back much easier this week.\n", 1)
    rewrite(last.with_name(f"{new}.yaml"), text)


def referral_visits(root: Path) -> None:
    """The referral's visits authorized raised by four."""
    path = next((root / PATIENT1 / "referrals").glob("*.yaml"))
    authorized = load(path)["visits_authorized"]
    replace(path, f"visits_authorized: {authorized}", f"visits_authorized: {authorized + 4}")


def provider_name(root: Path) -> None:
    """The referring provider's name changed."""
    replace(root / "providers/dr-lena-hartwell.yaml", "name: Lena Hartwell", "name: Lena Marsh")


def therapist_name(root: Path) -> None:
    """The therapists' names changed (p-0001's, and p-0002's, who wrote its progress report)."""
    replace(root / "therapists/amara-okafor.yaml", "name: Amara Okafor", "name: Amara Quist")
    replace(root / "therapists/mateo-lindqvist.yaml", "name: Mateo Lindqvist", "name: Mateo Berg")


def practice_phone(root: Path) -> None:
    """The practice's phone number in the settings changed."""
    replace(root / "medmassage.yaml", 'phone: "541-555-0140"', 'phone: "541-555-0199"')


def patient_name(root: Path) -> None:
    """Patients' family names changed (an active one, and the discharged one)."""
    for patient in ("p-0001", "p-0002"):
        path = root / "patients" / patient / "patient.yaml"
        family = load(path)["name"]["family"]
        replace(path, f"family: {family}", f"family: {family}-Ames")


def no_show(root: Path) -> None:
    """A no-show recorded on a day between two visits."""
    source = next((root / PATIENT1 / "attendance").glob("*.yaml"))
    old = str(load(source)["date"])
    first = load(session_files(root)[0])["date"]
    new = str(first.fromordinal(first.toordinal() + 2))
    text = source.read_text().replace(f"id: {old}", f"id: {new}", 1)
    text = text.replace(f"date: {old}", f"date: {new}", 1).replace("cancelled", "no_show", 1)
    rewrite(source.with_name(f"{new}.yaml"), text)


def plan_minutes(root: Path) -> None:
    """The minutes a visit of the patient's plans lasts cut by 15."""
    for path in (root / PATIENT1 / "plans").glob("*.yaml"):
        minutes = load(path)["session_minutes"]
        text = path.read_text().replace(
            f"session_minutes: {minutes}", f"session_minutes: {minutes - 15}", 1
        )
        rewrite(path, text)


def discharged_pain(root: Path) -> None:
    """The discharged patient's last visit: pain before treatment one point lower (the
    note unsigned again, as a correction before signing would leave it)."""
    last = session_files(root, "p-0002")[-1]
    pain = load(last)["subjective"]["pain"]
    text = last.read_text().split("\nsignature:\n")[0] + "\n"
    assert f"  pain: {pain}\n" in text
    rewrite(last, text.replace(f"  pain: {pain}\n", f"  pain: {pain - 1}\n", 1))


UPDATE, SOAP, BILL = "physician-update", "soap", "superbill"
EPISODE = (UPDATE, "progress-report", "discharge-summary")
# Each change, and the documents that show what it changes (each reads it: a new visit
# has its own note and superbill; the update counts visits and attendance; the plan's
# minutes are proposed on the referral form; the discharged patient's last visit is in
# the episode's letters): their files must change, and equal a fresh render.
CHANGES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "earlier_visit": (earlier_visit, (SOAP, BILL, UPDATE)),
    "deleted_visit": (deleted_visit, (SOAP, UPDATE)),
    "later_visit": (later_visit, (SOAP, BILL, UPDATE, "home-care")),
    "referral_visits": (referral_visits, (SOAP, UPDATE)),
    "provider_name": (provider_name, tuple(DOCUMENTS)),
    "therapist_name": (therapist_name, (SOAP, BILL, "plan-of-care", *EPISODE[:2])),
    "practice_phone": (practice_phone, tuple(DOCUMENTS)),
    "patient_name": (patient_name, tuple(DOCUMENTS)),
    "no_show": (no_show, (UPDATE,)),
    "plan_minutes": (plan_minutes, ("plan-of-care", "referral-form", UPDATE)),
    "discharged_pain": (discharged_pain, (SOAP, *EPISODE)),
}

# The changes made one after another on one copy: each after a full render of the store as
# the one before left it (that change's render into an empty folder), so each is rendered
# twice, not three times. The charts copied: for a change to one patient's folder, theirs and
# one it leaves alone (p-0001 for the discharged one's); for a change to both (or elsewhere),
# the two, which between them show it in every document declared (a third would add only
# time: the cache decides per chart).
# The format: html (the settings' phone is in its letterhead), but every format for one
# change that every document shows in each (alone: its starting render must be in every
# format too, or the files of the formats it lacks would be new, not altered). The deletion
# comes first, so that the visit deleted is one of the demo's, signed, not one a change added.
CHAINS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "one_chart": (
        (P1, OTHER),
        "html",
        (
            "deleted_visit",
            "earlier_visit",
            "later_visit",
            "referral_visits",
            "no_show",
            "plan_minutes",
        ),
    ),
    "two_charts": (
        (P1, P2),
        "html",
        ("provider_name", "therapist_name", "practice_phone", "discharged_pain"),
    ),
    "every_format": ((P1, P2), "all", ("patient_name",)),
}


def valid(root: Path) -> None:
    """The store still validates without errors."""
    got = run_here("--root", str(root), "validate", "--today", TODAY, "--no-cache")
    assert got.code == 0, got.out


def records(root: Path) -> dict[str, bytes]:
    """Every file of the store but its caches, with its bytes."""
    return {k: v for k, v in tree(root).items() if not k.startswith(".medmassage-cache/")}


def spared(root: Path, change: Callable[[Path], None]) -> tuple[set[str], set[str]]:
    """Make the change; returns the charts whose folder it changed, and those it left
    alone when it changed nothing outside patients' folders (else none)."""
    was = records(root)
    change(root)
    now = records(root)
    changed = {rel for rel in was.keys() | now.keys() if was.get(rel) != now.get(rel)}
    assert changed
    touched = {rel.split("/")[1] for rel in changed if rel.startswith("patients/")}
    if any(not rel.startswith("patients/") for rel in changed):
        return touched, set()
    return touched, {p.name for p in (root / "patients").iterdir()} - touched


def render_all(root: Path, out: Path, fmt: str) -> None:
    for name in DOCUMENTS:
        render(root, name, out / name, fmt)


def rerender(
    root: Path,
    out: Path,
    fresh: Path,
    change: Callable[[Path], None],
    loaded: list[Any],
    fmt: str,
) -> dict[str, set[str]]:
    """`out` holds a render of every document into an empty folder (`render_all`): make
    the change, render again into the same folders: each equals a render into an empty
    folder (`fresh`; files of documents no longer made stay as they were), the charts
    changed are loaded again, and a chart the change left alone is not (for a document
    that wrote any file). Returns, per document, the files altered."""
    before = {name: tree(out / name) for name in DOCUMENTS}
    touched, alone = spared(root, change)
    valid(root)
    loaded.clear()
    render_all(root, out, fmt)
    # A document that wrote no file at all has no folder, so nothing is remembered for it.
    kept = [(name, p) for name, p in loaded if p in alone and (out / name).is_dir()]
    assert touched <= {patient for _, patient in loaded} and kept == [], (touched, loaded)
    altered = {}
    for name in DOCUMENTS:
        render(root, name, fresh / name, fmt)
        after, clean = tree(out / name), tree(fresh / name)
        assert {k: after.get(k) for k in clean} == clean, name
        assert {k: after[k] for k in after if k not in clean} == {
            k: before[name].get(k) for k in after if k not in clean
        }, name
        altered[name] = {k for k in clean if before[name].get(k) != clean[k]}
    return altered


# -- the tests ------------------------------------------------------------------------------


def test_an_earlier_visit_added_renumbers_the_later_notes(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered" / "soap"
    render(clinic, "soap", out)
    before = expected_visits(clinic, "p-0001")
    assert shown_visits(out, "p-0001") == before
    earlier_visit(clinic)
    valid(clinic)
    render(clinic, "soap", out)
    after = expected_visits(clinic, "p-0001")
    later = sorted(before)[1:]
    assert [s for s in later if after[s] == before[s]] == []  # each later note renumbered
    assert shown_visits(out, "p-0001") == after
    render(clinic, "soap", tmp_path / "fresh")
    assert tree(out) == tree(tmp_path / "fresh")


def test_a_note_named_alone_is_renumbered_too(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered" / "soap"
    render(clinic, "soap", out)
    last = session_files(clinic)[-1].stem
    earlier_visit(clinic)
    named = f"p-0001/{last}"
    got = run_here(
        "--root", str(clinic), "render", "soap", named, "--format", "md", "--out", str(out)
    )
    assert got.code == 0, got.err
    assert shown_visits(out, "p-0001")[last] == expected_visits(clinic, "p-0001")[last]
    render(clinic, "soap", tmp_path / "fresh")
    name = f"{named}.soap.md"
    assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_a_deleted_visit_renumbers_the_later_notes(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered" / "soap"
    render(clinic, "soap", out)
    before = expected_visits(clinic, "p-0001")
    gone = session_files(clinic)[1].stem
    deleted_visit(clinic)
    render(clinic, "soap", out)
    after = expected_visits(clinic, "p-0001")
    assert [s for s in sorted(after)[1:] if after[s] == before[s]] == []
    shown = shown_visits(out, "p-0001")
    assert shown.pop(gone) == before[gone]  # the deleted visit's note is left as it was
    assert shown == after
    render(clinic, "soap", tmp_path / "fresh")
    left, clean = tree(out), tree(tmp_path / "fresh")
    assert {k: left[k] for k in clean} == clean


def test_the_referral_s_visits_authorized_reach_every_note(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered" / "soap"
    render(clinic, "soap", out)
    referral_visits(clinic)
    render(clinic, "soap", out)
    assert shown_visits(out, "p-0001") == expected_visits(clinic, "p-0001")
    render(clinic, "soap", tmp_path / "fresh")
    assert tree(out) == tree(tmp_path / "fresh")


def test_a_provider_renamed_is_renamed_in_the_letter(clinic: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered" / "update"
    render(clinic, "physician-update", out)
    letters = sorted((out / "p-0001").glob("*.physician-update.md"))
    assert letters and "Lena Hartwell" in letters[0].read_text()
    provider_name(clinic)
    render(clinic, "physician-update", out)
    text = letters[0].read_text()
    assert "Lena Marsh" in text and "Lena Hartwell" not in text
    render(clinic, "physician-update", tmp_path / "fresh")
    assert tree(out) == tree(tmp_path / "fresh")


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_every_document_after_a_change_equals_a_fresh_render(
    tmp_path: Path, trusting: None, loaded: list[Any], chain: str
) -> None:
    """The changes of a chain in turn, on its charts and in its format: the cache decides
    for a document and chart, whatever the formats asked for."""
    charts, fmt, changes = CHAINS[chain]
    root = copy_clinic(tmp_path / "store", charts)
    out = tmp_path / "rendered-0"
    render_all(root, out, fmt)
    for step, change in enumerate(changes, 1):
        edit, shown_in = CHANGES[change]
        fresh = tmp_path / f"rendered-{step}"
        altered = rerender(root, out, fresh, edit, loaded, fmt)
        assert [name for name in shown_in if not altered[name]] == [], change
        if fmt == "all":  # each of md, html and txt (csv rows name no patient)
            seen = {name: {k.rsplit(".", 1)[1] for k in files} for name, files in altered.items()}
            assert [name for name in shown_in if not seen[name] >= {"md", "html", "txt"}] == []
        out = fresh  # the store as this change left it, rendered into empty folders


def test_every_document_kind_has_a_change_it_shows() -> None:
    assert set(DOCUMENTS) == {name for _, shown_in in CHANGES.values() for name in shown_in}


def test_every_change_is_made_once() -> None:
    made = [change for _, _, changes in CHAINS.values() for change in changes]
    assert sorted(made) == sorted(CHANGES)


# -- how the rows a document is drawn from are kept ---------------------------------------


@given(st.sets(st.integers(min_value=0, max_value=300)))
def test_rows_kept_as_runs_read_back_the_same(rows: set[int]) -> None:
    ordered = sorted(rows)
    assert rows_of(runs(ordered), 301, empty=True) == ordered


@given(st.lists(st.one_of(st.integers(-5, 400), st.booleans(), st.none(), st.text(max_size=2))))
def test_rows_of_refuses_anything_but_ascending_runs_in_range(encoded: list[Any]) -> None:
    """A tampered cache: whatever the list holds, it reads as rows within range or not at all."""
    try:
        rows = rows_of(encoded, 301)
    except ValueError:
        return
    assert rows and rows == sorted(set(rows)) and rows[0] >= 0 and rows[-1] < 301
    assert rows_of(runs(rows), 301) == rows
