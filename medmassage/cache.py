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
    for entry in entries:
        try:
            info = os.stat(root / entry.rel)
        except OSError:
            return None
        if now - max(info.st_mtime_ns, info.st_ctime_ns) < RACY_SECONDS * 1e9:
            return None
        identity.append([entry.rel, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino])
    return identity


def _shared_digest(shared: Any) -> str:
    from .schema_loader import schemas_digest

    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{schemas_digest()}|{shared.today}".encode())
    digest.update(repr([getattr(rule, "__qualname__", str(rule)) for rule in shared.rules]).encode())
    for record in sorted(shared.records, key=lambda r: r.rel):
        digest.update(record.rel.encode())
        digest.update(json.dumps(record.data, sort_keys=True, ensure_ascii=False).encode())
    digest.update(repr(sorted(map(repr, shared.existing))).encode())
    return digest.hexdigest()


class ChartCache:
    """Load once, answer `reuse` per chart, record fresh results, save atomically."""

    def __init__(self, root: Path, shared: Any, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self.path = root / CACHE_DIR / CACHE_FILE
        self.digest = _shared_digest(shared) if enabled else ""
        self.old: dict[str, Any] = self._load() if enabled else {}
        self.new: dict[str, Any] = {}

    def _load(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_bytes())
            body = json.dumps(document["charts"], sort_keys=True, ensure_ascii=False)
            if (
                document.get("format") != FORMAT
                or document.get("shared") != self.digest
                or document.get("checksum") != hashlib.sha256(body.encode()).hexdigest()
                or not isinstance(document["charts"], dict)
            ):
                return {}
            return document["charts"]  # type: ignore[no-any-return]
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
        body = json.dumps(self.new, sort_keys=True, ensure_ascii=False)
        document = {
            "format": FORMAT,
            "shared": self.digest,
            "checksum": hashlib.sha256(body.encode()).hexdigest(),
            "charts": self.new,
        }
        try:
            folder = self.path.parent
            folder.mkdir(mode=0o700, exist_ok=True)
            (folder / ".gitignore").exists() or (folder / ".gitignore").write_text("*\n")
            handle, temp = tempfile.mkstemp(dir=folder, prefix=".validate.", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, ensure_ascii=False)
            os.replace(temp, self.path)
        except OSError:
            pass
