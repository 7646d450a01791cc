"""The documents `render` makes, one module each, in one registry. Every document has
the shape of `shape.Document`, so the render engine reads this table and never asks
which document it has. Adding one: a module with its `DOCUMENT` row, a line below,
and its templates `<name>.<fmt>.j2`."""

from __future__ import annotations

from medmassage.documents import (
    discharge_summary,
    home_care,
    physician_update,
    plan_of_care,
    progress_report,
    referral_form,
    soap,
    superbill,
)
from medmassage.documents.shape import Document

DOCUMENTS: dict[str, Document] = {
    document.name: document
    for document in (
        soap.DOCUMENT,
        physician_update.DOCUMENT,
        plan_of_care.DOCUMENT,
        progress_report.DOCUMENT,
        discharge_summary.DOCUMENT,
        superbill.DOCUMENT,
        home_care.DOCUMENT,
        referral_form.DOCUMENT,
    )
}
