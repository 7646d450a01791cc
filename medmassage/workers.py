"""Process pools whose workers never outlive the command that started them.

Killing `medmassage validate` (SIGTERM, `kill -9`, the OOM killer) used to leave its
workers running with PPID 1 and holding stdout open, so `medmassage validate | tee log`
never ended. Each worker now asks Linux to kill it when its parent dies
(PR_SET_PDEATHSIG), or elsewhere watches its parent from a daemon thread; and SIGTERM of
the main process stops the pool instead of waiting for the work in flight."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5  # how often the portable fallback looks at its parent


def _ask_kernel() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(parent: int, every: float = POLL_SECONDS) -> threading.Thread:
    """The portable fallback: a daemon thread that ends this process as soon as its
    parent is no longer `parent` (an orphan is adopted by another process)."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(every)
        os._exit(1)  # no clean-up: the results have nowhere to go

    thread = threading.Thread(target=watch, name="medmassage-parent-watch", daemon=True)
    thread.start()
    return thread


def bind_to_parent(parent: int) -> None:
    """Make this worker die with `parent`, the process that started the pool."""
    # The worker inherits the main process's SIGTERM handler; a plain worker just dies.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _ask_kernel():
        watch_parent(parent)
    # The parent may have died between the fork and the request: then nobody kills us.
    if os.getppid() != parent:
        os._exit(1)


def _boot(parent: int, initializer: Callable[..., None], args: tuple[Any, ...]) -> None:
    bind_to_parent(parent)
    # A query pauses the collector in its main process (store.cache.paused_gc), and a
    # forked worker inherits that; a worker reads thousands of files and keeps little,
    # so it collects as usual and its memory stays flat.
    gc.enable()
    initializer(*args)


def _on_term(signum: int, frame: object) -> None:
    """SIGTERM of the main process while a pool is working: kill the workers and leave at
    once (exit status 128 + 15). No exception is raised into the interrupted code, which may
    hold the pool's locks: unwinding from there could hang with the output pipe open."""
    import multiprocessing

    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            child.kill()
    os._exit(128 + signum)


@contextlib.contextmanager
def worker_pool(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> Iterator[ProcessPoolExecutor]:
    """A process pool of `workers` bound to this process. On any exit other than a normal
    one (an error, Ctrl-C, SIGTERM) the workers are stopped at once rather than awaited."""
    from concurrent.futures import ProcessPoolExecutor

    previous = _trap_term()
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_boot, initargs=(os.getpid(), initializer, initargs)
    )
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _trap_term() -> Any:
    """Turn SIGTERM into an exception (so the pool is stopped); None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_term)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now."""
    # The executor offers no way to stop running tasks; its process table is the only
    # handle on them (typeshed declares it).
    processes = list(pool._processes.values()) if pool._processes else []
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=2)
