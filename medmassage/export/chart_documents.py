"""The documents of one chart for its release (SPEC §10), made by the render engine: for
each document of the registry (`medmassage.documents`), the chart's targets chosen as
`render DOCUMENT PATIENT` chooses them, kept or left out by the document's own rule
(a discharge summary only for a discharged episode, no progress report for an initial
assessment...), and rendered by the engine's `Renderer`. Nothing here knows one document
from another: which ones apply is the registry's answer for this chart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage.chart import Record, StoreView
from medmassage.documents import DOCUMENTS
from medmassage.documents.common import may_share
from medmassage.documents.shape import Target
from medmassage.errors import UsageError
from medmassage.render.request import Index, Renderer, Request, choose, selected
from medmassage.store import Entry, Store

# The formats a release carries: HTML to read and print, plain text readable anywhere.
FORMATS = ("html", "txt")


@dataclass(frozen=True)
class Chosen:
    """One document to render for the release: which one, about what, and what it draws
    on (the files whose errors would hold it back)."""

    document: str
    target: Target
    holds: frozenset[str]


@dataclass(frozen=True)
class Rendered:
    """One rendered document: its registry name, target, id in file names, and the text
    of each format."""

    document: str
    target: Target
    id: str
    texts: dict[str, str]

    def name(self, fmt: str) -> str:
        """Its file name in one format, as the engine names outputs: <id>.<document>.<fmt>."""
        return f"{self.id}.{self.document}.{fmt}"


@dataclass(frozen=True)
class NotMade:
    """A document of the registry that this chart does not get, and why (the engine's
    notice or refusal: ids and fixed words, no chart text)."""

    document: str
    target: str
    reason: str


class _Renderer(Renderer):
    """The engine's renderer, with the Jinja environments of the whole release shared by
    every document: the templates they include (style, letterhead) are compiled once."""

    def __init__(self, request: Request, view: StoreView, root: Path, envs: dict[str, Any]) -> None:
        super().__init__(request, view, root)
        self._envs = envs


@dataclass
class Documents:
    """What the registry makes of one chart: the documents to render and those left out."""

    chosen: list[Chosen] = field(default_factory=list)
    not_made: list[NotMade] = field(default_factory=list)
    renderers: dict[str, Renderer] = field(default_factory=dict)
    envs: dict[str, Any] = field(default_factory=dict)  # format -> Jinja environment

    def render(self, chosen: Chosen) -> Rendered:
        """Render one chosen document in every release format."""
        document = self.renderers[chosen.document].render(chosen.target)
        return Rendered(chosen.document, chosen.target, document.id, dict(document.texts))


def choose_documents(
    store: Store,
    view: StoreView,
    patient: str,
    records: Sequence[Record],
    folder: Sequence[Entry],
) -> Documents:
    """Every document of the registry that applies to the chart, as the engine chooses
    the documents of a patient named on the command line. `view` holds the shared records;
    `folder` is the walk of the patient's folder."""
    from medmassage.render import jinja as templating

    loader = templating.Loader(store.root)
    found = Documents(envs={fmt: templating.environment(loader, fmt) for fmt in FORMATS})
    for name, document in DOCUMENTS.items():
        request = Request(name, patient=patient, formats=FORMATS)
        index = Index(folder, document.per)
        try:
            candidates = choose(store, request, index, _consents(view))
        except UsageError as exc:  # e.g. no referral: no physician to update
            found.not_made.append(NotMade(name, patient, str(exc)))
            continue
        renderer = _Renderer(request, view, store.root, found.envs)
        renderer.load(patient, records)
        renderer.check_templates()  # a broken template fails before anything is written
        found.renderers[name] = renderer
        for candidate in candidates:
            target = candidate.target
            ok, notice = selected(request, candidate, renderer.facts(target))
            if not ok:
                reason = notice.partition(": ")[2] or "left out by the document's own rule"
                found.not_made.append(NotMade(name, str(target), reason))
                continue
            holds = frozenset(renderer.holds(target, folder))
            found.chosen.append(Chosen(name, target, holds))
    return found


def _consents(view: StoreView) -> Callable[[str], bool]:
    """Whether a patient consents to sharing with providers (documents that leave the
    practice, the physician update, are made only then, as `render` makes them)."""
    return lambda patient: may_share(view.chart(patient).patient)
