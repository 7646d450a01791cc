"""A render request over the store: validation through the validation cache, charts
loaded only for the documents the render cache cannot answer, that work spread over
processes (each writing its own files), and the results merged in target order, so
the output is the same however the work was split. Returns values; the CLI prints."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from medmassage.documents.common import may_share
from medmassage.errors import Problem
from medmassage.render import cache as render_cache
from medmassage.render.cache import (
    MALFORMED,
    Drawn,
    Identities,
    RenderCache,
    Stored,
    intact,
    output_record,
)
from medmassage.render.request import (
    Candidate,
    Document,
    Index,
    Renderer,
    Request,
    Target,
    choose,
    held_problems,
    output_path,
    selected,
)
from medmassage.store import PATIENTS, Entry, Store
from medmassage.store.cache import Identity
from medmassage.store.files import write_output
from medmassage.validate import Shared, check_chart, load_chart, open_store

# Below this many files to read, a process pool costs more than it saves.
PARALLEL_FILES = 400


@dataclass
class Outcome:
    """What a run did: the files it reports written (in target order), the errors of each
    document chosen (empty: rendered), what --all left out on purpose, and which documents
    were rendered in this run rather than found unchanged."""

    written: list[str] = field(default_factory=list)
    held: dict[Target, list[Problem]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    rendered: list[Target] = field(default_factory=list)


class Job(NamedTuple):
    """One patient's share of the work: the walk of its folder, its validation problems
    (None: judge the chart) and layout findings, its candidates and what the render cache
    still holds about them."""

    patient: str
    folder: list[Entry]
    problems: list[Problem] | None
    layout: list[Problem]
    candidates: list[Candidate]
    drawn: dict[str, Stored | None]
    known: dict[str, Identity]  # identities of its files, looked up before any was read


class Result(NamedTuple):
    """What became of one candidate."""

    candidate: Candidate
    chosen: bool
    notice: str
    held: list[Problem]
    paths: list[str]
    drawn: Drawn | Stored | None  # what to remember (None: too new to trust)
    rendered: bool
    # (path, format, text) rendered but not yet written: this process writes every file,
    # as creating files from several processes at once only makes them wait on each other.
    pending: tuple[tuple[str, str, str], ...] = ()


@dataclass
class State:
    """What every job of a run needs, set up once per process."""

    root: Path
    request: Request
    out: Path
    shared: Shared
    shared_errors: dict[str, list[Problem]]
    shared_rels: list[str]
    identities: dict[str, Identity]  # of the shared files, taken before they were read
    cutoff: int  # files changed after this are too new to remember
    renderer: Renderer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "renderer": None,
        }  # Jinja environments are built again, not pickled

    def local(self) -> Renderer:
        """This process's renderer, with the shared records in its view."""
        if self.renderer is None:
            self.renderer = Renderer(self.request, self.shared.view(), self.root)
        return self.renderer


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
            self._shared_errors = _by_file(self.survey.shared_problems() + self.layout.get("", []))
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
            errors = {**state.shared_errors, **_by_file(problems + self.layout.get(patient, []))}
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

        options = (self.request.since, self.request.until, self.request.date)
        base = render_cache.base_digest(
            template_files.digest(self.store.root), self.request.document, options
        )
        cache = RenderCache(
            self.store.root,
            out,
            self.request.document,
            base,
            self.request.kind.facts,
            self.use_cache,
        )
        plan = Plan(self, out, cache)
        for patient, candidates in _by_patient(self.candidates).items():
            folder = self.index.folders.get(patient, [])
            problems = self.survey.cached(patient)
            for rel, identity in self.survey.identities(patient).items():
                self.ids.known.setdefault(rel, identity)  # just looked up by the validation cache
            record = cache.chart(
                patient, self.ids
            )  # looks the identities up before anything is read
            drawn = {
                name: record.get(name) if record else None
                for name in map(str, (c.target for c in candidates))
            }
            todo = candidates
            if problems is not None:
                errors = {
                    **self.shared_errors(),
                    **_by_file(problems + self.layout.get(patient, [])),
                }
                statics = self.request.kind.statics(folder, self.index.shared)
                answers = [
                    _answer(self.request, str(out), statics, c, drawn[str(c.target)], errors)
                    for c in candidates
                ]
                plan.answered.extend(a for a in answers if a is not None)
                todo = [c for c, a in zip(candidates, answers, strict=True) if a is None]
                if not todo and record is not None and set(record.documents) == set(drawn):
                    plan.kept[patient] = (
                        record  # nothing changed: the chart's record stays as it is
                    )
            if problems is None or todo:
                known = {e.rel: self.ids.known[e.rel] for e in folder if e.rel in self.ids.known}
                plan.jobs.append(
                    Job(patient, folder, problems, self.layout.get(patient, []), todo, drawn, known)
                )
            if record is not None and not self.request.all:
                plan.earlier[patient] = record.everything()
        return plan


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
                (job.folder for job in self.jobs), _processes(self.jobs, batch.jobs)
            )
            # Results only pile up here until the caches are written: the cyclic collector
            # would walk the growing pile again and again for nothing.
            collecting = gc.isenabled()
            gc.disable()
            ready: set[str] = set()  # output folders made and checked in this run
            try:
                for patient, problems, found in _run(state, self.jobs, batch.jobs):
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
        written = write_output(path, data, out, ready)
        if isinstance(result.drawn, Drawn):
            result.drawn.outputs[fmt] = output_record(data, written)
    return result._replace(pending=())


