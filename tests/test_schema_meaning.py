"""The schemas mean what JSON Schema means: an independent validator (ajv with ajv-formats,
draft 2020-12, run by Node) and medmassage (jsonschema, and the compiled fast path) give
the same verdict on every record of the example catalogue, the demo store and the cases
where Python's `re` reads a pattern differently from ECMA-262 (a trailing newline, digits
of other scripts). The pattern translation and the format checks are also compared with
ECMA-262 itself, pattern by pattern and string by string.

ajv is installed once into .cache/node (git-ignored) with npm (see node_tools.py)."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from charts import BASE, PROVIDER, REFERRAL, SESSION, SETTINGS, THERAPIST, invoke, write_store
from conftest import DEMO
from node_tools import node_modules, run_node

from medmassage import ecma, kinds
from medmassage import schema_loader as schemas
from medmassage.store import Store
from medmassage.yamlio import dump, json_path, load_file, parse_text

EXAMPLES = Path(__file__).resolve().parent / "examples"

# One Node process judges everything: records against their kind's schema, patterns
# against strings (as ajv compiles them: with the `u` flag), strings against formats.
RUNNER = r"""
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const ajv = new Ajv2020({strict: true, allErrors: false});
addFormats(ajv);
const compiled = {};
for (const [name, schema] of Object.entries(input.schemas)) compiled[name] = ajv.compile(schema);
const formats = {};
const out = {
  records_ok: input.records.map(([name, data]) => compiled[name](data)),
  regex_ok: input.regex.map(([pattern, text]) => new RegExp(pattern, "u").test(text)),
  formats_ok: input.formats.map(([format, text]) => {
    formats[format] ??= ajv.compile({type: "string", format});
    return formats[format](text);
  }),
};
process.stdout.write(JSON.stringify(out));
"""


def npi(first_nine: str) -> str:
    """A valid NPI: `first_nine` and its Luhn check digit over the prefix 80840."""
    total = 0
    for position, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return first_nine + str((10 - total % 10) % 10)


NPI = npi("199900001")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def base_record(rel: str) -> dict[str, Any]:
    return parse_text(textwrap.dedent(BASE[rel]).lstrip("\n"), rel)


def with_value(rel: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """The BASE record at `rel` with the field at `path` set to `value`."""
    record = base_record(rel)
    node: Any = record
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return record


BILLING = ("billing", "codes")
# (case, file, field path, value, valid?): the leaks and their valid neighbours.
SPOTS: list[tuple[str, str, tuple[str | int, ...], Any, bool]] = [
    ("npi", PROVIDER, ("npi",), NPI, True),
    ("npi-newline", PROVIDER, ("npi",), NPI + "\n", False),
    ("npi-arabic-indic", PROVIDER, ("npi",), NPI.translate(ARABIC_INDIC), False),
    ("npi-fullwidth", THERAPIST, ("npi",), NPI.translate(FULLWIDTH), False),
    ("time", SESSION, ("time",), "07:30", True),
    ("time-newline", SESSION, ("time",), "07:30\n", False),
    ("time-arabic-indic", SESSION, ("time",), "07:30".translate(ARABIC_INDIC), False),
    ("cpt", SESSION, BILLING, [{"code": "97140", "units": 2}], True),
    ("cpt-newline", SESSION, BILLING, [{"code": "97140\n", "units": 2}], False),
    ("icd", REFERRAL, ("diagnoses", 0, "code"), "M54.50", True),
    ("icd-newline", REFERRAL, ("diagnoses", 0, "code"), "M54.50\n", False),
    ("email", THERAPIST, ("email",), "nadia.kovacs@example.org", True),
    ("email-no-domain", THERAPIST, ("email",), "nadia@", False),
    ("email-two-ats", PROVIDER, ("email",), "a@b@c", False),
    ("email-space", SETTINGS, ("practice", "email"), "lena hartwell@example.org", False),
    ("email-no-dot", THERAPIST, ("email",), "nadia@localhost", False),
    ("email-non-ascii", THERAPIST, ("email",), "nádia@example.org", False),
    ("email-newline", THERAPIST, ("email",), "nadia@example.org\n", False),
    ("date-newline", SESSION, ("date",), "2026-10-06\n", False),
    ("date-not-a-day", SESSION, ("date",), "2026-02-29", False),
    ("date-leap-day", SESSION, ("date",), "2028-02-29", True),
    ("date-arabic-indic", SESSION, ("date",), "2026-10-06".translate(ARABIC_INDIC), False),
]


def header(path: Path) -> dict[str, str]:
    """The `# key: value` lines a catalogue file starts with (see test_examples.py)."""
    found: dict[str, str] = {}
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        if not line.startswith("# ") or ": " not in line:
            break
        key, value = line[2:].split(": ", 1)
        found[key] = value
    return found


Judged = tuple[str, str, schemas.Extensions, Any, bool | None]  # name, kind, ext, data, expected


def store_records(root: Path, expected: bool | None = True) -> list[Judged]:
    """Every record of the store at `root` that parses, as the store's walk finds them."""
    store = Store(root)
    extensions = schemas.extensions_from(store.load_settings())
    return [
        (f"{root.name}/{e.rel}", e.kind, extensions, load_file(root / e.rel, e.rel), expected)
        for e in store.walk()
        if e.kind is not None
    ]


