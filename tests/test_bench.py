"""The benchmark the README documents runs and reports every measurement (its timings
are not judged here: speed is measured by the benchmark, never asserted in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# The store clones the demo patients in order: 13 sessions are p-0001 and p-0002 whole,
# enough for every document to apply (p-0002's episode is discharged); each command's
# start-up, not the number of sessions, is most of what the run costs.
SESSIONS = 13
DOCUMENTS = (
    "superbill",
    "plan-of-care",
    "progress-report",
    "physician-update",
    "discharge-summary",
    "home-care",
    "referral-form",
)
ROWS = [
    "read the session files (bytes only)",
    "parse sessions with libyaml (floor)",
    "medmassage validate, cold (--no-cache)",
    "medmassage validate, warm, nothing changed",
    "medmassage validate, warm, one file changed",
    "medmassage due, cold (no cache)",
    "medmassage due, warm, nothing changed",
    "list sessions, cold (no cache)",
    "list sessions, warm, nothing changed",
    "render soap --all md, cold (no caches)",
    "write as many files, no rendering",
    "render soap --all md, warm, nothing changed",
    "render soap --all md, warm, one file changed",
    *(
        f"render {document} --all md, {when}"
        for document in DOCUMENTS
        for when in ("cold (no caches)", "warm, nothing changed")
    ),
    "python -c pass",
    "medmassage --help",
    "medmassage --version",
]


def test_benchmark_builds_its_store_and_reports_every_measurement(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "bench" / "run.py"),
            "--sessions",
            str(SESSIONS),
            "--reps",
            "1",  # one round measures every row; more rounds only repeat them
            "--startup-reps",
            "1",
            "--skip-reference",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    store = tmp_path / f"store-{SESSIONS}"
    assert len(list(store.glob("patients/*/sessions/*.yaml"))) == SESSIONS
    results = json.loads((tmp_path / f"results-{SESSIONS}.json").read_text())
    assert [name for name, *_ in results["rows"]] == ROWS
    assert all(min(measures) > 0 for _, *measures in results["rows"]) and results["memory_mb"] > 0
    assert (
        all(len(times) == 1 and len(times[0]) == 2 for times in results["rounds"].values())
        and len(results["rounds"]) == len(ROWS) - 3  # three rows are timed outside the rounds
    )
    for name in ROWS:
        assert f"| {name}" in run.stdout
    assert f"{SESSIONS} sessions" in run.stdout and "render cold vs validate cold" in run.stdout
    # The store it built is a valid one, and the renders really wrote the documents.
    assert len(list((tmp_path / "rendered").glob("*/*.soap.md"))) == SESSIONS
    for document in DOCUMENTS:
        written = (tmp_path / "documents" / document).glob(f"*/*.{document}.md")
        assert any(True for _ in written), document
    check = subprocess.run(
        [sys.executable, "-m", "medmassage", "--root", str(store), "validate"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
