#!/usr/bin/env python3
"""Speed benchmark: medmassage against the parse floor and check-jsonschema.

    python3 dev.py bench                      # 10,000 sessions
    python3 dev.py bench --sessions 100000    # clinic-network scale

Builds a synthetic store of N sessions by cloning the demo clinic's patients, then
times, in rounds (medians over the rounds): reading the session files, parsing them with
libyaml (the floor, 1.0x), `medmassage validate` cold, warm with nothing changed and
warm with one file changed, `due` and `list sessions` cold (no cache) and warm, `render
soap --all --format md` cold (no output, no caches), writing as many files with no
rendering, render warm with nothing changed and with one file changed. Each ratio is
taken within a round, so a machine whose speed drifts during the run moves a measurement
and its floor together. Then check-jsonschema with the session schema on the same files
(timed once, next to a cold validate), `medmassage --help` and `--version` against
`python -c pass`, and the peak memory of a cold validate. Nothing here is a test (no
timing is asserted anywhere); it prints a table.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "records"
BIN = Path(sys.executable).parent
MEDMASSAGE = [sys.executable, "-m", "medmassage"]


def build_store(target: Path, sessions: int) -> list[Path]:
    """A store of exactly `sessions` session files, cloned from the demo patients."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("medmassage.yaml", "therapists", "providers"):
        source = DEMO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target / name)
    demo_patients = sorted(p for p in (DEMO / "patients").iterdir() if p.is_dir())
    made: list[Path] = []
    clone = 0
    while len(made) < sessions:
        for source in demo_patients:
            clone += 1
            new_id = f"p-{clone:06d}"
            folder = target / "patients" / new_id
            shutil.copytree(source, folder, ignore=shutil.ignore_patterns("sessions"))
            patient = folder / "patient.yaml"
            patient.write_text(
                patient.read_text().replace(f"id: {source.name}", f"id: {new_id}", 1)
            )
            (folder / "sessions").mkdir()
            for session in sorted((source / "sessions").glob("*.yaml")):
                if len(made) >= sessions:
                    break
                copy = folder / "sessions" / session.name
                shutil.copy(session, copy)
                made.append(copy)
            if len(made) >= sessions:
                break
    return made


def once(command: list[str], before: Callable[[], None] | None = None) -> float:
    """Wall time of one run of a command (stdout discarded); a crash stops the benchmark."""
    if before is not None:
        before()
    settle_disk()
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(command[:6])}... failed ({proc.returncode}): {proc.stderr[-500:]}"
        )
    return elapsed


def settle_disk() -> None:
    """Flush what earlier steps wrote or deleted (deleting 10,000 rendered files leaves the
    file system busy for seconds), so no measurement pays for the one before it."""
    if hasattr(os, "sync"):
        os.sync()


def in_process(work: Callable[[], object], scratch: Path | None = None) -> float:
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    settle_disk()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def write_files(folder: Path, files: list[Path]) -> None:
    """What a cold render's output costs the file system alone: one new file per session,
    in one folder per patient, through a temporary name and a rename (about 2.5 KB each)."""
    text = b"x" * 2500
    for path in files:
        target = folder / path.parent.parent.name
        target.mkdir(parents=True, exist_ok=True)
        temp = target / f".{path.stem}.tmp"
        temp.write_bytes(text)
        os.replace(temp, target / f"{path.stem}.md")


