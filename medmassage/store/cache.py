"""A disposable cache of validation results, one entry per patient chart.

A chart's entry is reused only when every file in it has the same identity as when
it was checked (size, mtime, ctime, inode — ctime changes on any write or
`touch -d`, so an edit with size and mtime restored is still seen) and nothing
shared changed: the tool version, the schemas, the rules, the day, and the bytes of
medmassage.yaml, therapists/ and providers/. Files changed within the last
second are never cached (their timestamps may not have ticked yet). The cache lives
in `.medmassage-cache/` (git-ignored), is JSON (never executed or unpickled), carries
a checksum, and anything unexpected in it means it is ignored and rebuilt.

This module also holds what every cache of the tool is built from: the checksummed
JSON file (`load_checked`, `save_checked`), file identities (`stat_identity`), the
window for too-new files (`racy_cutoff`, `is_racy`) and the digest of the code.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from medmassage import __version__
from medmassage.errors import Problem
from medmassage.store import Entry, Store
from medmassage.store.files import DIR_MODE, replace_atomically

CACHE_FILE = "validate.json"
FORMAT = 2  # 2: a chart's identity kept as a digest
# Files changed within this many seconds are never remembered: their timestamps may not
# have ticked yet, so a second change could leave them looking the same. Tests shorten it
# (module attribute, or $MEDMASSAGE_RACY_SECONDS for a process) instead of sleeping.
RACY_SECONDS = 1.0
RACY_ENV = "MEDMASSAGE_RACY_SECONDS"
clock: Callable[[], int] = time.time_ns  # nanoseconds now; tests may replace it
Identity = list[int] | None


def racy_cutoff() -> int:
    """A file changed after this moment (ns) is too new for a cache to trust."""
    seconds = RACY_SECONDS
    override = os.environ.get(RACY_ENV)
    if override:
        with contextlib.suppress(ValueError):  # a malformed setting keeps the safe window
            seconds = float(override)
    return clock() - int(seconds * 1e9)


def is_racy(identity: Identity, cutoff: int) -> bool:
    """True when a file (seen as `identity`) changed after `cutoff`."""
    return identity is not None and max(identity[1], identity[2]) > cutoff


def stat_identity(path: str) -> Identity:
    """A file's identity: [size, mtime_ns, ctime_ns, inode], or None when it cannot be seen."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


