"""`amend` through $EDITOR never loses what was typed: an unsigned note is refused before
any editor opens, and on any failure after the editor the draft stays and is named.
A fake editor (a small Python script) writes the text, through the real CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import TODAY, Result, run_cli

SIGNED = "p-0001/2026-10-29"
UNSIGNED = "p-0001/2026-11-19"
TYPED = "Patient phoned: the soreness eased after two days."

# The fake editor: appends TYPED to the draft, notes each opening in a log, and runs an
# optional step that happens while the person is typing, then exits with a chosen status.
EDITOR = f"""\
import os, pathlib, sys
draft = pathlib.Path(sys.argv[1])
with open(os.environ["EDITOR_LOG"], "a") as log:
    log.write(str(draft) + "\\n")
with open(draft, "a") as stream:
    stream.write({TYPED!r} + "\\n")
meanwhile = os.environ.get("EDITOR_MEANWHILE")
if meanwhile:  # someone strips the note's signature while the editor is open
    note = pathlib.Path(meanwhile)
    text = note.read_text()
    note.write_text(text[: text.index("signature:")])
sys.exit(int(os.environ.get("EDITOR_STATUS", "0")))
"""


@pytest.fixture
def editor(tmp_path: Path) -> Path:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return script


def amend_by_editor(store: Path, editor: Path, ref: str, **env: str) -> Result:
    return run_cli(
        "--root",
        str(store),
        "amend",
        ref,
        "--kind",
        "addendum",
        "--reason",
        "Follow-up call",
        "--at",
        "2026-11-21T08:00:00-08:00",
        "--today",
        TODAY,
        env={
            "EDITOR": f'"{sys.executable}" "{editor}"',
            "VISUAL": "",
            "EDITOR_LOG": str(editor.with_suffix(".log")),
            **env,
        },
    )


def openings(editor: Path) -> list[Path]:
    log = editor.with_suffix(".log")
    return [Path(line) for line in log.read_text().splitlines()] if log.exists() else []


def drafts(store: Path) -> list[Path]:
    return sorted((store / ".medmassage-cache" / "drafts").glob("*"))


def note(store: Path, ref: str) -> Path:
    patient, session = ref.split("/")
    return store / "patients" / patient / "sessions" / f"{session}.yaml"


def test_an_unsigned_note_is_refused_before_the_editor_opens(store: Path, editor: Path) -> None:
    result = amend_by_editor(store, editor, UNSIGNED)
    assert result.code == 1 and "not signed yet" in result.err, result
    assert openings(editor) == []
    assert drafts(store) == [] and not (store / "patients/p-0001/addenda").exists()


def test_the_draft_is_removed_once_the_addendum_is_written(store: Path, editor: Path) -> None:
    result = amend_by_editor(store, editor, SIGNED)
    assert result.code == 0, result
    assert len(openings(editor)) == 1
    assert drafts(store) == []
    written = (store / "patients/p-0001/addenda/2026-11-21.yaml").read_text()
    assert TYPED in written


def test_a_failing_editor_keeps_the_draft_and_names_it(store: Path, editor: Path) -> None:
    result = amend_by_editor(store, editor, SIGNED, EDITOR_STATUS="1")
    assert result.code == 1, result
    [draft] = openings(editor)
    assert draft.exists() and TYPED in draft.read_text()
    assert f"your text is kept in {draft}" in result.err
    assert not (store / "patients/p-0001/addenda").exists()


def test_a_note_unsigned_while_typing_keeps_the_draft_and_names_it(
    store: Path, editor: Path
) -> None:
    session = note(store, SIGNED)
    result = amend_by_editor(store, editor, SIGNED, EDITOR_MEANWHILE=str(session))
    assert "signature:" not in session.read_text()
    assert result.code == 1 and "not signed yet" in result.err, result
    [draft] = openings(editor)
    assert draft.exists() and TYPED in draft.read_text()
    assert f"your text is kept in {draft}" in result.err
    assert drafts(store) == [draft]
    assert not (store / "patients/p-0001/addenda").exists()