def _by_patient(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    grouped: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(candidate.target.patient, []).append(candidate)
    return grouped


def _by_file(problems: list[Problem]) -> dict[str, list[Problem]]:
    errors: dict[str, list[Problem]] = {}
    for problem in sorted(problems):
        if problem.severity == "error":
            errors.setdefault(problem.file, []).append(problem)
    return errors


def _processes(jobs: list[Job], processes: int | None) -> int:
    """How many processes to do the jobs in: one, unless there are enough files to read."""
    workers = processes or os.cpu_count() or 1
    files = sum(len(job.folder) for job in jobs)
    return 1 if len(jobs) < 2 or (processes is None and files < PARALLEL_FILES) else workers


def _run(
    state: State, jobs: list[Job], processes: int | None
) -> Iterator[tuple[str, list[Problem] | None, list[Result]]]:
    """Do the jobs here, or over a process pool when there are enough files to read."""
    workers = _processes(jobs, processes)
    if workers <= 1:
        for job in jobs:
            yield do_job(state, job)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    size = max(1, len(jobs) // (workers * 32))  # small batches: no worker idles long at the end
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(state,)
    ) as pool:
        futures = [pool.submit(_do_jobs, batch) for batch in batches]
        try:
            for future in as_completed(futures):
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()  # after a failure, start nothing more


_WORKER_STATE: State | None = None


def _init_worker(state: State) -> None:
    global _WORKER_STATE
    _WORKER_STATE = state
    gc.enable()  # forked while the main process had it off


def _do_jobs(jobs: list[Job]) -> list[tuple[str, list[Problem] | None, list[Result]]]:
    assert _WORKER_STATE is not None
    return [do_job(_WORKER_STATE, job) for job in jobs]


def _answer(
    request: Request,
    out: str,
    statics: set[str],
    candidate: Candidate,
    drawn: Stored | None,
    errors: dict[str, list[Problem]],
) -> Result | None:
    """The result of a candidate from what it was drawn from last time, or None when it
    must be worked out (`drawn` is only given while its input files are unchanged)."""
    if drawn is None:
        return None
    try:
        if statics and not statics <= {rel for rel, _ in drawn.deps}:
            return None  # a file that came since, e.g. a new addendum
        ok, notice = selected(request, candidate, drawn.facts)
        if not ok:
            return Result(candidate, False, notice, [], [], drawn, False)
        held = held_problems(drawn.holds, errors) if errors else []
        if held:
            return Result(candidate, True, "", held, [], drawn, False)
        stem = f"{out}{os.sep}{candidate.target.patient}{os.sep}{drawn.id}.{request.document}."
        outputs = drawn.outputs
    except MALFORMED:
        return None
    paths = [stem + fmt for fmt in request.formats]
    for path, fmt in zip(paths, request.formats, strict=True):
        if not intact(path, outputs.get(fmt)):
            return None
    return Result(candidate, True, "", [], paths, drawn, False)


def do_job(state: State, job: Job) -> tuple[str, list[Problem] | None, list[Result]]:
    """Judge the chart if its problems are not known, load it, and settle each candidate:
    from the render cache when that still holds, else by rendering and writing it."""
    ids = Identities(state.root, {**state.identities, **job.known}, state.cutoff)
    for entry in job.folder:
        ids.of(entry.rel)  # before reading: the cache must describe what was read
    chart = [e for e in job.folder if e.kind is not None]
    fresh = None
    if job.problems is None:
        fresh, records = check_chart(state.shared, chart)
    else:
        records = load_chart(state.shared, chart)
    errors = {
        **state.shared_errors,
        **_by_file((fresh if fresh is not None else job.problems or []) + job.layout),
    }
    statics = state.request.kind.statics(job.folder, state.shared_rels)
    renderer = state.local()
    renderer.load(job.patient, records)
    try:
        results = []
        for candidate in job.candidates:
            drawn = job.drawn.get(str(candidate.target))
            answer = _answer(state.request, str(state.out), statics, candidate, drawn, errors)
            results.append(
                answer
                or _render(state, renderer, ids, statics, job.folder, candidate, errors, drawn)
            )
    finally:
        renderer.unload(job.patient)
    return job.patient, fresh, results


def _render(
    state: State,
    renderer: Renderer,
    ids: Identities,
    statics: set[str],
    folder: list[Entry],
    candidate: Candidate,
    errors: dict[str, list[Problem]],
    earlier: Stored | None,
) -> Result:
    target, request = candidate.target, state.request
    facts = renderer.facts(target)
    ok, notice = selected(request, candidate, facts)
    holds = renderer.holds(target, folder)
    held = held_problems(holds, errors) if ok else []
    pending: list[tuple[str, str, str]] = []
    doc_id = ""
    if ok and not held:
        document = renderer.render(target)
        doc_id = document.id
        for fmt, text in document.texts.items():
            pending.append(
                (str(output_path(state.out, document, request.document, fmt)), fmt, text)
            )
    deps = sorted(holds | statics)
    identities = [(rel, ids.of(rel)) for rel in deps]
    outputs: dict[str, list[Any]] = {}  # the files written are added by `_write`
    try:
        if earlier is not None and earlier.deps == identities and earlier.id == doc_id:
            outputs = dict(earlier.outputs)  # outputs in other formats still hold
    except MALFORMED:
        pass
    drawn = Drawn(doc_id, identities, sorted(holds), facts, outputs) if ids.settled(deps) else None
    return Result(
        candidate,
        ok,
        notice,
        held,
        [path for path, _, _ in pending],
        drawn,
        bool(pending),
        tuple(pending),
    )
