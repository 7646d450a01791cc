"""Atomic, exclusive writes (SPEC §2.3, §9): a new file appears complete or not at
all, never replaces a file that exists, and is readable by its owner only.

The bytes go to a temporary file in the target's folder (`.<stem>.<random>.tmp`,
which the store walk reports if a killed process leaves one behind), are flushed
to disk, and the temporary file is then hard-linked to the final name. A link,
unlike a rename, fails when the name exists, so of many processes creating the
same record exactly one succeeds and nobody's file is overwritten."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from medmassage.errors import RecordExists, WriteError

FILE_MODE = 0o600
DIR_MODE = 0o700
_NO_LINKS = frozenset((errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS))


def make_folders(folder: Path, stop: Path) -> list[Path]:
    """Create `folder` and its missing parents up to `stop` (mode 0700); return those created, top first."""
    missing: list[Path] = []
    current = folder
    while not current.is_dir() and current != stop and current.parent != current:
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    try:
        for item in reversed(missing):
            try:
                os.mkdir(item, DIR_MODE)
            except FileExistsError:
                continue  # a concurrent creator made it; it is not ours to remove
            created.append(item)
            os.chmod(item, DIR_MODE)  # an unusual umask must not leave it wider or narrower
            fsync_folder(item.parent)
    except OSError as exc:
        remove_folders(created)
        raise WriteError(
            f"cannot create the folder {current}: {exc.strerror or exc}; nothing was written"
        ) from None
    return created


def remove_folders(created: list[Path]) -> None:
    """Remove folders made by `make_folders` (deepest first), where they are still empty."""
    for folder in reversed(created):
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty (someone else wrote there) or already gone


def write_new(path: Path, data: bytes, stop: Path) -> None:
    """Create `path` holding `data`, atomically and only if it does not exist.

    Missing folders below `stop` are created (0700) and removed again on failure.
    Raises RecordExists when the file exists, WriteError for any other failure;
    in both cases nothing is left behind."""
    created = make_folders(path.parent, stop)
    try:
        _link_new(path, data)
    except BaseException:
        remove_folders(created)
        raise
    fsync_folder(path.parent)


def _link_new(path: Path, data: bytes) -> None:
    temp = path.parent / f".{path.stem}.{secrets.token_hex(6)}.tmp"
    try:
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE
            )
        except OSError as exc:
            raise _failure(path, exc) from None
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            raise _failure(path, exc) from None
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            raise RecordExists(path) from None
        except OSError as exc:
            raise _failure(path, exc) from None
    finally:
        _unlink_quietly(temp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _failure(path: Path, exc: OSError) -> WriteError:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in _NO_LINKS and exc.filename2 is not None:
        reason = "this file system does not support hard links, which safe exclusive writes need"
    else:
        reason = exc.strerror or str(exc)
    return WriteError(f"could not write {path}: {reason}; nothing was written")


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already; or left over, and then the walk reports it as layout/stray-temp-file


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, where the platform allows it (best effort:
    by now the file itself is complete, so a failure here must not report a lost write)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return  # e.g. Windows cannot open folders
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Replace the regular file `path` with `data`, atomically and keeping its mode:
    the bytes go to a temporary file beside it, are flushed, then renamed over it.

    This is for the one sanctioned rewrite of a record (adding a signature); every
    other write goes through `write_new`. Raises WriteError; the file is then unchanged."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise _failure(path, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{path} is not a regular file (a link?); it was left unchanged")
    mode = stat.S_IMODE(info.st_mode)
    temp = path.parent / f".{path.stem}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE
        )
        try:
            _write_all(fd, data)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask must not change who may read a chart
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        _unlink_quietly(temp)
        raise _failure(path, exc) from None
    fsync_folder(path.parent)
