"""A bad chart never lands (SPEC §6): in a git repository holding the demo store, the
real `pre-commit` running the README's hook (and the published hook's own settings)
refuses a commit that breaks records it does not touch and lets a clean commit and files
outside the store through. The gate the hook runs (`validate --gate`, in this process:
its rules need no process of their own) refuses each of the README's ways of breaking
untouched records, passes a tidied record, and does not hold a commit hostage to errors
already committed. `validate FILE...` reports the records depending on the files named."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO, PROJECT, TODAY, run_here

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BIN = Path(sys.executable).parent  # medmassage and pre-commit, as installed for the tests
STORE = "records"  # the store lies in a folder of the repository, beside docs/
LINE = re.compile(r"^(\S+?):(\d+):(\d+): (error|warning) (\S+): ", re.M)
Expected = set[tuple[str, int, str]]  # (file from the repository's top, line, rule)
Clinic = tuple[Path, dict[str, str]]  # a repository and the environment its git runs in


def readme_hook() -> dict[str, Any]:
    """The hook of the README's `.pre-commit-config.yaml`, for a store in `records/`."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("### In pre-commit and CI", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found is not None
    (hook,) = yaml.safe_load(found.group(1))["repos"][0]["hooks"]
    return {**hook, "args": [STORE]}


def published_hook() -> dict[str, Any]:
    """The published hook as written, run with the medmassage already installed instead
    of one pre-commit would install from the network (language python)."""
    (hook,) = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hook["language"] == "python"
    return {**hook, "language": "system", "args": [STORE]}


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDMASSAGE_", "GIT_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_CONFIG_GLOBAL=os.devnull,  # no signing or hooks from whoever runs the tests
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Front Desk",
        GIT_AUTHOR_EMAIL="desk@example.org",
        GIT_COMMITTER_NAME="Front Desk",
        GIT_COMMITTER_EMAIL="desk@example.org",
        NO_COLOR="1",
    )
    return env


