"""`medmassage create`: records made from files, --set values, defaults, questions on a
real pseudo-terminal and the editor; checked like `validate`; written atomically,
exclusively and privately, or not at all."""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, Result, run_cli, run_here
from test_init import Conversation, needs_pty

from medmassage.charting.create import Request, create
from medmassage.errors import UsageError, WriteError
from medmassage.store import Store
from medmassage.store import files as writer
from medmassage.yamlio import load_file, parse_text

DATA = Path(__file__).parent / "data" / "create"
SCOPED = ("referral", "assessment", "plan")


def mm(
    *args: str, cwd: Path | None = None, input: str = "", env: dict[str, str] | None = None
) -> Result:
    """The CLI in this process, with stdin that is never a terminal (so it never waits for
    answers): what is written and said is the same as in a process of its own, which the
    terminal, concurrency and scripted-clinic tests still start."""
    return run_here(*args, cwd=cwd, input=input, env=env)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (outside .git) with its bytes: a snapshot to compare."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def start_store(root: Path) -> None:
    result = mm("init", str(root), "--no-input", "--name", "Harbor Street Massage")
    assert result.code == 0, result


def fill_store(root: Path) -> list[str]:
    """A therapist, a provider, a patient, a referral, an assessment and a plan, from files."""
    created = []
    for kind in ("therapist", "provider", "patient"):
        created.append(
            mm("--root", str(root), "create", kind, "--from", str(DATA / f"{kind}.yaml"))
        )
    for kind in SCOPED:
        created.append(
            mm(
                "--root",
                str(root),
                "create",
                kind,
                "--patient",
                "p-0001",
                "--from",
                str(DATA / f"{kind}.yaml"),
            )
        )
    for result in created:
        assert result.code == 0, result
    return [result.out for result in created]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("filled") / "clinic"
    start_store(root)
    fill_store(root)
    return root


@pytest.fixture
def clinic(filled: Path, tmp_path: Path) -> Path:
    """A private copy of a store holding one of each record up to a plan (no sessions)."""
    target = tmp_path / "clinic"
    shutil.copytree(filled, target, symlinks=True)
    return target


# --------------------------------------------------------------------------- scripted


