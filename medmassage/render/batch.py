"""A render request over the store: validation through the validation cache, charts
loaded only for the documents the render cache cannot answer, that work spread over
processes (each writing its own files), and the results merged in target order, so
the output is the same however the work was split. Returns values; the CLI prints."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medmassage.documents.common import may_share
from medmassage.errors import Problem
from medmassage.render import cache as render_cache
from medmassage.render.cache import (
    Drawn,
    Identities,
    RenderCache,
    Stored,
    output_record,
)
from medmassage.render.jobs import (
    Job,
    Result,
    State,
    errors_by_file,
    from_cache,
    processes_for,
    run_jobs,
)
from medmassage.render.request import (
    Candidate,
    Document,
    Index,
    Request,
    Target,
    check_out,
    choose,
    held_problems,
    selected,
)
from medmassage.store import PATIENTS, Store
from medmassage.store.cache import stat_identity
from medmassage.store.files import write_output
from medmassage.validate import open_store


@dataclass
class Outcome:
    """What a run did: the files it reports written (in target order), the errors of each
    document chosen (empty: rendered), what --all left out on purpose, and which documents
    were rendered in this run rather than found unchanged."""

    written: list[str] = field(default_factory=list)
    held: dict[Target, list[Problem]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    rendered: list[Target] = field(default_factory=list)
    excluded: list[Target] = field(default_factory=list)  # left out by --all for their status


class Batch:
    """One render request over a store: what it chooses, and the work to bring it about."""

    def __init__(
        self,
        store: Store,
        request: Request,
        today: str | None = None,
        jobs: int | None = None,
        use_cache: bool = True,
    ) -> None:
        request.check()
        self.store, self.request, self.jobs, self.use_cache = store, request, jobs, use_cache
        self.survey = open_store(store, today, use_cache)
        self.index = Index(self.survey.entries, request.kind.per)
        self.ids = Identities(store.root)
        for rel in self.index.shared:
            self.ids.of(
                rel
            )  # before the shared records are read: the cache must describe what was read
        self.candidates = choose(store, request, self.index, self._consents)
        self.layout: dict[
            str, list[Problem]
        ] = {}  # patient ('' outside patient folders) -> layout findings
        for problem in self.survey.layout:
            parts = problem.file.split("/")
            self.layout.setdefault(
                parts[1] if parts[0] == PATIENTS and len(parts) > 2 else "", []
            ).append(problem)
        self.skipped: list[str] = []
        self._shared_errors: dict[str, list[Problem]] | None = None
        self._state: State | None = None

    def _consents(self, patient: str) -> bool:
        entry = next((e for e in self.index.folders.get(patient, []) if e.kind == "patient"), None)
        if entry is None:
            return True
        return may_share(self.survey.load(entry))

    def shared_errors(self) -> dict[str, list[Problem]]:
        """The errors outside patient folders (shared records, layout), by file."""
        if self._shared_errors is None:
            found = self.survey.shared_problems() + self.layout.get("", [])
            self._shared_errors = errors_by_file(found)
        return self._shared_errors

    def state(self, out: Path) -> State:
        """The run's shared state (the shared records read and checked here, once)."""
        if self._state is None:
            identities = {rel: self.ids.of(rel) for rel in self.index.shared}
            self._state = State(
                self.store.root,
                self.request,
                out,
                self.survey.shared(),
                self.shared_errors(),
                self.index.shared,
                identities,
                self.ids.cutoff,
            )
        return self._state

    # -- to standard output: everything here, in this process ----------------------------

    def choose_here(self) -> list[tuple[Target, list[Problem]]]:
        """Every document chosen, with its errors, its chart loaded in this process."""
        state = self.state(Path())
        renderer = state.local()
        renderer.check_templates()
        chosen = []
        for patient, candidates in _by_patient(self.candidates).items():
            problems, records = self.survey.chart(patient)
            renderer.load(patient, records)
            found = errors_by_file(problems + self.layout.get(patient, []))
            errors = {**state.shared_errors, **found}
            for candidate in candidates:
                ok, notice = selected(self.request, candidate, renderer.facts(candidate.target))
                self.skipped.extend([notice] if notice else [])
                if ok:
                    holds = renderer.holds(candidate.target, self.index.folders.get(patient, []))
                    chosen.append((candidate.target, held_problems(holds, errors)))
        self.survey.save()
        return chosen

    def render(self, target: Target) -> Document:
        """One chosen document (after `choose_here`)."""
        assert self._state is not None and self._state.renderer is not None
        return self._state.renderer.render(target)

    # -- to files: the caches first, then the work -----------------------------------------

    def plan(self, out: Path) -> Plan:
        """Answer from the caches what they can; the rest becomes jobs, one per patient."""
        from medmassage.render import templates as template_files

        check_out(out)
        request = self.request
        options = (request.since, request.until, request.date, "ascii" if request.ascii else None)
        base = render_cache.base_digest(
            template_files.digest(self.store.root), self.request.document, options
        )
        document = self.request.kind
        cache = RenderCache(
            self.store.root, out, document.name, base, document.facts, self.use_cache
        )
        plan = Plan(self, out, cache)
        for patient, candidates in _by_patient(self.candidates).items():
            self._plan_chart(plan, patient, candidates)
        return plan

    def _plan_chart(self, plan: Plan, patient: str, candidates: list[Candidate]) -> None:
        """Answer one chart's documents from the caches, or make it a job."""
        folder = self.index.folders.get(patient, [])
        problems = self.survey.cached(patient)
        for rel, identity in self.survey.identities(patient).items():
            self.ids.known.setdefault(rel, identity)  # just looked up by the validation cache
        # Looks the identities up before anything is read.
        record = plan.cache.chart(patient, self.ids)
        drawn = {
            name: record.get(name) if record else None
            for name in map(str, (c.target for c in candidates))
        }
        todo = candidates
        if problems is not None:
            found = errors_by_file(problems + self.layout.get(patient, []))
            errors = {**self.shared_errors(), **found}
            statics = self.request.kind.files_read(folder, self.index.shared)
            out = str(plan.out)
            answers = [
                from_cache(self.request, out, statics, c, drawn[str(c.target)], errors)
                for c in candidates
            ]
            plan.answered.extend(a for a in answers if a is not None)
            todo = [c for c, a in zip(candidates, answers, strict=True) if a is None]
            if not todo and record is not None and set(record.documents) == set(drawn):
                plan.kept[patient] = record  # nothing changed: the chart's record stays
        if problems is None or todo:
            known = {e.rel: self.ids.known[e.rel] for e in folder if e.rel in self.ids.known}
            layout = self.layout.get(patient, [])
            # Changed or not: the job compares each context with the one remembered.
            earlier = {
                name: record.get(name, changed=True) if record else None
                for name in map(str, (c.target for c in todo))
            }
            plan.jobs.append(Job(patient, folder, problems, layout, todo, earlier, known))
        if record is not None and not self.request.all:
            plan.earlier[patient] = record.everything()