def run(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def repository(tmp_path: Path, hook: dict[str, Any] | None) -> tuple[Path, dict[str, str]]:
    """A clinic's repository: the demo store in records/, committed, and (with `hook`)
    pre-commit installed running it."""
    repo, env = tmp_path / "clinic", environment(tmp_path)
    shutil.copytree(DEMO, repo / STORE, ignore=shutil.ignore_patterns("rendered", ".medmassage-*"))
    (repo / ".gitignore").write_text(".medmassage-cache/\n")
    if hook is not None:
        config = {"repos": [{"repo": "local", "hooks": [hook]}]}
        (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-q", "-m", "The clinic's records")):
        assert run(repo, env, "git", *args).returncode == 0
    if hook is not None:
        assert run(repo, env, "pre-commit", "install").returncode == 0
    return repo, env


def head(repo: Path, env: dict[str, str]) -> str:
    return run(repo, env, "git", "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """One clinic's repository (no hook) for the tests that run the gate or `validate`
    in this process, and its first commit."""
    repo, env = repository(tmp_path_factory.mktemp("gate"), None)
    return repo, env, head(repo, env)


@pytest.fixture
def clinic(committed: tuple[Path, dict[str, str], str]) -> Iterator[Clinic]:
    """The module's clinic repository, put back to its first commit after the test (the
    store's caches, git-ignored, stay, as they do in a clinic's repository)."""
    repo, env, first = committed
    yield repo, env
    assert run(repo, env, "git", "reset", "-q", "--hard", first).returncode == 0
    assert run(repo, env, "git", "clean", "-q", "-d", "--force").returncode == 0


def errors_in(output: str) -> Expected:
    """(file, line, rule) of every error line printed."""
    return {(m[1], int(m[2]), m[5]) for m in LINE.finditer(output) if m[4] == "error"}


def lines_with(root: Path, pattern: str, line_pattern: str) -> set[tuple[str, int]]:
    """(file from the repository's top, line) of every line of the records matching
    `pattern` that is exactly `line_pattern` (a regular expression)."""
    wanted = re.compile(line_pattern)
    return {
        (path.relative_to(root.parent).as_posix(), number)
        for path in sorted(root.glob(pattern))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if wanted.fullmatch(line)
    }


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


# Each leak changes the store as a person would and returns the errors it must cause.


def delete_provider(repo: Path, env: dict[str, str]) -> Expected:
    provider = "dr-lena-hartwell"
    refs = lines_with(repo / STORE, "patients/*/**/*.yaml", rf"\s*\w*provider: {provider}")
    assert refs  # the demo store refers to this provider
    assert run(repo, env, "git", "rm", "-q", f"{STORE}/providers/{provider}.yaml").returncode == 0
    return {(rel, line, "ref/unknown-provider") for rel, line in refs}


def expire_license(repo: Path, env: dict[str, str]) -> Expected:
    therapist = repo / STORE / "therapists" / "amara-okafor.yaml"
    visits = {}  # the therapist's dated records the license rule judges
    for path in sorted((repo / STORE).glob("patients/*/*/*.yaml")):
        data = yaml.safe_load(path.read_text())
        if path.parent.name in ("sessions", "assessments") and data["therapist"] == "amara-okafor":
            visits[path] = data["date"]
    days = sorted(set(visits.values()))
    expires = days[len(days) // 2]  # half her visits fall after it
    record = yaml.safe_load(therapist.read_text())
    text = therapist.read_text().replace(
        f"expires: {record['license']['expires']}", f"expires: {expires.isoformat()}"
    )
    therapist.write_text(text)
    assert run(repo, env, "git", "add", str(therapist)).returncode == 0
    late = {path for path, day in visits.items() if day > expires}
    assert 0 < len(late) < len(visits)
    return {
        (rel, line, "clinical/license-expired")
        for rel, line in lines_with(repo / STORE, "patients/*/*/*.yaml", "therapist: amara-okafor")
        if repo / rel in late
    }


def rename_goal(repo: Path, env: dict[str, str]) -> Expected:
    chart = repo / STORE / "patients" / "p-0001"
    (plan,) = [p for p in chart.glob("plans/*.yaml") if "  - id: g1\n" in p.read_text()]
    plan.write_text(plan.read_text().replace("  - id: g1\n", "  - id: g9\n"))
    assert run(repo, env, "git", "add", str(plan)).returncode == 0
    refs = lines_with(chart, "**/*.yaml", r"\s*(- )?goal: g1")
    assert refs
    return {(f"{STORE}/patients/{rel}", line, "ref/unknown-goal") for rel, line in refs}


LEAKS: dict[str, Callable[[Path, dict[str, str]], Expected]] = {
    "provider deleted": delete_provider,
    "license expiry moved into the past": expire_license,
    "goal renamed": rename_goal,
}


def gate_here(repo: Path) -> tuple[int, str]:
    """The README hook's command, `validate --gate records` from the repository's top, run
    in this process: its exit status and all it printed (the tests of the hooks run them
    through the real pre-commit; the gate's rules need no process of their own)."""
    result = run_here("validate", "--gate", STORE, cwd=repo)
    return result.code, result.out + result.err


def test_the_readme_hook_refuses_a_broken_commit_and_lets_a_clean_one_through(
    tmp_path: Path,
) -> None:
    """Through the real pre-commit: deleting a provider the charts name is refused though
    no chart is in the commit; a commit of files outside the store passes."""
    repo, env = repository(tmp_path, readme_hook())
    before = head(repo, env)
    expected = delete_provider(repo, env)
    commit = run(repo, env, "git", "commit", "-m", "Provider retired")
    assert commit.returncode != 0 and head(repo, env) == before, commit
    assert errors_in(output(commit)) == expected, output(commit)
    assert "Traceback" not in output(commit)
    assert run(repo, env, "git", "reset", "-q", "--hard").returncode == 0
    notes = repo / "docs" / "patients" / "README.md"
    notes.parent.mkdir(parents=True)
    notes.write_text("# How we keep charts\n")
    assert run(repo, env, "git", "add", str(notes)).returncode == 0
    commit = run(repo, env, "git", "commit", "-m", "How we keep charts")
    assert commit.returncode == 0, commit
    assert run(repo, env, "git", "log", "-1", "--format=%s").stdout.strip() == "How we keep charts"


@pytest.mark.parametrize("leak", LEAKS)
def test_the_gate_refuses_a_change_breaking_records_it_does_not_touch(
    clinic: Clinic, leak: str
) -> None:
    repo, env = clinic
    expected = LEAKS[leak](repo, env)
    code, printed = gate_here(repo)
    assert code == 1 and errors_in(printed) == expected, printed
    assert "Traceback" not in printed


def test_the_published_hook_refuses_a_deleted_provider_and_passes_a_clean_commit(
    tmp_path: Path,
) -> None:
    repo, env = repository(tmp_path, published_hook())
    before = head(repo, env)
    expected = delete_provider(repo, env)
    commit = run(repo, env, "git", "commit", "-m", "Provider retired")
    assert commit.returncode != 0 and head(repo, env) == before, commit
    assert errors_in(output(commit)) == expected
    assert run(repo, env, "git", "reset", "-q", "--hard").returncode == 0
    phone = repo / STORE / "therapists" / "amara-okafor.yaml"
    phone.write_text(re.sub(r'phone: "(\d+)-', r'phone: "\1-9', phone.read_text(), count=1))
    assert run(repo, env, "git", "commit", "-q", "-am", "New phone").returncode == 0


def test_a_tidied_record_passes_the_gate(clinic: Clinic) -> None:
    repo, env = clinic
    therapist = repo / STORE / "therapists" / "mateo-lindqvist.yaml"
    therapist.write_text(therapist.read_text().replace("active: true", "active: true\n"))
    assert run(repo, env, "git", "add", str(therapist)).returncode == 0
    code, printed = gate_here(repo)
    assert code == 0 and errors_in(printed) == set(), printed


def test_errors_already_committed_do_not_block_but_new_ones_do(clinic: Clinic) -> None:
    repo, env = clinic
    old = delete_provider(repo, env)
    forced = run(repo, env, "git", "commit", "-q", "--no-verify", "-m", "Provider retired")
    assert forced.returncode == 0
    gate = run_here("validate", "--gate", STORE, "--format", "json", cwd=repo)
    assert gate.code == 0, gate
    marked = {(f"{STORE}/{p['file']}", p["line"], p["rule"]) for p in gate.json()["problems"]}
    assert old <= marked and not [p for p in gate.json()["problems"] if p["severity"] == "error"]
    new = rename_goal(repo, env)
    code, printed = gate_here(repo)
    assert code == 1, printed
    assert errors_in(printed) == new
    # the provider's errors are still shown, as warnings marked as already there
    shown = {(m[1], int(m[2]), m[5]) for m in LINE.finditer(printed) if m[4] == "warning"}
    assert old <= shown


def test_with_no_commit_yet_every_error_blocks(tmp_path: Path) -> None:
    repo, env = tmp_path / "new", environment(tmp_path)
    shutil.copytree(DEMO, repo / STORE, ignore=shutil.ignore_patterns("rendered", ".medmassage-*"))
    assert run(repo, env, "git", "init", "-q").returncode == 0
    assert run_here("validate", "--gate", STORE, cwd=repo).code == 0
    expected = rename_goal(repo, env)
    gate = run_here("validate", "--gate", STORE, cwd=repo)
    assert gate.code == 1 and errors_in(gate.out) == expected, gate


def test_init_writes_the_readme_hook() -> None:
    from medmassage.charting.init import PRE_COMMIT

    (hook,) = yaml.safe_load(PRE_COMMIT)["repos"][0]["hooks"]
    wanted = readme_hook()
    del wanted["args"]
    assert hook == wanted and hook["language"] == "system"
    assert "medmassage --version" in PRE_COMMIT  # how to choose the published hook's rev


def validate_json(root: Path, *paths: str) -> tuple[int, Expected]:
    """`validate --format json` in this process (the hooks above run real processes)."""
    result = run_here("--root", str(root), "validate", "--format", "json", "--today", TODAY, *paths)
    assert result.code in (0, 1), result
    problems = result.json()["problems"]
    return result.code, {(p["file"], p["line"], p["rule"]) for p in problems}


def test_validating_a_therapist_reports_the_charts_depending_on_it(clinic: Clinic) -> None:
    repo, env = clinic
    root = repo / STORE
    rel = "therapists/amara-okafor.yaml"
    expected = expire_license(repo, env)
    code, found = validate_json(root, str(root / rel))
    assert code == 1
    errors = {(f"{STORE}/{f}", n, r) for f, n, r in found if r == "clinical/license-expired"}
    assert errors == expected


def test_validating_a_plan_reports_the_notes_using_its_goals(clinic: Clinic) -> None:
    repo, env = clinic
    root = repo / STORE
    expected = rename_goal(repo, env)
    chart = root / "patients" / "p-0001"
    (plan,) = [p for p in chart.glob("plans/*.yaml") if "id: g9" in p.read_text()]
    code, found = validate_json(root, str(plan))
    assert code == 1
    assert {(f"{STORE}/{f}", n, r) for f, n, r in found if r == "ref/unknown-goal"} == expected
    untouched = {f for f, _, _ in validate_json(root, str(root / "patients" / "p-0002"))[1]}
    assert all(f.startswith("patients/p-0002/") for f in untouched)