def test_a_clinic_is_started_and_filled_from_files(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    start_store(root)
    outputs = fill_store(root)
    assert [Path(out.strip()).relative_to(root).as_posix() + "\n" for out in outputs] == [
        "therapists/amara-okafor.yaml\n",
        "providers/dr-lena-hartwell.yaml\n",
        "patients/p-0001/patient.yaml\n",
        "patients/p-0001/referrals/2025-03-03.yaml\n",
        "patients/p-0001/assessments/2025-03-05.yaml\n",
        "patients/p-0001/plans/2025-03-05.yaml\n",
    ]
    assert all(out.count("\n") == 1 for out in outputs)
    sessions = [  # records read from stdin: the first by a real process, from a pipe
        (run_cli if n == 1 else mm)(
            "--root",
            str(root),
            "create",
            "session",
            "--patient",
            "p-0001",
            "--from",
            "-",
            input=(DATA / f"session-{n}.yaml").read_text(),
        )
        for n in (1, 2, 3)
    ]
    assert [s.code for s in sessions] == [0, 0, 0], sessions
    assert [Path(s.out.strip()).name for s in sessions] == [
        "2025-03-05.yaml",
        "2025-03-08.yaml",
        "2025-03-11.yaml",
    ]
    for day in ("2025-03-05", "2025-03-08", "2025-03-11"):  # unsigned notes would be warnings
        signed = mm("--root", str(root), "sign", f"p-0001/{day}", "--at", f"{day}T18:00:00-05:00")
        assert signed.code == 0, signed
    check = mm("--root", str(root), "validate", "--format", "json")
    assert check.code == 0 and check.json()["ok"] and check.json()["files"] == 10, check
    assert check.json()["problems"] == []


def test_stdout_is_only_the_new_path(clinic: Path) -> None:
    result = mm(
        "create",
        "session",
        "--patient",
        "p-0001",
        "--from",
        str(DATA / "session-1.yaml"),
        cwd=clinic,
    )
    assert result.code == 0, result
    assert result.out == "patients/p-0001/sessions/2025-03-05.yaml\n"
    assert "Visit 1" not in result.err  # messages never echo record content


def test_generated_ids(clinic: Path) -> None:
    second = mm("--root", str(clinic), "create", "patient", "--from", str(DATA / "patient.yaml"))
    assert second.out.strip().endswith("patients/p-0002/patient.yaml"), second
    for expected in ("2025-03-05", "2025-03-05-2", "2025-03-05-3"):
        result = mm(
            "--root",
            str(clinic),
            "create",
            "session",
            "--patient",
            "p-0001",
            "--from",
            str(DATA / "session-1.yaml"),
        )
        assert result.code == 0 and result.out.strip().endswith(f"sessions/{expected}.yaml"), result
        assert load_file(Path(result.out.strip()), "x")["id"] == expected
    provider = mm(
        "--root",
        str(clinic),
        "create",
        "provider",
        "--set",
        "name=Dr. Zoë Ängström-Ruiz",
        "--set",
        "credentials=DO",
    )
    assert provider.out.strip().endswith("providers/dr-zoe-angstrom-ruiz.yaml"), provider


def test_existing_id_is_refused_and_left_byte_identical(clinic: Path) -> None:
    target = clinic / "therapists" / "amara-okafor.yaml"
    before = target.read_bytes(), target.stat().st_mtime_ns
    for args in (["--id", "amara-okafor"], ["--set", "license.number=X"], []):
        result = mm(
            "--root",
            str(clinic),
            "create",
            "therapist",
            "--from",
            str(DATA / "therapist.yaml"),
            *args,
        )
        assert result.code == 1, result
        assert "therapists/amara-okafor.yaml already exists" in result.err
        assert result.out == ""
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before
    assert not list(clinic.rglob("*.tmp"))


def test_concurrent_creators_of_one_id(clinic: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "medmassage",
        "--root",
        str(clinic),
        "create",
        "provider",
        "--id",
        "dr-same",
        "--set",
        "credentials=MD",
        "--no-input",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [*command, "--set", f"name=Dr. Number {n}"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)  # on two cores, as many racing as with eight
    ]
    results = [(proc.wait(timeout=120), proc.stdout.read(), proc.stderr.read()) for proc in procs]  # type: ignore[union-attr]
    for proc in procs:
        proc.stdout.close(), proc.stderr.close()  # type: ignore[func-returns-value,union-attr]
    winners = [r for r in results if r[0] == 0]
    assert len(winners) == 1, results
    assert all(r[0] == 1 and "already exists" in r[2] for r in results if r[0] != 0), results
    written = load_file(clinic / "providers" / "dr-same.yaml", "x")
    assert re.fullmatch(r"Dr\. Number \d", written["name"]) and written["credentials"] == "MD"
    assert not [p for p in clinic.rglob("*") if p.name.endswith(".tmp")]


def test_concurrent_generated_patient_ids_all_succeed(clinic: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "medmassage",
        "--root",
        str(clinic),
        "create",
        "patient",
        "--from",
        str(DATA / "patient.yaml"),
    ]
    procs = [
        subprocess.Popen(
            command,
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 3, outs
    assert sorted(Path(out).parent.name for out, _ in outs) == ["p-0002", "p-0003", "p-0004"]


def test_invalid_record_is_written_nowhere_with_lines_of_the_input(clinic: Path) -> None:
    before = tree(clinic)
    text = (
        (DATA / "session-1.yaml")
        .read_text()
        .replace("pain: 6", "pain: 12")
        .replace("therapist: amara-okafor", "therapist: amara-okafr")
    )
    text = text.replace("minutes: 25", "minutes: 55")
    result = mm(
        "--root", str(clinic), "create", "session", "--patient", "p-0001", "--from", "-", input=text
    )
    assert result.code == 1 and result.out == "", result
    lines = text.splitlines()
    pain = next(i for i, line in enumerate(lines, 1) if "pain: 12" in line)
    who = next(i for i, line in enumerate(lines, 1) if "therapist: amara-okafr" in line)
    assert f"<stdin>:{pain}:9: error schema/maximum" in result.err
    assert (
        f"<stdin>:{who}:12: error ref/unknown-therapist" in result.err
        and "did you mean 'amara-okafor'" in result.err
    )
    assert "session not created: 2 errors; nothing was written" in result.err
    result = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0001",
        "--from",
        "-",
        input=(DATA / "session-1.yaml").read_text().replace("minutes: 25", "minutes: 55"),
    )
    assert result.code == 1 and "clinical/treatment-exceeds-session" in result.err, result
    bad_yaml = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0001",
        "--from",
        "-",
        input="date: 2025-03-05\ndate: 2025-03-06\n",
    )
    assert bad_yaml.code == 1 and "<stdin>:2:1: error syntax/duplicate-key" in bad_yaml.err, (
        bad_yaml
    )
    assert tree(clinic) == before


def test_warnings_do_not_block(clinic: Path) -> None:
    text = (DATA / "session-1.yaml").read_text().replace("- gluteal", "- lower_leg")
    result = mm(
        "--root", str(clinic), "create", "session", "--patient", "p-0001", "--from", "-", input=text
    )
    assert result.code == 0, result
    assert "warning clinical/local-precaution" in result.err


def test_no_input_names_every_missing_field(clinic: Path) -> None:
    result = mm("--root", str(clinic), "create", "session", "--patient", "p-0001", "--no-input")
    assert result.code == 1, result
    missing = set(re.findall(r"missing required field '([\w.]+)'", result.err))
    assert missing == {
        "subjective.report",
        "subjective.pain",
        "treatment.0.technique",
        "treatment.0.regions",
        "treatment.0.side",
        "treatment.0.minutes",
    }
    # the safe defaults were taken, and said so
    assert (
        "default therapist: amara-okafor" in result.err
        and "default treatment_plan: 2025-03-05" in result.err
    )
    assert "default duration_minutes: 60 (the plan's session length)" in result.err
    patient = mm("--root", str(clinic), "create", "patient", "--no-input")
    assert set(re.findall(r"missing required field '([\w.]+)'", patient.err)) == {
        "name.given",
        "name.family",
        "date_of_birth",
        "primary_provider",
        "consent.treatment",
        "consent.share_with_providers",
    }
    assert not (clinic / "patients" / "p-0002").exists()


@pytest.mark.parametrize(
    ("assignment", "path", "value"),
    [
        ("subjective.pain=4", ("subjective", "pain"), 4),
        ("subjective.report=012", ("subjective", "report"), "012"),
        ("subjective.report='6'", ("subjective", "report"), "6"),
        ('subjective.report="true"', ("subjective", "report"), "true"),
        ("subjective.since_last=no", ("subjective", "since_last"), "no"),
        ("objective.findings=12:30 guarded", ("objective", "findings"), "12:30 guarded"),
        ("treatment.0.minutes=30", ("treatment", 0, "minutes"), 30),
        ("treatment.2.regions.0=neck", ("treatment", 2, "regions", 0), "neck"),
        ("plan.home_care.0=Heat, then stretch", ("plan", "home_care", 0), "Heat, then stretch"),
        ('billing.codes.0.code="97140"', ("billing", "codes", 0, "code"), "97140"),
        ("late=true", ("late",), True),
    ],
)
def test_set_paths_and_types(
    clinic: Path, assignment: str, path: tuple[Any, ...], value: Any
) -> None:
    extra = ("treatment.2.technique=stretching", "treatment.2.side=left", "treatment.2.minutes=5")
    extra += ("billing.codes.0.units=3",) if "billing" in assignment else ()  # 50 min
    extra += ("treatment.2.regions.0=hip",) if "treatment.2.regions" not in assignment else ()
    request = Request(
        "session",
        patient="p-0001",
        source=str(DATA / "session-1.yaml"),
        sets=(assignment, *extra),
        dry_run=True,
    )
    outcome = create(Store(clinic.resolve()), request)
    assert not outcome.failed, outcome.problems
    node: Any = parse_text(
        outcome.text, "out"
    )  # what would be written reads back with the same types
    for part in path:
        node = node[part]
    assert node == value and type(node) is type(value)


def test_set_on_the_command_line(clinic: Path) -> None:
    result = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0001",
        "--from",
        str(DATA / "session-1.yaml"),
        "--set",
        "subjective.pain=3",
        "--set",
        "treatment.2.technique=stretching",
        "--set",
        "treatment.2.regions.0=hip",
        "--set",
        "treatment.2.side=left",
        "--set",
        "treatment.2.minutes=5",
    )
    assert result.code == 0, result
    written = load_file(Path(result.out.strip()), "x")
    assert written["subjective"]["pain"] == 3 and written["treatment"][2] == {
        "technique": "stretching",
        "regions": ["hip"],
        "side": "left",
        "minutes": 5,
    }


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (
            "treatment.5.minutes=3",
            "position 5 leaves a gap; the list has 2 item(s), so the next is 2",
        ),
        ("treatment.first.minutes=3", "'first' is not a list position"),
        ("subjective.pain.value=3", "subjective.pain holds a value"),
        ("subjective.pain", "write it as PATH=VALUE"),
        ("subjective..pain=3", "write it as PATH=VALUE"),
        ("subjective.report='open", "the quoted value is not closed properly"),
    ],
)
def test_set_mistakes_are_usage_errors(clinic: Path, assignment: str, message: str) -> None:
    request = Request(
        "session", patient="p-0001", source=str(DATA / "session-1.yaml"), sets=(assignment,)
    )
    with pytest.raises(UsageError, match=re.escape(message)):
        create(Store(clinic.resolve()), request)
    assert not (clinic / "patients" / "p-0001" / "sessions").exists()


