"""Hardening of processes, messages and the command line (issue 12, and issue 11's GitHub
paths), each through the real CLI: workers die with the command, messages carry no chart
values, echoed text is escaped, annotations are placed from the repository root, a full or
closed stdout is a plain I/O error, and `--root` works after the subcommand too."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO, PROJECT, TODAY, run_cli, run_here

MEDMASSAGE = [sys.executable, "-m", "medmassage"]
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


# 1. Workers die with the command that started them -----------------------------------


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clinic cloned until a run is long enough to catch its workers at work."""
    target = tmp_path_factory.mktemp("big") / "store"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    sources = sorted(p for p in (target / "patients").iterdir() if p.is_dir())
    files = sum(1 for _ in (target / "patients").rglob("*.yaml"))
    clone = 0
    while files < 3000:
        for source in sources:
            clone += 1
            new_id = f"p-{9000 + clone:04d}"
            folder = target / "patients" / new_id
            # Hard links: thousands of files without copying their bytes; the one changed
            # is unlinked first, so its source is left as it was.
            shutil.copytree(source, folder, copy_function=os.link)
            patient = folder / "patient.yaml"
            text = patient.read_text()
            patient.unlink()
            patient.write_text(text.replace(source.name, new_id))
            files += sum(1 for _ in folder.rglob("*.yaml"))
    return target


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_and_catch_workers(
    args: list[str], cwd: Path
) -> tuple[subprocess.Popen[bytes], set[int]]:
    """Start a command writing into a pipe and wait until its worker processes exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    proc = subprocess.Popen([*MEDMASSAGE, *args], cwd=cwd, env=env, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers |= _children(proc.pid)
        select.select([], [], [], 0.005)  # a short wait between looks at /proc
    if not workers:
        proc.kill()
        pytest.fail("the command started no worker processes")
    return proc, workers


def _reaches_eof(stream: object, seconds: float) -> bool:
    """Whether the pipe's every writer is gone within `seconds` (read to its end)."""
    fd = stream.fileno()  # type: ignore[attr-defined]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if ready and not os.read(fd, 65536):
            return True
    return False


def _assert_workers_gone(proc: subprocess.Popen[bytes], workers: set[int]) -> None:
    try:
        assert _reaches_eof(proc.stdout, 10), "a worker still holds the command's stdout"
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            select.select([], [], [], 0.05)
        assert not [w for w in workers if _alive(w)], "workers outlived their command"
    finally:
        for worker in workers:
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


VALIDATE = ["validate", "--no-cache", "-j", "2", "--today", TODAY]


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "term"])
def test_killing_validate_ends_its_workers_and_its_output(big_store: Path, sig: int) -> None:
    proc, workers = _start_and_catch_workers(["--root", str(big_store), *VALIDATE], PROJECT)
    os.kill(proc.pid, sig)
    _assert_workers_gone(proc, workers)
    assert proc.returncode == -sig or proc.returncode == 128 + sig


@linux_only
def test_killing_render_all_ends_its_workers(big_store: Path, tmp_path: Path) -> None:
    args = ["--root", str(big_store), "render", "soap", "--all", "--format", "md"]
    proc, workers = _start_and_catch_workers([*args, "--out", str(tmp_path / "out")], PROJECT)
    os.kill(proc.pid, signal.SIGKILL)
    _assert_workers_gone(proc, workers)


def test_a_worker_whose_parent_changes_exits_without_the_kernel(tmp_path: Path) -> None:
    """The portable fallback: the watch thread ends a process whose parent is not the one
    it was started under (here a made-up parent id, as after an adoption)."""
    code = (
        "import os, threading; from medmassage.workers import watch_parent; "
        "watch_parent(os.getppid() + 1, every=0.01); threading.Event().wait(30); print('alive')"
    )
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "alive" not in run.stdout
    assert time.monotonic() - started < 25


# 2. No chart values in messages (unless --show-values) ----------------------------------

