"""Putting a chart release together: the files it holds, in a fixed order (rendered
documents, the index page, the records copied byte for byte), written to the folder
or archive chosen, and the summary of what was written (ids, counts and paths only)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage.export import output
from medmassage.export.chart import INDEX, Release
from medmassage.export.chart_documents import FORMATS, Rendered
from medmassage.export.chart_index import context, document_rel, render_index
from medmassage.signature import is_signed

SHARED = ("provider", "therapist")


def release_files(release: Release, rendered: Sequence[Rendered]) -> Iterator[tuple[str, bytes]]:
    """Every file of the release as (path in the release, bytes), sorted by path; the
    records are read only as they are written."""
    made: dict[str, bytes | Path] = {
        document_rel(document, fmt): document.texts[fmt].encode("utf-8")
        for document in rendered
        for fmt in FORMATS
    }
    page = render_index(release.documents.envs["html"], context(release, rendered))
    made[INDEX] = page.encode("utf-8")
    made.update({copy.rel: copy.source for copy in release.copies})
    for rel in sorted(made):
        data = made[rel]
        yield rel, data.read_bytes() if isinstance(data, Path) else data


def write_release(
    release: Release,
    rendered: Sequence[Rendered],
    dest: output.Destination,
) -> dict[str, Any]:
    """Write the release to its destination and return its summary."""
    output.write(dest, release_files(release, rendered))
    return summary(release, rendered, dest)


def summary(
    release: Release, rendered: Sequence[Rendered], dest: output.Destination
) -> dict[str, Any]:
    """What the release holds: counts, the unsigned notes and the documents not made
    (ids and fixed words only: this goes to standard output and into logs)."""
    copies = release.copies
    signable = set(kinds.signable())
    unsigned = sorted(
        f"{release.patient}/{copy.record.id}"
        for copy in copies
        if copy.what in signable and copy.record is not None and not is_signed(copy.record.data)
    )
    records = sum(1 for c in copies if c.what not in ("sent", *SHARED))
    return {
        "patient": release.patient,
        "path": str(dest.path),
        "archive": dest.archive,
        "index": INDEX if dest.archive else str(dest.path / INDEX),
        "files": len(rendered) * len(FORMATS) + len(copies) + 1,
        "documents": len(rendered),
        "formats": list(FORMATS),
        "records": records,
        "sent": sum(1 for c in copies if c.what == "sent"),
        "providers_and_therapists": sum(1 for c in copies if c.what in SHARED),
        "unsigned": unsigned,
        "not_made": [
            {"document": n.document, "target": n.target, "reason": n.reason}
            for n in release.documents.not_made
        ],
        "warnings": release.warnings,
    }


def summary_text(found: dict[str, Any], shown: str) -> str:
    """The summary for a person: the path written, then the counts."""
    unsigned = found["unsigned"]
    notes = (
        f"{_count(len(unsigned), 'unsigned note')}: {', '.join(unsigned)}"
        if unsigned
        else "every note signed"
    )
    shared = found["providers_and_therapists"]
    people = _count(shared, "provider or therapist", "providers and therapists")
    warned = found["warnings"]  # released all the same, but the user should look at them
    warnings = f"; {_count(warned, 'warning')} (medmassage validate lists them)" if warned else ""
    return (
        f"{shown}\n{found['patient']}: {_count(found['documents'], 'document')} "
        f"({' and '.join(found['formats'])}), {_count(found['records'], 'record')}, "
        f"{_count(found['sent'], 'copy', 'copies')} sent, "
        f"{people}; {notes}{warnings}"
    )


def _count(number: int, one: str, many: str = "") -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"
