"""Documents sent (SPEC §4.1): the copy kept in the chart is the exact file sent, and the
log of the sending is unchanged since it was signed. A kept copy edited, replaced or lost
after sending is an error: the chart must hold what the physician received."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from typing import Any

from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.signature import fingerprint
from medmassage.store import PATIENTS


def check_sent(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """integrity/sent-changed and integrity/sent-missing: an update record's kept file
    whose bytes no longer have the sha256 logged, or that is gone; and
    integrity/signature-mismatch for a signed sending log changed since."""
    for record in records:
        if record.kind != "update" or not record.valid or record.entry.patient is None:
            continue
        yield from _log_signature(record)
        kept, logged = record.data.get("file"), record.data.get("sha256")
        if view.root is None or not isinstance(kept, str) or not isinstance(logged, str):
            continue
        rel = f"{PATIENTS}/{record.entry.patient}/{kept}"
        found = _sha256(str(view.root / rel))
        if found is None:
            yield Finding(
                record.rel,
                ("file",),
                "integrity/sent-missing",
                "error",
                f"the copy of the {_what(record.data)} sent is not in the chart ({rel} is "
                "missing or not a regular file); restore it from git: the chart keeps what was "
                "sent",
            )
        elif found != logged:
            yield Finding(
                record.rel,
                ("sha256",),
                "integrity/sent-changed",
                "error",
                f"{rel} was changed after it was sent on {record.data.get('sent_at', '?')}: "
                "its sha256 no longer matches this log. The kept copy is what the provider "
                "received; restore it from git (`git checkout -- FILE`) and send a new "
                "document for any correction",
            )


def _log_signature(record: Record) -> Iterator[Finding]:
    signed: Any = record.data.get("signature")
    if not isinstance(signed, dict) or not isinstance(signed.get("sha256"), str):
        return
    if fingerprint(record.data) != signed["sha256"]:
        yield Finding(
            record.rel,
            ("signature",),
            "integrity/signature-mismatch",
            "error",
            f"this log of a document sent has changed since {signed.get('by')} signed it "
            f"at {signed.get('at')}: its sha256 no longer matches; restore it from git",
            at_key=True,
        )


def _what(data: dict[str, Any]) -> str:
    document = data.get("document")
    return document if isinstance(document, str) and document else "document"


def _sha256(path: str) -> str | None:
    """The sha256 of a regular file's bytes (links are not followed); None when absent."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
