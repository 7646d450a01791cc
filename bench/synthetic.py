"""The benchmark's store: the demo clinic's patients cloned up to N sessions, and what
writing as many files costs without rendering anything."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "records"


def build_store(target: Path, sessions: int) -> list[Path]:
    """A store of exactly `sessions` session files, cloned from the demo patients."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("medmassage.yaml", "therapists", "providers"):
        source = DEMO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target / name)
    demo_patients = sorted(p for p in (DEMO / "patients").iterdir() if p.is_dir())
    made: list[Path] = []
    clone = 0
    while len(made) < sessions:
        for source in demo_patients:
            clone += 1
            new_id = f"p-{clone:06d}"
            folder = target / "patients" / new_id
            shutil.copytree(source, folder, ignore=shutil.ignore_patterns("sessions"))
            patient = folder / "patient.yaml"
            patient.write_text(
                patient.read_text().replace(f"id: {source.name}", f"id: {new_id}", 1)
            )
            (folder / "sessions").mkdir()
            for session in sorted((source / "sessions").glob("*.yaml")):
                if len(made) >= sessions:
                    break
                copy = folder / "sessions" / session.name
                shutil.copy(session, copy)
                made.append(copy)
            if len(made) >= sessions:
                break
    return made


def reuse_store(target: Path, sessions: int) -> list[Path] | None:
    """The session files of a store built earlier with exactly `sessions` sessions, its
    caches and rendered output dropped (None: there is none, build it)."""
    made = sorted(target.glob("patients/*/sessions/*.yaml"))
    if len(made) != sessions:
        return None
    for name in (".medmassage-cache", "rendered"):
        shutil.rmtree(target / name, ignore_errors=True)
    return made


def write_files(folder: Path, files: list[Path]) -> None:
    """What a cold render's output costs the file system alone: one new file per session,
    in one folder per patient, through a temporary name and a rename (about 2.5 KB each)."""
    text = b"x" * 2500
    for path in files:
        target = folder / path.parent.parent.name
        target.mkdir(parents=True, exist_ok=True)
        temp = target / f".{path.stem}.tmp"
        temp.write_bytes(text)
        os.replace(temp, target / f"{path.stem}.md")