TEXT_MARK = "Zq7Marker"  # each case's text starts with it, then its own number
NUMBER_MARK = 987654321  # each number case its own value beginning with these digits
# (record, field path, bad value, rule): one per schema keyword the shipped schemas use
# on a value (required and unknown fields name only fields). Each case has a field and a
# value of its own, so one store holds them all and each value is looked for on its own.
VALUE_CASES = [
    (
        "patients/p-0001/patient.yaml",
        ("allergies", 0, "severity"),
        f"{TEXT_MARK}1 anaphylaxis, carries EpiPen",
        "schema/enum",
    ),
    (
        "patients/p-0001/patient.yaml",
        ("contact", "email"),
        f"{TEXT_MARK}2 anaphylaxis, carries EpiPen",
        "schema/format",
    ),
    (
        "patients/p-0001/patient.yaml",
        ("date_of_birth",),
        f"{TEXT_MARK}3 anaphylaxis, carries EpiPen",
        "schema/format",
    ),
    (
        "providers/dr-lena-hartwell.yaml",
        ("npi",),
        f"{TEXT_MARK}4 anaphylaxis, carries EpiPen",
        "schema/pattern",
    ),
    (
        "patients/p-0001/sessions/2026-10-29.yaml",
        ("duration_minutes",),
        f"{TEXT_MARK}5 anaphylaxis, carries EpiPen",
        "schema/type",
    ),
    (
        "patients/p-0001/sessions/2026-11-02.yaml",
        ("duration_minutes",),
        NUMBER_MARK * 10 + 1,
        "schema/maximum",
    ),
    (
        "patients/p-0001/sessions/2026-11-05.yaml",
        ("duration_minutes",),
        -(NUMBER_MARK * 10 + 2),
        "schema/exclusive-minimum",
    ),
    ("medmassage.yaml", ("format",), NUMBER_MARK * 10 + 3, "schema/const"),
]


def _set_field(root: Path, rel: str, path: tuple[str | int, ...], value: object) -> None:
    from medmassage.yamlio import dump, load_file

    data = load_file(root / rel, rel)
    node: object = data
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    (root / rel).write_text(dump(data), encoding="utf-8")


def _rounds() -> list[list[tuple[str, tuple[str | int, ...], object, str]]]:
    """The cases split into as few stores as can hold them (one value per field each)."""
    rounds: list[list[tuple[str, tuple[str | int, ...], object, str]]] = []
    for case in VALUE_CASES:
        for batch in rounds:
            if all(other[:2] != case[:2] for other in batch):
                batch.append(case)
                break
        else:
            rounds.append([case])
    return rounds


@pytest.mark.parametrize("cases", _rounds(), ids=lambda cases: "+".join(c[3] for c in cases))
def test_messages_never_quote_the_value_unless_asked(
    store: Path, cases: list[tuple[str, tuple[str | int, ...], object, str]]
) -> None:
    """What the messages say is the command's own text: checked in this process (the
    escaping of what a process writes is checked on real processes below)."""
    for rel, path, value, _ in cases:
        _set_field(store, rel, path, value)
    marks = [str(value).split()[0] for _, _, value, _ in cases]
    none_of = [*marks, TEXT_MARK, str(NUMBER_MARK)]  # nor any part of a value
    base = ["--root", str(store), "validate", "--today", TODAY]
    for fmt in ("text", "json", "github"):
        run = run_here(*base, "--format", fmt)
        assert run.code == 1 and all(c[3] in run.out for c in cases), run
        assert not [m for m in none_of if m in run.out + run.err], (fmt, run)
        shown = run_here(*base, "--format", fmt, "--show-values")
        assert shown.code == 1 and all(m in shown.out for m in marks), (fmt, shown)


# 3. Echoed text is escaped ------------------------------------------------------------

ODD = "notes-\udce9\x1b[2J\n::error file=x::forged\u202e.txt"  # a byte not UTF-8, ESC, newline


def _raw(text: str) -> list[str]:
    """Characters that would act on a terminal or a log: controls, bidi, stray bytes."""
    return [c for c in text if not c.isprintable() and c != "\n"]


@linux_only
@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_odd_file_names_are_escaped_in_every_format(store: Path, fmt: str) -> None:
    folder = store / "patients" / "p-0001" / "sessions"
    (folder / ODD).write_bytes(b"")
    command = run_cli if fmt == "github" else run_here  # one real process writing it out
    run = command("--root", str(store), "validate", "--today", TODAY, "--format", fmt)
    assert run.code in (0, 1) and "Traceback" not in run.err, run
    assert not _raw(run.out + run.err), run
    lines = run.out.splitlines()
    # The name's newline forges no line: no line starts with what followed it.
    assert not [line for line in lines if line.startswith("::error file=x")], run
    named = [line for line in lines if "notes-" in line]
    assert named and all("\\x1b" in line and "\\xe9" in line for line in named), run


def test_a_path_given_on_the_command_line_is_escaped_in_errors(demo_store: Path) -> None:
    store = demo_store  # only read
    odd = store / "patients" / "zz\x1b]0;title\x07\n::error file=x::forged"
    run = run_here("--root", str(store), "validate", str(odd))
    assert run.code == 2 and "Traceback" not in run.err, run
    assert not _raw(run.err) and len(run.err.splitlines()) == 1, run
    assert "\\x1b]0;title\\x07\\n::error" in run.err, run


