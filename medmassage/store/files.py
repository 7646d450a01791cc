"""Every write the tool makes (SPEC §2.3, §9): a file appears complete or not at all,
and is readable by its owner only.

The bytes always go to a temporary file in the target's folder first
(`.<name>.<random>.tmp`, which the store walk reports if a killed process leaves one
behind). `write_new` (records) flushes it and hard-links it to the final name: a link,
unlike a rename, fails when the name exists, so of many processes creating the same
record exactly one succeeds and nobody's file is overwritten. `replace_atomically`
(signing a note, caches, rendered documents) renames it over the target instead."""

from __future__ import annotations

import contextlib
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
    """Create `folder` and its missing parents up to `stop` (mode 0700); return those
    created, top first. Every folder between `stop` and `folder` must be a real folder:
    a symbolic link among them is refused (WriteError naming it), as writing through it
    would put records, drafts or the lock outside the store."""
    missing: list[Path] = []
    current = folder
    inside = folder.is_relative_to(stop)  # outside the store, only what is made is checked
    while current not in (stop, current.parent):
        if not _real_folder(current):
            missing.append(current)
        elif not inside:
            break
        current = current.parent
    created: list[Path] = []
    for item in reversed(missing):
        try:
            os.mkdir(item, DIR_MODE)
        except FileExistsError:
            if _real_folder(item):
                continue  # a concurrent creator made it; it is not ours to remove
            remove_folders(created)
            raise _refused(item) from None
        except OSError as exc:
            remove_folders(created)
            why = why_not_written(exc, item.parent)
            raise WriteError(
                f"cannot create the folder {item}: {why}; nothing was written"
            ) from None
        created.append(item)
        with contextlib.suppress(OSError):
            os.chmod(item, DIR_MODE)  # an unusual umask must not leave it wider or narrower
        fsync_folder(item.parent)
    return created


def check_folders(folder: Path, stop: Path) -> None:
    """WriteError naming the first of the folders between `stop` and `folder` that
    exists but is a symbolic link or not a folder (missing ones are fine)."""
    current = folder
    while current not in (stop, current.parent):
        _real_folder(current)
        current = current.parent


def _real_folder(path: Path) -> bool:
    """True for a real folder, False when missing; WriteError for a link or a file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteError(f"cannot use the folder {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        return True
    raise _refused(path)


def _refused(path: Path) -> WriteError:
    if os.path.islink(path):
        return WriteError(
            f"{path} is a symbolic link; medmassage never writes through a link, so nothing "
            "was written (make it a real folder inside the store)"
        )
    return WriteError(f"{path} is a file, not a folder; nothing was written")


def why_not_written(exc: OSError, folder: Path) -> str:
    """Why writing into `folder` failed, in plain words (permission, full disk...)."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write in the folder {folder}"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or str(exc)


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


def _temporary(path: Path | str) -> tuple[int, str]:
    """A new temporary file (0600) beside `path`, open for writing, and its name."""
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(temp, flags, FILE_MODE), temp


def _link_new(path: Path, data: bytes) -> None:
    temp = ""
    try:
        try:
            fd, temp = _temporary(path)
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
        if temp:
            _unlink_quietly(temp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _failure(path: Path, exc: OSError) -> WriteError:
    if exc.errno in _NO_LINKS and exc.filename2 is not None:
        reason = "this file system does not support hard links, which safe exclusive writes need"
    else:
        reason = why_not_written(exc, path.parent)
    return WriteError(f"could not write {path}: {reason}; nothing was written")


def _unlink_quietly(path: Path | str) -> None:
    # Gone already; or left over, and then the walk reports it as layout/stray-temp-file.
    with contextlib.suppress(OSError):
        os.unlink(path)


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


def replace_atomically(
    path: Path | str, data: bytes, mode: int | None = None, sync: bool = True
) -> int:
    """Put `data` at `path` (replacing any file there) atomically: the bytes go to a
    temporary file beside it, are flushed to disk when `sync`, and the temporary file is
    renamed over `path`, so a reader sees the old file or the new one, never half of one.

    `mode`: the new file's permissions (default 0600, narrowed by the umask). Returns
    its mtime_ns (a rename keeps it). Raises OSError, leaving no temporary file behind."""
    fd, temp = _temporary(path)
    try:
        try:
            _write_all(fd, data)
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask must not change who may read a chart
            if sync:
                os.fsync(fd)
            written = os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise
    if sync:
        fsync_folder(Path(path).parent)
    return written


def replace_file(path: Path, data: bytes) -> None:
    """Replace the regular file `path` with `data`, atomically and keeping its mode.

    This is for the one sanctioned rewrite of a record (adding a signature); every
    other write of a record goes through `write_new`. Raises WriteError; the file is
    then unchanged."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise _failure(path, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{path} is not a regular file (a link?); it was left unchanged")
    try:
        replace_atomically(path, data, mode=stat.S_IMODE(info.st_mode))
    except OSError as exc:
        raise _failure(path, exc) from None


def write_output(path: str, data: bytes, out: Path, ready: set[str] | None = None) -> int:
    """Write a rendered file atomically, never outside `out` (`path` is
    <out>/<patient>/<file>, and neither the folder nor the file may be a symlink).
    Returns the file's mtime_ns as left (a file that already held `data` is left alone).
    `ready`: the folders this run has already made and checked (a batch writes thousands
    of files into a few folders); plain os calls, as this is all it does per file."""
    outside = f"{path} would be written outside {out} (through a symbolic link); nothing written"
    folder = os.path.dirname(path)
    try:
        if ready is None or folder not in ready:
            if os.path.exists(out) and not os.path.isdir(out):
                raise WriteError(f"--out {out} is a file, not a folder; nothing was written")
            out.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # made before, or by a run beside us
                os.mkdir(folder, DIR_MODE)
            if os.path.islink(folder):
                raise WriteError(outside)
            if not os.path.isdir(folder):
                raise WriteError(f"{folder} is a file, not a folder; nothing was written")
            if ready is not None:
                ready.add(folder)
        try:
            present: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            present = None
        if present is not None and stat.S_ISLNK(present.st_mode):
            raise WriteError(outside)
        if present is not None and present.st_size == len(data) and _holds(path, data):
            return present.st_mtime_ns  # unchanged: leave the file (and its time stamp) alone
        # No fsync: rendered files are derived data, made again from the records at will.
        # The rename still never shows a half-written file, and after a crash the render
        # cache sees any file whose size or sha256 is not what it recorded and renders it again.
        return replace_atomically(path, data, sync=False)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def _holds(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False
