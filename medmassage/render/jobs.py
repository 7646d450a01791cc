"""The work of a render run, one job per patient, done here or in worker processes:
judge the chart if the validation cache could not, load it, and settle each document,
from what the render cache remembers when that still holds, else by rendering it
(the main process writes the files). `render.batch` plans the jobs and merges results."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from medmassage.errors import Problem
from medmassage.judging import Shared, check_chart, load_chart
from medmassage.render.cache import (
    MALFORMED,
    UNSETTLED,
    Drawn,
    Identities,
    Stored,
    context_digest,
    intact,
)
from medmassage.render.request import (
    Candidate,
    Document,
    Renderer,
    Request,
    Target,
    held_problems,
    left_out_by_status,
    output_path,
    selected,
)
from medmassage.store import Entry
from medmassage.store.cache import Identity

# Below this many files to read, a process pool costs more than it saves.
PARALLEL_FILES = 400


class Job(NamedTuple):
    """One patient's share of the work: the walk of its folder, its validation problems
    (None: judge the chart) and layout findings, its candidates and what the render cache
    remembers about them."""

    patient: str
    folder: list[Entry]
    problems: list[Problem] | None
    layout: list[Problem]
    candidates: list[Candidate]
    drawn: dict[str, Stored | None]  # what the render cache remembers, changed or not
    known: dict[str, Identity]  # identities of its files, looked up before any was read


Pending = list[tuple[str, str, str]]  # (path, format, text) rendered, to be written


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
    excluded: bool = False  # --all left it out for the patient's status (counted, not named)


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


def errors_by_file(problems: list[Problem]) -> dict[str, list[Problem]]:
    errors: dict[str, list[Problem]] = {}
    for problem in sorted(problems):
        if problem.severity == "error":
            errors.setdefault(problem.file, []).append(problem)
    return errors


def processes_for(jobs: list[Job], processes: int | None) -> int:
    """How many processes to do the jobs in: one, unless there are enough files to read."""
    workers = processes or os.cpu_count() or 1
    files = sum(len(job.folder) for job in jobs)
    return 1 if len(jobs) < 2 or (processes is None and files < PARALLEL_FILES) else workers


def run_jobs(
    state: State, jobs: list[Job], processes: int | None
) -> Iterator[tuple[str, list[Problem] | None, list[Result]]]:
    """Do the jobs here, or over a process pool when there are enough files to read."""
    workers = processes_for(jobs, processes)
    if workers <= 1:
        for job in jobs:
            yield do_job(state, job)
        return
    from concurrent.futures import as_completed

    from medmassage.workers import worker_pool

    size = max(1, len(jobs) // (workers * 32))  # small batches: no worker idles long at the end
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with worker_pool(workers, _init_worker, (state,)) as pool:
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


def from_cache(
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
            excluded = left_out_by_status(request, candidate, drawn.facts)
            return Result(candidate, False, notice, [], [], drawn, False, (), excluded)
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
    from the render cache when that still holds, else by building its context and
    rendering it unless that context is the one its files were rendered from."""
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
        **errors_by_file((fresh if fresh is not None else job.problems or []) + job.layout),
    }
    statics = state.request.kind.files_read(job.folder, state.shared_rels)
    renderer = state.local()
    renderer.load(job.patient, records)
    try:
        results = []
        for candidate in job.candidates:
            earlier = job.drawn.get(str(candidate.target))
            drawn = earlier if earlier is not None and earlier.unchanged(ids) else None
            answer = from_cache(state.request, str(state.out), statics, candidate, drawn, errors)
            results.append(
                answer
                or _render(state, renderer, ids, statics, job.folder, candidate, errors, earlier)
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
    """Settle a candidate from its loaded chart: its facts, its errors, and its files:
    rendered, or kept when only inputs it reads whole changed and its context is the
    one they were rendered from (see render.cache)."""
    target, request = candidate.target, state.request
    facts = renderer.facts(target)
    ok, notice = selected(request, candidate, facts)
    holds = renderer.holds(target, folder)
    held = held_problems(holds, errors) if ok else []
    pending: Pending = []
    paths: list[str] = []
    doc_id = digest = ""
    outputs: dict[str, list[Any]] = {}  # the files written are added by `_write`
    if ok and not held:
        doc_id, digest, outputs, paths, pending = _files(
            state, renderer, target, earlier, ids, statics
        )
    deps = sorted(holds | statics)
    before = _remembered(earlier)
    identities = [(rel, ids.trusted(rel, before.get(rel, UNSETTLED))) for rel in deps]
    settled = not any(identity == UNSETTLED for rel, identity in identities if rel in holds)
    drawn = Drawn(doc_id, digest, identities, sorted(holds), facts, outputs) if settled else None
    return Result(
        candidate,
        ok,
        notice,
        held,
        paths,
        drawn,
        bool(pending),
        tuple(pending),
        not ok and left_out_by_status(request, candidate, facts),
    )


def _files(
    state: State,
    renderer: Renderer,
    target: Target,
    earlier: Stored | None,
    ids: Identities,
    statics: set[str],
) -> tuple[str, str, dict[str, list[Any]], list[str], Pending]:
    """A chosen document's id, context digest, the outputs kept, its paths and the texts
    to write: none when its files hold what its context renders to (`_same_outputs`)."""
    request = state.request
    doc_id, context = renderer.build(target)
    digest = context_digest(doc_id, context)
    outputs = _same_outputs(earlier, doc_id, digest, ids, statics)
    made = Document(target, doc_id)
    paths = [str(output_path(state.out, made, request.document, fmt)) for fmt in request.formats]
    pairs = list(zip(paths, request.formats, strict=True))
    if all(intact(path, outputs.get(fmt)) for path, fmt in pairs):
        return doc_id, digest, outputs, paths, []
    texts = renderer.texts(target, doc_id, context).texts
    return doc_id, digest, outputs, paths, [(path, fmt, texts[fmt]) for path, fmt in pairs]


def _same_outputs(
    earlier: Stored | None, doc_id: str, digest: str, ids: Identities, statics: set[str]
) -> dict[str, list[Any]]:
    """The outputs remembered for a document whose context is still `digest` (its files,
    in any format, still hold what it renders to), when only files it reads whole but
    does not name changed, and no new one came among them; else none."""
    try:
        if earlier is None or not digest or (earlier.id, earlier.digest) != (doc_id, digest):
            return {}
        deps, named = earlier.deps, set(earlier.holds)
        if not statics <= {rel for rel, _ in deps}:
            return {}  # a new file among those read whole (a visit, an addendum)
        if any(rel in named and ids.of(rel) != identity for rel, identity in deps):
            return {}  # a record it names changed
        return dict(earlier.outputs)
    except MALFORMED:
        return {}


def _remembered(earlier: Stored | None) -> dict[str, Identity]:
    """The input identities remembered for a document (none when malformed)."""
    try:
        return dict(earlier.deps) if earlier is not None else {}
    except MALFORMED:
        return {}