def test_reporters_escape_what_they_echo(tmp_path: Path) -> None:
    """Whatever reaches a reporter (a key or a file name not escaped upstream) leaves it
    inert: no control character, no extra line, in text, json and github alike."""
    import io

    from medmassage.errors import Problem
    from medmassage.report import REPORTERS
    from medmassage.validate import Report

    key = "k\x1b[2J\n::error file=a::forged\u202e"
    problem = Problem(f"patients/{key}.yaml", 1, 1, f"$.{key}", "schema/invalid", "error", key)
    for fmt, reporter in REPORTERS.items():
        out = io.StringIO()
        reporter(Report(1, [problem], None), tmp_path, out, lambda t, s: t)  # type: ignore[arg-type]
        text = out.getvalue()
        assert not _raw(text) and "\\x1b" in text and "\\u202e" in text, (fmt, text)
        if fmt == "json":
            assert (
                json.loads(text)["problems"][0]["path"]
                == "$.k\\x1b[2J\\n::error file=a::forged\\u202e"
            )
        else:  # the problem, then the summary: the newline forged no line
            assert len(text.splitlines()) == 2 and "::error file=a" not in text.splitlines()[1]


# 4. GitHub annotations from the repository root -----------------------------------------


def _annotated_files(out: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^::(?:error|warning) file=([^,]+),", out, re.M)}


@pytest.fixture
def repo_with_store(tmp_path: Path) -> Path:
    """A git repository holding the store in records/, with one error in it."""
    repo = tmp_path / "repo"
    shutil.copytree(DEMO, repo / "records", ignore=shutil.ignore_patterns("rendered", ".*"))
    _set_field(repo / "records", "patients/p-0001/patient.yaml", ("contact", "email"), "x@")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_github_paths_are_relative_to_the_git_top_from_a_working_directory(
    repo_with_store: Path,
) -> None:
    store = repo_with_store / "records"
    expected = {
        f"records/{p['file']}"
        for p in run_here(
            "--root", str(store), "validate", "--today", TODAY, "--format", "json"
        ).json()["problems"]
    }
    run = run_here(
        "validate",
        "--today",
        TODAY,
        "--format",
        "github",
        cwd=store / "patients",
        env={"GITHUB_WORKSPACE": ""},
    )
    assert run.code == 1 and _annotated_files(run.out) == expected, run


def test_github_paths_are_relative_to_github_workspace(tmp_path: Path, store: Path) -> None:
    _set_field(store, "patients/p-0001/patient.yaml", ("contact", "email"), "x@")
    workspace = store.parent
    expected = {
        f"{store.name}/{p['file']}"
        for p in run_here(
            "--root", str(store), "validate", "--today", TODAY, "--format", "json"
        ).json()["problems"]
    }
    run = run_here(
        "validate",
        "--today",
        TODAY,
        "--format",
        "github",
        cwd=store / "patients",
        env={"GITHUB_WORKSPACE": str(workspace)},
    )
    assert run.code == 1 and _annotated_files(run.out) == expected, run


# 5. Output errors, --root after the command, fix commands with --root -----------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_a_plain_io_error() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*MEDMASSAGE, "--root", str(DEMO), "validate", "--today", TODAY, "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode not in (0, 3) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("medmassage: error: ") and "internal" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_closed_stdout_is_a_plain_io_error() -> None:
    code = (
        "import os, runpy, sys; os.close(1); sys.argv = ['medmassage'] + sys.argv[1:]; "
        "runpy.run_module('medmassage', run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--root", str(DEMO), "validate", "--today", TODAY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        close_fds=True,
    )
    assert proc.returncode not in (0, 3) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("medmassage: error: ") and "internal" not in proc.stderr


def test_root_is_accepted_after_the_command_and_wins(store: Path, tmp_path: Path) -> None:
    _set_field(store, "patients/p-0001/patient.yaml", ("contact", "email"), "x@")
    before = run_here("--root", str(store), "validate", "--today", TODAY, "--format", "json")
    after = run_here(
        "--root",
        str(tmp_path),
        "validate",
        "--root",
        str(store),
        "--today",
        TODAY,
        "--format",
        "json",
    )
    assert after.code == before.code == 1 and after.json() == before.json(), after


def test_fix_commands_in_messages_carry_the_root_given(demo_store: Path) -> None:
    """The demo's unsigned notes, judged weeks later, are told to be signed late: the
    command printed must work as pasted, so it names the store the user named."""
    store, late = demo_store, "2027-01-31"  # the store only read
    run = run_here("validate", "--root", str(store), "--today", late)
    fixes = [line for line in run.out.splitlines() if "integrity/unsigned" in line]
    assert fixes, run
    assert all(f"medmassage --root {store} sign " in line for line in fixes), run
    plain = run_here("validate", "--today", late, cwd=store)
    assert "medmassage --root" not in plain.out and "medmassage sign " in plain.out, plain
