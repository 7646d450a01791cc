"""What every document is: the fixed shape the render engine reads, so that it never
needs to know one document from another. A document module fills one `Document`
row (see `medmassage.documents.DOCUMENTS`) and ships `<name>.<fmt>.j2` templates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from medmassage.chart import Chart, StoreView
from medmassage.store import Entry

Context = dict[str, Any]  # plain data for the templates
Facts = dict[str, Any]  # what decides whether a target is rendered (remembered by the cache)
# What becomes of a target: rendered, left out quietly, or left out with the notice.
Choice = Literal["render", "skip", "withhold"]
PATIENT = "patient"  # `Document.per` for one document per patient


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
    # The input files whatever the records say (beyond `holds`): a new one among them
    # means the document is built again. Given the patient folder and the shared files.
    statics: Callable[[Sequence[Entry], Sequence[str]], set[str]]
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
