"""Templates as files: the store's templates/<name> first, else the packaged one;
names that climb out, symlinks, non-files and oversize files refused; the listing of
what is in effect, and a digest of it. No Jinja here, so the render cache can tell
whether any template changed without importing it."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from medmassage.errors import TemplateProblem

PACKAGE = "medmassage.templates"
STORE_FOLDER = "templates"
FORMATS = ("md", "html", "txt")
MAX_BYTES = 256 * 1024
# A template name is a plain file name inside the templates folder: no folders, no '..'.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.j2")


@dataclass(frozen=True)
class Source:
    """Where a template comes from: 'store' or 'packaged', and its file."""

    name: str
    origin: str
    path: Path


def check_name(name: str) -> None:
    """Refuse any template name that is not a plain file name ending in .j2."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise TemplateProblem(
            f"template name {name!r} is refused: templates are plain file names ending in .j2 "
            "inside the templates folder"
        )


def packaged_folder() -> Path:
    """The folder of the templates shipped with medmassage."""
    return Path(str(importlib.resources.files(PACKAGE)))


def read(source: Source) -> str:
    """The text of a template file, refusing symlinks, non-files and oversize files."""
    if source.path.parent.is_symlink():
        raise TemplateProblem(
            f"the {source.origin} templates folder {source.path.parent} is a symbolic link; "
            "it is refused"
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        if source.path.is_symlink():
            raise OSError("symbolic link")
        fd = os.open(source.path, flags)
    except OSError:
        raise TemplateProblem(
            f"template {source.name} ({source.path}) is a symbolic link or unreadable; "
            "it is refused"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise TemplateProblem(
                f"template {source.name} ({source.path}) is not a regular file; it is refused"
            )
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TemplateProblem(
            f"template {source.name} is larger than {MAX_BYTES} bytes; it is refused"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateProblem(f"template {source.name} ({source.path}) is not UTF-8 text") from None


class Folders:
    """Where templates are looked for: the store's templates/ (when there is a store), then
    the packaged ones."""

    def __init__(self, store_root: Path | None) -> None:
        self.folders = [("packaged", packaged_folder())]
        if store_root is not None:
            self.folders.insert(0, ("store", store_root / STORE_FOLDER))

    def find(self, name: str) -> Source | None:
        """The template in effect for `name` (a name that is present, even if it will be
        refused)."""
        check_name(name)
        for origin, folder in self.folders:
            path = folder / name
            if path.is_symlink() or path.exists():
                return Source(name, origin, path)
        return None

    def names(self) -> list[str]:
        """Every template name in any of the folders."""
        names: set[str] = set()
        for _, folder in self.folders:
            if folder.is_dir():
                names.update(p.name for p in folder.iterdir() if p.name.endswith(".j2"))
        return sorted(names)


def listing(store_root: Path | None) -> list[Source]:
    """Every template name known, with the file in effect for it (store first)."""
    folders = Folders(store_root)
    found = []
    for name in folders.names():
        try:
            source = folders.find(name)
        except TemplateProblem:
            source = Source(name, "refused", Path(name))
        if source is not None:
            found.append(source)
    return found


def refusal(source: Source) -> str:
    """Why a listed template would be refused, or '' when it can be used."""
    if source.origin == "refused":
        return "refused: not a plain .j2 file name"
    try:
        read(source)
    except TemplateProblem as exc:
        return f"refused: {exc}"
    return ""


def digest(store_root: Path | None) -> str:
    """A digest of every template in effect: name, origin and bytes (or why it is refused),
    so the render cache knows when any template, store override or include, changed."""
    found = hashlib.sha256()
    for source in listing(store_root):
        note = refusal(source)
        data = note.encode() if note else read(source).encode("utf-8")
        found.update(f"{source.name}\0{source.origin}\0{len(data)}\0".encode() + data)
    return found.hexdigest()