def catalogue(tmp: Path) -> list[Judged]:
    """The demo store, BASE with every good example, each schema-only bad example
    (placed in BASE where its header says), and the spot cases."""
    judged = store_records(DEMO)
    good = write_store(tmp / "good")
    for example in sorted((EXAMPLES / "good").iterdir()):
        target = good / header(example)["as"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(example, target)
    judged += store_records(good)
    kinds_at = {name.split("/", 1)[1]: kind for name, kind, *_ in store_records(good)}
    for example in sorted((EXAMPLES / "bad").iterdir()):
        rules = {rule.strip() for rule in header(example)["expect"].split(",")}
        rel = header(example)["as"]
        if all(rule.startswith("schema/") for rule in rules) and rel in kinds_at:
            data = load_file(example, example.name)
            judged.append((f"bad/{example.name}", kinds_at[rel], (), data, False))
    for case, rel, path, value, valid in SPOTS:
        judged.append((f"spot/{case}", kinds_at[rel], (), with_value(rel, path, value), valid))
    return judged


# Patterns to compare with ECMA-262 itself: every shipped one and the syntax it may grow.
EXTRA_PATTERNS = [
    r"^a.c$", r"^\s+$", r"^\S+$", r"^\w+$", r"\bab\b", r"^[\s\d]+$", r"^[$a]+$",
    r"^[^]$", r"^[]$", r"^(?<n>a)\k<n>$", r"^\u{1F600}$", r"^\u00e9$", r"^\x41$",
    r"^a\/b$", r"^[a\-z]$", r"^(a)\1$", r"^\cJ$", r"^\0$", r"^\D\W$", r"^a{2}$",
]  # fmt: skip
TEXTS = [
    "", "a", "abc", "a\nc", "a\rc", "a\u2028c", "aXc", "ab", "ab\n", "ab c", "a-b", "a/b",
    "aa", "\U0001F600", "é", "A", "\n", "\x00", "z", "-", "$", "$a", "97140", "97140\n",
    "١٢", "１２", " ", "\u00a0", "\ufeff", "\u2003", "\x1c", "\x85", "\t\v\f", "_",
    "ß", "e\u0301", "07:30", "07:30\n", "M54.50", "M54.50\n", "x ab y", "xab",
]  # fmt: skip
FORMAT_TEXTS = {
    "email": [
        "nadia@example.org", "nadia@", "a@b@c", "lena hartwell@example.org", "a@b.c",
        "first.last+tag@sub.example.co", ".a@example.org", "a..b@example.org",
        "a@-example.org", "a@example-.org", "nádia@example.org", "a@example.org\n",
        "@example.org", "a@example", "a@exa_mple.org", "A@EXAMPLE.ORG",
    ],
    "date": [
        "2026-10-06", "2026-02-29", "2028-02-29", "1900-02-29", "2000-02-29", "2026-13-01",
        "2026-00-10", "2026-04-31", "2026-10-06\n", "26-10-06", "2026-1-06", "0000-01-01",
        "٢٠٢٦-١٠-٠٦", "2026-10-06T00:00:00Z",
    ],
    "time": [
        "10:00:00Z", "10:00:00+02:00", "10:00:00.123-05:00", "24:00:00Z", "10:60:00Z",
        "10:00:00", "23:59:60Z", "22:59:60Z", "23:59:60-01:00", "10:00:00z", "10:00:00Z\n",
        "10:00:00+24:00",
    ],
    "date-time": [
        "2026-10-06T10:00:00Z", "2026-10-06T10:00:00-05:00", "2026-02-30T10:00:00Z",
        "2026-10-06t10:00:00z", "2026-10-06T10:00:00", "2026-10-06T10:00:00Z\n",
        "2026-12-31T23:59:60Z", "2026-10-06T25:00:00Z",
    ],
}  # fmt: skip
# Where medmassage is stricter than ajv-formats, on purpose: RFC 3339 offsets are
# `+hh:mm` (ajv also takes `+hhmm` and `+hh`) and the separator is `T` (ajv also takes a
# space). The `datetime` field's pattern refuses these too, so no record verdict differs.
STRICTER = {
    ("time", "10:00:00+0200"),
    ("time", "10:00:00+02"),
    ("date-time", "2026-10-06 10:00:00Z"),
    ("date-time", "2026-10-06T10:00:00+0200"),
}


def shipped_patterns() -> list[str]:
    """Every `pattern` in the self-contained schemas."""
    found: set[str] = set()
    stack: list[Any] = [schemas.bundled(kind) for kind in kinds.names()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case, and what ajv made of it (one Node process for all)."""
    modules = node_modules("ajv")
    judged = catalogue(tmp_path_factory.mktemp("catalogue"))
    names = {(kind, ext): f"{kind}#{n}" for n, (_, kind, ext, *_) in enumerate(judged)}
    regex = [(p, t) for p in shipped_patterns() + EXTRA_PATTERNS for t in TEXTS]
    formats = [(f, t) for f, texts in FORMAT_TEXTS.items() for t in texts]
    formats += sorted(STRICTER)
    payload = {
        "schemas": {name: schemas.bundled(*key) for key, name in names.items()},
        "records": [[names[(kind, ext)], data] for _, kind, ext, data, _ in judged],
        "regex": regex,
        "formats": formats,
    }
    found = run_node(RUNNER, payload, modules, timeout=120)
    return {"judged": judged, "regex": regex, "formats": formats, **found}


def test_records_get_the_same_verdict_from_ajv_and_medmassage(verdicts: dict[str, Any]) -> None:
    judged: list[Judged] = verdicts["judged"]
    assert len(judged) == len(verdicts["records_ok"]) > len(SPOTS)
    differ = []
    for case, by_ajv in zip(judged, verdicts["records_ok"], strict=True):
        name, kind, ext, data, expected = case
        ours = schemas.validator(kind, ext).is_valid(data)
        fast = schemas.fast_validator(kind, ext)(data)
        if not by_ajv == ours == fast or expected not in (None, ours):
            differ.append(f"{name}: ajv {by_ajv}, jsonschema {ours}, fast path {fast}")
    assert not differ, "\n".join(differ)


def test_every_kind_and_both_verdicts_are_compared(verdicts: dict[str, Any]) -> None:
    judged: list[Judged] = verdicts["judged"]
    assert {kind for _, kind, *_ in judged} == set(kinds.names())
    assert {True, False} <= set(verdicts["records_ok"])
    bad_examples = [name for name, *_ in judged if name.startswith("bad/")]
    assert len(bad_examples) >= 3, "the schema-only bad examples are compared too"


def test_patterns_match_what_ecma_262_matches(verdicts: dict[str, Any]) -> None:
    differ = [
        f"/{pattern}/u on {text!r}: ECMA-262 says {by_node}"
        for (pattern, text), by_node in zip(verdicts["regex"], verdicts["regex_ok"], strict=True)
        if (re.search(ecma.python_pattern(pattern), text) is not None) != by_node
    ]
    assert not differ, "\n".join(differ)
    assert any(verdicts["regex_ok"]) and not all(verdicts["regex_ok"])


def test_formats_agree_with_ajv_formats_or_are_stricter(verdicts: dict[str, Any]) -> None:
    differ = []
    for (name, text), by_ajv in zip(verdicts["formats"], verdicts["formats_ok"], strict=True):
        ours = schemas.FORMATS[name](text)
        allowed = (name, text) in STRICTER and by_ajv and not ours
        if ours != by_ajv and not allowed:
            differ.append(f"format {name} on {text!r}: ajv {by_ajv}, medmassage {ours}")
    assert not differ, "\n".join(differ)
    # The stricter cases are real: ajv takes them and medmassage does not.
    for name, text in STRICTER:
        assert not schemas.FORMATS[name](text)


def test_patterns_only_python_cannot_read_are_refused_when_schemas_load() -> None:
    with pytest.raises(ecma.UnsupportedPattern):
        ecma.python_pattern(r"^\p{L}+$")


@pytest.mark.parametrize("case", [case for case in SPOTS if not case[-1]], ids=lambda case: case[0])
def test_validate_reports_each_leak_at_its_field(
    tmp_path: Path, case: tuple[str, str, tuple[str | int, ...], Any, bool]
) -> None:
    """Through the real command: each of the issue's cases is a schema error at its field."""
    _, rel, path, value, _ = case
    root = write_store(tmp_path / "store")
    (root / rel).write_text(dump(with_value(rel, path, value)), encoding="utf-8")
    result = invoke("--root", str(root), "validate", "--format", "json", "--no-cache")
    assert result.exit_code == 1, result.stdout + result.stderr
    found = json.loads(result.stdout)["problems"]
    assert {(p["file"], p["path"]) for p in found if p["rule"].startswith("schema/")} == {
        (rel, json_path((*path, 0, "code") if path == BILLING else path))
    }, found
