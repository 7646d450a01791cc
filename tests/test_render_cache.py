"""`render` is incremental and parallel, and neither ever changes what comes out: an
unchanged document is not rendered again, a changed input or template renders exactly
what it touches, a damaged cache is ignored, and the errors that hold a document back
are judged afresh on every run."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RACY_ENV, TODAY, edit_after_reading, run_cli, run_here

from medmassage.render.batch import Batch, Outcome
from medmassage.render.request import Request, Target
from medmassage.store import Store
from medmassage.store import cache as store_cache

FIXTURE = Path(__file__).parent / "data" / "render" / "store"
FORMATS = ("md", "html", "txt")
SESSION = "patients/p-0001/sessions/2026-04-02.yaml"


@pytest.fixture
def clinic(tmp_path: Path, trusting: None) -> Path:
    """A private copy of the small render fixture store (3 patients, 8 sessions); the
    caches trust its files at once (no one-second window to wait out)."""
    target = tmp_path / "clinic"
    shutil.copytree(FIXTURE, target)
    return target


def render(
    root: Path,
    document: str = "soap",
    today: str = TODAY,
    jobs: int | None = None,
    use_cache: bool = True,
    out: Path | None = None,
    **options: Any,
) -> Outcome:
    """`render DOCUMENT --all` in this process, to see which documents were rendered."""
    request = Request(document, all=True, formats=options.pop("formats", FORMATS), **options)
    plan = Batch(Store(root.resolve()), request, today=today, jobs=jobs, use_cache=use_cache).plan(
        out or root / "rendered"
    )
    for _ in plan:
        pass
    return plan.outcome


def outputs(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder`: its bytes and mtime."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sessions(root: Path) -> list[Target]:
    return [
        Target(p.parent.parent.name, p.stem)
        for p in sorted(root.glob("patients/*/sessions/*.yaml"))
    ]


def test_nothing_changed_renders_nothing_and_reports_the_same_paths(clinic: Path) -> None:
    # The command in this process, like the direct renders below: the cache keys hold a
    # digest of the code, which a checkout edited while the suite runs would change between
    # a new process and this one.
    first = run_here("--root", str(clinic), "render", "soap", "--all")
    assert first.code == 0, first
    before = outputs(clinic / "rendered")
    assert len(before) == 3 * 8
    again = run_here("--root", str(clinic), "render", "soap", "--all")
    assert again.code == 0 and again.out == first.out and again.err == "", again
    assert outputs(clinic / "rendered") == before  # same bytes, same mtimes: nothing written
    outcome = render(clinic)
    assert outcome.rendered == [] and [Path(p) for p in outcome.written] == [
        Path(line) for line in first.out.splitlines()
    ]


def test_a_changed_session_renders_exactly_that_note(
    clinic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert render(clinic).rendered == sessions(clinic)
    before = outputs(clinic / "rendered")
    monkeypatch.setenv(RACY_ENV, "1")  # the real window: a file just changed is not trusted
    path = clinic / SESSION
    path.write_text(path.read_text().replace("Neck feels tight", "Neck feels stiff", 1))
    outcome = render(clinic)
    assert outcome.rendered == [Target("p-0001", "2026-04-02")]
    after = outputs(clinic / "rendered")
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == [f"p-0001/2026-04-02.soap.{ext}" for ext in sorted(FORMATS)]
    assert b"Neck feels stiff" in after["p-0001/2026-04-02.soap.md"][0]
    # Seen two seconds later, the note is rendered once more (it was too new to be
    # remembered), and from then on it is remembered.
    later = time.time_ns() + 2_000_000_000
    monkeypatch.setattr(store_cache, "clock", lambda: later)
    assert render(clinic).rendered == [Target("p-0001", "2026-04-02")]
    assert render(clinic).rendered == []


def test_a_session_edited_while_render_reads_it_is_judged_and_rendered_again(
    monkeypatch: pytest.MonkeyPatch, clinic: Path
) -> None:
    """Both caches remember what was read under the identities taken before reading: an
    edit landing after the read is seen by the next validate and the next render."""
    import medmassage.render.jobs as render_batch

    real_check = edit_after_reading(monkeypatch, render_batch, clinic / SESSION, SESSION)
    first = render(clinic, jobs=1)
    assert first.rendered == sessions(clinic) and not any(first.held.values())
    monkeypatch.setattr(render_batch, "check_chart", real_check)
    checked = run_cli("--root", str(clinic), "validate", "--format", "json", "--today", TODAY)
    assert (SESSION, "schema/maximum") in {
        (p["file"], p["rule"]) for p in checked.json()["problems"]
    }, checked
    again = render(clinic, jobs=1)
    assert [p.rule for p in again.held[Target("p-0001", "2026-04-02")]] == ["schema/maximum"]


def test_a_second_run_in_one_process_checks_the_output_folders_again(
    clinic: Path, tmp_path: Path
) -> None:
    """What one run learnt about the output folders (made, not symlinks) is not trusted by
    the next: a folder removed in between is made again, one replaced by a symlink refused."""
    from medmassage.errors import WriteError

    out = tmp_path / "out"
    first = render(clinic, out=out)
    shutil.rmtree(out)
    again = render(clinic, out=out)
    assert again.rendered == first.rendered and all(Path(p).is_file() for p in again.written)
    elsewhere = tmp_path / "elsewhere"
    (out / "p-0001").rename(elsewhere)
    (out / "p-0001").symlink_to(elsewhere, target_is_directory=True)
    for path in elsewhere.iterdir():
        path.unlink()
    with pytest.raises(WriteError, match="outside"):
        render(clinic, out=out)
    assert list(elsewhere.iterdir()) == []


def test_a_new_addendum_renders_the_notes_of_its_patient_again(clinic: Path) -> None:
    render(clinic)
    (clinic / "patients/p-0001/addenda/2026-03-20.yaml").write_text(
        "id: 2026-03-20\nrefers_to: 2026-03-12\nkind: addendum\n"
        'written_at: "2026-03-20T09:00:00-05:00"\nauthor: amara-okafor\n'
        "reason: Home care was discussed.\ntext: Shown chin tucks again at the desk.\n"
    )
    outcome = render(clinic)
    assert outcome.rendered == [
        t for t in sessions(clinic) if t.patient == "p-0001"
    ]  # any note may be the one referred to
    assert outcome.held[Target("p-0001", "2026-03-12")] == []
    assert "Shown chin tucks again" in (clinic / "rendered/p-0001/2026-03-12.soap.md").read_text()


def test_physician_updates_are_incremental_too(clinic: Path) -> None:
    first = render(clinic, "physician-update")
    assert first.rendered == [Target("p-0001"), Target("p-0002")]  # p-0003 is discharged
    assert render(clinic, "physician-update").rendered == []
    path = clinic / SESSION
    path.write_text(path.read_text().replace("Neck feels tight", "Neck feels stiff", 1))
    again = render(clinic, "physician-update")
    assert again.rendered == [Target("p-0001")] and again.written == first.written
    set_consent = clinic / "patients/p-0002/patient.yaml"
    set_consent.write_text(
        set_consent.read_text().replace("share_with_providers: true", "share_with_providers: false")
    )
    skipped = render(clinic, "physician-update")
    assert skipped.skipped == [
        "p-0002: no physician update, the patient has not consented to sharing with providers"
    ]
    cached = render(clinic, "physician-update")
    assert (
        cached.rendered == []
        and cached.skipped == skipped.skipped
        and cached.written == skipped.written
    )


def test_a_changed_store_template_renders_every_document_of_it_again(clinic: Path) -> None:
    render(clinic, formats=("md",))
    (clinic / "templates").mkdir()
    (clinic / "templates" / "soap.md.j2").write_text(
        "Custom note for {{ patient.id }} on {{ session.date }}\n"
    )
    outcome = render(clinic, formats=("md",))
    assert outcome.rendered == sessions(clinic)
    assert (
        clinic / "rendered/p-0001/2026-04-02.soap.md"
    ).read_text() == "Custom note for p-0001 on 2026-04-02\n"
    assert render(clinic, formats=("md",)).rendered == []


def test_a_changed_or_missing_output_is_rendered_again(clinic: Path) -> None:
    render(clinic, formats=("md",))
    note = clinic / "rendered/p-0001/2026-04-02.soap.md"
    good = note.read_bytes()
    note.write_bytes(good.replace(b"Neck", b"Back", 1))  # same size, new mtime
    gone = clinic / "rendered/p-0002/2026-05-11.soap.md"
    gone.unlink()
    outcome = render(clinic, formats=("md",))
    assert outcome.rendered == [Target("p-0001", "2026-04-02"), Target("p-0002", "2026-05-11")]
    assert note.read_bytes() == good and gone.is_file()


def test_errors_are_judged_afresh_even_when_no_file_changed(clinic: Path) -> None:
    assert render(clinic, today="2026-12-01").held[Target("p-0001", "2026-04-02")] == []
    # As of an earlier day the last sessions are dated in the future: held back, though
    # nothing changed.
    outcome = render(clinic, today="2026-04-01")
    held = outcome.held[Target("p-0001", "2026-04-02")]
    assert [p.rule for p in held] == ["clinical/future-date"]
    assert not any("2026-04-02.soap" in p for p in outcome.written) and outcome.rendered == []
    assert render(clinic, today="2026-12-01").rendered == []


def test_rendering_one_patient_keeps_what_the_validation_cache_knows_of_the_others(
    clinic: Path,
) -> None:
    assert run_here("--root", str(clinic), "validate").code == 0
    charts = clinic / ".medmassage-cache" / "validate.json"
    known = set(json.loads(charts.read_bytes().partition(b"\n")[2]))
    assert {"p-0001", "p-0002", "p-0003"} <= known
    assert run_here("--root", str(clinic), "render", "soap", "p-0002").code == 0
    assert set(json.loads(charts.read_bytes().partition(b"\n")[2])) == known


@pytest.mark.parametrize("damage", ["garbage", "truncated", "checksum", "foreign", "bad-indices"])
def test_a_corrupt_render_cache_is_ignored_and_rebuilt(clinic: Path, damage: str) -> None:
    first = render(clinic)
    cache = clinic / ".medmassage-cache" / "render.json"
    header, _, body = cache.read_bytes().partition(b"\n")
    if damage == "garbage":
        cache.write_bytes(b"\x00\xffnot json at all")
    elif damage == "truncated":
        cache.write_bytes(cache.read_bytes()[: len(header) + 20])
    elif damage == "checksum":
        cache.write_bytes(header + b"\n" + body.replace(b'"md"', b'"MD"', 1))
    else:
        sections = json.loads(body)
        for section in sections.values():
            for chart in section["charts"].values():
                for name, document in chart["documents"].items():
                    if damage == "foreign":
                        chart["documents"][name] = {"deps": document[1], "outputs": "elsewhere"}
                    else:
                        document[1] = [len(chart["files"]) + 5]
        if damage == "foreign":
            sections["elsewhere|soap"] = "a section of another shape"
        new_body = json.dumps(sections).encode()
        cache.write_bytes(
            json.dumps(
                {**json.loads(header), "checksum": hashlib.sha256(new_body).hexdigest()}
            ).encode()
            + b"\n"
            + new_body
        )
    again = render(clinic)
    assert again.rendered == sessions(clinic) and again.written == first.written
    assert render(clinic).rendered == []  # rebuilt


def test_parallel_and_serial_renders_are_byte_identical(store: Path, tmp_path: Path) -> None:
    broken = sorted(store.glob("patients/*/sessions/*.yaml"))[3]
    broken.write_text(
        broken.read_text().replace("duration_minutes:", "duration_minutes: -5\nx_unknown:", 1)
    )
    results = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs-{jobs}"
        found = [
            render(store, document, jobs=jobs, use_cache=False, out=out)
            for document in ("soap", "physician-update")
        ]
        files = {name: data for name, (data, _) in outputs(out).items()}
        shown = [[Path(p).relative_to(out).as_posix() for p in o.written] for o in found]
        results[jobs] = (files, shown, [o.held for o in found], [o.skipped for o in found])
    assert results[1] == results[2]
    files, shown, held, _ = results[1]
    assert len(files) > 3 * 50 and any(problems for problems in held[0].values())


def test_a_run_that_writes_no_file_still_keeps_its_answers(clinic: Path, tmp_path: Path) -> None:
    """When no chart has the document, nothing is written and no output folder is made;
    the cache still keeps that run's answers, so the next run loads no chart again."""
    from medmassage.render.cache import CACHE_FILE, FORMAT

    out = tmp_path / "never-made"
    # The fixture's one re-assessment is on 2026-04-02: none falls in March.
    first = render(clinic, "progress-report", out=out, until="2026-03-31")
    assert first.written == [] and not out.exists()
    sections = store_cache.load_checked(Store(clinic).cache_dir / CACHE_FILE, FORMAT)
    assert sections[f"{out.resolve()}|progress-report"]["charts"]
