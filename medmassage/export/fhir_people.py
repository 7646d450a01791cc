"""Who a FHIR bundle names (SPEC §10): the patient, the clinic, its therapists and the
providers who refer. Each function turns one record into one FHIR R4 resource (a plain
dict), named through fhir_ids; the data types they share (identifiers, contact points,
addresses) are built here once. Only what the record holds is written: an element the
record leaves out is left out, never filled with a guess."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmassage.chart import Record, StoreView
from medmassage.export import fhir_ids as ids

Resource = dict[str, Any]

NPI = "http://hl7.org/fhir/sid/us-npi"  # CLINICAL.md §5
TAX_ID = "urn:oid:2.16.840.1.113883.4.4"  # the US employer identification number (EIN/TIN)
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
TAXONOMY = "http://nucc.org/provider-taxonomy"
MASSAGE_THERAPIST = {"system": TAXONOMY, "code": "225700000X", "display": "Massage Therapist"}


def store_identifier(kind: str, value: str) -> dict[str, str]:
    """The id a record has in the store, as a FHIR Identifier (system `urn:medmassage:<kind>`);
    ids of a chart's records are unique within the patient's chart."""
    return {"system": f"urn:medmassage:{kind}", "value": value}


def telecom(data: Mapping[str, Any], use: str) -> list[dict[str, str]]:
    """The phone, fax and email of a record as ContactPoints, in that order."""
    return [
        {"system": system, "use": use, "value": str(data[system])}
        for system in ("phone", "fax", "email")
        if ids.words(data.get(system))
    ]


def address(data: Mapping[str, Any] | None, use: str) -> list[dict[str, Any]]:
    """A postal address of the store as a one-item list of FHIR Address (empty: none)."""
    if not data:
        return []
    found: dict[str, Any] = {"use": use, "line": [data["street"]], "city": data["city"]}
    for key, element in (("state", "state"), ("postal_code", "postalCode"), ("country", "country")):
        if data.get(key):
            found[element] = str(data[key])
    return [found]


def _drop_empty(resource: Resource) -> Resource:
    """The resource without the elements left empty (FHIR forbids empty elements)."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


def patient(view: StoreView, record: Record) -> Resource:
    """The Patient: identifiers, names, sex as FHIR gender, birth date, contact details,
    the emergency contact and the primary provider."""
    data, pid = record.data, record.id
    name = data["name"]
    names: list[dict[str, Any]] = [
        {"use": "official", "family": name["family"], "given": [name["given"]]}
    ]
    if ids.words(name.get("preferred")):
        names.append({"use": "nickname", "given": [name["preferred"]]})
    contact = data.get("contact") or {}
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": ids.resource_id("Patient", pid),
            "identifier": [store_identifier("patient", pid), *_member(data.get("insurance"))],
            "name": names,
            "telecom": telecom(contact, "home"),
            # The record's sex values are FHIR's AdministrativeGender codes, word for word.
            "gender": data.get("sex"),
            "birthDate": data["date_of_birth"],
            "address": address(contact.get("address"), "home"),
            "contact": _emergency(data.get("emergency_contact")),
            "generalPractitioner": [ids.provider(data["primary_provider"])],
            "managingOrganization": ids.clinic(),
        }
    )


def _member(insurance: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The health plan's member number (v2-0203 `MB`), assigned by the payer it names."""
    if not insurance or not ids.words(insurance.get("member_id")):
        return []
    found: dict[str, Any] = {
        "use": "secondary",
        "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MB"}], "text": "Member number"},
        "value": insurance["member_id"],
    }
    if insurance.get("payer"):
        found["assigner"] = {"display": insurance["payer"]}
    return [found]


