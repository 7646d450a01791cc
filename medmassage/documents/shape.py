"""What every document is: the fixed shape the render engine reads, so that it never
needs to know one document from another. A document module fills one `Document`
row (see `medmassage.documents.DOCUMENTS`) and ships `<name>.<fmt>.j2` templates."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from medmassage import kinds
from medmassage.chart import Chart, StoreView
from medmassage.store import PATIENT_FILE, SETTINGS_FILE, Entry

Context = dict[str, Any]  # plain data for the templates
Facts = dict[str, Any]  # what decides whether a target is rendered (remembered by the cache)
# What becomes of a target: rendered, left out quietly, or left out with the notice.
Choice = Literal["render", "skip", "withhold"]
PATIENT = "patient"  # `Document.per` for one document per patient
# In `Document.reads`: every file of the patient's folder, whatever its kind (stray files too).
WHOLE_FOLDER = "*"


class Target(NamedTuple):
    """One document to render: a patient and, for a document per record, the record id."""

    patient: str
    session: str = ""  # the id of the record the document is about ("" per patient)

    def __str__(self) -> str:
        return f"{self.patient}/{self.session}" if self.session else self.patient


class Period(NamedTuple):
    """The options of a run that documents read: the days asked for and the letter date."""

    since: str | None = None
    until: str | None = None
    date: str | None = None

    def holds(self, day: str) -> bool:
        """Whether `day` (YYYY-MM-DD) lies within --since/--until."""
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


@dataclass(frozen=True)
class Document:
    """One kind of document: what a target is, what it draws on, how it is built.

    `per` is a record kind (one document per record of that kind, named PATIENT/ID) or
    PATIENT (one per patient, named PATIENT). The callables take the loaded view and the
    target's chart; `holds` also gets the walk of the patient's folder (stray files too)."""

    name: str  # as typed after `render` and in output names <id>.<name>.<fmt>
    title: str  # in messages: "a physician update is named by the patient alone"
    per: str
    sources: tuple[str, ...]  # the record kinds it draws on: their errors may hold it back
    facts: tuple[str, ...]  # the keys `read_facts` returns, in the order the cache keeps
    read_facts: Callable[[StoreView, Chart, Target], Facts]
    select: Callable[[Facts, bool, Period], Choice]  # (facts, named by the user, period)
    holds: Callable[[StoreView, Chart, Target, Sequence[Entry], Period], set[str]]
    # The record kinds it reads beyond the records `holds` names (WHOLE_FOLDER: the whole
    # patient folder): every file of these kinds, in the patient's folder or (provider,
    # therapist) the store's, is an input, so adding, editing or deleting any of them
    # renders the document again. A SOAP note's "visit 5 of 8" counts every visit.
    reads: tuple[str, ...]
    build: Callable[[StoreView, Chart, Target, Period], tuple[str, Context]]  # (id, context)
    notice: str = ""  # printed when `select` withholds a target
    consent: bool = False  # leaves the practice: a patient named must consent to sharing
    requires: str = ""  # a record kind a patient must have for the document...
    requires_why: str = ""  # ...and why, for the refusal
    # The formats it ships a template for; md, html and txt for every document, and any
    # other (csv) only for a document listing it here.
    formats: tuple[str, ...] = ("md", "html", "txt")

    def template(self, fmt: str) -> str:
        """The template of this document in one format."""
        return f"{self.name}.{fmt}.j2"

    def files_read(self, folder: Sequence[Entry], shared: Sequence[str]) -> set[str]:
        """The input files whatever the records say (beyond `holds`): the settings and the
        files of the kinds in `reads`, from the walk of the patient's folder (stray files
        in their folders too) and the store's shared files."""
        inside, outside = folder_prefixes(self.reads)
        found = {SETTINGS_FILE}
        if inside:
            for entry in folder:
                within = entry.rel.split("/", 2)[-1]  # patients/<p>/<within>
                if within.startswith(inside):  # "" (the whole folder) starts every path
                    found.add(entry.rel)
        if outside:
            found.update(rel for rel in shared if rel.startswith(outside))
        return found


@functools.cache
def folder_prefixes(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where the records of the kinds `names` lie: within a patient's folder
    ('patient.yaml', 'sessions/', ...) and in the store ('providers/', ...)."""
    inside: list[str] = []
    outside: list[str] = []
    for name in names:
        if name == WHOLE_FOLDER:
            inside.append("")
            continue
        kind = kinds.get(name)
        if kind.name == "patient":
            inside.append(PATIENT_FILE)
        elif kind.patient_scoped:
            inside.append(f"{kind.folder}/")
        elif kind.scope == "store":
            outside.append(f"{kind.folder}/")
    return tuple(inside), tuple(outside)
