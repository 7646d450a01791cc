"""Signatures on notes (SPEC §2.4): the canonical form a signature's hash covers,
the hash itself and the timestamps a signature carries. Pure functions, no I/O.

The hash is SHA-256 over the record as canonical JSON — every field, including
`signature.by` and `signature.at`, except `signature.sha256` itself — with sorted
keys, no spaces and UTF-8 text. Key order, quoting and comments in the YAML file
are therefore not part of what is signed; every value is."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from medmassage.errors import UsageError

# How far a signing time may run ahead of this machine's clock: the clocks of a
# clinic's computers drift by a few minutes, but a signature is never dated later.
CLOCK_SKEW = dt.timedelta(minutes=5)

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes a signature's hash covers: the record without `signature.sha256`,
    as JSON with sorted keys, no whitespace and UTF-8 text."""
    content = record
    signed = record.get("signature")
    if (
        isinstance(signed, dict) and "sha256" in signed
    ):  # copy only what changes: validate hashes every signed note
        content = {
            **record,
            "signature": {key: value for key, value in signed.items() if key != "sha256"},
        }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def fingerprint(record: dict[str, Any]) -> str:
    """The SHA-256 (lowercase hex) of the record's canonical form."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def is_signed(record: dict[str, Any]) -> bool:
    """True when the record carries a signature block."""
    return isinstance(record.get("signature"), dict)


def matches(record: dict[str, Any]) -> bool:
    """True when the record is signed and its content still matches the signature's hash."""
    signed = record.get("signature")
    return isinstance(signed, dict) and signed.get("sha256") == fingerprint(record)


def signed_copy(record: dict[str, Any], by: str, at: str) -> dict[str, Any]:
    """A copy of `record` with `signature: {by, at, sha256}` added as its last field."""
    result = {key: value for key, value in record.items() if key != "signature"}
    result["signature"] = {"by": by, "at": at}
    result["signature"]["sha256"] = fingerprint(result)
    return result


def covered_fields(record: dict[str, Any]) -> list[str]:
    """The top-level fields a signature covers (all of them; sha256 is the one exception)."""
    return [key if key != "signature" else "signature (by, at)" for key in record]


def now() -> str:
    """The current local time with its UTC offset, to the second."""
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def checked_timestamp(value: str, option: str = "--at") -> str:
    """`value` when it is a real date and time with seconds and a UTC offset, else UsageError."""
    example = "e.g. 2026-11-20T17:05:00-08:00"
    if not _TIMESTAMP.fullmatch(value):
        raise UsageError(
            f"{option} {value!r}: write a date and time with seconds and UTC offset, {example}"
        )
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a real date and time ({example})") from None
    return value


def instant(timestamp: str) -> dt.datetime:
    """A checked timestamp as an aware datetime, for comparing moments across offsets."""
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def days_between(day: str, timestamp: str) -> int:
    """Whole days from `day` (YYYY-MM-DD) to the local date written in `timestamp`."""
    return (dt.date.fromisoformat(timestamp[:10]) - dt.date.fromisoformat(day[:10])).days


def future_by(timestamp: str, current: str) -> dt.timedelta | None:
    """How far `timestamp` lies beyond `current` plus the allowed CLOCK_SKEW (None: it does
    not): a signature falls between the visit and now."""
    ahead = instant(timestamp) - instant(current)
    return ahead if ahead > CLOCK_SKEW else None