def _emergency(person: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The emergency contact as Patient.contact (relationship v2-0131 `C`, and in words);
    none when the record leaves both the name and the phone blank (pat-1: a contact holds
    a person's details)."""
    if not person or not (ids.words(person.get("name")) or ids.words(person.get("phone"))):
        return []
    relationship = [
        {"coding": [{"system": CONTACT_ROLE, "code": "C"}], "text": "Emergency contact"}
    ]
    if person.get("relationship"):
        relationship.append({"text": person["relationship"]})
    phone = [{"system": "phone", "value": person["phone"]}] if ids.words(person["phone"]) else []
    return [
        _drop_empty(
            {
                "relationship": relationship,
                "name": {"text": person["name"]},
                "telecom": phone,
            }
        )
    ]


def clinic(view: StoreView) -> Resource:
    """The Organization of the clinic, from medmassage.yaml's `practice` (and its tax id)."""
    practice = view.setting("practice", default={}) or {}
    identifiers = [{"system": NPI, "value": practice["npi"]}] if practice.get("npi") else []
    tax_id = view.setting("billing", "tax_id")
    if tax_id:
        identifiers.append({"system": TAX_ID, "value": str(tax_id)})
    return _drop_empty(
        {
            "resourceType": "Organization",
            "id": ids.resource_id("Organization", "clinic"),
            "identifier": identifiers,
            "active": True,
            "type": [{"coding": [{"system": _ORG_TYPE, "code": "prov"}]}],
            "name": practice.get("name"),
            "telecom": telecom(practice, "work"),
            "address": address(practice.get("address"), "work"),
        }
    )


_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


def _practitioner(key: tuple[str, str], data: Mapping[str, Any]) -> Resource:
    """A Practitioner: store id and NPI, name, contact details (shared by both kinds)."""
    identifiers = [store_identifier(*key)]
    if data.get("npi"):
        identifiers.append({"system": NPI, "value": data["npi"]})
    return {
        "resourceType": "Practitioner",
        "id": ids.resource_id("Practitioner", *key),
        "identifier": identifiers,
        "active": data.get("active"),
        "name": [{"text": data["name"]}],
        "telecom": telecom(data, "work"),
        "address": address(data.get("address"), "work"),
    }


def therapist(record: Record) -> list[Resource]:
    """A therapist: the Practitioner (the license as a qualification, with its number,
    state and expiry) and the PractitionerRole of massage therapist at the clinic."""
    data = record.data
    found = _practitioner(("therapist", record.id), data)
    licence = data.get("license") or {}
    qualification: dict[str, Any] = {"code": {"text": data["credentials"]}}
    if licence.get("number"):
        qualification["identifier"] = [{"value": licence["number"]}]
    if licence.get("expires"):
        qualification["period"] = {"end": licence["expires"]}
    if licence.get("jurisdiction"):
        qualification["issuer"] = {"display": licence["jurisdiction"]}
    found["qualification"] = [qualification]
    role = {
        "resourceType": "PractitionerRole",
        "id": ids.resource_id("PractitionerRole", "therapist", record.id),
        "active": data.get("active"),
        "practitioner": ids.therapist(record.id),
        "organization": ids.clinic(),
        "code": [{"coding": [MASSAGE_THERAPIST]}],
        "telecom": telecom(data, "work"),
    }
    return [_drop_empty(found), _drop_empty(role)]


def provider(record: Record) -> list[Resource]:
    """A referring provider: the Practitioner (NPI, credentials as a qualification) and,
    when the record names a specialty or an organization, a PractitionerRole holding them."""
    data = record.data
    found = _practitioner(("provider", record.id), data)
    found["qualification"] = [{"code": {"text": data["credentials"]}}]
    resources = [_drop_empty(found)]
    if ids.words(data.get("specialty")) or ids.words(data.get("organization")):
        role: Resource = {
            "resourceType": "PractitionerRole",
            "id": ids.resource_id("PractitionerRole", "provider", record.id),
            "practitioner": ids.provider(record.id),
            "organization": {"display": data["organization"]} if data.get("organization") else {},
            "specialty": [{"text": data["specialty"]}] if data.get("specialty") else [],
        }
        resources.append(_drop_empty(role))
    return resources
