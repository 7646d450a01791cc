"""Reading a record file from disk: a regular file of bounded size, never a FIFO, device,
socket or symbolic link (SPEC §5; a FIFO would block the reader for ever, and a committed
symbolic link could pull a file from outside the store into a chart)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from medmassage.yamlio.text import MAX_BYTES, problem

# O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
# O_NOFOLLOW: a symbolic link as the last part of the path fails to open (ELOOP).
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _what(mode: int) -> str:
    for test, label in _KINDS:
        if test(mode):
            return label
    return "not a regular file"


def _open(path: Path, name: str) -> int:
    """A descriptor open for reading on `path`, which must not be a symbolic link."""
    try:
        if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():  # pragma: no cover - Windows
            raise OSError("symbolic link")
        return os.open(path, _FLAGS)
    except OSError as exc:
        if path.is_symlink():
            raise problem(
                name,
                1,
                1,
                "syntax/unreadable",
                "is a symbolic link; a record must be a regular file inside the store",
            ) from None
        raise problem(
            name, 1, 1, "syntax/unreadable", f"cannot read file: {exc.strerror or exc}"
        ) from None


def read_file(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, or a located RecordError."""
    fd = _open(path, name)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise problem(
                name,
                1,
                1,
                "syntax/unreadable",
                f"is {_what(info.st_mode)}, not a regular file; a record must be a regular file",
            )
        if info.st_size > MAX_BYTES:
            raise problem(
                name,
                1,
                1,
                "syntax/too-large",
                f"file is {info.st_size} bytes; records are at most {MAX_BYTES} bytes",
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise problem(
            name, 1, 1, "syntax/unreadable", f"cannot read file: {exc.strerror or exc}"
        ) from None
    finally:
        os.close(fd)
