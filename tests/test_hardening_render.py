"""Rendering hardened (issue 12, items 9, 11 and 12), through the CLI on private
copies of the demo clinic: store templates that try to build gigabytes or loop for ever
are stopped within seconds with a message naming the template; an output edited in
place (size and mtime restored) is rendered again; `render --all` says which patients
it leaves out by status and `--status any` includes them."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_cli, run_here

from medmassage.render import limits
from medmassage.yamlio import load_file

# Shortened for the tests (render.limits.SECONDS_ENV): a loop is stopped after this.
SECONDS = 1.0
FAST = {limits.SECONDS_ENV: str(SECONDS), "MEDMASSAGE_RACY_SECONDS": "0"}


@contextlib.contextmanager
def memory_capped(headroom: int = 512 << 20) -> Iterator[None]:
    """This process may grow by at most `headroom` bytes meanwhile: a template limit that
    failed to stop a gigabyte being built fails the test (MemoryError), not the machine."""
    statm = Path("/proc/self/statm")
    if not statm.exists():  # no measure of what is held: the limits alone then
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(statm.read_text().split()[0]) * resource.getpagesize() + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def here(root: Path, *args: str) -> Result:
    """The command in this process, for what a process adds nothing to (the runaway that
    only the timer stops is run in a process of its own)."""
    return run_here("--root", str(root), *args, env=FAST)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------- template limits (item 9)

BOMBS = {
    "repeat": ("soap.md.j2", "{{ 'a' * 10**9 }}\n"),
    "repeat-txt": ("soap.txt.j2", "{{ 'a' * 10**8 }}\n"),
    "list-repeat": ("soap.md.j2", "{{ (['a' * 1000] * 100000)|join }}\n"),
    "join-doubling": (
        "soap.html.j2",
        "{% set a = 'a' * 600000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c }}\n",
    ),
    "filter-width": ("soap.md.j2", "{{ 'a'|center(10**9) }}\n"),
    "format-width": ("soap.md.j2", "{{ '%1000000000s'|format('a') }}\n"),
    "method-width": ("soap.md.j2", "{{ '{:>1000000000}'.format(1) }}\n"),
    "power": ("soap.md.j2", "{{ 7 ** 1000000 }}\n"),
    "huge-range": ("soap.md.j2", "{{ range(10**9)|list|length }}\n"),
    "silent-loop": (
        "soap.md.j2",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}\n",
    ),
    "writing-loop": (
        "soap.md.j2",
        "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }} {% endfor %}{% endfor %}\n",
    ),
    "loop-without-range": (
        "soap.md.j2",
        "{% for i in 'x' * 100000 %}{% for j in 'y' * 100000 %}{% endfor %}{% endfor %}\n",
    ),
}


# Stopped only by the timer (no range() to count, nothing written to measure): run in a
# process of its own. The others are refused by the sandbox's checks or the clock read per
# range() item and per output chunk, and run in this process, its memory capped.
BY_THE_TIMER = "loop-without-range"


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_a_runaway_store_template_is_stopped_with_a_message_naming_it(
    store: Path, tmp_path: Path, case: str
) -> None:
    name, text = BOMBS[case]
    (store / "templates").mkdir(exist_ok=True)
    (store / "templates" / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    args = ("--root", str(store), "render", "soap", "--all", "--out", str(out))
    # Shorter still for the runaways (a loop burns all of it): the well-behaved documents
    # rendered before one take milliseconds.
    env = {**FAST, limits.SECONDS_ENV: str(SECONDS / 2)}
    started = time.monotonic()
    if case == BY_THE_TIMER:
        result = run_cli(*args, env=env)
    else:
        with memory_capped():
            result = run_here(*args, env=env)
    elapsed = time.monotonic() - started
    assert result.code != 0 and "Traceback" not in result.err, result
    assert f"template {name} (store)" in result.err, result
    assert "limit" in result.err
    # Stopped by a limit, not after building the text: seconds, not minutes.
    assert elapsed < limits.MAX_SECONDS + 20, elapsed
    fmt = name.split(".")[1]
    assert [p for p in files_under(out) if p.suffix == f".{fmt}"] == [], "no output of it"
    assert [p for p in files_under(out) if p.name.startswith(".")] == [], "no temporary file"


def test_a_template_within_the_limits_still_renders(store: Path, tmp_path: Path) -> None:
    (store / "templates").mkdir(exist_ok=True)
    text = "{% for i in range(100) %}{{ 'ab' * 100 }}{% endfor %}\n{{ patient.id }}\n"
    (store / "templates" / "soap.md.j2").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = here(store, "render", "soap", "p-0001", "--format", "md", "--out", str(out))
    assert result.code == 0, result
    written = files_under(out)
    assert written and all(p.read_text().startswith("ab" * 100) for p in written)


def test_the_time_limit_is_at_most_the_default() -> None:
    os.environ.pop(limits.SECONDS_ENV, None)
    assert limits.seconds() == limits.MAX_SECONDS
    os.environ[limits.SECONDS_ENV] = str(limits.MAX_SECONDS * 100)
    try:
        assert limits.seconds() == limits.MAX_SECONDS, "the environment only shortens it"
    finally:
        del os.environ[limits.SECONDS_ENV]


def record(path: Path) -> dict[str, Any]:
    return dict(load_file(path, "record"))


# ------------------------------------------------------- an edited output (item 11)


def test_an_output_edited_in_place_with_its_mtime_restored_is_rendered_again(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ("render", "soap", "p-0001", "--out", str(out))
    first = here(store, *args)
    assert first.code == 0, first
    written = files_under(out)
    originals = {p: p.read_bytes() for p in written}
    again = here(store, *args)
    assert again.code == 0 and {p: p.read_bytes() for p in written} == originals, again
    for path in written:  # `sed -i` then `touch -r`: same size, same mtime, other bytes
        info = path.stat()
        data = originals[path]
        first_letter = next(i for i, c in enumerate(data) if chr(c).isalpha())
        tampered = data[:first_letter] + b"#" + data[first_letter + 1 :]
        assert len(tampered) == len(data) and tampered != data
        path.write_bytes(tampered)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        assert path.stat().st_size == info.st_size
        assert path.stat().st_mtime_ns == info.st_mtime_ns
    third = here(store, *args)
    assert third.code == 0, third
    assert {p: p.read_bytes() for p in written} == originals, "every edited output restored"


# ------------------------------------------------- --all and patient status (item 12)


def test_render_all_says_whom_it_leaves_out_by_status_and_status_any_includes_them(
    store: Path, tmp_path: Path
) -> None:
    statuses = {
        p.parent.name: str(record(p).get("status"))
        for p in (store / "patients").glob("*/patient.yaml")
        if any((p.parent / "referrals").glob("*.yaml"))
    }
    inactive = sorted(p for p, status in statuses.items() if status != "active")
    assert inactive, "the demo clinic has discharged and on-hold patients with referrals"
    out = tmp_path / "out"
    args = ("render", "physician-update", "--all", "--out", str(out))
    for attempt in ("first", "from the render cache"):
        default = here(store, *args)
        assert default.code == 0, (attempt, default)
        assert not [p for p in inactive if (out / p).exists()]
        notice = f"{len(inactive)} patients not rendered for their status"
        assert notice in default.err and "--status any" in default.err, (attempt, default)
    everyone = here(store, *args, "--status", "any")
    assert everyone.code == 0, everyone
    assert all(any((out / p).glob("*.physician-update.md")) for p in statuses)
    assert "not rendered for their status" not in everyone.err
    chosen = here(store, *args, "--status", "active", "--status", statuses[inactive[0]])
    assert chosen.code == 0, chosen
    left = sum(1 for p in inactive if statuses[p] != statuses[inactive[0]])
    if left:
        assert f"{left} patient{'s' if left != 1 else ''} not rendered" in chosen.err, chosen
    else:
        assert "not rendered for their status" not in chosen.err, chosen