def test_set_types_are_checked_by_the_schema(clinic: Path) -> None:
    result = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0001",
        "--from",
        str(DATA / "session-1.yaml"),
        "--set",
        "subjective.pain=six",
        "--set",
        "duration_minutes=45.5",
    )
    assert result.code == 1, result
    assert "schema/type: expected a whole number, found text [$.subjective.pain]" in result.err
    assert "[$.duration_minutes]" in result.err


def test_dry_run_prints_the_record_and_writes_nothing(clinic: Path) -> None:
    before = tree(clinic)
    result = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0001",
        "--no-input",
        "--dry-run",
        "--set",
        "subjective.report=Better",
        "--set",
        "subjective.pain=3",
        "--set",
        "treatment.0.technique=swedish",
        "--set",
        "treatment.0.regions.0=neck",
        "--set",
        "treatment.0.side=left",
        "--set",
        "treatment.0.minutes=30",
    )
    assert result.code == 0, result
    today = dt.date.today().isoformat()
    assert result.out.startswith(
        f"id: {today}\ndate: {today}\nduration_minutes: 60\n"
        "therapist: amara-okafor\ntreatment_plan: 2025-03-05\n"
    )
    assert "dry run" in result.err and "nothing was written" in result.err
    assert tree(clinic) == before
    invalid = mm(
        "--root", str(clinic), "create", "plan", "--patient", "p-0001", "--no-input", "--dry-run"
    )
    assert invalid.code == 1 and invalid.out.startswith("id: "), invalid
    assert tree(clinic) == before


