"""Where an export that writes a folder goes (OUT: `export deid`, `export chart`), and
writing it so that it appears whole or not at all: a folder built in a temporary sibling
and renamed into place at the end, or a zip archive written in memory and linked into
place (a link, unlike a rename, never replaces a file that appeared meanwhile). Nothing
is ever written inside the store, and nothing existing is overwritten: OUT must not
exist, or be an empty folder. Both exports judge OUT here, so they refuse the same
places in the same words.

Archives are deterministic: entries in the order given, a fixed timestamp, fixed
permissions and compression, so the same files give byte-identical archives."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from medmassage.errors import UsageError, WriteError
from medmassage.store.files import DIR_MODE, FILE_MODE, fsync_folder, why_not_written, write_new

ZIP_SUFFIX = ".zip"
# The earliest time a zip entry can carry: no clock in the archive.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # ZipInfo.create_system: the permissions below are Unix ones


@dataclass(frozen=True)
class Destination:
    """Where an export is written: the folder, or the archive (`archive` true), and the
    name of the one folder the archive holds."""

    path: Path
    archive: bool

    @property
    def top(self) -> str:
        """The folder name inside the archive: the archive's name without .zip."""
        return self.path.name.removesuffix(ZIP_SUFFIX)


def destination(store_root: Path, out: str, archive: bool = False) -> Destination:
    """Check OUT before anything is read: UsageError (exit 2) for a path inside the store,
    an existing archive or file, a folder that is not empty, or a parent folder missing."""
    if not out.strip() or "\0" in out:
        raise UsageError("name the folder (or archive) to write (OUT)")
    path = Path(out)
    # An archive's one folder is named after it: "..zip" would hold entries in "./" and
    # "...zip" entries in "../", outside the folder it is unpacked in (and a backslash
    # separates folders to unzip tools on Windows).
    top = path.name.removesuffix(ZIP_SUFFIX) if archive else path.name
    if top in ("", ".", "..") or (archive and "\\" in top):
        raise UsageError(f"{out}: name a new folder (or archive) to write")
    if archive and not path.name.endswith(ZIP_SUFFIX):
        path = path.with_name(path.name + ZIP_SUFFIX)
    real = Path(os.path.realpath(path))
    store = Path(os.path.realpath(store_root))
    if real == store or real.is_relative_to(store):
        raise UsageError(
            f"{path} is inside the store ({store_root}); an export goes outside it, where it "
            "cannot be taken for records or committed by mistake"
        )
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent} is not an existing folder; create it first")
    if path.is_symlink() or (path.exists() and (archive or not path.is_dir())):
        raise UsageError(f"{path} already exists; it is left unchanged (name a new one)")
    if path.is_dir() and _has_entries(path):
        raise UsageError(f"{path} is a folder that is not empty; name a new or empty folder")
    return Destination(path, archive)


def _has_entries(folder: Path) -> bool:
    """True when the folder holds anything, hidden files too."""
    with os.scandir(folder) as entries:
        return any(True for _ in entries)


def write(dest: Destination, files: Iterable[tuple[str, bytes]]) -> None:
    """Write an export's files (relative posix paths and bytes, in their order)."""
    if dest.archive:
        write_new(dest.path, archive_bytes(dest.top, files), dest.path.parent)
    else:
        write_folder(dest.path, files)


def archive_bytes(top: str, files: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip archive holding the files under `top/`, the same bytes on every run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel, data in files:
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = (0o100000 | FILE_MODE) << 16  # a regular file, 0600
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def write_folder(path: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """Build the folder in a temporary sibling, then rename it to `path` (which is absent
    or an empty folder); on any failure (an error, Ctrl-C, `kill`, an exception raised by
    `files` itself) the sibling is removed and nothing is left. WriteError names the
    folder that could not be written in."""
    with _cleanly_terminated():
        _build_folder(path, files)
    with contextlib.suppress(OSError):
        fsync_folder(path.parent)


def _build_folder(path: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """The body of `write_folder`: the temporary sibling filled, renamed, or removed."""
    temp: Path | None = None
    try:
        temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        made: set[Path] = {temp}
        for rel, data in files:
            target = temp.joinpath(*rel.split("/"))
            _make_parents(target.parent, made)
            _write_file(target, data)
        os.chmod(temp, DIR_MODE)
        os.rename(temp, path)  # replaces an empty folder; fails on anything else
    except BaseException as exc:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if isinstance(exc, OSError):
            reason = why_not_written(exc, path.parent)
            raise WriteError(f"could not write {path}: {reason}; nothing was written") from None
        raise


class _Terminated(BaseException):
    """SIGTERM arrived while a folder was being written (raised to remove it first)."""


@contextlib.contextmanager
def _cleanly_terminated() -> Iterator[None]:
    """SIGTERM (what `kill` sends) while the folder is written: raised as _Terminated, so
    the temporary folder, which holds patients' records, is removed; then the process ends
    by that same signal, as it would have. Off the main thread signals cannot be caught,
    and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # only where a signal sent to oneself is not delivered at once
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_file(target: Path, data: bytes) -> None:
    """One new file of the folder (0600), never an existing one."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _make_parents(folder: Path, made: set[Path]) -> None:
    """Create the folders of the export (0700) on the way to a file."""
    if folder in made:
        return
    _make_parents(folder.parent, made)
    os.mkdir(folder, DIR_MODE)
    made.add(folder)