@functools.cache
def code_digest() -> str:
    """The tool's version and the bytes of every module of the package, so a development
    checkout never trusts results from older code (a changed rule or message, even
    unreleased). The schemas are not in it: callers add `schemas_digest()`."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_checked(path: Path, fmt: int, **expected: str) -> Any:
    """The body of a checksummed JSON cache file, or None when it is missing, of another
    format, has a header value other than `expected`, or is damaged in any way; also when
    it or its folder is a symbolic link (a cache is never read from outside the store)."""
    if _linked(path):
        return None
    try:
        header, _, body = path.read_bytes().partition(b"\n")
        meta = json.loads(header)
        if (
            meta.get("format") != fmt
            or meta.get("checksum") != hashlib.sha256(body).hexdigest()
            or any(meta.get(key) != value for key, value in expected.items())
        ):
            return None
        with paused_gc():
            return json.loads(body)
    except Exception:  # anything unexpected in a disposable cache: rebuild it
        return None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large structure is built: every collection
    walks everything alive, and a big cache is a few million live objects (at 100,000
    sessions, collections were a third of a warm query). Reference counting still frees
    whatever is dropped; the collector runs again afterwards as it did before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def save_checked(path: Path, fmt: int, content: Any, **header: str) -> None:
    """Write `content` as a checksummed JSON cache file, atomically, in a git-ignored
    folder; a store that cannot hold a cache just goes without."""
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    data = body.encode()
    meta = {"format": fmt, **header, "checksum": hashlib.sha256(data).hexdigest()}
    if _linked(path):
        return  # never written through a link: `validate` reports it (layout/symlink)
    try:
        folder = path.parent
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not os.path.lexists(ignore):
            replace_atomically(ignore, b"*\n", sync=False)
        # No fsync: a cache lost in a crash is rebuilt; a damaged one fails its checksum.
        replace_atomically(path, json.dumps(meta).encode() + b"\n" + data, sync=False)
    except OSError:
        pass


def _linked(path: Path) -> bool:
    """True when the cache file or its folder is a symbolic link (or cannot be checked)."""
    try:
        return any(os.path.islink(item) for item in (path, path.parent))
    except OSError:
        return True


def shared_digest(root: Path, entries: list[Entry], today: str, rules: tuple[Any, ...]) -> str:
    """What every chart's result depends on beyond its own files: tool, schemas, rules,
    the day, and the bytes of medmassage.yaml, therapists/ and providers/."""
    from medmassage.schema_loader import schemas_digest

    digest = hashlib.sha256(f"{FORMAT}|{code_digest()}|{schemas_digest()}|{today}".encode())
    digest.update(repr([getattr(rule, "__qualname__", str(rule)) for rule in rules]).encode())
    for entry in entries:
        digest.update(f"\0{entry.rel}\0".encode())
        try:
            digest.update(Path(root, entry.rel).read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
    return digest.hexdigest()


class ChartCache:
    """Load once, answer `reuse` per chart, record fresh results, save atomically.

    A chart's identity is looked up once, by `reuse`, before any of its files is read, and
    that is the identity `store` records: a file edited while the run reads it is then
    checked again next time, never hidden behind results from its earlier bytes."""

    def __init__(self, root: Path, digest: str, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self.path = Store(root).cache_dir / CACHE_FILE
        self.digest = digest
        old = load_checked(self.path, FORMAT, shared=digest) if enabled else None
        self.old: dict[str, Any] = old if isinstance(old, dict) else {}
        self.new: dict[str, Any] = {}
        self.looked: dict[str, Identity] = {}  # rel -> identity, as first looked up
        self.cutoff = racy_cutoff()

    def _identity(self, entries: list[Entry]) -> str | None:
        """A digest of [rel, size, mtime, ctime, inode] of every file, as first looked up;
        None when a file is missing or changed too recently for its timestamps to tell a
        later change. (A digest, not the list: the cache holds one string per chart, and
        loading it is most of what a warm query costs after the walk.)"""
        rows: list[Any] = []
        base, looked, cutoff = f"{self.root}/", self.looked, self.cutoff
        for entry in entries:  # once per file of the store on every run: kept lean
            rel = entry.rel
            if rel in looked:
                found = looked[rel]
            else:
                found = looked[rel] = stat_identity(base + rel)
            if found is None or found[1] > cutoff or found[2] > cutoff:  # is_racy, inline
                return None
            rows.append((rel, *found))
        return hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()

    def identities(self, entries: list[Entry]) -> dict[str, Identity]:
        """The identities `reuse` looked up for these files (taken before they were read)."""
        return {e.rel: self.looked[e.rel] for e in entries if e.rel in self.looked}

    def shared_problems(self) -> list[Problem] | None:
        """The cached problems of the shared records, when their bytes are unchanged."""
        cached = self.old.get("") if self.enabled else None
        try:
            return (
                [Problem(*item) for item in cached["problems"]]
                if isinstance(cached, dict)
                else None
            )
        except (TypeError, KeyError):
            return None

    def store_shared(self, problems: list[Problem], summary: Any = None) -> None:
        """Remember the problems of the shared records (keyed by their bytes, via the digest)
        and what the queries keep of them (else what was kept before, still valid)."""
        if self.enabled:
            found: dict[str, Any] = {"problems": [list(p) for p in problems]}
            kept = self.shared_summary() if summary is None else summary
            if kept is not None:
                found["summary"] = kept
            self.new[""] = found

    def shared_summary(self) -> Any:
        """What the queries keep of the shared records (None: nothing yet)."""
        for cached in (self.new.get(""), self.old.get("") if self.enabled else None):
            if isinstance(cached, dict) and "summary" in cached:
                return cached["summary"]
        return None

    def reuse(self, patient: str, entries: list[Entry], problems: list[Problem]) -> bool:
        """Append the cached problems of an unchanged chart and say so. Call it before the
        chart is read: the identity it looks up is what `store` records."""
        if not self.enabled:
            return False
        identity = self._identity(entries)
        cached = self.old.get(patient)
        if not isinstance(cached, dict) or identity is None or cached.get("identity") != identity:
            return False
        try:
            found = [Problem(*item) for item in cached["problems"]]
        except (TypeError, KeyError):
            return False
        problems.extend(found)
        self.new[patient] = cached
        return True

    def summary(self, patient: str) -> Any:
        """What the queries keep of a chart `reuse` just found unchanged (None: nothing)."""
        cached = self.new.get(patient)
        return cached.get("summary") if isinstance(cached, dict) else None

    def store(
        self, patient: str, entries: list[Entry], problems: list[Problem], summary: Any = None
    ) -> None:
        """Remember a freshly checked chart (and what the queries keep of it, JSON data)
        under the identity `reuse` looked up before it was read (nothing is remembered of
        a chart not looked up first, or too new)."""
        if self.enabled and all(e.rel in self.looked for e in entries):
            identity = self._identity(entries)
            if identity is not None:
                found: dict[str, Any] = {"identity": identity}
                found["problems"] = [list(p) for p in problems]
                if summary is not None:
                    found["summary"] = summary
                self.new[patient] = found

    def person(self, patient: str) -> tuple[bool, str | None]:
        """The digest of who a chart's patient is (rules.references.person_digest), kept
        with a chart `reuse` found unchanged or `store` just recorded; (False, None) when
        it is not known yet."""
        cached = self.new.get(patient)
        if isinstance(cached, dict) and "person" in cached:
            person = cached["person"]
            return True, person if isinstance(person, str) else None
        return False, None

    def remember_person(self, patient: str, person: str | None) -> None:
        """Keep the digest of who a chart's patient is with the chart's cached results (a
        copy: what was loaded stays as it was, so `save` sees the change)."""
        cached = self.new.get(patient)
        if self.enabled and isinstance(cached, dict):
            self.new[patient] = {**cached, "person": person}

    def save(self) -> None:
        """Write the cache atomically; a store that cannot hold one just goes without."""
        if not self.enabled or self.new == self.old:
            return
        save_checked(self.path, FORMAT, self.new, shared=self.digest)


def keep_unseen(cache: ChartCache, patients: Iterable[str]) -> None:
    """Keep the cached results of the charts a run did not look at (each is still checked
    by identity before it is reused), so a run over part of the store forgets nothing."""
    if cache.enabled:
        for patient in patients:
            if patient not in cache.new and isinstance(cache.old.get(patient), dict):
                cache.new[patient] = cache.old[patient]
