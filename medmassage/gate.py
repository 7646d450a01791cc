"""A bad chart never lands (SPEC §6): what a commit may not break, and who depends on
what.

`gate` judges the whole store as it is in the work tree (pre-commit has put unstaged
edits aside, so that is what will be committed) and compares its problems with the
store's at a commit (HEAD): an error the commit's store did not have blocks; one that
was there already is shown as such and does not. Problems are compared by file, rule
and field path, never by line, so moving text about does not make an old error new.
Deleting or renaming a record that others refer to is caught because the whole store
is judged, not only the files a hook was handed.

The commit's problems are worked out once per commit and remembered in the store's
cache under the id of the store's tree in it: only the charts whose files differ from
the commit (and all of them when a shared record changed) are judged again, from the
commit's own bytes in a temporary folder; the rest are the work tree's own answers.

`with_dependents` widens `validate FILE...` to the records that depend on the files
named: a plan to the notes following it, a patient's record to the whole chart, a
therapist or provider to the records naming them, medmassage.yaml to the whole store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medmassage import kinds
from medmassage.errors import GitError, Problem
from medmassage.store import PATIENTS, Store
from medmassage.validate import Report, validate_store

GATE_FILE = "gate.json"
FORMAT = 1
OLD = "already there at {base}, so it does not block; fix it when you can"
Key = tuple[str, str, str]  # file, rule, field path: a problem wherever its line moved


@dataclass
class Verdict:
    """The work tree's problems measured against a commit's."""

    report: Report  # every problem; those the commit had already are warnings, marked so
    new: list[Problem]  # problems the commit's store did not have
    old: int  # how many errors were there already
    base: str  # what was compared with, in words

    def failed(self, strict: bool = False) -> bool:
        """True when the change adds an error (with `strict`, any new problem)."""
        return any(p.severity == "error" or strict for p in self.new)

    def summary(self) -> str:
        """One line saying what the gate decided against what."""
        errors = sum(1 for p in self.new if p.severity == "error")
        warnings = len(self.new) - errors
        return (
            f"gate: {errors} new error{'s' if errors != 1 else ''}, {warnings} new "
            f"warning{'s' if warnings != 1 else ''}, {self.old} error"
            f"{'s' if self.old != 1 else ''} already there, compared with {self.base}"
        )


def key(problem: Problem) -> Key:
    """What identifies a problem across versions of the store."""
    return (problem.file, problem.rule, problem.path)


def gate(
    store: Store,
    today: str | None = None,
    rev: str = "HEAD",
    jobs: int | None = 1,
    use_cache: bool = True,
) -> Verdict:
    """Judge the whole store and set its problems against those of the store at `rev`;
    with no such commit (a new repository, a store not committed yet, no git) every
    problem is new."""
    today = today or dt.date.today().isoformat()
    report = validate_store(store, None, today, jobs=jobs, use_cache=use_cache, keep_view=False)
    base, words = _baseline(store, report, today, rev, use_cache)
    errors = {k for k, severity in base if severity == "error"}
    seen = {k for k, _ in base}
    new: list[Problem] = []
    marked: list[Problem] = []
    old = 0
    for problem in report.problems:
        if problem.severity == "error" and key(problem) in errors:
            old += 1
            message = f"{problem.message} ({OLD.format(base=words)})"
            marked.append(problem._replace(severity="warning", message=message))
            continue
        if key(problem) not in seen:
            new.append(problem)
        marked.append(problem)
    return Verdict(dataclasses.replace(report, problems=marked), new, old, words)


Baseline = set[tuple[Key, str]]  # (key, severity) of every problem the commit's store has


def _baseline(
    store: Store, report: Report, today: str, rev: str, use_cache: bool
) -> tuple[Baseline, str]:
    from medmassage.store import git

    where = git.store_prefix(store.root)
    if where is None:
        return set(), "nothing (the store is not in a git repository)"
    top, prefix = where
    tree = git.tree_id(top, rev, prefix)
    if tree is None:
        return set(), f"nothing ({rev} does not hold the store yet)"
    words = rev
    cached = _load(store, tree, today) if use_cache else None
    if cached is not None:
        return cached, words
    changed = git.changed_paths(top, rev, prefix)
    if changed is None:
        raise GitError(f"git could not compare the store with {rev}")
    found = _problems_at(store, top, tree, changed, report, today)
    base = {(key(p), p.severity) for p in found}
    if use_cache:
        _save(store, tree, today, base)
    return base, words


def _chart(rel: str) -> str | None:
    """The patient folder a path lies in (its name), or None outside patients/."""
    parts = rel.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == PATIENTS else None


def _problems_at(
    store: Store, top: Path, tree: str, changed: list[str], report: Report, today: str
) -> list[Problem]:
    """The problems of the store in `tree`. A chart is judged only on what it holds and
    on the shared records, so the charts the work tree has as in `tree` keep their
    answers; the others (all, when anything outside patients/ changed) are judged from
    the tree's bytes."""
    if not changed:
        return report.problems
    charts = {_chart(rel) for rel in changed}
    everything = None in charts or not all(rel.isprintable() for rel in changed)
    with tempfile.TemporaryDirectory(prefix="medmassage-gate-") as folder:
        copy = Path(folder)
        _extract(top, tree, copy, None if everything else charts)
        found = validate_store(Store(copy), None, today, use_cache=False, keep_view=False)
    if everything:
        return found.problems
    kept = [p for p in report.problems if _chart(p.file) not in charts]
    return kept + [p for p in found.problems if _chart(p.file) in charts]