class Plan:
    """The jobs of a run and what the caches answered; iterate to do the work, then read
    `outcome`."""

    def __init__(self, batch: Batch, out: Path, cache: RenderCache) -> None:
        self.batch, self.out, self.cache = batch, out, cache
        self.answered: list[Result] = []
        self.jobs: list[Job] = []
        self.kept: dict[str, render_cache.ChartRecord] = {}
        self.earlier: dict[
            str, dict[str, Stored]
        ] = {}  # documents of other runs, kept when this one is partial
        self.size = len(batch.candidates)
        self.outcome = Outcome()

    def __iter__(self) -> Iterator[int]:
        """Run the jobs; yields how many documents each step settled (for a progress bar)."""
        batch = self.batch
        results = list(self.answered)
        yield len(results)
        if self.jobs:
            state = batch.state(self.out)
            state.local().check_templates()  # a broken template fails before any output
            state.shared = state.shared.compiling(
                (job.folder for job in self.jobs), processes_for(self.jobs, batch.jobs)
            )
            # Results only pile up here until the caches are written: the cyclic collector
            # would walk the growing pile again and again for nothing.
            collecting = gc.isenabled()
            gc.disable()
            ready: set[str] = set()  # output folders made and checked in this run
            try:
                for patient, problems, found in run_jobs(state, self.jobs, batch.jobs):
                    if problems is not None:
                        batch.survey.remember(patient, problems)
                    results.extend(_write(self.out, result, ready) for result in found)
                    yield len(found)
            finally:
                if collecting:
                    gc.enable()
        results.sort(key=lambda r: r.candidate.target)
        self._remember(results)
        for result in results:
            if result.notice:
                self.outcome.skipped.append(result.notice)
            if result.excluded:
                self.outcome.excluded.append(result.candidate.target)
            if result.chosen:
                self.outcome.held[result.candidate.target] = result.held
                self.outcome.written.extend(result.paths)
            if result.rendered:
                self.outcome.rendered.append(result.candidate.target)
        batch.survey.save()
        self.cache.save(complete=batch.request.all)

    def _remember(self, results: list[Result]) -> None:
        charts: dict[str, dict[str, Drawn | Stored]] = {}
        for result in results:
            target = result.candidate.target
            if target.patient not in self.kept:
                found = charts.setdefault(
                    target.patient, dict(self.earlier.get(target.patient, {}))
                )
                found.pop(str(target), None)
                if result.drawn is not None:
                    found[str(target)] = result.drawn
        for patient, record in self.kept.items():
            self.cache.keep(patient, record)
        for patient, documents in charts.items():
            self.cache.put(patient, documents)


def _write(out: Path, result: Result, ready: set[str]) -> Result:
    """Write a result's rendered files and note each in what the cache remembers."""
    for path, fmt, text in result.pending:
        data = text.encode("utf-8")
        write_output(path, data, out, ready)
        if isinstance(result.drawn, Drawn):  # as left: its ctime and inode are new
            result.drawn.outputs[fmt] = output_record(data, stat_identity(path))
    return result._replace(pending=())


def _by_patient(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    grouped: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(candidate.target.patient, []).append(candidate)
    return grouped
