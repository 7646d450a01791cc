"""Tiny stores written inline, checked in-process through the real `validate` command.

`BASE` is the smallest clinic that validates: one therapist, one provider, and one
patient with a referral, an assessment, a plan and one visit. A test changes a few
files (`None` deletes one) and compares the findings with the exact ones expected.
Everything here is invented."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from medmassage.cli import main
from medmassage.rules import REGISTRY

TODAY = "2026-10-08"  # two days after the visit: inside the signing window
P = "patients/p-0001"
SETTINGS = "medmassage.yaml"
THERAPIST = "therapists/ines-varga.yaml"
PROVIDER = "providers/dr-omar-pellow.yaml"
PATIENT = f"{P}/patient.yaml"
REFERRAL = f"{P}/referrals/2026-10-01.yaml"
ASSESSMENT = f"{P}/assessments/2026-10-02.yaml"
PLAN = f"{P}/plans/2026-10-02.yaml"
SESSION = f"{P}/sessions/2026-10-06.yaml"

BASE: dict[str, str] = {
    SETTINGS: """
        format: 1
        practice:
          name: Quillfeather Massage
    """,
    THERAPIST: """
        id: ines-varga
        name: Ines Varga
        credentials: LMT
        license:
          number: LMT 55501
          jurisdiction: OR
          expires: 2027-01-31
    """,
    PROVIDER: """
        id: dr-omar-pellow
        name: Omar Pellow
        credentials: MD
    """,
    PATIENT: """
        id: p-0001
        name:
          given: Tamsin
          family: Rook
        date_of_birth: 1985-05-05
        intake_date: 2026-10-01
        status: active
        primary_provider: dr-omar-pellow
        consent:
          treatment: 2026-10-01
          share_with_providers: true
    """,
    REFERRAL: """
        id: 2026-10-01
        date: 2026-10-01
        provider: dr-omar-pellow
        kind: referral
        diagnoses:
          - code: M54.50
            description: Low back pain, unspecified
        frequency_per_week: 1
        duration_weeks: 4
        visits_authorized: 4
        valid_until: 2026-12-31
    """,
    ASSESSMENT: """
        id: 2026-10-02
        date: 2026-10-02
        therapist: ines-varga
        kind: initial
        referral: 2026-10-01
        chief_complaint: Low back ache.
        pain:
          current: 6
    """,
    PLAN: """
        id: 2026-10-02
        date: 2026-10-02
        therapist: ines-varga
        referral: 2026-10-01
        assessment: 2026-10-02
        goals:
          - id: g1
            description: Less pain
            measure:
              kind: pain
              unit: NRS 0-10
            baseline: 6
            target: 3
            due: 2026-11-01
            term: short
        techniques: [myofascial_release]
        regions: [low_back]
        session_minutes: 60
        sessions_per_week: 1
        weeks: 4
        visits: 4
        status: active
    """,
    SESSION: """
        id: 2026-10-06
        date: 2026-10-06
        duration_minutes: 60
        therapist: ines-varga
        treatment_plan: 2026-10-02
        subjective:
          report: Stiff in the mornings.
          pain: 5
        treatment:
          - technique: myofascial_release
            regions: [low_back]
            side: bilateral
            minutes: 40
        assessment:
          goals:
            - goal: g1
              progress: progressing
              value: 4
    """,
}


def write_store(root: Path, changes: dict[str, str | None] | None = None) -> Path:
    """Write BASE with `changes` applied (text replaces a file, None removes it)."""
    files: dict[str, str | None] = {**BASE, **(changes or {})}
    for rel, text in files.items():
        if text is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    """Run the CLI in-process (Click's CliRunner): the same code as the real command,
    without the cost of a new interpreter. Returns Click's Result (exit_code, stdout, stderr)."""
    environment = {"NO_COLOR": "1", "MEDMASSAGE_ROOT": None, **(env or {})}
    return CliRunner().invoke(
        main, list(args), env=environment, input=input, catch_exceptions=False
    )


def problems(root: Path, today: str = TODAY, *paths: str) -> list[dict[str, Any]]:
    """Every problem `validate --format json` reports, each checked against the registry."""
    result = invoke(
        "--root", str(root), "validate", "--format", "json", "--no-cache", "--jobs", "1",
        "--today", today, *paths,
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["ok"] else 1), result.stderr
    for p in document["problems"]:
        assert p["rule"] in REGISTRY, f"{p['rule']} is reported but not registered"
        assert p["severity"] == REGISTRY[p["rule"]].severity, p
    return list(document["problems"])


def findings(
    tmp_path: Path, changes: dict[str, str | None] | None = None, today: str = TODAY
) -> set[tuple[str, str, str]]:
    """(rule, file, json path) of every problem in BASE with `changes` applied."""
    root = write_store(tmp_path / "store", changes)
    return {(p["rule"], p["file"], p["path"]) for p in problems(root, today)}


def base(rel: str, old: str, new: str) -> dict[str, str | None]:
    """A change to one BASE file: `old` (which must be there) replaced once by `new`."""
    text = textwrap.dedent(BASE[rel])
    assert old in text, f"{old!r} not in {rel}"
    return {rel: text.replace(old, new, 1)}