def test_usage_errors(clinic: Path) -> None:
    unnamed = mm("--root", str(clinic), "create", "session")
    assert unnamed.code == 2 and "name them with --patient" in unnamed.err and unnamed.out == ""
    nobody = mm("--root", str(clinic), "create", "plan", "--patient", "p-0099", "--no-input")
    assert nobody.code == 2 and "there is no patient 'p-0099'" in nobody.err
    bad_id = mm("--root", str(clinic), "create", "therapist", "--id", "Bad Id")
    assert bad_id.code == 2 and "'Bad Id' is not a valid id" in bad_id.err
    clash = mm("--root", str(clinic), "create", "therapist", "--id", "other", "--set", "id=amara")
    assert clash.code == 2 and "differs from the id" in clash.err
    settings = mm("--root", str(clinic), "create", "settings")
    assert settings.code == 2 and "settings" in settings.err


# --------------------------------------------------------------------------- safety


def _fail_fsync(fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_nothing_behind(clinic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = tree(clinic)
    folders = sorted(p for p in clinic.rglob("*") if p.is_dir())
    monkeypatch.setattr(os, "fsync", _fail_fsync)
    store = Store(clinic.resolve())
    with pytest.raises(WriteError, match="the disk is full; nothing was written"):
        create(store, Request("patient", source=str(DATA / "patient.yaml")))
    with pytest.raises(WriteError, match="the disk is full"):
        create(store, Request("session", patient="p-0001", source=str(DATA / "session-1.yaml")))
    assert tree(clinic) == before
    assert (
        sorted(p for p in clinic.rglob("*") if p.is_dir()) == folders
    )  # no empty patient or sessions folder


def test_a_failed_link_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(source: str, target: str) -> None:
        raise OSError(errno.EIO, "Input/output error", source, None, target)

    monkeypatch.setattr(os, "link", no_link)
    with pytest.raises(WriteError, match="Input/output error"):
        writer.write_new(tmp_path / "a" / "b" / "r.yaml", b"id: r\n", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_write_leaves_a_complete_file_or_none(tmp_path: Path) -> None:
    # The only thing a kill can leave is the temporary file, which the store walk reports.
    store = tmp_path / "s"
    start_store(store)
    (store / "therapists" / ".amara.1a2b3c.tmp").write_text("name: Am")
    result = mm("--root", str(store), "validate")
    assert "layout/stray-temp-file" in result.out and result.code == 0, result


def test_files_are_private(clinic: Path) -> None:
    result = mm("--root", str(clinic), "create", "patient", "--from", str(DATA / "patient.yaml"))
    created = Path(result.out.strip())
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    session = mm(
        "--root",
        str(clinic),
        "create",
        "session",
        "--patient",
        "p-0002",
        "--from",
        str(DATA / "session-1.yaml"),
        "--set",
        "treatment_plan=x",
    )
    assert session.code == 1  # p-0002 has no plan: refused, and no sessions folder made
    assert not (created.parent / "sessions").exists()


def test_git_warnings(clinic: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (clinic / ".gitignore").write_text("patients/\n")
    ignored = mm("--root", str(clinic), "create", "patient", "--from", str(DATA / "patient.yaml"))
    assert ignored.code == 0 and "is ignored by git" in ignored.err, ignored
    shutil.rmtree(clinic / ".git")
    loose = mm(
        "--root",
        str(clinic),
        "create",
        "provider",
        "--set",
        "name=Dr. Ann Lee",
        "--set",
        "credentials=MD",
    )
    assert loose.code == 0 and "not in a git repository" in loose.err, loose


# --------------------------------------------------------------------------- --edit


def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """$EDITOR as a script that rewrites the draft: `text` in, `text` out."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\np = pathlib.Path(sys.argv[1])\ntext = p.read_text()\n"
        + body
        + "\np.write_text(text)\n"
    )
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def test_edit_opens_a_prefilled_record(clinic: Path, tmp_path: Path) -> None:
    env = editor(
        tmp_path,
        "assert 'report: null' in text and 'therapist: amara-okafor' in text\n"
        "assert 'side: null' in text\n"
        "text = text.replace('report: null', 'report: Slept better')\n"
        "text = text.replace('pain: null', 'pain: 3')\n"
        "text = text.replace('side: null', 'side: left').replace('minutes: null', 'minutes: 10')\n"
        "text = text.replace('date: ' + text.split('date: ')[1][:10], 'date: 2025-03-20', 1)",
    )
    result = mm(
        "--root", str(clinic), "create", "session", "--patient", "p-0001", "--edit", env=env
    )
    assert result.code == 0, result
    created = Path(result.out.strip())
    assert created.name == "2025-03-20.yaml"  # the id follows the date written in the editor
    assert load_file(created, "x")["subjective"] == {"report": "Slept better", "pain": 3}
    assert not list((clinic / ".medmassage-cache" / "drafts").iterdir())


def test_edit_keeps_the_text_when_it_does_not_validate(clinic: Path, tmp_path: Path) -> None:
    before = tree(clinic)
    env = editor(tmp_path, "text = text.replace('report: null', 'report: My own words')")
    result = mm(
        "--root", str(clinic), "create", "session", "--patient", "p-0001", "--edit", env=env
    )
    assert result.code == 1, result
    draft = Path(re.search(r"your text is kept in (\S+);", result.err).group(1))  # type: ignore[union-attr]
    assert (
        draft.is_relative_to(clinic / ".medmassage-cache")
        and stat.S_IMODE(draft.stat().st_mode) == 0o600
    )
    text = draft.read_text()
    assert "report: My own words" in text
    pain = next(i for i, line in enumerate(text.splitlines(), 1) if "pain: null" in line)
    assert f"{draft}:{pain}:9: error schema/type" in result.err
    assert {
        k: v for k, v in tree(clinic).items() if not k.startswith(".medmassage-cache")
    } == before
    draft.write_text(
        text.replace("pain: null", "pain: 4")
        .replace("side: null", "side: left")
        .replace("minutes: null", "minutes: 9")
    )
    again = mm(
        "--root", str(clinic), "create", "session", "--patient", "p-0001", "--from", str(draft)
    )
    assert again.code == 0, again


def test_edit_to_empty_cancels(clinic: Path, tmp_path: Path) -> None:
    before = tree(clinic)
    result = mm(
        "--root",
        str(clinic),
        "create",
        "therapist",
        "--edit",
        env=editor(tmp_path, "text = '# nothing\\n'"),
    )
    assert result.code == 1 and "left empty; nothing was written" in result.err, result
    assert tree(clinic) == before


# --------------------------------------------------------------------------- on a terminal


def today_plus(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


INTERACTIVE: list[tuple[list[str], dict[str, str | list[str]]]] = [
    (
        ["create", "therapist"],
        {
            "name": "Rosa Delgado",
            "credentials": "LMT",
            "license.number": "MT-4410",
            "license.jurisdiction": "OR",
            "license.expires": ["2020-13-01", "2099-12-31"],
        },
    ),
    (["create", "provider"], {"name": "Dr. Ada Park", "credentials": ["Doctor", "MD"]}),
    (
        ["create", "patient"],
        {
            "name.given": "Jon",
            "name.family": "Berg",
            "date_of_birth": "1980-01-02",
            "+precautions": "y",
            "precautions.0.condition": "Varicose veins",
            "precautions.0.kind": "local",
            "precautions.0.regions": "lower_leg",
            "consent.share_with_providers": ["maybe", "y"],
        },
    ),
    (
        ["create", "referral", "--patient", "p-0001"],
        {
            "provider": ["dr-nobody", ""],
            "diagnoses.0.code": "M54.2",
            "diagnoses.0.description": "Cervicalgia",
            "frequency_per_week": "2",
            "duration_weeks": "4",
        },
    ),
    (
        ["create", "assessment", "--patient", "p-0001"],
        {"chief_complaint": "Neck pain after a fall", "pain.current": "6"},
    ),
    (
        ["create", "plan", "--patient", "p-0001"],
        {
            "goals.0.description": "Less neck pain",
            "goals.0.measure.kind": "pain",
            "goals.0.baseline": "6",
            "goals.0.target": "2",
            "goals.0.due": today_plus(28),
            "goals.0.term": "short",
            "techniques": "myofascial_release, stretching",
            "regions": ["neck, upper_bak", "neck, upper_back"],
            "session_minutes": "45",
        },
    ),
    (
        ["create", "session", "--patient", "p-0001"],
        {
            "subjective.report": "Stiff neck",
            "subjective.pain": ["11", "5"],
            "treatment.0.side": "bilateral",
            "treatment.0.minutes": "20",
            "treatment.1.side": "left",
            "treatment.1.minutes": "15",
            "response.pain": "3",
        },
    ),
    (
        ["create", "session", "--patient", "p-0001"],
        {"subjective.report": "Better", "subjective.pain": "4"},
    ),
    (
        ["create", "session", "--patient", "p-0001"],
        {"subjective.report": "Much better", "subjective.pain": "2"},
    ),
]


@needs_pty
def test_a_clinic_is_started_and_filled_on_a_terminal(tmp_path: Path) -> None:
    started = Conversation(
        ["init", "clinic"],
        tmp_path,
        {"practice.name": "Harbor Street Massage", "practice.phone": "555-0100"},
    )
    assert started.code == 0, started.out
    root = tmp_path / "clinic"
    talks = [Conversation(args, root, answers) for args, answers in INTERACTIVE]
    for talk in talks:
        assert talk.code == 0, talk.out
    therapist, provider, _patient, referral, assessment, plan, *sessions = talks
    assert "not a date written YYYY-MM-DD" in therapist.out
    assert "'Doctor' is not a known credential" in provider.out
    assert "there is no provider 'dr-nobody' in the store" in referral.out
    assert "did you mean 'upper_back'" in plan.out
    assert "11 is above the maximum of 10" in sessions[0].out
    # defaults offered from the store: today, the only therapist, the active plan and its
    # session length
    assert (
        referral.asked["provider"] == "dr-ada-park" and referral.asked["visits_authorized"] == "8"
    )
    assert referral.asked["valid_until"] == today_plus(27)
    assert (
        assessment.asked["therapist"] == "rosa-delgado"
        and assessment.asked["date"] == dt.date.today().isoformat()
    )
    assert (
        sessions[0].asked["duration_minutes"] == "45"
        and sessions[0].asked["treatment_plan"] == dt.date.today().isoformat()
    )
    assert sessions[0].asked["treatment.0.technique"] == "myofascial_release"
    # the next note offers the last one's structure, never its narrative
    assert (
        sessions[1].asked["treatment.1.side"] == "left"
        and sessions[1].asked["treatment.1.minutes"] == "15"
    )
    assert (
        sessions[1].asked["subjective.report"] is None
        and sessions[1].asked["subjective.pain"] is None
    )
    assert "response.pain" in sessions[1].asked and sessions[1].asked["response.pain"] is None
    folder = root / "patients" / "p-0001" / "sessions"
    today = dt.date.today().isoformat()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{today}.yaml", f"{today}-2.yaml", f"{today}-3.yaml"]
    )
    assert load_file(folder / f"{today}-2.yaml", "x")["subjective"] == {
        "report": "Better",
        "pain": 4,
    }
    check = mm("--root", str(root), "validate", "--format", "json")
    assert check.code == 0 and check.json()["files"] == 10 and not check.json()["problems"], check
