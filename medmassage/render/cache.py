"""A disposable cache of rendered documents, so `render` skips what would come out the same.

For each document (a SOAP note, a physician update) it remembers what the document was
drawn from: every input file with its identity (size, mtime, ctime, inode, as in the
validation cache) when it was read, the files whose errors would hold it back, the facts
that decide whether it is rendered at all (a session's date, a patient's consent), the
sha256 of what the templates were given (the document's id and context), and each
output file with its size, sha256 and identity. The input files are the records the
document names (`Document.holds`) and every file of the kinds it reads whole
(`Document.reads`: every visit, for a SOAP note's "visit 5 of 8"). A document is
skipped, its chart not even loaded, only when

- the run's base is the same: cache format, tool version and code, schemas, every
  template in effect (store overrides included), the document, --since/--until/--date;
- every input file still has its identity, and the folders it reads whole list no new
  file (a visit or an addendum, for a note; anything in the patient folder, for an
  update);
- each output file is still there with its size, and its mtime, ctime and inode (any
  write or `touch` changes the ctime, so an output edited in place with its size and
  mtime restored is seen) or else its sha256.

Otherwise the chart is loaded and the document rendered again, except when the only
inputs that changed are files it reads whole but does not name (another visit edited or
deleted, for a SOAP note): then its context is built again, and a context with the
sha256 remembered gives the same files (the base covers the rest), which are kept as
they are. So editing one visit renders its note alone, though every note of the chart
counts the visits; a new file among those read whole renders them all.

Nothing is remembered about a document whose own records changed within the last
second (unless they are still as remembered from before); another input that did is
remembered as UNSETTLED, which no file matches, so the next run looks again.

The cache lives in `.medmassage-cache/render.json` (git-ignored), one section per
output folder and document, one record per chart; it is JSON with a checksum, and
anything unexpected in it means it is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from medmassage.store import Store
from medmassage.store.cache import (
    Identity,
    code_digest,
    is_racy,
    load_checked,
    racy_cutoff,
    save_checked,
    stat_identity,
)

CACHE_FILE = "render.json"
FORMAT = 5
# The identity remembered for an input too new to trust: no file has it.
UNSETTLED = [-1, -1, -1, -1]


class Identities:
    """File identities (size, mtime_ns, ctime_ns, inode; None when missing), each looked up
    once per run. Look a file up before reading it, so the identity describes what was read."""

    def __init__(
        self, root: Path, known: dict[str, Identity] | None = None, cutoff: int | None = None
    ) -> None:
        self.root = str(root)
        self.known: dict[str, Identity] = dict(known or {})
        # Changed after this: too new to trust. A worker is given its run's cutoff, taken
        # before any of the identities it is handed were looked up.
        self.cutoff = racy_cutoff() if cutoff is None else cutoff

    def of(self, rel: str) -> Identity:
        """The identity of one file, relative to the store root."""
        if rel not in self.known:
            self.known[rel] = stat_identity(os.path.join(self.root, rel))
        return self.known[rel]

    def settled(self, rels: Iterable[str]) -> bool:
        """True when none of the files changed too recently for its timestamps to be trusted."""
        return not any(is_racy(self.of(rel), self.cutoff) for rel in rels)

    def trusted(self, rel: str, before: Identity = UNSETTLED) -> Identity:
        """The identity to remember for one input: UNSETTLED when it is too new to trust,
        unless it is still `before`, as remembered from an earlier run."""
        identity = self.of(rel)
        return UNSETTLED if identity != before and is_racy(identity, self.cutoff) else identity


class Drawn(NamedTuple):
    """What one document was drawn from and what came of it."""

    id: str  # the document's id in its file names
    digest: str  # context_digest of what the templates were given ("" when not rendered)
    deps: list[tuple[str, Identity]]  # every input file, with its identity when read
    holds: list[str]  # the files whose errors hold the document back
    facts: dict[str, Any]  # what decides whether it is rendered at all
    outputs: dict[str, list[Any]]  # format -> OUTPUT_FIELDS of the file written


def base_digest(templates: str, document: str, options: Iterable[str | None]) -> str:
    """What every document of one run depends on beyond its own files: the cache format,
    the tool's code and schemas, the templates, the document and the options."""
    from medmassage.schema_loader import schemas_digest

    key = [FORMAT, code_digest(), schemas_digest(), templates, document, *options]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def context_digest(doc_id: str, context: Any) -> str:
    """The sha256 of what a document's templates are given: with the run's base, it
    decides every byte of its files. "" (never equal) for a context JSON cannot hold."""
    try:
        text = json.dumps([doc_id, context], sort_keys=True, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        return ""
    return hashlib.sha256(text.encode()).hexdigest()


# How a written output file is remembered.
OUTPUT_FIELDS = ("size", "sha256", "mtime_ns", "ctime_ns", "inode")


def output_record(data: bytes, identity: Identity) -> list[Any]:
    """How a written output file is remembered: size, sha256, mtime, ctime, inode
    (`identity` is the file's stat_identity just after it was written; None: never trusted
    without its sha256)."""
    size, mtime_ns, ctime_ns, inode = identity if identity is not None else (len(data), 0, 0, 0)
    return [size, hashlib.sha256(data).hexdigest(), mtime_ns, ctime_ns, inode]


def intact(path: str, record: Any) -> bool:
    """True when the output file at `path` is still as `record` says it was written: the
    same size and stat identity, or else the same sha256. The mtime alone is not enough:
    `touch -r` puts it back after an edit, but the ctime of an edited file always moves."""
    try:
        size, sha256, mtime_ns, ctime_ns, inode = record
        info = os.stat(path)
        if info.st_size != size:
            return False
        if (info.st_mtime_ns, info.st_ctime_ns, info.st_ino) == (mtime_ns, ctime_ns, inode):
            return True
        return bool(hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha256)
    except (OSError, TypeError, ValueError):
        return False


# How a chart is stored, flat because parsing JSON costs per list and dict, not per byte:
#   files:     [rel, size, mtime_ns, ctime_ns, inode, rel, ...]  (size null: no such file)
#   documents: {name: [id, rows drawn from, rows holding it back (0: the same),
#                      *facts (in the order of `keys`), context digest,
#                      *(format, *OUTPUT_FIELDS)...]}
# Rows are kept as runs [start, length, start, length, ...]: the notes of a chart share
# most of their inputs (every visit), so a note's rows are a few runs, not one per visit.
_ROW = 5


def runs(rows: list[int]) -> list[int]:
    """Ascending row numbers as runs: [0, 1, 2, 5] -> [0, 3, 5, 1]."""
    found: list[int] = []
    for row in rows:
        if found and found[-2] + found[-1] == row:
            found[-1] += 1
        else:
            found += [row, 1]
    return found


def rows_of(encoded: Any, count: int, empty: bool = False) -> list[int]:
    """The row numbers of runs, each below `count`; ValueError unless they are ascending
    runs (and not none at all, unless `empty`)."""
    if not isinstance(encoded, list) or len(encoded) % 2 or not (encoded or empty):
        raise ValueError("malformed rows")
    rows: list[int] = []
    for k in range(0, len(encoded), 2):
        start, length = encoded[k], encoded[k + 1]
        if type(start) is not int or type(length) is not int:
            raise ValueError("malformed rows")
        if start < (rows[-1] + 1 if rows else 0) or length < 1 or start + length > count:
            raise ValueError("malformed rows")
        rows.extend(range(start, start + length))
    return rows


class ChartRecord:
    """One chart's documents as stored (see above), with the rows whose file changed."""

    def __init__(self, raw: Any, ids: Identities, keys: tuple[str, ...]) -> None:
        self.raw, self.keys = raw, keys
        self.documents: dict[str, Any] = raw["documents"]
        files = raw["files"]
        self.pairs: list[tuple[str, Identity]] = [
            (files[k], None if files[k + 1] is None else files[k + 1 : k + _ROW])
            for k in range(0, len(files), _ROW)
        ]
        # Looked up once per chart, not once per document.
        self.stale = {i for i, (rel, identity) in enumerate(self.pairs) if ids.of(rel) != identity}

    def get(self, name: str, changed: bool = False) -> Stored | None:
        """A document whose input files all still have their recorded identity (`changed`:
        or not, to compare its context with the one built again)."""
        item = self.documents.get(name)
        if not isinstance(item, list) or len(item) < 4 + len(self.keys):
            return None
        try:
            rows = rows_of(item[1], len(self.pairs))
        except ValueError:
            return None
        if not changed and self.stale and not self.stale.isdisjoint(rows):
            return None
        return Stored(self, item, rows)

    def everything(self) -> dict[str, Stored]:
        """Every document of the chart, whether its files changed or not."""
        return {
            name: Stored(self, item)
            for name, item in self.documents.items()
            if isinstance(item, list)
        }


class Stored:
    """A remembered document with the attributes of a `Drawn`, read from its chart's
    record only as far as it is asked (most are asked only for facts and outputs). A
    malformed record raises IndexError, KeyError, TypeError or ValueError on access."""

    __slots__ = ("item", "record", "rows")

    def __init__(self, record: ChartRecord, item: list[Any], rows: list[int] | None = None) -> None:
        self.record, self.item = record, item
        self.rows = rows  # the rows drawn from, once read

    @property
    def id(self) -> str:
        if not isinstance(self.item[0], str):
            raise TypeError("malformed document id")
        return self.item[0]

    def _drawn_from(self) -> list[int]:
        if self.rows is None:
            self.rows = rows_of(self.item[1], len(self.record.pairs))
        return self.rows

    @property
    def deps(self) -> list[tuple[str, Identity]]:
        pairs = self.record.pairs
        return [pairs[i] for i in self._drawn_from()]

    @property
    def holds(self) -> list[str]:
        pairs, item = self.record.pairs, self.item
        rows = self._drawn_from() if item[2] == 0 else rows_of(item[2], len(pairs), empty=True)
        return [pairs[i][0] for i in rows]

    @property
    def facts(self) -> dict[str, Any]:
        keys = self.record.keys
        return dict(zip(keys, self.item[3 : 3 + len(keys)], strict=True))

    @property
    def digest(self) -> str:
        found = self.item[3 + len(self.record.keys)]
        if not isinstance(found, str):
            raise TypeError("malformed context digest")
        return found

    @property
    def outputs(self) -> dict[str, list[Any]]:
        item, start, step = self.item, 4 + len(self.record.keys), 1 + len(OUTPUT_FIELDS)
        return {item[k]: item[k + 1 : k + step] for k in range(start, len(item), step)}

    def unchanged(self, ids: Identities) -> bool:
        """True when every input file still has its recorded identity (False when the
        record is malformed)."""
        try:
            return all(ids.of(rel) == identity for rel, identity in self.deps)
        except MALFORMED:
            return False


MALFORMED = (
    IndexError,
    KeyError,
    TypeError,
    ValueError,
)  # what reading a tampered record may raise


def pack(documents: dict[str, Drawn | Stored], keys: tuple[str, ...]) -> dict[str, Any]:
    """The stored form of one chart's documents (see ChartRecord); a malformed one is left out."""
    index: dict[tuple[str, tuple[int, ...] | None], int] = {}
    files: list[Any] = []
    packed: dict[str, Any] = {}
    for name, drawn in sorted(documents.items()):
        try:
            deps, holds, facts, digest = drawn.deps, drawn.holds, drawn.facts, drawn.digest
            outputs = [x for fmt, record in sorted(drawn.outputs.items()) for x in (fmt, *record)]
            row = [drawn.id]
            where: dict[str, int] = {}
            for rel, identity in deps:
                token = (rel, tuple(identity) if identity is not None else None)
                if token not in index:
                    index[token] = len(files) // _ROW
                    files.extend(
                        [rel, *(identity if identity is not None else [None] * (_ROW - 1))]
                    )
                where[rel] = index[token]
            drawn_from, holding = sorted(where.values()), sorted(where[rel] for rel in holds)
        except MALFORMED:
            continue
        packed[name] = [
            *row,
            runs(drawn_from),
            0 if holding == drawn_from else runs(holding),
            *(facts.get(k) for k in keys),
            digest,
            *outputs,
        ]
    return {"files": files, "documents": packed}


class RenderCache:
    """One output folder's records for one document: load once, look up per chart,
    record fresh ones, save atomically."""

    def __init__(
        self,
        root: Path,
        out: Path,
        document: str,
        base: str,
        keys: tuple[str, ...],
        enabled: bool = True,
    ) -> None:
        self.enabled, self.keys = enabled, keys
        self.path = Store(root).cache_dir / CACHE_FILE
        self.section = f"{out.resolve()}|{document}"
        self.base = base
        self.sections: dict[str, Any] = self._load() if enabled else {}
        old = self.sections.get(self.section)
        self.old: dict[str, Any] = (
            old["charts"] if isinstance(old, dict) and old.get("base") == base else {}
        )
        self.new: dict[str, Any] = {}

    def _load(self) -> dict[str, Any]:
        sections = load_checked(self.path, FORMAT)
        if not isinstance(sections, dict):
            return {}
        return {
            name: s
            for name, s in sections.items()
            if isinstance(s, dict) and isinstance(s.get("charts"), dict)
        }

    def chart(self, patient: str, ids: Identities) -> ChartRecord | None:
        """The recorded documents of a chart (None when there are none or they are malformed)."""
        raw = self.old.get(patient)
        try:
            return ChartRecord(raw, ids, self.keys) if isinstance(raw, dict) else None
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def keep(self, patient: str, record: ChartRecord) -> None:
        """Carry a chart's record over unchanged."""
        self.new[patient] = record.raw

    def put(self, patient: str, documents: dict[str, Drawn | Stored]) -> None:
        """Record what a chart's documents were drawn from (none: forget the chart)."""
        if documents:
            self.new[patient] = pack(documents, self.keys)
        else:
            self.new.pop(patient, None)

    def save(self, complete: bool) -> None:
        """Write the cache atomically. `complete`: this run saw every chart of its section
        (render --all), so charts it did not see are forgotten."""
        if not self.enabled:
            return
        charts = self.new if complete else {**self.old, **self.new}
        if charts == self.old:
            return
        self.sections[self.section] = {"base": self.base, "charts": charts}
        # Forget output folders that are gone (test runs, one-off --out folders), but not
        # this run's: a run that wrote no file (no chart has the document) made no folder,
        # and its answers are still worth keeping.
        sections = {
            name: s
            for name, s in self.sections.items()
            if name == self.section or Path(name.rpartition("|")[0]).is_dir()
        }
        save_checked(self.path, FORMAT, sections)
