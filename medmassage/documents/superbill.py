"""The superbill: the claim data of one visit in the CMS-1500 fields (CLINICAL.md §1,
"Superbill / claim data"): patient and insured (boxes 1–13), date of injury and claim
number for auto/PIP and workers' comp (14, 11b), referring provider and NPI (17, 17b),
diagnoses (21, up to 12) with a pointer per line (24E), date and place of service (24A,
24B), CPT code and modifiers (24D), charge (24F), units (24G), rendering NPI (24J),
billing provider, NPI and tax id (25, 33). The lines are the note's billed codes, else
those care/billing.py computes from its treatment (labelled computed); units are never
recomputed here. Also a CSV, one row per billed code."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from medmassage.care import billing, episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import soap
from medmassage.documents.common import Context, address_lines, label, patient, practice
from medmassage.documents.common import therapist as therapist_of
from medmassage.documents.shape import Document, Period, Target
from medmassage.store import SETTINGS_FILE, Entry, record_rel

POINTERS = "ABCDEFGHIJKL"  # box 21: up to 12 diagnoses, A to L
MAX_POINTERS = 4  # box 24E: up to 4 pointers per line
DEFAULT_PLACE = "11"  # box 24B: office
KIND_WORDS = {"auto_pip": "Auto / PIP", "workers_comp": "Workers' compensation"}
INJURY_KINDS = ("auto_pip", "workers_comp")  # boxes 10b/10a, 11b and 14 apply
CSV_COLUMNS = (
    "patient_id", "patient_name", "date_of_service", "place_of_service", "cpt", "modifier",
    "diagnosis_pointer", "diagnosis_codes", "units", "charge", "rendering_npi",
    "referring_npi", "billing_npi", "tax_id", "payer", "member_id", "claim_number",
    "date_of_injury", "source", "note_signed",
)  # fmt: skip


def _insured(data: Mapping[str, Any]) -> Context:
    """Boxes 1, 1a, 4, 7, 11, 11b, 11c and 14 from the patient's insurance."""
    cover = data.get("insurance") or {}
    kind = str(cover.get("kind", "self_pay"))
    injury = kind in INJURY_KINDS
    return {
        "kind": KIND_WORDS.get(kind, label(kind)),
        "payer": cover.get("payer", ""),
        "member_id": cover.get("member_id", ""),
        "group": cover.get("group", ""),
        "claim_number": cover.get("claim_number", "") if injury else "",
        "date_of_injury": str(cover.get("date_of_injury", "")) if injury else "",
        "adjuster": cover.get("adjuster", ""),
        "injury": injury,
        "related_to": {"auto_pip": "auto accident", "workers_comp": "employment"}.get(kind, ""),
    }


def _referring(view: StoreView, referral: Record | None) -> Context:
    """Boxes 17 and 17b: the referring provider and NPI."""
    if referral is None:
        return {"name": "", "npi": "", "referral": ""}
    record = view.get("provider", referral.data["provider"])
    data: Mapping[str, Any] = record.data if record else {}
    name = data.get("name", referral.data["provider"])
    credentials = data.get("credentials", "")
    return {
        "name": f"{name}, {credentials}" if credentials else name,
        "npi": data.get("npi", ""),
        "referral": referral.id,
    }


def _diagnoses(referral: Record | None) -> list[Context]:
    """Box 21: the referral's diagnoses, up to 12, lettered A to L."""
    found = referral.data["diagnoses"][: len(POINTERS)] if referral else []
    return [
        {"pointer": POINTERS[i], "code": d["code"], "description": d.get("description", "")}
        for i, d in enumerate(found)
    ]


