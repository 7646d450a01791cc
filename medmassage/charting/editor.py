"""`create --edit`: open $EDITOR on a prefilled record, as `git commit` does, and keep
the person's text in a draft file until the record is safely written."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from medmassage.errors import MedmassageError, RecordError, WriteError
from medmassage.store import Store
from medmassage.store.files import check_folders, write_new
from medmassage.yamlio import decode, dump, read_file

DRAFTS = "drafts"  # in the store's cache folder
_HEADER = """\
# {target}: fill in the fields, then save and close the editor to create it.
# Fields showing null need a value; lines starting with '#' are ignored. Without an
# `id:` line the id is made for you. To cancel, delete everything and save.
# `medmassage schema {kind}` describes every field.
"""


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else the platform's basic editor, split like a shell would."""
    editor = (
        os.environ.get("VISUAL")
        or os.environ.get("EDITOR")
        or ("notepad" if os.name == "nt" else "vi")
    )
    return shlex.split(editor, posix=os.name != "nt")


def new_draft(root: Path, kind: str, text: str) -> Path:
    """A fresh 0600 draft file in the store's cache (or the system temp folder) holding `text`.
    A cache folder that is a symbolic link is refused (WriteError naming it): the draft
    holds a patient's details, so it goes neither through the link nor elsewhere."""
    folders = [Store(root).cache_dir / DRAFTS, Path(tempfile.gettempdir())]
    check_folders(folders[0], root)
    for folder in folders:
        path = folder / f"{kind}-{secrets.token_hex(4)}.yaml"
        try:
            write_new(path, text.encode("utf-8"), root)
        except WriteError:
            continue
        return path
    raise MedmassageError("cannot create a draft file for the editor; nothing was written")


def edit_draft(root: Path, kind: str, target: str, record: dict[str, Any]) -> tuple[str, Path]:
    """Let the person edit `record`; return their text and the draft that holds it."""
    draft = new_draft(root, kind, _HEADER.format(kind=kind, target=target) + dump(record))
    command = [*editor_command(), str(draft)]
    try:
        status = subprocess.run(command, check=False).returncode
    except OSError as exc:
        draft.unlink()
        raise MedmassageError(
            f"cannot start the editor {command[0]!r} ({exc.strerror}); set $EDITOR; "
            "nothing was written"
        ) from None
    try:
        text = decode(read_file(draft, str(draft)), str(draft))
    except RecordError as exc:
        p = exc.problem
        raise MedmassageError(
            f"{p.file}:{p.line}:{p.column}: {p.rule}: {p.message}; your text is kept in {draft}"
        ) from None
    if status != 0:
        raise MedmassageError(
            f"the editor exited with status {status}; nothing was written; "
            f"your text is kept in {draft}"
        )
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        draft.unlink()
        raise MedmassageError("the record was left empty; nothing was written")
    return text, draft
