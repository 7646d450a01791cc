"""The shipped JSON Schemas: loaded once, bundled into one self-contained schema per
kind (vocabulary inlined, the store's vocabulary extensions appended), validators
built once per kind and vocabulary."""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from medmassage import ecma, kinds
from medmassage.errors import Problem

VOCABULARY_ID = "urn:medmassage:schema:vocabulary"
_REF_PREFIX = VOCABULARY_ID + "#/$defs/"
# Settings keys under `vocabulary:` that may extend a controlled list.
EXTENDABLE = ("technique", "region", "instrument", "joint", "movement", "credential")

Extensions = tuple[tuple[str, tuple[str, ...]], ...]


@cache
def raw_schema(name: str) -> dict[str, Any]:
    """A schema file exactly as shipped (`session`, `vocabulary`, ...)."""
    if name != "vocabulary":
        kinds.get(name)  # UsageError naming the kinds when there is no such kind
    text = resources.files("medmassage.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def schemas_digest() -> str:
    """A hash over every shipped schema, so caches notice a changed schema."""
    digest = hashlib.sha256()
    for name in (*kinds.names(), "vocabulary"):
        digest.update(json.dumps(raw_schema(name), sort_keys=True).encode())
    return digest.hexdigest()


def extensions_from(settings: dict[str, Any] | None) -> Extensions:
    """The vocabulary extensions a store's settings declare, in a hashable form."""
    vocabulary = (settings or {}).get("vocabulary")
    if not isinstance(vocabulary, dict):
        return ()
    found = []
    for name in EXTENDABLE:
        terms = vocabulary.get(name)
        if isinstance(terms, list) and terms:
            found.append((name, tuple(term for term in terms if isinstance(term, str))))
    return tuple(found)


@lru_cache(maxsize=64)
def bundled(kind: str, extensions: Extensions = ()) -> dict[str, Any]:
    """One self-contained schema for `kind`: vocabulary refs made local, extensions applied."""
    schema = copy.deepcopy(raw_schema(kind))
    definitions = raw_schema("vocabulary")["$defs"]
    used: dict[str, Any] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        for ref_holder in _ref_holders(node):
            name = ref_holder["$ref"][len(_REF_PREFIX) :]
            if name not in definitions:
                raise RuntimeError(f"schema {kind}: unknown vocabulary term list {name!r}")
            ref_holder["$ref"] = f"#/$defs/{name}"
            if name not in used:
                used[name] = copy.deepcopy(definitions[name])
                used[name].setdefault("title", name)
                pending.append(used[name])
    extra = dict(extensions)
    for name, definition in used.items():
        if name in extra and "enum" in definition:
            definition["enum"] = [
                *definition["enum"],
                *(t for t in extra[name] if t not in definition["enum"]),
            ]
    if used:
        schema["$defs"] = {**schema.get("$defs", {}), **dict(sorted(used.items()))}
    return schema


def _ref_holders(node: Any) -> list[dict[str, Any]]:
    """Every dict below `node` whose $ref points into the vocabulary."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@cache
def format_checker() -> Any:
    """jsonschema's format checker, with `date`, `date-time`, `time` and `email` read as
    JSON Schema means them (RFC 3339, a routable address) and no extra package."""
    from jsonschema import Draft202012Validator

    checker = copy.deepcopy(Draft202012Validator.FORMAT_CHECKER)
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


FORMATS = {
    "date": ecma.is_date,
    "date-time": ecma.is_datetime,
    "time": ecma.is_time,
    "email": ecma.is_email,
}


def ecma_schema(node: Any) -> Any:
    """`node` with every `pattern` (and `patternProperties` name) rewritten so Python's
    `re` matches what ECMA-262 does; values (enum, const, default) are left alone."""
    if isinstance(node, list):
        return [ecma_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    translated: dict[str, Any] = {}
    for key, value in node.items():
        if key == "pattern" and isinstance(value, str):
            translated[key] = _python_pattern(value)
        elif key == "patternProperties" and isinstance(value, dict):
            translated[key] = {_python_pattern(k): ecma_schema(v) for k, v in value.items()}
        elif key in ("enum", "const", "default", "examples"):
            translated[key] = value
        else:
            translated[key] = ecma_schema(value)
    return translated


@cache
def _python_pattern(pattern: str) -> str:
    return ecma.python_pattern(pattern)


def checker(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for any schema or fragment of ours, with JSON Schema's
    meaning of patterns and formats (what `validator` gives a whole kind)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(ecma_schema(schema), format_checker=format_checker())


@lru_cache(maxsize=64)
def validator(kind: str, extensions: Extensions = ()) -> Any:
    """A ready jsonschema validator for `kind`, built once per vocabulary."""
    return checker(bundled(kind, extensions))


# Records of one kind to check before compiling its fast path pays: compiling a kind's
# schema costs about as much as 30 to 50 checks with jsonschema.
COMPILE_FROM = 40


def accepts(kind: str, extensions: Extensions, data: Any, compiled: bool) -> bool:
    """Whether `data` is a valid `kind` record: through the compiled fast path, or (for a
    handful of records, where compiling costs more than it saves) through jsonschema."""
    return bool(
        fast_validator(kind, extensions)(data)
        if compiled
        else validator(kind, extensions).is_valid(data)
    )


def worth_compiling(found: Iterable[str | None]) -> frozenset[str]:
    """The kinds with enough records among `found` (one kind per record to check) for
    their compiled fast path to pay for itself."""
    counts = Counter(found)
    return frozenset(k for k, n in counts.items() if k is not None and n >= COMPILE_FROM)


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """The schema with every local $ref replaced by its definition (ours are not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = _inline(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
            rest = {k: v for k, v in node.items() if k not in ("$ref", "description", "title")}
            return {**target, **_inline(rest, definitions)}
        return {
            k: _inline(v, definitions)
            for k, v in node.items()
            if k not in ("$defs", "$schema", "$id")
        }
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


@lru_cache(maxsize=64)
def fast_validator(kind: str, extensions: Extensions = ()) -> Any:
    """A compiled yes/no validator for the common valid case (about 30x faster than
    jsonschema). It must never accept what jsonschema rejects; the tests compare them.
    Failures are explained by `validator()`, never by this one."""
    import fastjsonschema

    schema = ecma_schema(bundled(kind, extensions))
    # use_default=False: validating must never change a record (fastjsonschema would fill in
    # a schema's `default`s, and a signed note's hash covers every field).
    compiled = fastjsonschema.compile(
        _inline(schema, schema.get("$defs", {})), formats=FORMATS, use_default=False
    )

    def is_valid(data: Any) -> bool:
        try:
            compiled(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


# The store's folder of editor schemas: what `medmassage schema KIND` prints, one file per
# kind, so a `# yaml-language-server: $schema=...` line or an editor mapping finds them.
EDITOR_FOLDER = "schemas"
STALE_RULE = "layout/stale-schema"
_EDITOR_MEMO = "editor-schemas.json"


def schema_text(kind: str, extensions: Extensions = ()) -> str:
    """The self-contained schema of `kind` as `medmassage schema KIND` prints it."""
    return json.dumps(bundled(kind, extensions), indent=2, ensure_ascii=False) + "\n"


def editor_files(extensions: Extensions = ()) -> dict[str, bytes]:
    """File name -> bytes of every kind's editor schema, for the store's schemas/ folder."""
    return {f"{kind}.schema.json": schema_text(kind, extensions).encode() for kind in kinds.names()}


def write_editor_schemas(root: Path, extensions: Extensions) -> list[str]:
    """Write the editor schemas that are missing or differ into `root`/schemas/ (each
    atomically; nothing else is touched) and return their store paths."""
    from medmassage.store.files import make_folders, replace_atomically

    folder = root / EDITOR_FOLDER
    make_folders(folder, root)  # refuses a link or a file in the way
    written = []
    for name, data in editor_files(extensions).items():
        path = folder / name
        if _read(path) != data:
            replace_atomically(path, data, mode=0o644)  # nothing private: editors read it
            written.append(f"{EDITOR_FOLDER}/{name}")
    return written


def stale_editor_schemas(root: Path, use_cache: bool = True) -> list[Problem]:
    """A warning for each editor schema in `root`/schemas/ that is missing or differs from
    what `medmassage schema --write` writes now (the vocabulary or medmassage changed).
    None for a store without that folder. Read without YAML while the settings are
    unchanged: the expected digests are remembered in the store's cache."""
    folder = root / EDITOR_FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return []
    expected = _expected_digests(root, use_cache)
    problems = []
    for name, digest in sorted((expected or {}).items()):
        data = _read(folder / name)
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            what = "is missing" if data is None else "is out of date"
            problems.append(
                Problem(
                    f"{EDITOR_FOLDER}/{name}",
                    1,
                    1,
                    "$",
                    STALE_RULE,
                    "warning",
                    f"this editor schema {what} (the store's vocabulary or medmassage "
                    "changed), so editors check records against old lists; "
                    "refresh it: medmassage schema --write",
                )
            )
    return problems


def _expected_digests(root: Path, use_cache: bool) -> dict[str, str] | None:
    """File name -> sha256 of each editor schema as it should be; None when the
    settings cannot be read (validate reports that)."""
    from medmassage.errors import MedmassageError
    from medmassage.store import SETTINGS_FILE, Store
    from medmassage.store.cache import code_digest, load_checked, save_checked

    settings = _read(root / SETTINGS_FILE)
    if settings is None:
        return None
    key = hashlib.sha256(f"{code_digest()}|{schemas_digest()}|".encode() + settings).hexdigest()
    memo = Store(root).cache_dir / _EDITOR_MEMO
    found = load_checked(memo, 1, key=key) if use_cache else None
    if isinstance(found, dict):
        return found
    from medmassage.yamlio import load_bytes

    try:
        extensions = extensions_from(load_bytes(settings, SETTINGS_FILE))
    except MedmassageError:
        return None
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in editor_files(extensions).items()}
    if use_cache:
        save_checked(memo, 1, digests, key=key)
    return digests


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
