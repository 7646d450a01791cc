"""A disposable cache of validation results, one entry per patient chart.

A chart's entry is reused only when every file in it has the same identity as when
it was checked (size, mtime, ctime, inode — ctime changes on any write or
`touch -d`, so an edit with size and mtime restored is still seen) and nothing
shared changed: the tool version, the schemas, the rules, the day, and the bytes of
medmassage.yaml, therapists/ and providers/. Files changed within the last
second are never cached (their timestamps may not have ticked yet). The cache lives
in `.medmassage-cache/` (git-ignored), is JSON (never executed or unpickled), carries
a checksum, and anything unexpected in it means it is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medmassage import __version__
from medmassage.errors import Problem
from medmassage.store import Entry

CACHE_DIR = ".medmassage-cache"
CACHE_FILE = "validate.json"
FORMAT = 1
RACY_SECONDS = 1.0


def stat_identity(path: str) -> list[int] | None:
    """A file's identity: [size, mtime_ns, ctime_ns, inode], or None when it cannot be seen."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def shared_digest(root: Path, entries: list[Entry], today: str, rules: tuple[Any, ...]) -> str:
    """What every chart's result depends on beyond its own files: tool, schemas, rules,
    the day, and the bytes of medmassage.yaml, therapists/ and providers/."""
    from medmassage.schema_loader import schemas_digest

    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{schemas_digest()}|{today}".encode())
    digest.update(repr([getattr(rule, "__qualname__", str(rule)) for rule in rules]).encode())
    for source in sorted(
        Path(__file__).parent.rglob("*.py")
    ):  # a changed rule or message, even unreleased
        digest.update(source.read_bytes())
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
        self.path = root / CACHE_DIR / CACHE_FILE
        self.digest = digest
        self.old: dict[str, Any] = self._load() if enabled else {}
        self.new: dict[str, Any] = {}
        self.looked: dict[str, list[int] | None] = {}  # rel -> identity, as first looked up
        self.cutoff = time.time_ns() - int(
            RACY_SECONDS * 1e9
        )  # changed after this: too new to trust

    def _identity(self, entries: list[Entry]) -> list[Any] | None:
        """[[rel, size, mtime, ctime, inode], ...] as first looked up; None when a file is
        missing or changed too recently for its timestamps to tell a later change."""
        rows: list[Any] = []
        base, looked, cutoff = f"{self.root}/", self.looked, self.cutoff
        for entry in entries:  # once per file of the store on every run: kept lean
            rel = entry.rel
            if rel in looked:
                found = looked[rel]
            else:
                found = looked[rel] = stat_identity(base + rel)
            if found is None or found[1] > cutoff or found[2] > cutoff:
                return None
            rows.append([rel, *found])
        return rows

    def identities(self, entries: list[Entry]) -> dict[str, list[int] | None]:
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

    def store_shared(self, problems: list[Problem]) -> None:
        """Remember the problems of the shared records (keyed by their bytes, via the digest)."""
        if self.enabled:
            self.new[""] = {"problems": [list(p) for p in problems]}

    def _load(self) -> dict[str, Any]:
        try:
            header, _, body = self.path.read_bytes().partition(b"\n")
            meta = json.loads(header)
            if (
                meta.get("format") != FORMAT
                or meta.get("shared") != self.digest
                or meta.get("checksum") != hashlib.sha256(body).hexdigest()
            ):
                return {}
            charts = json.loads(body)
            return charts if isinstance(charts, dict) else {}
        except Exception:
            return {}

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

    def store(self, patient: str, entries: list[Entry], problems: list[Problem]) -> None:
        """Remember a freshly checked chart under the identity `reuse` looked up before it
        was read (nothing is remembered of a chart not looked up first, or too new)."""
        if self.enabled and all(e.rel in self.looked for e in entries):
            identity = self._identity(entries)
            if identity is not None:
                self.new[patient] = {"identity": identity, "problems": [list(p) for p in problems]}

    def save(self) -> None:
        """Write the cache atomically; a store that cannot hold one just goes without."""
        if not self.enabled or self.new == self.old:
            return
        body = json.dumps(self.new, sort_keys=True, ensure_ascii=False).encode()
        header = {
            "format": FORMAT,
            "shared": self.digest,
            "checksum": hashlib.sha256(body).hexdigest(),
        }
        try:
            folder = self.path.parent
            folder.mkdir(mode=0o700, exist_ok=True)
            (folder / ".gitignore").exists() or (folder / ".gitignore").write_text("*\n")
            handle, temp = tempfile.mkstemp(dir=folder, prefix=".validate.", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(json.dumps(header).encode() + b"\n" + body)
            os.replace(temp, self.path)
        except OSError:
            pass


def keep_unseen(cache: ChartCache, patients: Iterable[str]) -> None:
    """Keep the cached results of the charts a run did not look at (each is still checked
    by identity before it is reused), so a run over part of the store forgets nothing."""
    if cache.enabled:
        for patient in patients:
            if patient not in cache.new and isinstance(cache.old.get(patient), dict):
                cache.new[patient] = cache.old[patient]