def _fees(section: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """The fee schedule of medmassage.yaml (`billing.fees`), one fee per unit of a code."""
    entries = (section or {}).get("fees") or []
    return {str(e["code"]): Decimal(str(e["fee"])) for e in entries}


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _lines(
    session: Mapping[str, Any], section: Mapping[str, Any] | None
) -> tuple[list[Context], bool]:
    """Box 24: the note's billed codes, else the lines care/billing.py computes (units
    from there, never recomputed); computed is True when the note bills nothing."""
    codes = (session.get("billing") or {}).get("codes") or []
    computed = not codes
    if computed:
        found = billing.billing_lines(session, billing.billing_settings(section))
        codes = [{"code": line.code, "units": line.units} for line in found if line.units]
    fees = _fees(section)
    lines = []
    for entry in codes:
        fee = fees.get(str(entry["code"]))
        lines.append(
            {
                "code": str(entry["code"]),
                "description": billing.describe(str(entry["code"])),
                "modifier": entry.get("modifier", ""),
                "units": int(entry["units"]),
                "fee": _money(fee),
                "charge": _money(None if fee is None else fee * int(entry["units"])),
            }
        )
    return lines, computed


def _csv(ctx: Context) -> Context:
    """The CSV text: a header and one row per billed code, quoted by the csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    pointer = "".join(d["pointer"] for d in ctx["diagnoses"][:MAX_POINTERS])
    codes = " ".join(d["code"] for d in ctx["diagnoses"][:MAX_POINTERS])
    insured, who = ctx["insured"], ctx["patient"]
    for line in ctx["lines"]:
        writer.writerow(
            (
                who["id"],
                who["name"],
                ctx["service"]["date"],
                ctx["service"]["place"],
                line["code"],
                line["modifier"],
                pointer,
                codes,
                line["units"],
                line["charge"],
                ctx["rendering"]["npi"],
                ctx["referring"]["npi"],
                ctx["practice"]["npi"],
                ctx["tax_id"],
                insured["payer"],
                insured["member_id"],
                insured["claim_number"],
                insured["date_of_injury"],
                "computed" if ctx["computed"] else "note",
                "yes" if ctx["signed"] else "no (unsigned)",
            )
        )
    header, *rows = buffer.getvalue().rstrip("\n").split("\n")
    return {"header": header, "rows": rows}


def superbill_context(view: StoreView, chart: Chart, session: Record) -> Context:
    """Everything a superbill shows, for one schema-valid visit."""
    data = session.data
    section = view.setting("billing")
    plan = episode.plan_of(view, chart, session)
    referral = episode.referral_of(view, chart, plan) if plan else None
    assert chart.patient is not None
    person = chart.patient.data
    contact = person.get("contact") or {}
    lines, computed = _lines(data, section)
    fees = [Decimal(line["charge"]) for line in lines if line["charge"]]
    total = sum(fees, Decimal(0)) if len(fees) == len(lines) and lines else None
    ctx: Context = {
        "practice": practice(view),
        "patient": dict(
            patient(chart),
            sex=label(str(person.get("sex", ""))),
            address=address_lines(contact.get("address")),
            phone=contact.get("phone", ""),
        ),
        "insured": _insured(person),
        "referring": _referring(view, referral),
        "diagnoses": _diagnoses(referral),
        "pointer": "".join(POINTERS[:MAX_POINTERS][: len(_diagnoses(referral))]),
        "service": {
            "id": session.id,
            "date": data["date"],
            "place": str((section or {}).get("place_of_service") or DEFAULT_PLACE),
        },
        "lines": lines,
        "computed": computed,
        "total": _money(total),
        "rendering": therapist_of(view, data["therapist"]),
        "tax_id": str((section or {}).get("tax_id", "")),
        "signed": bool(data.get("signature")),
    }
    ctx["csv"] = _csv(ctx)
    return ctx


# -- the document's shape (see documents.shape) -------------------------------------------


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The visit, the patient, the settings, and (for a valid visit) its plan, referral,
    referring provider and therapist."""
    files = {
        record_rel("session", target.session, target.patient),
        record_rel("patient", target.patient),
        SETTINGS_FILE,
    }
    session = chart.of("session").get(target.session)
    if session is None or not session.valid:
        return files
    files.add(record_rel("plan", session.data["treatment_plan"], target.patient))
    files.add(record_rel("therapist", session.data["therapist"]))
    plan = episode.plan_of(view, chart, session)
    if plan is not None:
        files.add(record_rel("referral", plan.data["referral"], target.patient))
        referral = episode.referral_of(view, chart, plan)
        if referral is not None:
            files.add(record_rel("provider", referral.data["provider"]))
    return files


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The superbill of one schema-valid visit, named by the session id."""
    return target.session, superbill_context(view, chart, chart.of("session")[target.session])


DOCUMENT = Document(
    name="superbill",
    title="superbill",
    per="session",
    sources=("settings", "patient", "session", "plan", "referral", "provider", "therapist"),
    facts=("date",),
    read_facts=soap.read_facts,
    select=soap.select,
    holds=holds,
    reads=(),  # nothing beyond the records the visit names (`holds`)
    build=build,
    formats=("md", "html", "txt", "csv"),
)