def _extract(top: Path, tree: str, dest: Path, charts: set[str | None] | None) -> None:
    """Write the files of `tree` into `dest`: all of them, or the shared ones (outside
    patients/) and those of `charts`. Links stay links: the walk reports them."""
    from medmassage.store import git

    rows = git.tree_files(top, tree)
    if rows is not None and charts is not None:
        rows = [row for row in rows if _chart(row[2]) is None or _chart(row[2]) in charts]
    blobs = git.read_blobs(top, [blob for _, blob, _ in rows]) if rows is not None else None
    if rows is None or blobs is None:
        raise GitError("git could not read the committed store")
    for (mode, _, name), data in zip(rows, blobs, strict=True):
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            os.symlink(os.fsdecode(data), path)
        else:
            path.write_bytes(data)


def _stamp(today: str) -> dict[str, str]:
    """What the commit's problems depend on besides its tree: the code, schemas, the day."""
    from medmassage.schema_loader import schemas_digest
    from medmassage.store.cache import code_digest

    return {"code": code_digest(), "schemas": schemas_digest(), "today": today}


def _load(store: Store, tree: str, today: str) -> Baseline | None:
    from medmassage.store.cache import load_checked

    body = load_checked(store.cache_dir / GATE_FILE, FORMAT, tree=tree, **_stamp(today))
    try:
        return {((f, r, p), s) for f, r, p, s in body} if isinstance(body, list) else None
    except (TypeError, ValueError):  # a damaged cache is rebuilt
        return None


def _save(store: Store, tree: str, today: str, base: Baseline) -> None:
    from medmassage.store.cache import save_checked

    rows = sorted([*k, severity] for k, severity in base)
    save_checked(store.cache_dir / GATE_FILE, FORMAT, rows, tree=tree, **_stamp(today))


def followers(kind: str) -> frozenset[str]:
    """The kinds of a chart whose records may break when a record of `kind` changes:
    itself (sessions count against their siblings), the kinds referring to it, and so
    on (a referral's sessions through their plan); all of them for the patient record."""
    chart = {name for name in kinds.names() if kinds.get(name).patient_scoped}
    if kind == "patient":
        return frozenset({"patient", *chart})
    found = {kind}
    grown = True
    while grown:
        more = {src for src, _, dst in kinds.references() if dst in found and src in chart}
        grown = not more <= found
        found |= more
    return frozenset(found)


def with_dependents(store: Store, paths: Sequence[Path]) -> list[Path]:
    """`paths` and the records that depend on what they name (SPEC §6): in a patient's
    folder, the chart's records of the `followers` kinds; for a therapist or provider,
    the records naming them and their followers; the whole store for medmassage.yaml."""
    named = store.walk(paths)
    if any(e.kind == "settings" for e in named):
        return [store.root]
    everything = [e for e in store.walk() if e.kind is not None and e.patient is not None]
    ids = [e.id.encode() for e in named if e.kind is not None and e.patient is None]
    starts: list[tuple[str | None, str | None]]
    starts = [(e.patient, e.kind) for e in named if e.kind is not None and e.patient is not None]
    for entry in everything if ids else []:
        try:
            data = (store.root / entry.rel).read_bytes()
        except OSError:  # gone since the walk: validate reports what is there
            continue
        if any(record_id in data for record_id in ids):
            starts.append((entry.patient, entry.kind))
    wanted = {(patient, kind) for patient, start in starts for kind in followers(start or "")}
    extra = [store.root / e.rel for e in everything if (e.patient, e.kind) in wanted]
    return [*paths, *extra]