def rounds(tasks: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Each task once per round, `reps` rounds: the measurements a ratio is taken between
    are made side by side, so a machine that speeds up or slows down during the run moves
    them together."""
    times: dict[str, list[float]] = {name: [] for name in tasks}
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


def check_jsonschema() -> list[str] | None:
    """The check-jsonschema command, installed into this environment if missing."""
    exe = BIN / "check-jsonschema"
    if not exe.exists():
        print("installing check-jsonschema (reference tool for the benchmark) ...", file=sys.stderr)
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "check-jsonschema"],
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            print("check-jsonschema could not be installed; skipping it", file=sys.stderr)
            return None
    return [str(exe)]


def _package_folder(name: str) -> Path | None:
    """Where an installed package's source is, without importing it."""
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec is not None and spec.origin else None


FLOOR = "parse sessions with libyaml (floor)"
COLD = "medmassage validate, cold (--no-cache)"
WARM = "medmassage validate, warm, nothing changed"


def parse_args() -> argparse.Namespace:
    """The command line of the benchmark (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "out")
    parser.add_argument("--skip-reference", action="store_true", help="do not run check-jsonschema")
    parser.add_argument("--skip-render", action="store_true", help="do not time render")
    return parser.parse_args()


def compile_bytecode() -> None:
    """Bytecode for the package and for Click (which every command imports first), as an
    installed copy has (pip compiles at install time); a checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise compile them on every run, and start-up
    (--help against python -c pass) would measure the compiler."""
    for package in (PROJECT / "medmassage", _package_folder("click")):
        if package is not None:
            compileall.compile_dir(package, quiet=1)


def quietly(command: list[str]) -> None:
    """Run a command, its output thrown away (the run before a warm measurement)."""
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tasks_for(
    args: argparse.Namespace, store: Path, files: list[Path], has_render: bool
) -> dict[str, Callable[[], float]]:
    """One round's measurements, by row name, in the order a round makes them."""
    validate = [*MEDMASSAGE, "--root", str(store), "validate"]
    render_out = args.out / "rendered"
    render = [*validate[:-1], "render", "soap", "--all", "--format", "md", "--out", str(render_out)]

    def forget_everything() -> None:  # a first render: no output yet, no caches
        shutil.rmtree(render_out, ignore_errors=True)
        shutil.rmtree(store / ".medmassage-cache", ignore_errors=True)

    touched = files[len(files) // 2]

    def change_one() -> None:
        with open(touched, "a") as stream:
            stream.write("# edited\n")

    tasks: dict[str, Callable[[], float]] = {
        "read the session files (bytes only)": lambda: in_process(
            lambda: [p.read_bytes() for p in files]
        ),
        FLOOR: lambda: in_process(
            lambda: [yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader) for p in files]
        ),
        COLD: lambda: once([*validate, "--no-cache"]),
        WARM: lambda: once(validate, lambda: quietly(validate)),
        "medmassage validate, warm, one file changed": lambda: once(validate, change_one),
    }
    tasks.update(query_tasks(store))
    if has_render:
        scratch = args.out / "written"
        tasks.update(
            {
                "render soap --all md, cold (no caches)": lambda: once(render, forget_everything),
                "write as many files, no rendering": lambda: in_process(
                    lambda: write_files(scratch, files), scratch
                ),
                "render soap --all md, warm, nothing changed": lambda: once(
                    render, lambda: quietly(render)
                ),
                "render soap --all md, warm, one file changed": lambda: once(render, change_one),
            }
        )
    return tasks


def query_tasks(store: Path) -> dict[str, Callable[[], float]]:
    """`due` and `list sessions`, cold (no validation cache: every chart judged, in
    parallel, and its rows and items kept) and warm (answered from the cache)."""
    due = [*MEDMASSAGE, "--root", str(store), "due", "--format", "json"]
    sessions = [*MEDMASSAGE, "--root", str(store), "list", "sessions", "--format", "json"]

    def forget_cache() -> None:
        shutil.rmtree(store / ".medmassage-cache", ignore_errors=True)

    return {
        "medmassage due, cold (no cache)": lambda: once(due, forget_cache),
        "medmassage due, warm, nothing changed": lambda: once(due, lambda: quietly(due)),
        "list sessions, cold (no cache)": lambda: once(sessions, forget_cache),
        "list sessions, warm, nothing changed": lambda: once(sessions, lambda: quietly(sessions)),
    }


Row = tuple[str, float, float]


def reference_row(
    args: argparse.Namespace, files: list[Path], validate: list[str], floor: float
) -> tuple[list[Row], dict[str, float]]:
    """check-jsonschema with the session schema on the same files, timed once next to a
    cold validate (unless skipped or not installable)."""
    reference = None if args.skip_reference else check_jsonschema()
    if not reference:
        return [], {}
    schema = args.out / "session.schema.json"
    schema.write_text(
        subprocess.run([*MEDMASSAGE, "schema", "session"], capture_output=True, text=True).stdout
    )
    theirs = once([*reference, "--schemafile", str(schema), *map(str, files)])
    ours = once([*validate, "--no-cache"])  # right after it, for the ratio between the two
    return [("check-jsonschema, session schema", theirs, theirs / floor)], {
        "check-jsonschema": theirs / ours
    }


def startup_rows(floor: float) -> tuple[list[Row], dict[str, float], dict[str, list[float]]]:
    """`--help` and `--version` interleaved with `python -c pass`, each paired within its
    round."""
    startup = rounds(
        {
            "python -c pass": lambda: once([sys.executable, "-c", "pass"]),
            "medmassage --help": lambda: once([*MEDMASSAGE, "--help"]),
            "medmassage --version": lambda: once([*MEDMASSAGE, "--version"]),
        },
        7,
    )
    rows: list[Row] = []
    paired: dict[str, float] = {}
    for name, times in startup.items():
        rows.append((name, statistics.median(times), statistics.median(times) / floor))
        paired[name] = statistics.median(
            t / base for t, base in zip(times, startup["python -c pass"], strict=True)
        )
    return rows, paired, startup


def print_report(
    files: list[Path],
    record_files: int,
    reps: int,
    rows: list[Row],
    paired: dict[str, float],
    memory: float,
) -> None:
    """The table of medians and ratios to the floor, then the ratios between commands."""
    print(
        f"\n{len(files)} sessions ({record_files} record files), {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, {reps} rounds\n"
    )
    print(f"| {'what':<45} | {'median s':>9} | {'µs/session':>10} | {'x floor':>8} |")
    print(f"|{'-' * 47}|{'-' * 11}|{'-' * 12}|{'-' * 10}|")
    for name, seconds, ratio in rows:
        print(
            f"| {name:<45} | {seconds:9.3f} | {seconds / len(files) * 1e6:10.0f} | {ratio:8.3f} |"
        )
    print(f"\npeak memory of a cold validate: {memory:.0f} MB")
    if "check-jsonschema" in paired:
        print(
            f"medmassage validate is {paired['check-jsonschema']:.1f}x faster than "
            "check-jsonschema (timed one after the other)"
        )
    print(
        f"--help, --version vs python -c pass: {paired['medmassage --help']:.1f}x, "
        f"{paired['medmassage --version']:.1f}x"
    )


def print_render_ratios(measured: dict[str, list[float]]) -> None:
    """render against validate, cold and warm, and the file system's share of a cold render."""

    def within(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(measured[a], measured[b], strict=True))

    print(
        "render cold vs validate cold: "
        f"{within('render soap --all md, cold (no caches)', COLD):.2f}x; "
        "creating the output files alone, in one process, costs "
        f"{within('write as many files, no rendering', COLD):.2f}x validate cold on this "
        "machine in this run; render warm vs validate warm: "
        f"{within('render soap --all md, warm, nothing changed', WARM):.2f}x"
    )
    print("(ratios are medians of the ratios within each round)")


def main() -> int:
    """Build the store, time every row in rounds, print the table and save the timings."""
    args = parse_args()
    compile_bytecode()
    store = args.out / f"store-{args.sessions}"
    print(f"building a store of {args.sessions} sessions in {store} ...", file=sys.stderr)
    files = build_store(store, args.sessions)
    all_yaml = sorted(store.rglob("*.yaml"))
    time.sleep(1.2)  # let the files age past the cache's racy-timestamp window
    has_render = (
        not args.skip_render
        and subprocess.run([*MEDMASSAGE, "render", "--help"], capture_output=True).returncode == 0
    )
    # One round times everything once, in this order; each ratio is taken within a round
    # (then the median over the rounds), so a machine whose speed drifts during the run
    # moves a measurement and the floor it is divided by together.
    measured = rounds(tasks_for(args, store, files, has_render), args.reps)
    rows: list[Row] = [
        (
            name,
            statistics.median(times),
            statistics.median(t / f for t, f in zip(times, measured[FLOOR], strict=True)),
        )
        for name, times in measured.items()
    ]
    floor = statistics.median(measured[FLOOR])
    validate = [*MEDMASSAGE, "--root", str(store), "validate"]
    reference, paired = reference_row(args, files, validate, floor)
    started, started_paired, startup = startup_rows(floor)
    rows += reference + started
    paired.update(started_paired)
    memory = peak_memory_mb([*validate, "--no-cache"])
    print_report(files, len(all_yaml), args.reps, rows, paired, memory)
    if has_render:
        print_render_ratios(measured)
    results = {
        "rows": rows,
        "rounds": measured,
        "startup": startup,
        "paired": paired,
        "memory_mb": memory,
    }
    (args.out / f"results-{args.sessions}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
