#!/usr/bin/env python3
"""Speed benchmark: medmassage against the parse floor and check-jsonschema.

    python3 dev.py bench                      # 10,000 sessions
    python3 dev.py bench --sessions 100000    # clinic-network scale

Builds a synthetic store of N sessions by cloning the demo clinic's patients, then
times, in rounds (medians over the rounds): reading the session files, parsing them with
libyaml (the floor, 1.0x), `medmassage validate` cold, warm with nothing changed and
warm with one file changed, `due` and `list sessions` cold (no cache) and warm, `render
soap --all --format md` cold (no output, no caches), writing as many files with no
rendering, render warm with nothing changed and with one file changed, and every other
document of the episode (superbill, plan of care, progress report, physician update,
discharge summary, home-care handout, referral form) rendered `--all` cold and warm.
Each ratio is taken within a round, so a machine whose speed drifts during the run moves
a measurement and its floor together; each row gives wall time and CPU time (user +
system of the command and its workers), both as ratios to the floor's. Then
check-jsonschema with the session schema on the same files (timed once, next to a cold
validate), `medmassage --help` and `--version` against `python -c pass`, and the peak
memory of a cold validate. Nothing here is a test (no timing is asserted anywhere); it
prints a table.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from synthetic import PROJECT, build_store, reuse_store
from tasks import COLD, FLOOR, MEDMASSAGE, SOAP_COLD, SOAP_WARM, WARM, WRITE, tasks_for
from timing import Timing, once, peak_memory_mb, rounds

BIN = Path(sys.executable).parent
Row = tuple[str, float, float, float, float]  # what, wall s, x floor, CPU s, x floor CPU


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
    parser.add_argument(
        "--keep-store",
        action="store_true",
        help="reuse the store an earlier run built at this size (its caches are dropped)",
    )
    parser.add_argument(
        "--startup-reps", type=int, default=7, help="rounds of --help/--version (default 7)"
    )
    return parser.parse_args()


def compile_bytecode() -> None:
    """Bytecode for the package and for Click (which every command imports first), as an
    installed copy has (pip compiles at install time); a checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise compile them on every run, and start-up
    (--help against python -c pass) would measure the compiler."""
    for package in (PROJECT / "medmassage", _package_folder("click")):
        if package is not None:
            compileall.compile_dir(package, quiet=1)


def table_rows(measured: dict[str, list[Timing]]) -> list[Row]:
    """Each row's median wall and CPU time, and the medians of their ratios to the floor
    within each round."""
    floor = measured[FLOOR]
    rows: list[Row] = []
    for name, times in measured.items():
        wall = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        ratio = statistics.median(t / f for (t, _), (f, _) in zip(times, floor, strict=True))
        cpu_ratio = statistics.median(c / f for (_, c), (_, f) in zip(times, floor, strict=True))
        rows.append((name, wall, ratio, cpu, cpu_ratio))
    return rows


def reference_row(
    args: argparse.Namespace, files: list[Path], validate: list[str], floor: Timing
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
    wall, cpu = once([*reference, "--schemafile", str(schema), *map(str, files)])
    ours, _ = once([*validate, "--no-cache"])  # right after it, for the ratio between the two
    row = ("check-jsonschema, session schema", wall, wall / floor[0], cpu, cpu / floor[1])
    return [row], {"check-jsonschema": wall / ours}


def startup_rows(
    floor: Timing, reps: int
) -> tuple[list[Row], dict[str, float], dict[str, list[Timing]]]:
    """`--help` and `--version` interleaved with `python -c pass`, each paired within its
    round."""
    startup = rounds(
        {
            "python -c pass": lambda: once([sys.executable, "-c", "pass"]),
            "medmassage --help": lambda: once([*MEDMASSAGE, "--help"]),
            "medmassage --version": lambda: once([*MEDMASSAGE, "--version"]),
        },
        reps,
    )
    rows: list[Row] = []
    paired: dict[str, float] = {}
    for name, times in startup.items():
        wall = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        rows.append((name, wall, wall / floor[0], cpu, cpu / floor[1]))
        paired[name] = statistics.median(
            t / base for (t, _), (base, _) in zip(times, startup["python -c pass"], strict=True)
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
    print(
        f"| {'what':<56} | {'median s':>8} | {'µs/session':>10} | {'x floor':>7} "
        f"| {'CPU s':>7} | {'x floor CPU':>11} |"
    )
    print(f"|{'-' * 58}|{'-' * 10}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 13}|")
    for name, seconds, ratio, cpu, cpu_ratio in rows:
        print(
            f"| {name:<56} | {seconds:8.3f} | {seconds / len(files) * 1e6:10.0f} "
            f"| {ratio:7.3f} | {cpu:7.3f} | {cpu_ratio:11.3f} |"
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


def print_render_ratios(measured: dict[str, list[Timing]]) -> None:
    """render against validate, cold and warm, and the file system's share of a cold render."""

    def within(a: str, b: str) -> float:
        pairs = zip(measured[a], measured[b], strict=True)
        return statistics.median(x / y for (x, _), (y, _) in pairs)

    print(
        f"render cold vs validate cold: {within(SOAP_COLD, COLD):.2f}x; "
        "creating the output files alone, in one process, costs "
        f"{within(WRITE, COLD):.2f}x validate cold on this machine in this run; "
        f"render warm vs validate warm: {within(SOAP_WARM, WARM):.2f}x"
    )
    print("(ratios are medians of the ratios within each round)")


def main() -> int:
    """Build the store, time every row in rounds, print the table and save the timings."""
    args = parse_args()
    compile_bytecode()
    store = args.out / f"store-{args.sessions}"
    print(f"building a store of {args.sessions} sessions in {store} ...", file=sys.stderr)
    files = reuse_store(store, args.sessions) if args.keep_store else None
    files = files or build_store(store, args.sessions)
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
    rows = table_rows(measured)
    floor = (
        statistics.median(t for t, _ in measured[FLOOR]),
        statistics.median(c for _, c in measured[FLOOR]),
    )
    validate = [*MEDMASSAGE, "--root", str(store), "validate"]
    reference, paired = reference_row(args, files, validate, floor)
    started, started_paired, startup = startup_rows(floor, args.startup_reps)
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
