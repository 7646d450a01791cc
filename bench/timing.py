"""How the benchmark times things: wall and CPU time of one run, in rounds.

CPU time is user + system time of the command and every process it started (its
workers): on a machine shared with other work, wall time moves with the load while CPU
time moves much less, so the table gives both, each as a ratio to the floor."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def children_cpu() -> float:
    """User + system seconds of every child process waited for so far (and of theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(command: list[str], before: Callable[[], None] | None = None) -> Timing:
    """Wall and CPU time of one run of a command (stdout discarded); a crash stops the
    benchmark."""
    if before is not None:
        before()
    settle_disk()
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(command[:6])}... failed ({proc.returncode}): {proc.stderr[-500:]}"
        )
    return elapsed, children_cpu() - cpu


def settle_disk() -> None:
    """Flush what earlier steps wrote or deleted (deleting 10,000 rendered files leaves the
    file system busy for seconds), so no measurement pays for the one before it."""
    if hasattr(os, "sync"):
        os.sync()


def in_process(work: Callable[[], object], scratch: Path | None = None) -> Timing:
    """Wall and CPU time of work done in this process (`scratch` removed first)."""
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    settle_disk()
    cpu = time.process_time()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


def quietly(command: list[str]) -> None:
    """Run a command, its output thrown away (the run before a warm measurement)."""
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rounds(tasks: dict[str, Callable[[], Timing]], reps: int) -> dict[str, list[Timing]]:
    """Each task once per round, `reps` rounds: the measurements a ratio is taken between
    are made side by side, so a machine that speeds up or slows down during the run moves
    them together."""
    times: dict[str, list[Timing]] = {name: [] for name in tasks}
    for _ in range(reps):
        for name, task in tasks.items():
            times[name].append(task())
    return times


def peak_memory_mb(command: list[str]) -> float:
    """Peak resident memory of a command and its worker processes, in MB."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], capture_output=True, text=True
    ).stdout
    return int(out.strip()) / 1024
