"""A store-wide lock, so that two commands writing records (and committing them)
take turns instead of interleaving: two `sign` runs on the same note cannot both
sign it, and two `--commit` runs cannot race for git's index.

The lock is an OS lock (flock, or a byte-range lock on Windows) on
`.medmassage-cache/lock`, which is git-ignored and disposable: the OS releases it
when the process ends, however it ends, so a crash never leaves the store locked."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from medmassage.errors import MedmassageError, WriteError
from medmassage.store import Store
from medmassage.store.files import FILE_MODE, make_folders

LOCK_FILE = "lock"  # in the store's cache folder


@contextlib.contextmanager
def store_lock(root: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store's lock for the duration of the block; `waiting` is called once
    if another command holds it (to tell the person why nothing happens yet)."""
    path = Store(root).cache_dir / LOCK_FILE
    try:
        make_folders(path.parent, root)
        # O_NOFOLLOW: a link named `lock` must not make or open a file outside the store.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    except WriteError as exc:
        raise MedmassageError(f"cannot lock the store: {exc}") from None
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or exc
        raise MedmassageError(
            f"cannot open the store's lock file {path}: {why}; nothing was changed"
        ) from None
    try:
        _acquire(fd, waiting)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, waiting: Callable[[], None] | None) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        _acquire_windows(fd, waiting)
        return
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if waiting is not None:
            waiting()
        fcntl.flock(fd, fcntl.LOCK_EX)


def _acquire_windows(fd: int, waiting: Callable[[], None] | None) -> None:  # pragma: no cover
    import msvcrt

    told = False
    while True:
        try:
            # Typed only on Windows; elsewhere the checker sees no such names.
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
            return
        except OSError:
            if waiting is not None and not told:
                waiting()
                told = True
            time.sleep(0.1)
