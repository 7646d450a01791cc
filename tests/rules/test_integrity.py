"""integrity/* rules on tiny inline charts, signed with the real `sign` command."""

from __future__ import annotations

import textwrap
from pathlib import Path

from charts import BASE, SESSION, TODAY, invoke, problems, write_store

from medmassage.signature import signed_copy
from medmassage.yamlio import dump, load_file

ADDENDUM = "patients/p-0001/addenda/2026-10-07.yaml"
AT = "2026-10-06T17:00:00-07:00"  # the evening of the visit: on time


def signed_store(tmp_path: Path, at: str = AT, today: str = TODAY, by_hand: bool = False) -> Path:
    root = write_store(tmp_path / "store")
    if by_hand:  # as another tool might: `sign` refuses a late signature without --late
        path = root / SESSION
        record = load_file(path, SESSION)
        path.write_text(dump(signed_copy(record, str(record["therapist"]), at)))
        return root
    result = invoke("--root", str(root), "sign", "p-0001/2026-10-06", "--at", at, "--today", today)
    assert result.exit_code == 0, result.stderr
    return root


def rules(root: Path, today: str = TODAY) -> set[tuple[str, str, str]]:
    return {(p["rule"], p["file"], p["path"]) for p in problems(root, today)}


def addendum(refers_to: str) -> str:
    return textwrap.dedent(f"""\
        id: 2026-10-07
        refers_to: {refers_to}
        kind: correction
        written_at: "2026-10-07T09:00:00-07:00"
        author: ines-varga
        reason: Wrong side recorded
        text: The right side, not the left.
        """)


def test_a_signed_note_is_clean(tmp_path: Path) -> None:
    assert rules(signed_store(tmp_path)) == set()


def test_signature_mismatch_after_an_edit(tmp_path: Path) -> None:
    root = signed_store(tmp_path)
    note = root / SESSION
    note.write_text(note.read_text().replace("pain: 5", "pain: 4", 1))
    assert rules(root) == {("integrity/signature-mismatch", SESSION, "$.signature")}


def test_addendum_to_a_session_that_does_not_exist(tmp_path: Path) -> None:
    root = signed_store(tmp_path)
    (root / ADDENDUM).parent.mkdir()
    (root / ADDENDUM).write_text(addendum("2026-10-09"))
    assert rules(root) == {("integrity/addendum-target", ADDENDUM, "$.refers_to")}


def test_addendum_to_an_unsigned_session(tmp_path: Path) -> None:
    root = write_store(tmp_path, {ADDENDUM: addendum("2026-10-06")})
    assert rules(root) == {("integrity/addendum-target", ADDENDUM, "$.refers_to")}


def test_late_signature_is_a_warning(tmp_path: Path) -> None:
    root = signed_store(tmp_path, at="2026-10-09T09:00:00-07:00", by_hand=True)
    assert rules(root, "2026-10-09") == {("integrity/late-signature", SESSION, "$.signature.at")}


def test_a_late_entry_addendum_explains_a_late_signature(tmp_path: Path) -> None:
    root = signed_store(tmp_path, at="2026-10-09T09:00:00-07:00", by_hand=True)
    (root / ADDENDUM).parent.mkdir()
    text = addendum("2026-10-06").replace("kind: correction", "kind: late_entry")
    (root / ADDENDUM).write_text(text.replace("2026-10-07T09", "2026-10-09T10"))
    assert ("integrity/late-signature", SESSION, "$.signature.at") not in rules(root, "2026-10-09")


def test_unsigned_after_the_window(tmp_path: Path) -> None:
    root = write_store(tmp_path)
    assert rules(root, "2026-10-09") == set()  # three days: inside the window
    assert rules(root, "2026-10-10") == {("integrity/unsigned", SESSION, "$")}


def test_the_window_is_the_clinics(tmp_path: Path) -> None:
    settings = textwrap.dedent(BASE["medmassage.yaml"]) + "signing:\n  window_days: 1\n"
    root = write_store(tmp_path, {"medmassage.yaml": settings})
    assert rules(root, "2026-10-08") == {("integrity/unsigned", SESSION, "$")}
