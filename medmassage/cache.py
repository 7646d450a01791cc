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

from . import __version__
from .errors import Problem
from .store import Entry

CACHE_DIR = ".medmassage-cache"
CACHE_FILE = "validate.json"
FORMAT = 1
RACY_SECONDS = 1.0


def _identity(root: Path, entries: list[Entry]) -> list[Any] | None:
    identity: list[Any] = []
    now = time.time_ns()
    base = str(root)
    for entry in entries:
        try:
            info = os.stat(os.path.join(base, entry.rel))
        except OSError:
            return None
        if now - max(info.st_mtime_ns, info.st_ctime_ns) < RACY_SECONDS * 1e9:
            return None
        identity.append([entry.rel, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino])
    return identity


def shared_digest(root: Path, entries: list[Entry], today: str, rules: tuple[Any, ...]) -> str:
    """What every chart's result depends on beyond its own files: tool, schemas, rules,
    the day, and the bytes of medmassage.yaml, therapists/ and providers/."""
    from .schema_loader import schemas_digest

    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{schemas_digest()}|{today}".encode())
    digest.update(repr([getattr(rule, "__qualname__", str(rule)) for rule in rules]).encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):  # a changed rule or message, even unreleased
        digest.update(source.read_bytes())
    for entry in entries:
        digest.update(f"\0{entry.rel}\0".encode())
        try:
            digest.update(Path(root, entry.rel).read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
    return digest.hexdigest()


class ChartCache:
    """Load once, answer `reuse` per chart, record fresh results, save atomically."""

    def __init__(self, root: Path, digest: str, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self.path = root / CACHE_DIR / CACHE_FILE
        self.digest = digest
        self.old: dict[str, Any] = self._load() if enabled else {}
        self.new: dict[str, Any] = {}

    def shared_problems(self) -> list[Problem] | None:
        """The cached problems of the shared records, when their bytes are unchanged."""
        cached = self.old.get("") if self.enabled else None
        try:
            return [Problem(*item) for item in cached["problems"]] if isinstance(cached, dict) else None
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
        except Exception:  # noqa: BLE001 - a cache that cannot be read is simply not used
            return {}

    def reuse(self, patient: str, entries: list[Entry], problems: list[Problem]) -> bool:
        """Append the cached problems of an unchanged chart and say so."""
        if not self.enabled:
            return False
        cached = self.old.get(patient)
        identity = _identity(self.root, entries)
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
        """Remember a freshly checked chart (unless a file in it is too new to trust)."""
        if self.enabled:
            identity = _identity(self.root, entries)
            if identity is not None:
                self.new[patient] = {"identity": identity, "problems": [list(p) for p in problems]}

    def save(self) -> None:
        """Write the cache atomically; a store that cannot hold one just goes without."""
        if not self.enabled or self.new == self.old:
            return
        body = json.dumps(self.new, sort_keys=True, ensure_ascii=False).encode()
        header = {"format": FORMAT, "shared": self.digest, "checksum": hashlib.sha256(body).hexdigest()}
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


def verified_identities(cache: ChartCache, patient: str) -> dict[str, list[int]]:
    """The identities (size, mtime_ns, ctime_ns, inode) of a chart's files as `reuse` just
    found them unchanged, so callers need not look them up again; empty otherwise."""
    found = cache.new.get(patient) if cache.enabled else None
    identity = found.get("identity") if isinstance(found, dict) else None
    return {item[0]: list(item[1:]) for item in identity} if isinstance(identity, list) else {}


def keep_unseen(cache: ChartCache, patients: Iterable[str]) -> None:
    """Keep the cached results of the charts a run did not look at (each is still checked
    by identity before it is reused), so a run over part of the store forgets nothing."""
    if cache.enabled:
        for patient in patients:
            if patient not in cache.new and isinstance(cache.old.get(patient), dict):
                cache.new[patient] = cache.old[patient]
