"""Shared fixtures: a private copy of the demo store and the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "records"
# Validation of the demo store is judged as of this day, so tests do not age.
TODAY = "2026-11-22"
# The caches' window for too-new files (store/cache.py), shortened instead of sleeping past it.
RACY_ENV = "MEDMASSAGE_RACY_SECONDS"


class Result:
    """What a CLI run produced."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    """Run `python -m medmassage ARGS` as a real process, as users and CI do."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_") or k == RACY_ENV
    }
    environment.update({"NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"})
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "medmassage", *args],
        cwd=cwd or PROJECT,
        env=environment,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Result(proc)


def run_here(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    """`run_cli` in this process (Click's CliRunner): the same command code, environment
    (no MEDMASSAGE_* but the caches' window, NO_COLOR) and exit statuses, without starting an
    interpreter. For what a process adds nothing to; signals, terminals and concurrent runs
    keep `run_cli`."""
    from click.testing import CliRunner

    from medmassage.cli import main

    environment: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("MEDMASSAGE_") and k != RACY_ENV
    }
    environment.update({"NO_COLOR": "1", **(env or {})})
    before = Path.cwd()
    os.chdir(cwd or PROJECT)
    try:
        got = CliRunner().invoke(main, list(args), env=environment, input=input or "")
    finally:
        os.chdir(before)
    if got.exception is not None and not isinstance(got.exception, SystemExit):
        raise got.exception  # a crash outside the command's own error handling
    done = subprocess.CompletedProcess(list(args), got.exit_code, got.stdout, got.stderr)
    return Result(done)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "compile_per_run: the CLI in this process compiles schemas and templates per run, "
        "as a new process does (no sharing between runs; see `_compiled_once`)",
    )


@pytest.fixture(autouse=True)
def _compiled_once(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI runs in this process share what each run would compile again: the compiled
    fast path of every record kind and the compiled templates (`share_compiled`). What a run
    gives is the same (the two schema paths agree: tests/test_schema_meaning.py and the fast
    path's property tests); real processes, and tests marked `compile_per_run`, keep the
    product's own choice (jsonschema for a handful of records of a kind)."""
    if request.node.get_closest_marker("compile_per_run") is None:
        from render_deps_support import share_compiled

        share_compiled(monkeypatch)


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches trust files however recently they changed, in this process and in the CLI
    processes it starts: no waiting for timestamps to age past the one-second window."""
    monkeypatch.setenv(RACY_ENV, "0")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A private copy of the demo clinic, free to break."""
    target = tmp_path / "store"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return target


def _fingerprint(root: Path) -> str:
    """A digest of every path and byte under `root` but its caches (which may change)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".medmassage-cache":
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def _shared_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    target = tmp_path_factory.mktemp("shared-demo") / "store"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return target, _fingerprint(target)


@pytest.fixture
def demo_store(_shared_demo: tuple[Path, str]) -> Iterator[Path]:
    """One copy of the demo clinic per test process, for tests that only read it (render to
    stdout or to their own tmp_path): its validation cache is shared, so most tests skip
    re-validating it. A test that changes anything in it but its cache fails: use `store`."""
    root, before = _shared_demo
    yield root
    assert _fingerprint(root) == before, "a test changed the shared demo store; use `store`"


def first_file(root: Path, pattern: str) -> Path:
    """The first record (sorted) matching a glob, e.g. 'patients/*/sessions/*.yaml'."""
    found = sorted(root.glob(pattern))
    assert found, f"no {pattern} in {root}"
    return found[0]


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of `path` containing `text`."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def edit_after_reading(monkeypatch: pytest.MonkeyPatch, module: Any, path: Path, rel: str) -> Any:
    """Make `module.check_chart` break `path` (pain 12) right after the chart holding `rel`
    was read, with the caches' too-new window closed so the edit looks settled (as if the
    run had gone on for a while); returns the real function."""
    monkeypatch.setenv(RACY_ENV, "0")
    real = module.check_chart

    def edited_after_reading(shared: Any, entries: Any) -> Any:
        found = real(shared, entries)
        if any(e.rel == rel for e in entries):
            path.write_text(path.read_text().replace("pain: ", "pain: 12 #", 1))
        return found

    monkeypatch.setattr(module, "check_chart", edited_after_reading)
    return real
