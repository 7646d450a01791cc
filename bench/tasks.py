"""What one round of the benchmark measures, by row name, in the order a round makes
them: reading and parsing the sessions (the floor), validate, the queries, and render of
every document of the episode."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from synthetic import write_files
from timing import Timing, in_process, once, quietly

MEDMASSAGE = [sys.executable, "-m", "medmassage"]
FLOOR = "parse sessions with libyaml (floor)"
COLD = "medmassage validate, cold (--no-cache)"
WARM = "medmassage validate, warm, nothing changed"
SOAP_COLD = "render soap --all md, cold (no caches)"
SOAP_WARM = "render soap --all md, warm, nothing changed"
WRITE = "write as many files, no rendering"
# Every document after the SOAP note (which has rows of its own): one per session
# (superbill), per plan, per assessment or per patient.
DOCUMENTS = (
    "superbill",
    "plan-of-care",
    "progress-report",
    "physician-update",
    "discharge-summary",
    "home-care",
    "referral-form",
)
Tasks = dict[str, Callable[[], Timing]]


def tasks_for(args: argparse.Namespace, store: Path, files: list[Path], has_render: bool) -> Tasks:
    """One round's measurements, by row name, in the order a round makes them."""
    validate = [*MEDMASSAGE, "--root", str(store), "validate"]
    touched = files[len(files) // 2]

    def change_one() -> None:
        with open(touched, "a") as stream:
            stream.write("# edited\n")

    tasks: Tasks = {
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
        tasks.update(soap_tasks(args.out, store, files, change_one))
        for document in DOCUMENTS:
            tasks.update(render_tasks(args.out, store, document))
    return tasks


def query_tasks(store: Path) -> Tasks:
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


def _render(store: Path, document: str, out: Path, *extra: str) -> list[str]:
    return [
        *MEDMASSAGE, "--root", str(store), "render", document, "--all", *extra,
        "--format", "md", "--out", str(out),
    ]  # fmt: skip


def _forgetting(store: Path, out: Path) -> Callable[[], None]:
    def forget_everything() -> None:  # a first render: no output yet, no caches
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(store / ".medmassage-cache", ignore_errors=True)

    return forget_everything


def soap_tasks(out: Path, store: Path, files: list[Path], change_one: Callable[[], None]) -> Tasks:
    """Every SOAP note, cold, warm and with one session changed, and what creating as
    many files costs the file system with no rendering at all."""
    render = _render(store, "soap", out / "rendered")
    scratch = out / "written"
    return {
        SOAP_COLD: lambda: once(render, _forgetting(store, out / "rendered")),
        WRITE: lambda: in_process(lambda: write_files(scratch, files), scratch),
        SOAP_WARM: lambda: once(render, lambda: quietly(render)),
        "render soap --all md, warm, one file changed": lambda: once(render, change_one),
    }


def render_tasks(out: Path, store: Path, document: str) -> Tasks:
    """One document for every patient it applies to (`--all --status any`), cold (no
    output, no caches: the charts are judged too) and warm (nothing changed)."""
    folder = out / "documents" / document
    render = _render(store, document, folder, "--status", "any")
    return {
        f"render {document} --all md, cold (no caches)": lambda: once(
            render, _forgetting(store, folder)
        ),
        f"render {document} --all md, warm, nothing changed": lambda: once(
            render, lambda: quietly(render)
        ),
    }
